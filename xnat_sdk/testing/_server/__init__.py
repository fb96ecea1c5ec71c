"""The framework of the local XNAT server, apart from the endpoint areas (``.._areas``).

* :mod:`.app`: the WSGI application, :data:`~.app.ROUTE_MODULES` (the route modules it
  plugs in) and the request flow;
* :mod:`.state`: :class:`~.state.ServerConfig` and :class:`~.state.ServerState`;
* :mod:`.routing`: :class:`~.routing.Router`, route semantics and :class:`~.routing.HttpError`;
* :mod:`.context`: :class:`~.context.RequestContext` (what a handler gets) and answer helpers;
* :mod:`.render`: ResultSet tables and Restlet status pages;
* :mod:`.params`: request parameters from query, form and JSON bodies;
* :mod:`.store`: the SQLite store and the data folder;
* :mod:`.authentication`: credentials, HTTP sessions and their cookies;
* :mod:`.faults`: fault injection (Python API and ``/xapi/testing/faults``);
* :mod:`.server`: serving the app on a real port in a thread; :mod:`.cli`: ``xnat-sdk serve``.

Importing this package imports nothing: Werkzeug loads with the modules that need it.
"""
