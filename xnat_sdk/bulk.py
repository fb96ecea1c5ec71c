"""Bulk downloads at archive scale: the scan files of many sessions into one folder (shared
storage for a cluster), file by file, a bounded number at a time, resumable.

Each session's files come from ONE listing (``{session}/scans/ALL/files``: size and MD5 per
file) and land where ``download_dir`` puts them
(``{session label}/scans/{id}-{type}/resources/{label}/files/{path}`` below the project
and subject folders). A file already there
with the listed size and MD5 is skipped, so a rerun (after a crash, on another worker, with
more sessions) downloads only what is missing or wrong (``overwrite=False``: a file there
that is not the server's is kept and reported); every new file is written under a
temporary name and renamed once verified, so a killed run leaves no half file under a
final name. A file that fails (or a session whose listing fails) is reported and the
others go on; the call then raises :class:`~xnat_sdk.errors.XNATIncompleteDownloadError`
naming it and holding the report (nothing verified is lost). Two files of one local path
are never written over each other (the second is reported). Runs sharing a target download
each file once: a file under way holds a claim (:mod:`xnat_sdk.transfers._claims`), which
other runs wait for at their end.

:func:`sync_session` is a plain module-level function, so it is also what to hand
``session.map(..., executor=dask_client)``: each worker process then downloads its
sessions with ``workers`` threads each.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from xnat_sdk._answers import fetch, whole_number
from xnat_sdk._objects.core import routed_experiment_uri
from xnat_sdk._units import format_bytes
from xnat_sdk.archives import SDK_FILES, safe_join, sweep_leftovers
from xnat_sdk.errors import (
    XNATCaseCollisionError,
    XNATError,
    XNATFileExistsError,
    XNATIncompleteDownloadError,
    XNATLocalFileError,
    XNATUnsafeArchiveError,
    XNATValidationError,
    XNATValueError,
)
from xnat_sdk.progress import ProgressCallback, TransferProgress
from xnat_sdk.transfers import download_file, local_folder
from xnat_sdk.transfers._claims import claim, holder_at_work
from xnat_sdk.transfers._owner import claim_folder
from xnat_sdk.transfers._paths import (
    _local_files,
    _safe_name,
    case_key,
    check_scan_filter,
    file_request_path,
    resolves_inside,
    scans_matching,
    split_file_uri,
)
from xnat_sdk.transfers._verified import VerifiedRecord, stamp_of

if TYPE_CHECKING:
    from xnat_sdk.session import XNATSession

__all__ = ["DownloadReport", "FileToGet", "Verify", "download_sessions", "sync_session"]

DEFAULT_WORKERS = 4

Verify = Literal["quick", "full"]
"""How a bulk download verifies the files already there: ``"quick"`` (the default) skips
unread a file that the record of verified files (``.xnat-sdk-verified`` in its folder)
knows with its current size, times and inode, and whose MD5 the server still lists;
``"full"`` reads and hashes every file there (and renews the record)."""

_log = logging.getLogger("xnat_sdk")

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
    """What a bulk download did: files downloaded (``replaced``: those of them that took
    the place of a file of another size or MD5), files skipped (already there and
    verified), files that failed (``{uri: message}``, and in ``errors`` the typed error of
    each) and bytes transferred."""

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
    errors: dict[str, XNATError] = field(default_factory=dict, compare=False)
    """The error of each failed file or session, by the key of ``failed``: an
    :class:`~xnat_sdk.errors.XNATNotFoundError` (the file vanished from the server), an
    :class:`~xnat_sdk.errors.XNATIntegrityError`, an
    :class:`~xnat_sdk.errors.XNATLocalFileError` (``errno`` says which) ... (not compared:
    errors are equal only to themselves; ``failed`` has their messages)."""
    replaced: list[str] = field(default_factory=list)
    """The downloaded files that replaced another file at their local path (of another
    size or MD5: cut short, changed there, or changed on the server since)."""
    kept: list[str] = field(default_factory=list)
    """The files not downloaded because another file (of another size or MD5) is at their
    local path and ``overwrite=False``: that file stays; each is in ``failed`` too, with an
    :class:`~xnat_sdk.errors.XNATFileExistsError` naming the local path."""
    hashed_bytes: int = 0
    """Bytes of local files this run read to verify them (their MD5): with
    ``verify="quick"``, only files new to the record of verified files, changed there or
    changed on the server; with ``verify="full"``, every file there."""

    def add_failure(self, uri: str, error: XNATError) -> None:
        """Record that ``uri`` failed with ``error`` (in ``failed`` and ``errors``)."""
        self.failed[uri] = f"{type(error).__name__}: {error}"
        self.errors[uri] = error.with_traceback(None)  # no frames kept alive by the report

    def merge(self, other: DownloadReport) -> None:
        """Add ``other``'s counts to this report."""
        self.downloaded += other.downloaded
        self.skipped += other.skipped
        self.failed.update(other.failed)
        self.errors.update(other.errors)
        self.replaced += other.replaced
        self.kept += other.kept
        self.bytes += other.bytes
        self.present_bytes += other.present_bytes
        self.hashed_bytes += other.hashed_bytes


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
            inside = checked[folder] = resolves_inside(real_root, folder)
        if not inside:
            raise XNATUnsafeArchiveError(
                str(item.target), f"resolves outside the target folder {root} (symlink)"
            )


def check_folder_inside(root: Path, folder: Path) -> None:
    """:func:`check_inside` for one ``folder`` the SDK writes into before it has a plan
    (a session's folder, which gets its marker first)."""
    if not resolves_inside(os.path.realpath(root), folder):
        raise XNATUnsafeArchiveError(
            str(folder), f"resolves outside the target folder {root} (symlink)"
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
        return _look(item)[1] is not None
    except OSError:
        return False


def _look(item: FileToGet, hashed: list[int] | None = None) -> tuple[bool, int | None]:
    """Whether something is at ``item.target``, and its size when it is the file, verified
    (:func:`is_verified`); one ``stat``, and a read when the size is right and the server
    lists an MD5 (its size is added to ``hashed``). Raises the ``OSError`` of reading it."""
    try:
        size = item.target.stat().st_size
    except (FileNotFoundError, NotADirectoryError):
        return False, None
    if item.size is not None and size != item.size:
        return True, None
    if item.digest is None:
        return True, (size if item.size is not None else None)
    if hashed is not None:
        hashed.append(size)
    return True, (size if _md5(item.target) == item.digest.lower() else None)


def target_folder(target_dir: object) -> Path:
    """``target_dir`` checked and made (with its parents): a folder that cannot be made
    there (inside a file, say) raises :class:`~xnat_sdk.errors.XNATLocalFileError` before
    anything is listed, not one failure per file after every listing was read."""
    root = local_folder(target_dir, "target_dir")
    with _local_files(root, "creating the target folder"):
        root.mkdir(parents=True, exist_ok=True)
    return root


def _check_download_args(
    workers: object, scan_filter: object = "ALL", verify: object = "quick"
) -> None:
    """Refuse bad ``workers``, ``scan_filter`` or ``verify`` of a download (before any
    listing)."""
    _check_workers(workers)
    check_scan_filter(scan_filter)
    _check_verify(verify)


def _check_verify(verify: object) -> None:
    if verify not in ("quick", "full"):
        raise XNATValidationError("verify", f'expected "quick" or "full", got {verify!r}')


def _check_workers(workers: object) -> None:
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise XNATValidationError("workers", f"expected an int >= 1, got {workers!r}")


def _one_per_target(plan: Sequence[FileToGet], report: DownloadReport) -> list[FileToGet]:
    """``plan`` with one file per local path: a later file whose path is taken (scan ``1``
    of type ``T1`` and scan ``1-T1`` share the folder ``1-T1``), is a folder of a file
    kept (``a.dcm`` and ``a.dcm/b.dcm``) or lies inside a file kept, is reported as failed,
    so that no run overwrites what another file put there, nor fails on it every run.

    Paths that differ only in case (``a.dcm`` and ``A.dcm``) are one file on a
    case-insensitive file system (macOS, Windows): of such files the one whose path sorts
    first is kept (whatever order the server lists them in, so that a rerun keeps the same
    one), each other one reported as an :class:`~xnat_sdk.errors.XNATCaseCollisionError`
    naming both paths, on every system (a tree is the same everywhere)."""
    files: dict[Path, str] = {}
    folders: dict[Path, str] = {}  # every folder of a kept file's path -> that file
    cased = _CaseGroups(plan)
    kept: list[FileToGet] = []
    for item in plan:
        if files.get(item.target) == item.uri:
            continue  # the same file listed twice goes once
        reason = _taken_path(item.target, files, folders)
        if item.target.name in SDK_FILES:
            reason = f"its local path {item.target} is the SDK's own {item.target.name}"
        error: XNATFileExistsError | None = None
        if reason is not None:
            error = XNATFileExistsError(f"{reason}: not overwritten")
            error.remedy = "download this one on its own, with download()"
        else:
            error = cased.clash(item)
        if error is not None:
            report.add_failure(item.uri, error)
            continue
        files[item.target] = item.uri
        for folder in item.target.parents:
            folders.setdefault(folder, item.uri)
        kept.append(item)
    return kept


class _CaseGroups:
    """The local paths of a plan (files and their folders) that differ only in case from
    another: in each such group the one that sorts first is kept, with the file it belongs
    to (whatever order the server lists files in: a rerun keeps the same one). A file
    clashes when its own path loses so, or one of its folders loses to the path of a file
    kept; two folders that differ only in case may hold files of different names.

    Worked out on the paths' text, each folder once (a million files share few folders)."""

    def __init__(self, plan: Sequence[FileToGet]) -> None:
        groups: dict[str, dict[str, tuple[FileToGet, bool]]] = {}  # key -> path -> (item, file?)
        folders: set[str] = set()
        for item in plan:
            text = os.fspath(item.target)
            group = groups.setdefault(case_key(text), {})
            if group.get(text, (None, False))[1] is False:
                group[text] = (item, True)
            folder, up = text, os.path.dirname(text)
            while up != folder and up not in folders:
                folders.add(up)
                groups.setdefault(case_key(up), {}).setdefault(up, (item, False))
                folder, up = up, os.path.dirname(up)
        self._files: dict[str, FileToGet] = {}  # a file's path that loses -> the file kept
        self._folders: dict[str, FileToGet] = {}  # a folder that loses to a file's path
        for group in groups.values():
            if len(group) < 2:
                continue
            first = min(group)
            kept, kept_is_file = group[first]
            for path, (_, is_file) in group.items():
                if path != first and is_file:
                    self._files[path] = kept
                if path != first and kept_is_file:
                    self._folders[path] = kept

    def clash(self, item: FileToGet) -> XNATCaseCollisionError | None:
        """The error of ``item`` when its path, or one of its folders, differs only in case
        from the path of a file kept (or from one of its folders); None when it may go."""
        if not self._files and not self._folders:
            return None
        text = os.fspath(item.target)
        kept = self._files.get(text)
        folder, up = text, os.path.dirname(text)
        while kept is None and self._folders and up != folder:
            kept = self._folders.get(up)
            folder, up = up, os.path.dirname(up)
        if kept is None or kept is item:
            return None
        return XNATCaseCollisionError(text, str(kept.target), item.uri, kept.uri)


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
    verify: Verify = "quick",
    fsync: bool = False,
    overwrite: bool = True,
) -> DownloadReport:
    """Download the files of ``plan`` not already there and verified, ``workers`` at a time
    (on a terminal, an overall bar and one bar per large file under way; elsewhere, a line
    of progress logged at INFO every :data:`PROGRESS_LOG_SECONDS`). When the local disk is
    full, over quota or read-only, no further file is started (each is reported). With
    ``verify="quick"``, a file the record of verified files knows unchanged is not read.
    ``fsync``: each file's data is on the disk before its rename (:func:`download_file`).
    ``overwrite=False``: a file of another size or MD5 at a file's local path (changed
    there, or on the server since it was downloaded) is kept and the file reported failed
    (``kept``), not replaced."""
    _check_workers(workers)
    _check_verify(verify)
    report = DownloadReport()
    plan = _one_per_target(plan, report)
    total = sum(item.size or 0 for item in plan)
    record = VerifiedRecord(full=verify == "full")
    with TransferProgress(
        verbose, overall_label=label, overall_total=total, drop_finished=True
    ) as bars:
        tally = _Tally(label, len(plan), total, report, enabled=not bars.enabled)
        fetch = _Fetch(session, report, bars, record, tally, fsync, overwrite)
        with ThreadPoolExecutor(workers, thread_name_prefix="xnat-sdk-bulk") as pool:
            try:
                list(pool.map(fetch, plan))
                list(pool.map(fetch.waiting, fetch.deferred))  # another process had them
            except BaseException:  # Ctrl-C: files under way end, waits for claims too
                fetch.cancelled.set()
                raise
            finally:
                record.flush(final=not fetch.cancelled.is_set())
        tally.finished()
    return report


PROGRESS_LOG_SECONDS = 60.0
"""Seconds between two lines of progress a bulk download logs (logger ``xnat_sdk``, INFO)
where it draws no bars (a batch job's log, stdout no terminal)."""


class _Tally:
    """Progress of a :func:`get_files` run as log lines: files and bytes done of the total,
    failures so far; at most one line per :data:`PROGRESS_LOG_SECONDS`, and one at the
    end."""

    def __init__(
        self, label: str, files: int, total: int, report: DownloadReport, enabled: bool
    ) -> None:
        self._label = label
        self._files = files
        self._total = total
        self._report = report
        self._enabled = enabled and _log.isEnabledFor(logging.INFO)
        self._started = self._logged = time.monotonic()
        self.done = 0
        self.done_bytes = 0
        if self._enabled:
            _log.info("%s: %d files (%s) to bring", label, files, format_bytes(total))

    def add(self, nbytes: int) -> None:
        """One more file done (``nbytes``: its size); call with the run's lock held."""
        self.done += 1
        self.done_bytes += nbytes
        if self._enabled and time.monotonic() - self._logged >= PROGRESS_LOG_SECONDS:
            self._logged = time.monotonic()
            self._line("")

    def finished(self) -> None:
        if self._enabled:
            self._line(" (finished)")

    def _line(self, end: str) -> None:
        report = self._report
        _log.info(
            "%s: %d of %d files (%s of %s), %d failed; %d downloaded (%s), %d already there "
            "(%s read to verify them), %.0f s%s",
            self._label,
            self.done,
            self._files,
            format_bytes(self.done_bytes),
            format_bytes(self._total),
            len(report.failed),
            len(report.downloaded),
            format_bytes(report.bytes),
            len(report.skipped),
            format_bytes(report.hashed_bytes),
            time.monotonic() - self._started,
            end,
        )


#: errnos of local errors that every later file would meet too (the disk is full, over
#: quota or read-only): the run starts no further file
_WHOLE_TARGET = frozenset(
    code for code in (getattr(errno, name, None) for name in ("ENOSPC", "EDQUOT", "EROFS")) if code
)


class _Cancelled(Exception):
    """The run was interrupted (the download under way stops)."""


class _Fetch:
    """One file of a :func:`get_files` run: skipped when verified, else downloaded under
    its claim (see :mod:`xnat_sdk.transfers._claims`), or put off (``deferred``) while
    another process holds that claim; the outcome goes into the run's report."""

    def __init__(
        self,
        session: XNATSession,
        report: DownloadReport,
        bars: TransferProgress,
        record: VerifiedRecord,
        tally: _Tally,
        fsync: bool = False,
        overwrite: bool = True,
    ):
        self._session = session
        self._fsync = fsync
        self._overwrite = overwrite
        self._report = report
        self._bars = bars
        self._record = record
        self._tally = tally
        self._lock = threading.Lock()
        self._stopped: XNATLocalFileError | None = None  # the error that ended the run
        self._not_started = ""  # the failure of each file after it
        self.deferred: list[FileToGet] = []  # files another process was downloading
        self.cancelled = threading.Event()  # the run was interrupted: wait for no claim
        chosen = session.request_timeout
        limit = chosen[1] if isinstance(chosen, tuple) else chosen
        self._limit = float(limit) if limit else 300.0  # a holder silent this long is stuck

    def __call__(self, item: FileToGet) -> None:
        self._one(item, wait=False)

    def waiting(self, item: FileToGet) -> None:
        """Get a deferred file: wait for its claim (while its holder is at work), then
        skip it if the holder completed it."""
        self._one(item, wait=True)

    def _one(self, item: FileToGet, wait: bool) -> None:
        stopped = self._stopped
        if stopped is not None:  # one message and error shared: a million files stay small
            with self._lock:
                self._report.failed[item.uri] = self._not_started
                self._report.errors[item.uri] = stopped
                self._tally.add(0)
            return
        # a killed run's partial files go, also from folders with nothing left to download
        sweep_leftovers(item.target.parent)
        try:
            known = None if wait else self._record.known(item)
            got = ("skipped", known) if known is not None else self._check_or_get(item, wait)
        except XNATError as exc:
            self._fail(item.uri, exc)
            if isinstance(exc, XNATLocalFileError) and exc.errno in _WHOLE_TARGET:
                with self._lock:
                    if self._stopped is None:
                        self._not_started = f"not started: an earlier file failed: {exc}"
                        self._stopped = exc
            return
        if got is not None and known is None:
            self._record.note(item)  # read or downloaded: verified now
        with self._lock:
            if got is None:
                self.deferred.append(item)
                return
            outcome, size = got
            if outcome == "skipped":
                self._report.skipped.append(item.uri)
            else:
                self._report.downloaded.append(item.uri)
                self._report.bytes += size
                if outcome == "replaced":
                    self._report.replaced.append(item.uri)
            self._report.present_bytes += size
            self._tally.add(size)
        if outcome == "skipped":
            self._bars.advance_overall(item.size or 0)

    def _check_or_get(self, item: FileToGet, wait: bool) -> tuple[str, int] | None:
        """``("skipped", size)`` when the file is there, verified by reading it, else what
        :meth:`_get` does."""
        seen = stamp_of(item.target)
        there, present = self._look(item)
        if present is not None:
            return "skipped", present
        self._keep(item, there)
        return self._get(item, there, wait, seen)

    def _keep(self, item: FileToGet, there: bool) -> None:
        """Raise :class:`XNATFileExistsError` (``item`` in ``kept``) when something is at
        its local path, not verified as it, and ``overwrite`` is off."""
        if there and not self._overwrite:
            with self._lock:
                self._report.kept.append(item.uri)
            raise XNATFileExistsError(
                f"{item.target} exists and is not the server's file (another size or MD5): kept"
            )

    def _get(
        self,
        item: FileToGet,
        there: bool,
        wait: bool,
        seen: tuple[int, int, int, int] | None = None,
    ) -> tuple[str, int] | None:
        """Download ``item`` under its claim: ``("downloaded", size)``, or ``("replaced",
        size)`` when another file was ``there``; ``("skipped", size)`` when, the claim held,
        the file is there and verified (another process completed it); None when another
        process holds the claim and ``wait`` is False."""
        with claim(item.target, self._holder_at_work(item.target) if wait else None) as held:
            if not held and (not wait or self.cancelled.is_set()):
                return None
            # (not held: its holder is stuck: go on unclaimed); a file as it was when
            # looked at (``seen``) is not read again
            if held and (seen is None or stamp_of(item.target) != seen):
                there, present = self._look(item)
                if present is not None:
                    return "skipped", present
                self._keep(item, there)
            return ("replaced" if there else "downloaded"), self._download(item)

    def _holder_at_work(self, target: Path) -> Callable[[], bool]:
        """Whether to go on waiting for the claim on ``target``: while its holder writes,
        for at most the read timeout without a byte, and never once the run is cancelled."""
        at_work = holder_at_work(target, self._limit)
        return lambda: not self.cancelled.is_set() and at_work()

    def _look(self, item: FileToGet) -> tuple[bool, int | None]:
        """Whether something is at the file's local path, and its size when it is the file,
        verified (a file that cannot be read to verify it raises
        :class:`XNATLocalFileError`: it is not replaced)."""
        hashed: list[int] = []
        try:
            with _local_files(item.target, "reading the file there to verify it"):
                return _look(item, hashed)
        finally:
            if hashed:
                with self._lock:
                    self._report.hashed_bytes += hashed[0]

    def _download(self, item: FileToGet) -> int:
        with _local_files(item.target, "downloading"):
            download_file(
                self._session,
                file_request_path(item.uri),
                item.target,
                verbose=False,
                expected_md5=item.digest,
                expected_size=item.size,
                update_func=self._unless_cancelled(self._bars.task(item.target.name, item.size)),
                fsync=self._fsync,
            )
            return item.size if item.size is not None else item.target.stat().st_size

    def _unless_cancelled(self, bar: ProgressCallback) -> ProgressCallback:
        """``bar``, raising :class:`_Cancelled` at the next chunk once the run is cancelled
        (Ctrl-C ends a large download under way, its temporary file removed)."""

        def update(done: int, total: int | None, finished: bool) -> None:
            if not finished and self.cancelled.is_set():
                raise _Cancelled
            bar(done, total, finished)

        return update

    def _fail(self, uri: str, error: XNATError) -> None:
        with self._lock:
            self._report.add_failure(uri, error)
            self._tally.add(0)


def _raise_failures(report: DownloadReport) -> None:
    if report.failed:
        uri, message = next(iter(report.failed.items()))
        kept = len(report.kept)  # a local file of another size or MD5, overwrite=False
        # a local path another file (or session) of the download takes: refused every run
        refused = sum(isinstance(e, XNATFileExistsError) for e in report.errors.values()) - kept
        note = (
            f" {kept} local file(s) differ from the server's and were kept: pass "
            "overwrite=True to replace them."
            if kept
            else ""
        )
        if kept == len(report.failed):
            then = note.strip()
        elif refused + kept == len(report.failed):
            then = (
                "A rerun refuses them again (their local paths are taken by other files of "
                f"this download): download each on its own into another folder.{note}"
            )
        else:
            again = (
                f" ({refused} refused for their local path are refused again)" if refused else ""
            )
            then = f"Run again to fetch only what is missing{again}.{note}"
        raise XNATIncompleteDownloadError(
            f"{len(report.failed)} file(s) or session(s) failed (first: {uri}: {message}); "
            f"{len(report.downloaded)} downloaded, {len(report.skipped)} already there. {then}",
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
    verify: Verify = "quick",
    fsync: bool = False,
    overwrite: bool = True,
) -> DownloadReport:
    """Bring one image session's scan files into ``target_dir/{folder or label}`` (see the
    module's docstring; with ``resource``, only the scans' resources of that label); files
    already there and verified are skipped (``verify``: see :data:`Verify`; ``fsync`` and
    ``overwrite``: see :func:`get_files`).

    The folder is the session's: its hidden ``.xnat-sdk-session`` names the session (by
    ID) that first went there, and another session (one label in two projects, say) is
    refused with :class:`~xnat_sdk.errors.XNATFileExistsError` naming both, before any
    file is written (give it its own ``folder``)."""
    from xnat_sdk._objects.navigation import ImageSessionBase

    if not isinstance(experiment, ImageSessionBase):
        raise XNATValueError(f"expected an image session, got {experiment!r}")
    check_scan_filter(scan_filter)
    _check_verify(verify)
    root = target_folder(target_dir)
    name = folder if folder is not None else str(getattr(experiment, "label", "") or "")
    where = root / _safe_name(name) if name else root
    check_folder_inside(root, where)  # before its marker is written there
    claim_folder(where, experiment)
    plan = plan_session(experiment, where, scan_filter, resource)
    check_inside(root, plan)
    session = experiment._xnat_bound_session()
    report = get_files(
        session,
        plan,
        workers=workers,
        verbose=verbose,
        label=name or "session",
        verify=verify,
        fsync=fsync,
        overwrite=overwrite,
    )
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
    verify: Verify = "quick",
    fsync: bool = False,
    overwrite: bool = True,
) -> DownloadReport:
    """The scan files of many sessions, each into its folder: the listings read ``workers``
    at a time, then every file not already verified, ``workers`` at a time. A session whose
    listing fails is reported (``failed``, by its listing's path) and the others go on;
    any failure raises :class:`~xnat_sdk.errors.XNATIncompleteDownloadError` at the end,
    holding the report. With ``root`` (the folder the user named), a file whose folder
    resolves outside it (a link already there) raises before any file is fetched."""
    _check_download_args(workers, scan_filter, verify)  # before any listing is read
    pairs = list(sessions)
    if not pairs:
        return DownloadReport()
    session = pairs[0][0]._xnat_bound_session()
    unlisted: dict[str, XNATError] = {}

    def planned(pair: tuple[Any, Path]) -> list[FileToGet]:
        try:
            return plan_session(pair[0], pair[1], scan_filter)
        except XNATError as exc:  # this session's files stay unknown; the others go on
            unlisted[f"{pair[0].uri}/scans/ALL/files"] = exc
            return []

    with ThreadPoolExecutor(workers) as pool:
        plans = list(pool.map(planned, pairs))
    plan = [item for found in plans for item in found]
    if root is not None:
        check_inside(root, plan)
    report = get_files(
        session,
        plan,
        workers=workers,
        verbose=verbose,
        label=label,
        verify=verify,
        fsync=fsync,
        overwrite=overwrite,
    )
    for uri, error in unlisted.items():
        report.add_failure(uri, error)
    _raise_failures(report)
    return report
