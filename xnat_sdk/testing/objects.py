"""Creating archive objects and storing files (kept at this path for callers of the old
module): :mod:`xnat_sdk.testing._areas.archive.model` (rows of the archive tree) and
:mod:`xnat_sdk.testing._areas.files.storage` (resources and files),
:mod:`xnat_sdk.testing._areas.files.leftovers` (temporary files of killed servers)."""

from __future__ import annotations

from xnat_sdk.testing._areas.archive.model import (
    VALID_ID,
    add_share,
    create_experiment,
    create_project,
    create_reconstruction,
    create_scan,
    create_subject,
    set_custom_field,
)
from xnat_sdk.testing._areas.files.leftovers import LEGACY_TEMP_GRACE_S, remove_stale_temp_files
from xnat_sdk.testing._areas.files.storage import (
    CHUNK,
    FileRecord,
    create_resource,
    delete_resource,
    resource_dir,
    safe_relpath,
    store_file,
    store_files,
    temp_prefix,
)

__all__ = [
    "CHUNK",
    "LEGACY_TEMP_GRACE_S",
    "VALID_ID",
    "FileRecord",
    "add_share",
    "create_experiment",
    "create_project",
    "create_reconstruction",
    "create_resource",
    "create_scan",
    "create_subject",
    "delete_resource",
    "remove_stale_temp_files",
    "resource_dir",
    "safe_relpath",
    "set_custom_field",
    "store_file",
    "store_files",
    "temp_prefix",
]
