"""Bulk, resumable downloads (``download_files``, :mod:`xnat_sdk.bulk`; issue 16, item 4):
the layout of ``download_dir``, a rerun skips verified files and repairs the others, one
failing file leaves the rest."""

from __future__ import annotations

import errno
import hashlib
import os
import pickle
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import RequestLog
from xnat_sdk import bulk
from xnat_sdk.archives import SDK_FILES, temp_name, temp_owner
from xnat_sdk.errors import (
    XNATCaseCollisionError,
    XNATIncompleteDownloadError,
    XNATLocalFileError,
    XNATNotFoundError,
    XNATServerError,
    XNATTransferError,
)
from xnat_sdk.session import XNATSession
from xnat_sdk.testing.local import LocalXNAT

_counter = iter(range(1, 10_000))


def _tree(folder: Path) -> dict[str, bytes]:
    """The data files below ``folder`` (not the SDK's own hidden files)."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in folder.rglob("*")
        if p.is_file() and p.name not in SDK_FILES
    }


def _project(server: LocalXNAT) -> str:
    """Two subjects, one MR session each; scans 1 (T1, 3 files in DICOM and one in SNAP)
    and 2 (type "T2 flair", 1 file) of each session."""
    project = f"BULK{next(_counter)}"
    server.seed_project(project, name=f"Bulk {project}")
    for subject in ("S1", "S2"):
        server.seed_subject(project, subject)
        eid = server.seed_session(project, subject, f"{subject}_MR")
        t1 = server.seed_scan(eid, "1", type="T1")
        flair = server.seed_scan(eid, "2", type="T2 flair")
        dicom = server.seed_resource("scan", t1, "DICOM", format="DICOM")
        for n in range(3):
            server.seed_file(dicom, f"d/{n}.dcm", f"{subject}-{n}".encode() * 50)
        snap = server.seed_resource("scan", t1, "SNAP")
        server.seed_file(snap, "t1.png", b"png" * 10)
        other = server.seed_resource("scan", flair, "DICOM")
        server.seed_file(other, "f.dcm", f"flair {subject}".encode())
    return project


def test_download_files_has_the_layout_of_download_dir_and_resumes(
    server: LocalXNAT, session: XNATSession, tmp_path: Path
) -> None:
    project = session.projects[_project(server)]
    zipped = project.download_dir(tmp_path / "zip", verbose=False)
    first = project.download_files(tmp_path / "files", verbose=False, workers=3)
    folder = tmp_path / "files" / zipped.name
    assert _tree(folder) == _tree(zipped)
    assert len(first.downloaded) == 10 and not first.skipped and not first.failed
    assert first.bytes == sum(len(b) for b in _tree(folder).values())
    assert "S1/S1_MR/scans/2-T2_flair/resources/DICOM/files/f.dcm" in _tree(folder)

    server.faults.start_recording()
    again = project.download_files(tmp_path / "files", verbose=False)
    assert len(again.skipped) == 10 and not again.downloaded
    assert not [r for r in server.faults.recorded() if "/files/" in r.path]  # no file read

    damaged = folder / "S1/S1_MR/scans/1-T1/resources/DICOM/files/d/0.dcm"
    damaged.write_bytes(b"X" * damaged.stat().st_size)  # same size, wrong MD5
    missing = folder / "S2/S2_MR/scans/1-T1/resources/SNAP/files/t1.png"
    missing.unlink()
    repaired = project.download_files(tmp_path / "files", verbose=False)
    assert sorted(Path(u).name for u in repaired.downloaded) == ["0.dcm", "t1.png"]
    assert [Path(u).name for u in repaired.replaced] == ["0.dcm"]  # the other was missing
    assert len(repaired.skipped) == 8
    assert _tree(folder) == _tree(zipped)


def test_a_failing_file_is_named_and_the_rest_complete(
    server: LocalXNAT, session: XNATSession, tmp_path: Path
) -> None:
    name = _project(server)
    experiment = session.projects[name].subjects["S1"].experiments["S1_MR"]
    (snap,) = experiment.scans["1"].resources["SNAP"].files.values()
    server.faults.fail_next(50, status=503, prefix=snap.uri)
    with pytest.raises(XNATTransferError, match="1 file") as caught:
        bulk.sync_session(experiment, tmp_path, workers=2)
    assert "t1.png" in str(caught.value)
    got = _tree(tmp_path / "S1_MR")
    assert len(got) == 4 and not any(k.endswith("t1.png") for k in got)
    server.faults.clear()
    report = bulk.sync_session(experiment, tmp_path, workers=2)
    assert [Path(u).name for u in report.downloaded] == ["t1.png"]
    assert len(report.skipped) == 4


def test_a_session_whose_listing_fails_is_named_and_the_others_complete(
    server: LocalXNAT, session: XNATSession, tmp_path: Path
) -> None:
    """One failed file listing stopped the whole download before any file was fetched."""
    name = _project(server)
    project = session.projects[name]
    s1 = project.subjects["S1"].experiments["S1_MR"]
    server.faults.fail_next(1, status=500, prefix=f"{s1.uri}/scans/ALL/files")
    with pytest.raises(XNATIncompleteDownloadError, match="1 file") as caught:
        project.download_files(tmp_path, verbose=False)
    report = caught.value.report
    assert list(report.failed) == [f"{s1.uri}/scans/ALL/files"]
    assert "XNATServerError" in report.failed[f"{s1.uri}/scans/ALL/files"]
    assert len(report.downloaded) == 5  # S2's files
    assert len(_tree(tmp_path / f"Bulk {name}" / "S2" / "S2_MR")) == 5
    again = project.download_files(tmp_path, verbose=False)  # the rerun completes
    assert len(again.downloaded) == 5 and len(again.skipped) == 5


def test_two_files_of_one_local_path_do_not_overwrite_each_other(
    server: LocalXNAT, session: XNATSession, tmp_path: Path
) -> None:
    """Scan 1 of type T1 and scan "1-T1" without a type share the folder 1-T1: the two
    files took turns there (each run downloaded one and skipped the other)."""
    name = f"BULK{next(_counter)}"
    server.seed_project(name)
    server.seed_subject(name, "S1")
    eid = server.seed_session(name, "S1", "S1_MR")
    for scan, kind in (("1", "T1"), ("1-T1", "")):
        resource = server.seed_resource("scan", server.seed_scan(eid, scan, type=kind), "DICOM")
        server.seed_file(resource, "0001.dcm", f"scan {scan}".encode())
    experiment = session.projects[name].subjects["S1"].experiments["S1_MR"]
    for _ in range(2):
        with pytest.raises(XNATIncompleteDownloadError, match="not overwritten") as caught:
            bulk.sync_session(experiment, tmp_path)
        (failed,) = caught.value.report.failed
        assert "/scans/1-T1/" in failed
    assert _tree(tmp_path) == {"S1_MR/scans/1-T1/resources/DICOM/files/0001.dcm": b"scan 1"}
    assert caught.value.report.skipped  # the second run kept the first file
    back = pickle.loads(pickle.dumps(caught.value))  # from a worker process, say
    assert (str(back), back.report) == (str(caught.value), caught.value.report)


@pytest.mark.parametrize("order", ["file first", "folder first"])
def test_a_file_whose_local_path_is_a_folder_of_another_is_reported(
    server: LocalXNAT, session: XNATSession, tmp_path: Path, order: str
) -> None:
    """Scan 1 (T1) has ``a.dcm`` and scan "1-T1" has ``a.dcm/b.dcm``: one needs a file
    where the other needs a folder. It failed with "Is a directory" (or "Not a directory")
    on every run; now the first in plan order is downloaded, the other reported."""
    name = f"BULK{next(_counter)}"
    server.seed_project(name)
    server.seed_subject(name, "S1")
    eid = server.seed_session(name, "S1", "S1_MR")
    scans = [("1", "T1", "a.dcm"), ("1-T1", "", "a.dcm/b.dcm")]
    for scan, kind, path in scans if order == "file first" else scans[::-1]:
        resource = server.seed_resource("scan", server.seed_scan(eid, scan, type=kind), "DICOM")
        server.seed_file(resource, path, f"scan {scan}".encode() * 100_000)
    experiment = session.projects[name].subjects["S1"].experiments["S1_MR"]
    files = "S1_MR/scans/1-T1/resources/DICOM/files"
    first, other = scans if order == "file first" else scans[::-1]
    for _ in range(2):
        with pytest.raises(XNATIncompleteDownloadError, match="not overwritten") as caught:
            bulk.sync_session(experiment, tmp_path)
        ((uri, reason),) = caught.value.report.failed.items()
        assert f"/scans/{other[0]}/" in uri and uri.endswith(f"/files/{other[2]}")
        assert ("lies inside" if first[2] == "a.dcm" else "is a folder of") in reason
        assert _tree(tmp_path) == {f"{files}/{first[2]}": f"scan {first[0]}".encode() * 100_000}


def test_download_files_of_a_search_result(
    server: LocalXNAT, session: XNATSession, tmp_path: Path
) -> None:
    name = _project(server)
    found = session.search(project=f"Bulk {name}", experiment="S2_*", level="experiment")
    assert [e.label for e in found] == ["S2_MR"]
    # a session given twice is downloaded once (its files were counted, and fetched, twice)
    report = session.download_files([*found, *found], tmp_path, scan_filter="T1", verbose=False)
    got = _tree(tmp_path / name / "S2_MR")
    assert set(got) == {
        *(f"scans/1-T1/resources/DICOM/files/d/{n}.dcm" for n in range(3)),
        "scans/1-T1/resources/SNAP/files/t1.png",
    }
    assert got["scans/1-T1/resources/DICOM/files/d/1.dcm"] == b"S2-1" * 50
    assert len(report.downloaded) == 4
    (snap,) = found[0].scans["1"].resources["SNAP"].files.values()
    assert hashlib.md5(got["scans/1-T1/resources/SNAP/files/t1.png"]).hexdigest() == snap.digest


def test_download_files_keeps_a_tree_the_user_loaded(
    server: LocalXNAT, session: XNATSession, tmp_path: Path, log: RequestLog
) -> None:
    """A project's ``download_files`` walks the tree ``load_tree`` loaded (with the user's
    columns) instead of loading another over it: a walk afterwards still sends nothing."""
    project = session.projects[_project(server)]
    subjects = project.load_tree(["type", "quality"], subject_columns=["gender"])
    project.download_files(tmp_path / "files")
    assert len(_tree(tmp_path / "files")) == 10
    log.clear()
    walked = [
        (s.demographics.gender, scan.type, scan.quality)
        for s in project.subjects.values()
        for e in s.experiments.values()
        for scan in e.scans.values()
    ]
    assert len(walked) == 4 and project.subjects is subjects
    assert len(log) == 0


def test_a_bulk_download_on_a_terminal_keeps_only_the_bars_under_way(
    server: LocalXNAT, session: XNATSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every file's bar stayed on screen after it finished, and rich draws them all at each
    refresh and at each new bar: 1,800 files of 2 kB took 30 s for 320 of them (6 MB of
    terminal output). Now a small file moves the overall bar only, a large one has its
    bar while it is under way."""
    import io

    from rich.progress import Progress

    from xnat_sdk.progress import TransferProgress

    name = f"BULK{next(_counter)}"
    server.seed_bulk(name, 3, scans_per_session=2, files_per_scan=4, file_size=100)
    eid = session.projects[name].subjects["SUBJ_00001"].experiments["SUBJ_00001_MR1"].id
    big = server.seed_resource("scan", server.seed_scan(eid, "9", type="BIG"), "NIFTI")
    server.seed_file(big, "big.nii", b"b" * (1 << 20))

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    added: list[str] = []
    left: list[list[str]] = []
    add_task, exit_bars = Progress.add_task, TransferProgress.__exit__

    def add(self: Progress, description: str, *args: Any, **kwargs: Any) -> Any:
        added.append(description)
        return add_task(self, description, *args, **kwargs)

    def leave(self: TransferProgress, *exc: Any) -> None:
        if self._progress is not None:
            left.append([task.description for task in self._progress.tasks])
        exit_bars(self, *exc)

    monkeypatch.setattr(Progress, "add_task", add)
    monkeypatch.setattr(TransferProgress, "__exit__", leave)
    monkeypatch.setattr("sys.stdout", Terminal())
    report = session.projects[name].download_files(tmp_path, workers=3)
    assert len(report.downloaded) == 25 and not report.failed
    assert sorted(added) == sorted([name, "big.nii"])  # the overall bar and the large file's
    assert left == [[name]]  # the large file's bar went when it was done


def test_the_report_holds_the_typed_error_of_each_failure(
    server: LocalXNAT, session: XNATSession, tmp_path: Path
) -> None:
    """``failed`` held only messages: a script could not tell a file that vanished from
    the server (404: no use retrying) from a transient failure or a bad digest."""
    name = _project(server)
    experiment = session.projects[name].subjects["S1"].experiments["S1_MR"]
    files = experiment.scans["1"].resources["DICOM"].files
    gone, broken = (files[f"d/{n}.dcm"].uri for n in (0, 1))
    server.faults.answer_next("File not found.", status=404, prefix=gone)
    server.faults.fail_next(50, status=500, prefix=broken)
    with pytest.raises(XNATIncompleteDownloadError) as caught:
        bulk.sync_session(experiment, tmp_path, workers=1)
    errors = caught.value.report.errors
    assert set(errors) == set(caught.value.report.failed) == {gone, broken}
    assert isinstance(errors[gone], XNATNotFoundError) and errors[gone].status == 404
    assert isinstance(errors[broken], XNATServerError) and errors[broken].status == 500
    back = pickle.loads(pickle.dumps(caught.value))  # from a worker process
    assert isinstance(back.report.errors[gone], XNATNotFoundError)
    assert len(_tree(tmp_path / "S1_MR")) == 3


def test_a_full_disk_starts_no_further_file(
    server: LocalXNAT,
    session: XNATSession,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A full disk (or a quota, or a read-only mount) failed every file in turn: each one
    was requested and written until the disk refused it, across the whole archive. Now the
    first such error stops the run: the files not started are reported with it."""
    from xnat_sdk.transfers import _download

    name = _project(server)
    experiment = session.projects[name].subjects["S1"].experiments["S1_MR"]
    pump = _download._Body._pump

    def full(self: Any, write: Any, *args: Any) -> None:
        def refuse(chunk: bytes) -> None:
            raise OSError(errno.ENOSPC, "No space left on device")

        pump(self, refuse, *args)

    monkeypatch.setattr(_download._Body, "_pump", full)
    server.faults.start_recording()
    with pytest.raises(XNATIncompleteDownloadError, match="No space left") as caught:
        bulk.sync_session(experiment, tmp_path, workers=1)
    assert len([r for r in server.faults.recorded() if "/files/" in r.path]) == 1
    report = caught.value.report
    assert len(report.failed) == 5 and not report.downloaded
    assert sum("not started" in message for message in report.failed.values()) == 4
    assert {e.errno for e in report.errors.values() if isinstance(e, OSError)} == {errno.ENOSPC}
    assert not _tree(tmp_path)  # no partial file either


def test_a_file_there_that_cannot_be_read_is_reported_not_raised(
    server: LocalXNAT, session: XNATSession, tmp_path: Path
) -> None:
    """A folder where a file goes, of the very size the listing gives (a folder's own size
    on disk), was read to verify it: the raw IsADirectoryError ended the whole download."""
    name = f"BULK{next(_counter)}"
    server.seed_project(name)
    server.seed_subject(name, "S1")
    eid = server.seed_session(name, "S1", "S1_MR")
    resource = server.seed_resource("scan", server.seed_scan(eid, "1", type="T1"), "DICOM")
    folder = tmp_path / "S1_MR/scans/1-T1/resources/DICOM/files/a.dcm"
    (folder / "inside").mkdir(parents=True)
    server.seed_file(resource, "a.dcm", b"a" * folder.stat().st_size)
    server.seed_file(resource, "b.dcm", b"b" * 10)
    experiment = session.projects[name].subjects["S1"].experiments["S1_MR"]
    with pytest.raises(XNATIncompleteDownloadError) as caught:
        bulk.sync_session(experiment, tmp_path)
    ((uri, error),) = caught.value.report.errors.items()
    assert uri.endswith("/a.dcm") and isinstance(error, XNATLocalFileError)
    assert "verify" in str(error)
    assert caught.value.report.downloaded == [uri.replace("/a.dcm", "/b.dcm")]
    assert (folder / "inside").is_dir()  # what was there stays


@pytest.mark.skipif(os.name != "posix", reason="leftovers are swept on POSIX only")
def test_a_rerun_removes_the_day_old_partial_files_of_another_host(
    server: LocalXNAT, session: XNATSession, tmp_path: Path
) -> None:
    """On shared storage a node killed mid-download left its ``.part`` file; the rerun ran
    on another node, which kept it for ever (only this host's dead processes were swept):
    hidden partial copies of the largest files piled up. A day untouched, it goes now; a
    recent one (a transfer still under way there) stays."""
    name = _project(server)
    experiment = session.projects[name].subjects["S1"].experiments["S1_MR"]
    folder = tmp_path / "S1_MR/scans/1-T1/resources/DICOM/files/d"
    folder.mkdir(parents=True)
    host, _, _ = temp_owner(temp_name("x")) or ("", 0, False)
    other = "00000000" if host != "00000000" else "ffffffff"
    old, recent = (folder / f".0.dcm.xnat-{other}-{pid}-0123abcd.part" for pid in (7, 8))
    for part in (old, recent):
        part.write_bytes(b"half")
    os.utime(old, (time.time() - 2 * 86400,) * 2)
    bulk.sync_session(experiment, tmp_path)
    assert not old.exists() and recent.exists()
    assert {p.name for p in folder.iterdir()} - SDK_FILES == {
        recent.name,
        *["0.dcm", "1.dcm", "2.dcm"],
    }


def test_two_runs_into_one_target_download_each_file_once(
    server: LocalXNAT, session: XNATSession, tmp_path: Path
) -> None:
    """Two processes (cluster nodes on shared storage) downloading one project into one
    folder each fetched nearly every file (3 runs of 1,800 files: 4,830 GETs) and reported
    it downloaded. Now a file under way elsewhere is put off, then found verified."""
    name = _project(server)
    experiment = session.projects[name].subjects["S1"].experiments["S1_MR"]
    server.faults.set_delay(0.03)
    server.faults.start_recording()
    with ThreadPoolExecutor(2) as pool:  # each its own claims: as two processes
        runs = list(pool.map(lambda _: bulk.sync_session(experiment, tmp_path, workers=1), "ab"))
    assert len([r for r in server.faults.recorded() if "/files/" in r.path]) == 5
    first, second = (set(run.downloaded) for run in runs)
    assert not first & second and len(first | second) == 5
    assert all(set(run.downloaded) | set(run.skipped) == first | second for run in runs)
    assert len(_tree(tmp_path / "S1_MR")) == 5
    assert not [p for p in tmp_path.rglob(".*") if p.name not in SDK_FILES]  # no claim file left


@pytest.mark.skipif(os.name != "posix", reason="claims need flock")
def test_a_claim_whose_holder_is_stuck_is_waited_for_one_read_timeout(
    server: LocalXNAT, session: XNATSession, tmp_path: Path
) -> None:
    """A file claimed by a process that writes nothing (stopped, say) is downloaded once
    its holder has been silent for the read timeout: the run neither hangs nor skips it."""
    import fcntl

    from xnat_sdk.transfers._claims import claim_path

    name = _project(server)
    experiment = session.projects[name].subjects["S1"].experiments["S1_MR"]
    target = tmp_path / "S1_MR/scans/1-T1/resources/SNAP/files/t1.png"
    target.parent.mkdir(parents=True)
    with claim_path(target).open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # a holder at a standstill
        session.request_timeout = (5.0, 0.3)
        started = time.monotonic()
        report = bulk.sync_session(experiment, tmp_path)
    assert 0.3 <= time.monotonic() - started < 3
    assert len(report.downloaded) == 5 and target.read_bytes() == b"png" * 10


@pytest.mark.skipif(os.name != "posix", reason="leftovers are swept on POSIX only")
def test_a_rerun_with_nothing_to_download_still_removes_a_killed_runs_partial_file(
    server: LocalXNAT, session: XNATSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Leftovers were swept only by a download into their folder: when another run had
    completed the file a killed run was writing, its partial copy stayed for ever."""
    from xnat_sdk import archives

    name = _project(server)
    experiment = session.projects[name].subjects["S1"].experiments["S1_MR"]
    bulk.sync_session(experiment, tmp_path)
    code = "import os; print(os.getpid())"
    ended = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    killed = int(ended.stdout)  # a process that has ended
    leftover = tmp_path / "S1_MR/scans/1-T1/resources/SNAP/files" / temp_name("t1.png")
    leftover = leftover.with_name(leftover.name.replace(f"-{os.getpid()}-", f"-{killed}-"))
    leftover.write_bytes(b"pn")
    monkeypatch.setattr(archives, "_swept", {})  # a new process
    again = bulk.sync_session(experiment, tmp_path)
    assert len(again.skipped) == 5
    assert not leftover.exists()


@pytest.mark.skipif(os.name != "posix", reason="claims need flock")
def test_ctrl_c_ends_a_wait_for_a_claim_at_once(
    server: LocalXNAT, session: XNATSession, tmp_path: Path
) -> None:
    """Ctrl-C while a run waits for another's claim returns at once, not when the other
    run is done (or after the read timeout)."""
    import fcntl

    from xnat_sdk.transfers._claims import claim_path

    name = _project(server)
    experiment = session.projects[name].subjects["S1"].experiments["S1_MR"]
    target = tmp_path / "S1_MR/scans/1-T1/resources/SNAP/files/t1.png"
    target.parent.mkdir(parents=True)
    session.request_timeout = (5.0, 3.0)
    with claim_path(target).open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # another run at work on it
        _interrupted_within(0.5, 1.5, lambda: bulk.sync_session(experiment, tmp_path))
    assert not target.exists()  # not downloaded unclaimed on the way out either


def test_a_target_inside_a_file_is_refused_before_any_listing(
    server: LocalXNAT, session: XNATSession, tmp_path: Path, log: RequestLog
) -> None:
    """A target folder that cannot be made (inside a file) read every session's file
    listing, then failed every file one by one (one report entry each)."""
    project = session.projects[_project(server)]
    project.subjects  # noqa: B018 (the tree's first listing, before the log)
    (tmp_path / "file").write_text("x")
    log.clear()
    for download in (
        lambda: project.download_files(tmp_path / "file" / "out", verbose=False),
        lambda: session.download_files(
            project.subjects["S1"].experiments.values(), tmp_path / "file" / "out"
        ),
    ):
        with pytest.raises(XNATLocalFileError, match="creating the target folder"):
            download()
    assert not [path for path in log.paths() if "/files" in path]


def test_ctrl_c_stops_a_large_download_under_way(
    server: LocalXNAT, session: XNATSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C waited for every download under way to complete (a large file on a slow
    link: minutes); now each stops at its next chunk, its temporary file removed."""

    from xnat_sdk.transfers import _download

    name = f"BULK{next(_counter)}"
    server.seed_project(name)
    server.seed_subject(name, "S1")
    eid = server.seed_session(name, "S1", "S1_MR")
    resource = server.seed_resource("scan", server.seed_scan(eid, "1", type="T1"), "NIFTI")
    server.seed_file(resource, "big.nii", b"n" * (3 << 20))
    experiment = session.projects[name].subjects["S1"].experiments["S1_MR"]
    pump = _download._Body._pump

    def slow(self: Any, write: Any, chunk_size: int, *args: Any) -> None:
        def write_slowly(chunk: bytes) -> None:  # a slow link: 3 MB take 2.4 s
            time.sleep(0.05)
            write(chunk)

        pump(self, write_slowly, 64 << 10, *args)

    monkeypatch.setattr(_download._Body, "_pump", slow)
    _interrupted_within(0.4, 1.2, lambda: bulk.sync_session(experiment, tmp_path))
    assert not _tree(tmp_path)  # no partial file


def _interrupted_within(after: float, limit: float, run: Any) -> None:
    """Ctrl-C (SIGINT to the main thread) ``after`` seconds into ``run()``, which must end
    with the KeyboardInterrupt within ``limit`` seconds of its start."""
    import signal
    import threading

    main = threading.main_thread().ident
    assert main is not None
    timer = threading.Timer(after, signal.pthread_kill, (main, signal.SIGINT))
    started = time.monotonic()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        run()
    assert time.monotonic() - started < limit


def _case_project(server: LocalXNAT) -> tuple[str, str]:
    """A session whose scan 1 has files ``a.dcm`` and ``A.dcm`` (DICOM), resources ``NIFTI``
    and ``nifti`` with ``x.nii`` each and ``y.nii``/``z.nii``; (project, session ID)."""
    name = f"BULK{next(_counter)}"
    server.seed_project(name)
    server.seed_subject(name, "S1")
    eid = server.seed_session(name, "S1", "S1_MR")
    scan = server.seed_scan(eid, "1", type="T1")
    dicom = server.seed_resource("scan", scan, "DICOM")
    server.seed_file(dicom, "a.dcm", b"lower" * 10)
    server.seed_file(dicom, "A.dcm", b"UPPER" * 20)
    for label, other in (("NIFTI", "y.nii"), ("nifti", "z.nii")):
        resource = server.seed_resource("scan", scan, label)
        server.seed_file(resource, "x.nii", f"x of {label}".encode())
        server.seed_file(resource, other, f"{other} of {label}".encode())
    return name, eid


@pytest.mark.parametrize("reverse", [False, True])
def test_paths_that_differ_only_in_case_are_refused_before_either_is_written(
    server: LocalXNAT, session: XNATSession, tmp_path: Path, reverse: bool, monkeypatch: Any
) -> None:
    """``a.dcm`` and ``A.dcm`` (or ``NIFTI/x.nii`` and ``nifti/x.nii``) are one file on
    macOS and Windows: the second overwrote the first there, silently. Now, on every
    system, the path that sorts first is downloaded (whatever order the server lists them
    in) and the other is reported as an XNATCaseCollisionError naming both; files of
    different names in the two folders all come."""
    name, _ = _case_project(server)
    experiment = session.projects[name].subjects["S1"].experiments["S1_MR"]
    if reverse:  # the server listing them the other way round keeps the same ones
        plan_of = bulk.plan_session
        monkeypatch.setattr(bulk, "plan_session", lambda *a, **k: plan_of(*a, **k)[::-1])
    with pytest.raises(XNATIncompleteDownloadError, match="2 file") as caught:
        bulk.sync_session(experiment, tmp_path)
    report = caught.value.report
    errors = report.errors
    assert all(isinstance(e, XNATCaseCollisionError) for e in errors.values())
    # a rerun would refuse them again: the message said to run again
    assert "A rerun refuses them again" in str(caught.value)
    assert "Run again" not in str(caught.value)
    files = tmp_path / "S1_MR/scans/1-T1/resources"
    refused = [Path(e.path).relative_to(files).as_posix() for e in errors.values()]  # type: ignore[attr-defined]
    assert sorted(refused) == ["DICOM/files/a.dcm", "nifti/files/x.nii"]
    clash = next(
        e
        for e in errors.values()
        if isinstance(e, XNATCaseCollisionError) and e.path.endswith("a.dcm")
    )
    assert (clash.path, clash.other) == (
        str(files / "DICOM/files/a.dcm"),
        str(files / "DICOM/files/A.dcm"),
    )
    assert clash.source.endswith("/a.dcm") and clash.other_source.endswith("/A.dcm")
    # the message names each local path beside its own server file (they came crossed)
    paired = f"{clash.other} and {clash.path} (from {clash.other_source} and {clash.source})"
    assert paired in str(clash)
    assert "differ only in case" in report.failed[clash.source]
    assert _tree(tmp_path / "S1_MR") == {
        "scans/1-T1/resources/DICOM/files/A.dcm": b"UPPER" * 20,
        "scans/1-T1/resources/NIFTI/files/x.nii": b"x of NIFTI",
        "scans/1-T1/resources/NIFTI/files/y.nii": b"y.nii of NIFTI",
        "scans/1-T1/resources/nifti/files/z.nii": b"z.nii of nifti",
    }
    back = pickle.loads(pickle.dumps(clash))
    assert (back.path, back.other, str(back)) == (clash.path, clash.other, str(clash))


def test_a_zip_with_paths_that_differ_only_in_case_writes_nothing(
    server: LocalXNAT, session: XNATSession, tmp_path: Path
) -> None:
    """``download_dir`` unpacks the server's zip: its entries ``a.dcm`` and ``A.dcm`` went
    one over the other in staging (on macOS), and both passed the listing's check."""
    name, _ = _case_project(server)
    experiment = session.projects[name].subjects["S1"].experiments["S1_MR"]
    with pytest.raises(XNATCaseCollisionError, match="differ only in case") as caught:
        experiment.download_dir(tmp_path, verbose=False)
    assert caught.value.path.lower() == caught.value.other.lower()
    assert caught.value.path != caught.value.other
    assert _tree(tmp_path) == {}


def test_sessions_whose_folders_differ_only_in_case_are_refused_first(
    server: LocalXNAT, session: XNATSession, tmp_path: Path
) -> None:
    """A project's ``download_dir``: sessions ``MR1`` and ``mr1`` of one subject would share
    one folder on macOS (their ``scans/1-T1/...`` files one over the other)."""
    name = f"BULK{next(_counter)}"
    server.seed_project(name)
    server.seed_subject(name, "S1")
    for label in ("MR1", "mr1"):
        eid = server.seed_session(name, "S1", label)
        resource = server.seed_resource("scan", server.seed_scan(eid, "1", type="T1"), "DICOM")
        server.seed_file(resource, "0001.dcm", label.encode())
    with pytest.raises(XNATCaseCollisionError, match="differ only in case") as caught:
        session.projects[name].download_dir(tmp_path, verbose=False)
    assert {Path(caught.value.path).name, Path(caught.value.other).name} == {"MR1", "mr1"}
    assert _tree(tmp_path) == {}


def test_fsync_puts_each_file_on_the_disk_before_its_rename(
    server: LocalXNAT, session: XNATSession, tmp_path: Path, monkeypatch: Any
) -> None:
    """``fsync=True``: each downloaded file's data is synced while it has its temporary
    name (off by default: it cost 20 to 60% more time on 2,000 small files)."""
    from xnat_sdk.transfers import _download

    synced: list[str] = []

    def to_disk(fd: int) -> None:
        name = os.readlink(f"/proc/self/fd/{fd}") if os.path.exists("/proc/self/fd") else ""
        synced.append(name)
        os.fsync(fd)

    monkeypatch.setattr(_download, "_to_disk", to_disk)
    project = session.projects[_project(server)]
    report = project.download_files(tmp_path / "plain", verbose=False)
    assert len(report.downloaded) == 10 and synced == []
    report = project.download_files(tmp_path / "synced", verbose=False, fsync=True)
    assert len(report.downloaded) == 10 and len(synced) == 10
    assert all(temp_owner(Path(name).name) is not None for name in synced if name)
    assert _tree(tmp_path / "synced") == _tree(tmp_path / "plain")
