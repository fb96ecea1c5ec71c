"""Which session a :func:`~xnat_sdk.bulk.sync_session` folder holds: a hidden
``.xnat-sdk-session`` in it names the first session downloaded there (its ID, project and
label, as JSON), so that another session of the same label (from another project) is
refused instead of taking turns with it on every run.

The file is made whole or not at all (written under a temporary name, then linked to its
name, which fails when another run made it first), so runs of one session at once agree,
and runs of two sessions at once: one of them is refused.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

from xnat_sdk.archives import SDK_FILES, temp_beside
from xnat_sdk.errors import XNATFileExistsError
from xnat_sdk.transfers._paths import _local_files

__all__ = ["MARKER", "claim_folder"]

MARKER = ".xnat-sdk-session"
assert MARKER in SDK_FILES


def claim_folder(folder: Path, experiment: Any) -> None:
    """Mark ``folder`` as ``experiment``'s (made if missing); raises
    :class:`XNATFileExistsError` when it is another session's."""
    mine = {
        "id": str(getattr(experiment, "id", "") or experiment.uri.rsplit("/", 1)[-1]),
        "project": str(getattr(experiment, "project", "") or ""),
        "label": str(getattr(experiment, "label", "") or ""),
    }
    path = folder / MARKER
    with _local_files(folder, "marking the folder as the session's"):
        folder.mkdir(parents=True, exist_ok=True)
        theirs = _read(path)
        if theirs is None:
            _make(path, json.dumps(mine).encode())
            theirs = _read(path)
    if theirs is None or theirs.get("id") != mine["id"]:
        error = XNATFileExistsError(
            f"{folder} holds the files of {_name(theirs)}, not of {_name(mine)} (two sessions "
            f"of one label, from two projects?): nothing written there ({path} names it)"
        )
        error.remedy = "give this session a folder of its own (folder=...)"
        raise error


def _name(found: dict[str, Any] | None) -> str:
    if not found:
        return "an unknown session (unreadable)"
    return f"session {found.get('id')} ({found.get('label')} of project {found.get('project')})"


def _read(path: Path) -> dict[str, Any] | None:
    """The marker at ``path``; None when there is none; {} when it is unreadable."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        return {}
    try:
        found = json.loads(data)
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _make(path: Path, data: bytes) -> None:
    """``path`` holding ``data``, unless it exists (made by another run)."""
    fd, temp = temp_beside(path)
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
        try:
            os.link(temp, path)
        except FileExistsError:
            pass
        except OSError:  # no hard links here: made in place (whole but for a crash)
            with contextlib.suppress(FileExistsError), path.open("xb") as stream:
                stream.write(data)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(temp)
