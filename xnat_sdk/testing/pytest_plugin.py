"""pytest plugin of the local XNAT server (registered as the ``xnat_sdk`` pytest11 entry point).

Fixtures:

* ``xnat_server`` (session): a running :class:`xnat_sdk.testing.LocalXNAT` on a free port
  with a fresh data folder; users ``admin``/``admin`` (site admin) and ``user``/``user``;
  XNAT's default preferences (``restrictUserListAccessToAdmins`` off: ``user`` may list the
  site's users; build a ``LocalXNAT(restrict_user_list=True)`` to test the restriction);
  stopped at the end of the session.
* ``xnat_url`` (session): its base URL.
* ``xnat_project`` (function): the ID of a fresh, empty private project owned by ``admin``,
  unique per test, so tests sharing the server never see each other's data.

Importing this module is cheap: the server (and Werkzeug) loads when ``xnat_server`` starts.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator

import pytest

from xnat_sdk.testing.local import LocalXNAT

__all__ = ["xnat_project", "xnat_server", "xnat_url"]

_counter = itertools.count(1)


@pytest.fixture(scope="session")
def xnat_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalXNAT]:
    """A local XNAT server for the whole test session."""
    server = LocalXNAT(data_dir=tmp_path_factory.mktemp("xnat-server"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def xnat_url(xnat_server: LocalXNAT) -> str:
    """The base URL of the session's local XNAT server."""
    return xnat_server.url


@pytest.fixture
def xnat_project(xnat_server: LocalXNAT, request: pytest.FixtureRequest) -> str:
    """A fresh private project (owned by ``admin``) for one test; returns its ID."""
    stem = re.sub(r"[^A-Za-z0-9]", "_", request.node.name)[:40].strip("_") or "T"
    project_id = f"{stem}_{next(_counter)}"
    xnat_server.seed_project(project_id)
    return project_id
