"""The archive folder of an object, for code that runs next to XNAT's data (xnatpy's
``mount_data_dir``): when the archive (or a JupyterHub mount of it) is a local folder,
``experiment.data_dir`` is the experiment's folder in it, so files are read in place
instead of downloaded.

The session's ``mount_data_dir`` comes from ``connect(..., mount_data_dir=...)`` or the
``XNAT_DATA`` environment variable. Two layouts, as xnatpy tells them apart: a folder with a
``projects`` subfolder is a JupyterHub mount (``projects/{P}/experiments/{label}``),
otherwise it is XNAT's archive root (``{P}/arc001/{label}/SCANS/{scan}``).

The folder of a session, subject or assessor is in its *primary* project under its own
label, whatever project it is seen through: XNAT writes it at
``getArchiveRootPath()`` (the primary project's) + ``getCurrentArchiveFolder()`` (its
``arc001``) + ``getArchiveDirectoryName()`` (its own label, else its ID; a share's label is
no folder: ``BaseXnatExperimentdata.getCurrentSessionFolder``). Seen through a project,
those come from the object's document (read once, the session's cache keeps it), as a
project's listing tells the sharing project and the share's label.
"""

from __future__ import annotations

import enum
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xnat_sdk.errors import XNATValidationError

if TYPE_CHECKING:
    from xnat_sdk.session import XNATSession

__all__ = ["DataDirType", "data_dir", "data_dir_type", "expected_data_dir"]


class DataDirType(enum.Enum):
    """How the archive is mounted (xnatpy's names and values)."""

    NONE = "None"
    ARCHIVE_DIR = "Archive Directory"
    JUPYTER_HUB = "JupyterHub Mount"


def data_dir_type(mount: Path | None) -> DataDirType:
    """The layout of the folder ``mount`` (NONE when there is none, or it does not exist)."""
    if mount is None or not mount.is_dir():
        return DataDirType.NONE
    if (mount / "projects").is_dir():
        return DataDirType.JUPYTER_HUB
    return DataDirType.ARCHIVE_DIR


def _kind(obj: Any) -> str:
    from xnat_sdk._objects.navigation import (
        DerivedDataBase,
        ImageSessionBase,
        ProjectBase,
        ResourceBase,
        ScanBase,
        SubjectBase,
    )

    for cls, name in (
        (ProjectBase, "project"),
        (SubjectBase, "subject"),
        (DerivedDataBase, "assessor"),
        (ImageSessionBase, "session"),
        (ScanBase, "scan"),
        (ResourceBase, "resource"),
    ):
        if isinstance(obj, cls):
            return name
    raise XNATValidationError("data_dir", f"a {type(obj).__name__} has no archive folder")


def _parent(obj: Any) -> Any:
    parent = obj.parent
    if parent is not None:
        return parent
    uri: str = obj.uri
    owner = re.sub(r"/(scans|assessors|resources|experiments|subjects)/[^/]+$", "", uri)
    if owner == uri:
        raise XNATValidationError("data_dir", f"cannot tell what {uri} belongs to")
    return obj.xnat_session.create_object(owner)


def expected_data_dir(obj: Any) -> Path | None:
    """Where ``obj``'s files are in the mounted archive (None: no mount)."""
    session: XNATSession = obj.xnat_session
    mount = session.mount_data_dir
    kind_of_mount = data_dir_type(mount)
    if mount is None or kind_of_mount is DataDirType.NONE:
        return None
    hub = kind_of_mount is DataDirType.JUPYTER_HUB
    kind = _kind(obj)
    if kind == "project":
        return _project_dir(mount, hub, str(obj.id))
    if kind == "session":
        project, label = _primary(obj)
        base = _project_dir(mount, hub, project)
        if hub:
            return base / "experiments" / label
        return next(base.glob(f"arc*/{label}"), base / "arc001" / label)
    return _below(obj, kind)


_THROUGH_PROJECT = re.compile(r"^/data/(?:archive/)?projects/[^/]+/")


def _primary(obj: Any) -> tuple[str, str]:
    """(primary project, own label) of a session, subject or assessor: from its document
    when loaded; read (one request) when the object is seen through a project, which may be
    one it is only shared into (its listing answers the share's label, and for a session the
    sharing project); else (``/data/experiments/{ID}``) its fields are its own."""
    item = obj._xnat_item
    if item is None and _THROUGH_PROJECT.match(str(obj.uri)):
        item = obj._xnat_document()
    data = (item or {}).get("data_fields") or {}
    project = data.get("project") or getattr(obj, "project", None)
    label = data.get("label") or data.get("ID") or getattr(obj, "label", None)
    if not project or not label:
        raise XNATValidationError("data_dir", f"cannot tell the archive folder of {obj.uri}")
    return str(project), str(label)


def _project_dir(mount: Path, hub: bool, project: str) -> Path:
    return mount / "projects" / project if hub else mount / project


def _below(obj: Any, kind: str) -> Path | None:
    parent = _parent(obj)
    if kind == "subject":
        raise XNATValidationError("data_dir", "subjects have no folder of their own in XNAT")
    if kind == "resource":
        return _resource_dir(obj, parent)
    base = expected_data_dir(parent)
    if base is None:
        return None
    if kind == "assessor":
        return base / "ASSESSORS" / _primary(obj)[1]
    found = base / "SCANS" / str(obj.id)
    if not found.exists():
        match = re.match(r"(\d+)-[A-Z][A-Z]\d+$", str(obj.id))
        if match:  # XNAT renames clashing scan IDs (1-MR1) but keeps the folder of the first
            return base / "SCANS" / match.group(1)
    return found


def _resource_dir(obj: Any, parent: Any) -> Path | None:
    kind = _kind(parent)
    name = "DICOM" if obj.format == "DICOM" else str(obj.label)
    if kind == "subject":  # {primary project}/subjects/{its own label}/{resource}
        mount = parent.xnat_session.mount_data_dir
        if mount is None or data_dir_type(mount) is DataDirType.NONE:
            return None
        project, label = _primary(parent)
        hub = data_dir_type(mount) is DataDirType.JUPYTER_HUB
        return _project_dir(mount, hub, project) / "subjects" / label / name
    base = expected_data_dir(parent)
    if base is None:
        return None
    if kind == "project":
        return base / "resources" / name
    if kind == "session":
        return base / "RESOURCES" / name
    return base / str(obj.label)


def data_dir(obj: Any) -> Path | None:
    """:func:`expected_data_dir` when that folder exists, else None."""
    found = expected_data_dir(obj)
    return found if found is not None and found.is_dir() else None
