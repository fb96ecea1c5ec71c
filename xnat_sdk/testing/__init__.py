"""A local XNAT server for tests and offline work: ``LocalXNAT``.

Example::

    from xnat_sdk.testing import LocalXNAT

    with LocalXNAT() as server:          # fresh temporary data folder, free port
        server.seed_project("P1")
        print(server.url)                # http://127.0.0.1:54321

Importing this package is cheap: Werkzeug, the WSGI app and the HTTP server load when a
server is first built or started.

Public modules: ``local`` (:class:`LocalXNAT`), ``seed`` (creating data without HTTP),
``errors`` (:class:`XNATSeedError`, what a seed call given something XNAT cannot hold raises),
``dicomgen`` (DICOM test data), ``pytest_plugin`` (the ``xnat_server`` fixtures), ``cli``
(``xnat-sdk serve``). The server itself is private: ``_server`` is the framework (WSGI app,
routing, request context, store, authentication, fault injection, running it) and
``_areas`` the endpoint areas (archive, files, prearchive, permissions, users, search,
services, project settings, info, inspect), one subpackage each, whose docstrings list
their endpoints. ``objects`` and ``searchxml`` are kept as aliases of the modules they
became (``_areas.archive.model`` / ``_areas.files.storage``,
``_areas.search_service.bundle``).
"""

from __future__ import annotations

from xnat_sdk.testing.errors import XNATSeedError
from xnat_sdk.testing.local import LocalXNAT

__all__ = ["LocalXNAT", "XNATSeedError"]
