"""Paths of transfers: remote paths made safe to send, local paths checked, local file-system
failures named, complete temporary files moved into place.

* Remote: :func:`quote_path` (raw names, every segment encoded), :func:`quote_uri` (a REST
  URI as given, escapes and query kept), :func:`check_remotepath` (a file path inside a
  resource).
* Local: :func:`local_path` / :func:`local_folder` (arguments checked), :func:`_safe_name`
  (a server-given label as one folder name), :func:`_local_error` / :func:`_local_files`
  (an ``OSError`` of the local disk as :class:`XNATLocalFileError` naming the path),
  :func:`_staging_folder` and :func:`_publish` (through the temporary names of
  :mod:`xnat_sdk.archives`).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

from xnat_sdk.archives import case_key, temp_name
from xnat_sdk.errors import (
    XNATError,
    XNATFileExistsError,
    XNATLocalFileError,
    XNATValidationError,
    XNATValueError,
)

__all__ = [
    "case_key",
    "check_remotepath",
    "local_folder",
    "local_path",
    "quote_path",
    "quote_uri",
    "split_file_uri",
]


def quote_path(path: str) -> str:
    """``path`` with every segment percent-encoded (spaces, ``#``, ``?``, ``%``, ``+``, ``;``
    (Tomcat cuts ``;name=value`` path parameters out of the path), unicode); the ``/``
    separators are kept. (XNAT URL-decodes a scan ID: a ``+`` left as
    it is would name the scan with a space there.)"""
    return "/".join(quote(segment, safe="!$&'()*,=:@~-._") for segment in path.split("/"))


def file_request_path(uri: str) -> str:
    """A file listing's ``URI`` made fit to request: :func:`quote_path`, and a scan ID with
    a comma, which XNAT reads as a list of scans (``scans/a,b`` names scans ``a`` and
    ``b``), replaced by ``ALL`` (the resource, named by its numeric ID, picks the file)."""
    parts = uri.split("/")
    at = parts.index("resources") if "resources" in parts else 0  # the file's own resource
    if at >= 2 and parts[at - 2] == "scans" and "," in parts[at - 1]:
        parts[at - 1] = "ALL"
    return quote_path("/".join(parts))


def quote_uri(uri: str) -> str:
    """A REST URI made safe to send: characters that are not allowed in a URL path (spaces,
    ``#``, unicode ...) and ``;`` (Tomcat cuts path parameters out) are percent-encoded,
    existing ``%XX`` escapes and a ``?query`` part are kept (for raw names use
    :func:`quote_path`)."""
    path, sep, query = uri.partition("?")
    return quote(path, safe="/%!$&'()*+,=:@~-._") + sep + query


def check_remotepath(remotepath: str) -> str:
    """A remote file path inside a resource, checked: no ``.``/``..`` segments, no empty
    segments, backslashes or NUL; returns it without leading ``/`` (remote paths are
    relative to the resource, so ``"/a/b.dcm"`` means ``"a/b.dcm"``, as in xnatpy)."""
    if not isinstance(remotepath, str):
        raise XNATValueError(f"remotepath must be a str, got {type(remotepath).__name__}")
    relative = remotepath.lstrip("/")
    if "\0" in remotepath:
        raise XNATValueError(f"remotepath {remotepath!r} contains a NUL character")
    if "\\" in remotepath:
        raise XNATValueError(
            f"remotepath {remotepath!r} contains a backslash (folders are separated by '/'; "
            "a backslash is read as one on Windows)"
        )
    if any(seg in ("", ".", "..") for seg in relative.split("/")):
        raise XNATValueError(
            f"remotepath {remotepath!r} must name a file inside the resource "
            "(no empty, '.' or '..' segments)"
        )
    return relative


def check_scan_filter(scan_filter: object) -> None:
    """Refuse a scan filter that is not text (``"ALL"``, or IDs and types, comma-separated):
    a list of types is written ``"T1,FLAIR"``."""
    if not isinstance(scan_filter, str):
        hint = (
            f' (write "{",".join(map(str, scan_filter))}")'
            if isinstance(scan_filter, (list, tuple))
            else ""
        )
        raise XNATValidationError(
            "scan_filter",
            f'expected "ALL" or scan IDs or types, comma-separated, got '
            f"{type(scan_filter).__name__}{hint}",
        )


def scans_matching(scans: Mapping[str, Any], scan_filter: str) -> dict[str, str]:
    """Scan ID -> type of the scans that XNAT's scan filter ``scan_filter`` picks in the
    listing ``scans`` (``ALL`` or ``*``: all; else IDs or types, comma-separated), as the
    server's ``.../scans/{filter}/files`` picks them."""
    types = {str(key): str(getattr(scan, "type", "") or "") for key, scan in scans.items()}
    if scan_filter in ("ALL", "*"):
        return types
    picked = {part.strip() for part in scan_filter.split(",")}
    return {k: t for k, t in types.items() if k in picked or t in picked}


def split_file_uri(uri: str) -> tuple[str, str, str] | None:
    """``(scan ID or "", resource, path inside the resource)`` of a file listing's URI
    (``.../scans/{scan}/resources/{resource}/files/{path}``, or the same without the scan
    for a resource of another level); None for another shape. The resource is as the URI
    names it (XNAT's listings name it by its ID; the label is the ``collection`` column)."""
    at = uri.find("/resources/")
    while at >= 0:
        end = uri.find("/", at + 11)
        if end > at + 11 and uri.startswith("/files/", end) and len(uri) > end + 7:
            cut = uri.rfind("/", 0, at)
            scan = uri[cut + 1 : at] if cut >= 0 and uri.endswith("/scans", 0, cut) else ""
            return scan, uri[at + 11 : end], uri[end + 7 :]
        at = uri.find("/resources/", at + 1)
    return None


def local_path(value: object, what: str) -> Path:
    """``value`` as a local :class:`Path`, or :class:`XNATValueError` naming ``what``."""
    if not isinstance(value, (str, os.PathLike)) or not os.fspath(value):
        raise XNATValueError(f"{what} must be a path (str or os.PathLike), got {value!r}")
    return Path(os.fspath(value))


def local_folder(value: object, what: str) -> Path:
    """``value`` as a local folder path that is not an existing file."""
    path = local_path(value, what)
    if path.exists() and not path.is_dir():
        raise XNATValueError(f"{what} {path} exists and is not a folder")
    return path


def resolves_inside(real_root: str, folder: str | os.PathLike[str]) -> bool:
    """Whether ``folder``, its links followed, is ``real_root`` (a ``realpath``) or below
    it: a folder linked out of the target a download writes into is not."""
    real = os.path.realpath(folder)
    return real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)


def _safe_name(text: str) -> str:
    """A server-given label or name as one local folder name: separators and NUL become
    ``_`` (and, on Windows, a drive letter's colon), an empty or dot name ``_``."""
    cleaned = text.replace("/", "_").replace("\\", "_").replace("\x00", "_").strip()
    if os.name == "nt" and cleaned[1:2] == ":":
        cleaned = cleaned[:1] + "_" + cleaned[2:]
    return "_" if cleaned in ("", ".", "..") else cleaned


def _local_error(path: str | os.PathLike[str], doing: str, exc: OSError) -> XNATLocalFileError:
    """A failed local file operation as the error naming ``path`` (kept when it is one)."""
    if isinstance(exc, XNATLocalFileError):
        return exc
    return XNATLocalFileError(
        os.fspath(path), f"{doing} failed ({exc.strerror or exc}; local file system)", exc.errno
    )


@contextlib.contextmanager
def _local_files(path: str | os.PathLike[str], doing: str) -> Iterator[None]:
    """Raise the local :class:`OSError` of the block as :class:`XNATLocalFileError` naming
    ``path`` (the SDK's own errors, some of them OSErrors too, pass unchanged)."""
    try:
        yield
    except XNATError:
        raise
    except OSError as exc:
        raise _local_error(path, doing, exc) from exc


def _staging_folder(parent: Path) -> Path:
    """A new, empty staging folder in ``parent`` (a local error names ``parent``)."""
    while True:
        path = parent / temp_name(None)
        try:
            path.mkdir(0o700)
        except FileExistsError:
            continue
        except OSError as exc:
            raise _local_error(parent, "creating a staging folder", exc) from exc
        return path


def _publish(tmp: Path, target: Path, overwrite: bool) -> None:
    """Move a complete temporary file to ``target`` (atomically refusing an existing one
    when ``overwrite`` is False)."""
    if overwrite:
        os.replace(tmp, target)
        return
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise XNATFileExistsError(f"{target} exists") from None
    except OSError:
        if target.exists():
            raise XNATFileExistsError(f"{target} exists") from None
        os.replace(tmp, target)
        return
    tmp.unlink()
