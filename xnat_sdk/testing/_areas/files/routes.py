"""The route table of resources and files (spec §4.6, §4.7, §6), for every parent URL form
of the archive tree: project, subject, experiment, scan, reconstruction (``[/in|/out]``) and
assessor (``[/in|/out]``). For each parent:

* ``GET {parent}/resources`` -> the 11-column resource table;
* ``PUT|POST {parent}/resources/{label}[?format=&content=&description=&tags=]`` -> create
  (200, 409 if it exists, 400 with a path tail); ``GET`` -> catalog XML; ``DELETE``;
* ``GET {parent}/resources/{R}/files[/{folder}/]`` -> file table (``digest`` = MD5),
  ``?format=zip`` -> zip; ``GET .../files/{path}`` -> the bytes (Range, HEAD);
* ``PUT|POST {parent}/resources/{R}/files[/{path}]`` -> upload (raw body or multipart;
  ``extract=true`` for zip/tar/tgz; ``overwrite=true``; existing file -> 200
  ``{"duplicates":[...]}``); ``DELETE .../files/{path-or-folder}``;
* ``GET {parent}/files`` -> every file of the parent's resources (``?format=zip``);
  ``GET {experiment}/scans/{ALL|*|id,id|type}/files`` -> the files of those scans.

At startup the temporary files of killed servers are removed
(:func:`xnat_sdk.testing._areas.files.leftovers.remove_stale_temp_files`).
"""

from __future__ import annotations

from collections.abc import Iterator

from xnat_sdk.testing._areas.archive.paths import (
    PROJECT_EXPERIMENT_PREFIX,
    PROJECT_PREFIX,
    SUBJECT_PREFIXES,
    TREE_EXPERIMENT_PREFIXES,
)
from xnat_sdk.testing._areas.files.downloads import files_get, parent_files
from xnat_sdk.testing._areas.files.leftovers import remove_stale_temp_files
from xnat_sdk.testing._areas.files.resources import (
    resource_delete,
    resource_get,
    resource_list,
    resource_put,
)
from xnat_sdk.testing._areas.files.uploads import files_delete, upload
from xnat_sdk.testing._server.routing import Router
from xnat_sdk.testing._server.state import ServerState

__all__ = ["on_startup", "register"]


def _parents() -> Iterator[str]:
    yield PROJECT_PREFIX
    yield from SUBJECT_PREFIXES
    yield PROJECT_EXPERIMENT_PREFIX  # its resources only (no /files, no scans: XNAT)
    for ep in TREE_EXPERIMENT_PREFIXES:
        yield ep
        yield ep + "/scans/{scan}"
        for kind in ("reconstructions/{recon}", "assessors/{assessor}"):
            yield f"{ep}/{kind}"
            yield f"{ep}/{kind}/{{inout}}"


def on_startup(state: ServerState) -> None:
    """Remove temporary upload files that servers killed mid-upload left in the folder."""
    remove_stale_temp_files(state.store)


def register(router: Router) -> None:
    """Register resource and file routes for every parent."""
    for p in _parents():
        router.add("GET", p + "/resources", resource_list, archive=True, auth="optional")
        r = p + "/resources/{resource}"
        router.add(["PUT", "POST"], r, resource_put, archive=True, tail=True)
        router.add("GET", r, resource_get, archive=True, auth="optional")
        router.add("DELETE", r, resource_delete, archive=True, tail=True)
        f = r + "/files"
        router.add("GET", f, files_get, archive=True, auth="optional", tail=True)
        router.add(["PUT", "POST"], f, upload, archive=True, tail=True)
        router.add("DELETE", f, files_delete, archive=True, tail=True)
        if p != PROJECT_EXPERIMENT_PREFIX:
            router.add("GET", p + "/files", parent_files, archive=True, auth="optional")
