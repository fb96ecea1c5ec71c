"""Bulk downloads at archive scale: the scan files of many sessions into one folder (shared
storage for a cluster), file by file, a bounded number at a time, resumable.

Each session's files come from ONE listing (``{session}/scans/ALL/files``: size and MD5 per
file) and land where ``download_dir`` puts them
(``{session label}/scans/{id}-{type}/resources/{label}/files/{path}`` below the project
and subject folders). A file already there
with the listed size and MD5 is skipped, so a rerun (after a crash, on another worker, with
more sessions) downloads only what is missing or wrong; every new file is written under a
temporary name and renamed once verified, so a killed run leaves no half file under a
final name. A file that fails (or a session whose listing fails) is reported and the
others go on; the call then raises :class:`~xnat_sdk.errors.XNATIncompleteDownloadError`
naming it and holding the report (nothing verified is lost). Two files of one local path
are never written over each other (the second is reported).

:func:`sync_session` is a plain module-level function, so it is also what to hand
``session.map(..., executor=dask_client)``: each worker process then downloads its
sessions with ``workers`` threads each.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xnat_sdk._answers import fetch, whole_number
from xnat_sdk._objects.core import routed_experiment_uri
from xnat_sdk.archives import safe_join
from xnat_sdk.errors import (
    XNATError,
    XNATIncompleteDownloadError,
    XNATUnsafeArchiveError,
    XNATValidationError,
    XNATValueError,
)
from xnat_sdk.progress import TransferProgress
from xnat_sdk.transfers import download_file, local_folder
from xnat_sdk.transfers._paths import (
    _safe_name,
    check_scan_filter,
    file_request_path,
    scans_matching,
    split_file_uri,
)

if TYPE_CHECKING:
    from xnat_sdk.session import XNATSession

__all__ = ["DownloadReport", "FileToGet", "download_sessions", "sync_session"]

DEFAULT_WORKERS = 4

_NON_WORD = re.compile(r"\W")


@dataclass(frozen=True)
class FileToGet:
    """One remote file and where it goes."""

    uri: str
    target: Path
    size: int | None
    digest: str | None


@dataclass
class DownloadReport:
    """What a bulk download did: files downloaded, files skipped (already there and
    verified), files that failed (``{uri: message}``) and bytes transferred."""

    downloaded: list[str] = field(default_factory=list)
    """The files this run fetched and verified, by their path on the server
    (``/data/projects/P/.../files/1.dcm``)."""
    skipped: list[str] = field(default_factory=list)
    """The files already there with the listed size and MD5, by their path on the server."""
    failed: dict[str, str] = field(default_factory=dict)
    """``{path on the server: why}`` of the files (or a session's file listing) that failed."""
    bytes: int = 0
    """Bytes this run transferred."""
    present_bytes: int = 0
    """Bytes of the downloaded and the skipped files together (what the run leaves in
    place)."""

    def merge(self, other: DownloadReport) -> None:
        """Add ``other``'s counts to this report."""
        self.downloaded += other.downloaded
        self.skipped += other.skipped
        self.failed.update(other.failed)
        self.bytes += other.bytes
        self.present_bytes += other.present_bytes


def _scan_folder(scan_id: str, kind: str) -> str:
    # XNAT's zip layout: {id}-{type}, every non-word character of the type as "_"
    return f"{scan_id}-{_NON_WORD.sub('_', kind)}" if kind else scan_id


def plan_session(
    experiment: Any, folder: Path, scan_filter: str = "ALL", resource: str | None = None
) -> list[FileToGet]:
    """The scan files of one image session (one listing request) and where they go below
    ``folder`` (the session's own folder); with ``resource``, those of the scans' resources
    of that label only."""
    session = experiment._xnat_bound_session()
    scans = scans_matching(experiment.scans, scan_filter or "ALL")
    if not scans:
        return []
    uri = f"{routed_experiment_uri(experiment.uri)}/scans/ALL/files"
    rows = fetch(session, uri).rows(numbers=("Size",))
    plan: list[FileToGet] = []
    for row in rows:
        file_uri = str(row.get("URI", ""))
        found = split_file_uri(file_uri)
        if found is None or found[0] not in scans:
            continue
        scan, resource_id, path = found
        label = str(row.get("collection") or resource_id)
        if resource is not None and label != resource:
            continue
        rel = f"scans/{_scan_folder(scan, scans[scan])}/resources/{_safe_name(label)}/files/{path}"
        digest = str(row.get("digest") or "") or None
        plan.append(
            FileToGet(file_uri, safe_join(folder, rel), whole_number(row.get("Size")), digest)
        )
    return plan


def check_inside(root: Path, plan: Sequence[FileToGet]) -> None:
    """Raise :class:`~xnat_sdk.errors.XNATUnsafeArchiveError` when a file of ``plan`` would
    be written outside ``root`` (the folder the user named) through a link already in it
    (a session's or subject's folder linked elsewhere): nothing is fetched then, as
    ``download_dir`` refuses such a link."""
    real_root = os.path.realpath(root)
    checked: dict[Path, bool] = {}
    for item in plan:
        folder = item.target.parent
        inside = checked.get(folder)
        if inside is None:
            real = os.path.realpath(folder)
            inside = real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)
            checked[folder] = inside
        if not inside:
            raise XNATUnsafeArchiveError(
                str(item.target), f"resolves outside the target folder {root} (symlink)"
            )


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def is_verified(item: FileToGet) -> bool:
    """Whether ``item.target`` exists with the listed size and MD5 (size alone when the
    server keeps no digest)."""
    try:
        size = item.target.stat().st_size
    except OSError:
        return False
    if item.size is not None and size != item.size:
        return False
    if item.digest is None:
        return item.size is not None
    return _md5(item.target) == item.digest.lower()


def _check_download_args(workers: object, scan_filter: object = "ALL") -> None:
    """Refuse bad ``workers`` or ``scan_filter`` of a download (before any listing)."""
    _check_workers(workers)
    check_scan_filter(scan_filter)


def _check_workers(workers: object) -> None:
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise XNATValidationError("workers", f"expected an int >= 1, got {workers!r}")


def _one_per_target(plan: Sequence[FileToGet], report: DownloadReport) -> list[FileToGet]:
    """``plan`` with one file per local path: a later file whose path is taken (scan ``1``
    of type ``T1`` and scan ``1-T1`` share the folder ``1-T1``), is a folder of a file
    kept (``a.dcm`` and ``a.dcm/b.dcm``) or lies inside a file kept, is reported as failed,
    so that no run overwrites what another file put there, nor fails on it every run."""
    files: dict[Path, str] = {}
    folders: dict[Path, str] = {}  # every folder of a kept file's path -> that file
    kept: list[FileToGet] = []
    for item in plan:
        if files.get(item.target) == item.uri:
            continue  # the same file listed twice goes once
        reason = _taken_path(item.target, files, folders)
        if reason is not None:
            report.failed[item.uri] = (
                f"{reason}: not overwritten (download this one on its own, with download())"
            )
            continue
        files[item.target] = item.uri
        for folder in item.target.parents:
            folders.setdefault(folder, item.uri)
        kept.append(item)
    return kept


def _taken_path(target: Path, files: dict[Path, str], folders: dict[Path, str]) -> str | None:
    """Why ``target`` cannot take a file (another file holds it or one of its folders, or
    it is a folder of another file's path), or None."""
    if target in files:
        return f"its local path {target} is that of {files[target]}, downloaded there"
    if target in folders:
        return (
            f"its local path {target} is a folder of the local path of {folders[target]}, "
            "downloaded there"
        )
    for folder in target.parents:
        if folder in files:
            return (
                f"its local path {target} lies inside {folder}, the local path of "
                f"{files[folder]}, downloaded there"
            )
    return None


def get_files(
    session: XNATSession,
    plan: Sequence[FileToGet],
    *,
    workers: int = DEFAULT_WORKERS,
    verbose: bool = False,
    label: str = "files",
) -> DownloadReport:
    """Download the files of ``plan`` not already there and verified, ``workers`` at a time
    (one progress bar per file and one overall bar on a terminal)."""
    _check_workers(workers)
    report = DownloadReport()
    plan = _one_per_target(plan, report)
    lock = threading.Lock()
    total = sum(item.size or 0 for item in plan)
    with TransferProgress(verbose, overall_label=label, overall_total=total) as bars:

        def one(item: FileToGet) -> None:
            if is_verified(item):
                with lock:
                    report.skipped.append(item.uri)
                    report.present_bytes += item.target.stat().st_size
                bars.advance_overall(item.size or 0)
                return
            try:
                download_file(
                    session,
                    file_request_path(item.uri),
                    item.target,
                    verbose=False,
                    expected_md5=item.digest,
                    expected_size=item.size,
                    update_func=bars.task(item.target.name, item.size),
                )
            except (XNATError, OSError) as exc:
                with lock:
                    report.failed[item.uri] = f"{type(exc).__name__}: {exc}"
                return
            with lock:
                report.downloaded.append(item.uri)
                size = item.target.stat().st_size
                report.bytes += size
                report.present_bytes += size

        with ThreadPoolExecutor(workers, thread_name_prefix="xnat-sdk-bulk") as pool:
            list(pool.map(one, plan))
    return report


def _raise_failures(report: DownloadReport) -> None:
    if report.failed:
        uri, message = next(iter(report.failed.items()))
        raise XNATIncompleteDownloadError(
            f"{len(report.failed)} file(s) or session(s) failed (first: {uri}: {message}); "
            f"{len(report.downloaded)} downloaded, {len(report.skipped)} already there. "
            "Run again to fetch only what is missing.",
            report,
        )


def sync_session(
    experiment: Any,
    target_dir: str | os.PathLike[str],
    scan_filter: str = "ALL",
    workers: int = DEFAULT_WORKERS,
    *,
    verbose: bool = False,
    folder: str | None = None,
    resource: str | None = None,
) -> DownloadReport:
    """Bring one image session's scan files into ``target_dir/{folder or label}`` (see the
    module's docstring; with ``resource``, only the scans' resources of that label); files
    already there and verified are skipped."""
    from xnat_sdk._objects.navigation import ImageSessionBase

    if not isinstance(experiment, ImageSessionBase):
        raise XNATValueError(f"expected an image session, got {experiment!r}")
    check_scan_filter(scan_filter)
    root = local_folder(target_dir, "target_dir")
    name = folder if folder is not None else str(getattr(experiment, "label", "") or "")
    where = root / _safe_name(name) if name else root
    plan = plan_session(experiment, where, scan_filter, resource)
    check_inside(root, plan)
    session = experiment._xnat_bound_session()
    report = get_files(session, plan, workers=workers, verbose=verbose, label=name or "session")
    _raise_failures(report)
    return report


def download_sessions(
    sessions: Iterable[tuple[Any, Path]],
    *,
    scan_filter: str = "ALL",
    workers: int = DEFAULT_WORKERS,
    verbose: bool = False,
    label: str = "download",
    root: Path | None = None,
) -> DownloadReport:
    """The scan files of many sessions, each into its folder: the listings read ``workers``
    at a time, then every file not already verified, ``workers`` at a time. A session whose
    listing fails is reported (``failed``, by its listing's path) and the others go on;
    any failure raises :class:`~xnat_sdk.errors.XNATIncompleteDownloadError` at the end,
    holding the report. With ``root`` (the folder the user named), a file whose folder
    resolves outside it (a link already there) raises before any file is fetched."""
    _check_download_args(workers, scan_filter)  # before any listing is read
    pairs = list(sessions)
    if not pairs:
        return DownloadReport()
    session = pairs[0][0]._xnat_bound_session()
    unlisted: dict[str, str] = {}

    def planned(pair: tuple[Any, Path]) -> list[FileToGet]:
        try:
            return plan_session(pair[0], pair[1], scan_filter)
        except XNATError as exc:  # this session's files stay unknown; the others go on
            unlisted[f"{pair[0].uri}/scans/ALL/files"] = f"{type(exc).__name__}: {exc}"
            return []

    with ThreadPoolExecutor(workers) as pool:
        plans = list(pool.map(planned, pairs))
    plan = [item for found in plans for item in found]
    if root is not None:
        check_inside(root, plan)
    report = get_files(session, plan, workers=workers, verbose=verbose, label=label)
    report.failed.update(unlisted)
    _raise_failures(report)
    return report
