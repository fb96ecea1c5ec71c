"""The endpoint areas of the local XNAT server, one subpackage each.

Each area's ``routes`` module is a route module of :mod:`xnat_sdk.testing._server.app`
(``register(router)``, optionally ``SCHEMA_SQL`` and ``on_startup``); large areas keep their
state/model, request parsing and handlers in modules of their own beside it:

* :mod:`.permissions`: access rules, login/logout, alias tokens, project membership;
* :mod:`.info`: version, uptime, schema files;
* :mod:`.archive`: the archive tree (projects, subjects, experiments, scans, ...);
* :mod:`.files`: resources and files of every archive object, zips;
* :mod:`.prearchive`: prearchive sessions and archiving them;
* :mod:`.project_settings`: ``prearchive_code``, ``quarantine_code``, ``current_arc``;
* :mod:`.services`: the import service, the DICOM dump, catalog refresh;
* :mod:`.users`: the ``/xapi/users`` API;
* :mod:`.search_service`: ``POST /data/search`` and stored searches;
* :mod:`.inspect_service`: data-type introspection (``/data/search/elements``).
"""
