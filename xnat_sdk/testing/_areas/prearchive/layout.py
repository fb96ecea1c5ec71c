"""Where prearchive sessions live on disk, and the path and label rules for them."""

from __future__ import annotations

import datetime as _dt
import re
from pathlib import Path
from typing import TYPE_CHECKING

from xnat_sdk.testing._server.routing import HttpError
from xnat_sdk.testing._server.store import Store

if TYPE_CHECKING:
    from xnat_sdk.testing._areas.prearchive.model import PrearcSession

__all__ = [
    "check_segment",
    "clean_label",
    "files_in",
    "now_ts",
    "path_within",
    "prearchive_root",
    "resource_dirs",
    "session_dir",
]


_SAFE_SEGMENT = re.compile(r"^[A-Za-z0-9_.\-]+\Z")


def prearchive_root(store: Store) -> Path:
    """``{data_dir}/prearchive``."""
    return store.data_dir / "prearchive"


def session_dir(store: Store, s: PrearcSession) -> Path:
    """The folder of a session (holds ``SCANS/`` and ``RESOURCES/``)."""
    return prearchive_root(store) / s.project / s.timestamp / s.folder


def check_segment(value: str, what: str) -> str:
    if not _SAFE_SEGMENT.match(value) or value in (".", ".."):
        raise HttpError(400, f"Invalid {what}: {value}")
    return value


def path_within(base: Path, rel: str) -> Path:
    target = (base / rel).resolve()
    if base.resolve() not in target.parents and target != base.resolve():
        raise HttpError(400, f"Invalid file path: {rel}")
    return target


def files_in(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file())


def resource_dirs(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_dir())


def now_ts() -> str:
    t = _dt.datetime.now()
    return t.strftime("%Y%m%d_%H%M%S") + f"{t.microsecond // 1000:03d}"


def clean_label(text: str) -> str:
    """XNAT's label cleaning: characters outside ``[A-Za-z0-9_-]`` become ``_``."""
    return re.sub(r"[^A-Za-z0-9_\-]", "_", text.strip())
