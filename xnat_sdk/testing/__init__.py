"""A local XNAT server for tests and offline work: ``LocalXNAT``.

Example::

    from xnat_sdk.testing import LocalXNAT

    with LocalXNAT() as server:          # fresh temporary data folder, free port
        server.seed_project("P1")
        print(server.url)                # http://127.0.0.1:54321

Importing this package is cheap; Werkzeug and the server modules load on first use.

Modules: ``app`` (WSGI app, list of route modules), ``routing`` (router, request context,
ResultSet rendering), ``store`` (SQLite + files), ``objects`` / ``seed`` (creating data),
``auth`` (sessions, tokens, membership), ``info`` (version, uptime, schemas), ``archive`` /
``listing`` / ``lookup`` / ``render`` / ``xsd`` (the archive tree), ``files`` / ``zips``
(resources, files, archives), ``creation`` (POST on collections), ``faults`` (fault
injection), ``server`` / ``local`` / ``cli`` / ``pytest_plugin`` (running it). The services
(prearchive, import, dicomdump, users API, search, inspect) live in their own modules.
Each module's docstring lists its endpoints.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from xnat_sdk.testing.local import LocalXNAT

__all__ = ["LocalXNAT"]


def __getattr__(name: str) -> object:
    if name == "LocalXNAT":
        from xnat_sdk.testing.local import LocalXNAT

        return LocalXNAT
    raise AttributeError(name)
