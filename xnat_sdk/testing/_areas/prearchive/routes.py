"""The route table of the prearchive (XNAT 1.8 shapes, see the REST spec §7), its tables
(``SCHEMA_SQL``) and its folder (``on_startup``):

* ``GET /data/prearchive``, ``GET /data/prearchive/projects[/{P}[,{P2}]]``: session rows;
  ``PUT /data/prearchive``: rebuild every session from disk (admins);
* ``GET|DELETE|POST /data/prearchive/projects/{P}/{TS}/{FOLDER}``: the row (``format=json``),
  the session XML (default, ``format=xml``), a zip (``format=zip``); delete; ``?action=``
  ``build|reset-status|move|commit|set-status``;
* ``.../scans``, ``.../scans/{S}`` (zip, DELETE), ``.../scans/{S}/resources``,
  ``.../scans/{S}/resources/{R}/files[/{name}]``, ``.../resources[/{R}/files[/{name}]]``,
  ``.../logs[/last]``;
* ``POST /data/services/archive`` and ``POST /data/services/prearchive/{move,rebuild,delete}``.

A project's ``prearchive_code`` is :mod:`xnat_sdk.testing._areas.project_settings`.
"""

from __future__ import annotations

from xnat_sdk.testing._areas.prearchive.batch import (
    archive_sessions,
    batch_delete,
    batch_move,
    batch_rebuild,
)
from xnat_sdk.testing._areas.prearchive.content_handlers import (
    scan_delete,
    scan_files,
    scan_get,
    scan_resource,
    scan_resources,
    scans_list,
    session_logs,
    session_resource_files,
    session_resources,
)
from xnat_sdk.testing._areas.prearchive.layout import prearchive_root
from xnat_sdk.testing._areas.prearchive.model import SCHEMA_SQL
from xnat_sdk.testing._areas.prearchive.session_handlers import (
    projects_list,
    session_delete,
    session_get,
    session_post,
    sessions_list,
    sessions_rebuild,
)
from xnat_sdk.testing._server.routing import Router
from xnat_sdk.testing._server.state import ServerState

__all__ = ["SCHEMA_SQL", "on_startup", "register"]


def on_startup(state: ServerState) -> None:
    """Create the prearchive folder."""
    prearchive_root(state.store).mkdir(parents=True, exist_ok=True)


def register(router: Router) -> None:
    """Register the prearchive routes and the archive/prearchive batch services."""
    base = "/data/prearchive/projects/{project}/{timestamp}/{folder}"
    router.add("GET", "/data/prearchive", sessions_list)
    router.add("PUT", "/data/prearchive", sessions_rebuild)
    router.add("GET", "/data/prearchive/projects", sessions_list)
    router.add("GET", "/data/prearchive/projects/{projects}", projects_list)
    router.add("GET", base, session_get)
    router.add("DELETE", base, session_delete, tail=True)
    router.add("POST", base, session_post)
    router.add("GET", base + "/logs", session_logs, tail=True)
    router.add("GET", base + "/scans", scans_list)
    router.add("GET", base + "/scans/{scan}", scan_get)
    router.add("DELETE", base + "/scans/{scan}", scan_delete)
    router.add("GET", base + "/scans/{scan}/resources", scan_resources)
    router.add("GET", base + "/scans/{scan}/resources/{resource}", scan_resource)
    router.add("GET", base + "/scans/{scan}/resources/{resource}/files", scan_files, tail=True)
    router.add("GET", base + "/resources", session_resources)
    router.add("GET", base + "/resources/{resource}/files", session_resource_files, tail=True)
    router.add("POST", "/data/services/archive", archive_sessions)
    router.add("POST", "/data/services/prearchive/delete", batch_delete)
    router.add("POST", "/data/services/prearchive/rebuild", batch_rebuild)
    router.add("POST", "/data/services/prearchive/move", batch_move)
