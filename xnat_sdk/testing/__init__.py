"""A local XNAT server for tests and offline work: ``LocalXNAT``.

Example::

    from xnat_sdk.testing import LocalXNAT

    with LocalXNAT() as server:          # fresh temporary data folder, free port
        server.seed_project("P1")
        print(server.url)                # http://127.0.0.1:54321

Importing this package is cheap; Werkzeug and the server modules load on first use.
Architecture for contributors: :mod:`xnat_sdk.testing.app` (WSGI app and the list of route
modules), :mod:`xnat_sdk.testing.routing` (router, request context, answers),
:mod:`xnat_sdk.testing.store` (SQLite store and file area).
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
