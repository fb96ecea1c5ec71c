"""Quick reruns of bulk downloads (issue 16): the record of verified files lets a rerun
skip unread the files unchanged since they were verified; ``verify="full"`` reads them
all; progress is logged where no bars are drawn; a ``sync_session`` folder holds one
session."""

from __future__ import annotations

import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from xnat_sdk import bulk
from xnat_sdk.archives import SDK_FILES, iter_files
from xnat_sdk.errors import (
    XNATFileExistsError,
    XNATIncompleteDownloadError,
    XNATValidationError,
)
from xnat_sdk.session import XNATSession
from xnat_sdk.testing.local import LocalXNAT
from xnat_sdk.transfers._verified import RECORD_NAME

_counter = iter(range(1, 10_000))

FILES = "S1_MR/scans/1-T1/resources/DICOM/files"


def _seed(server: LocalXNAT, label: str = "S1_MR") -> str:
    """A project with one MR session (``label``): scan 1 (T1), 4 files of 6,000 bytes in
    DICOM (the resource's ID as ``server.dicom``); returns the project's ID."""
    name = f"RERUN{next(_counter)}"
    server.seed_project(name)
    server.seed_subject(name, "S1")
    eid = server.seed_session(name, "S1", label)
    server.scan = server.seed_scan(eid, "1", type="T1")  # type: ignore[attr-defined]
    dicom = server.seed_resource("scan", server.scan, "DICOM")  # type: ignore[attr-defined]
    for n in range(4):
        server.seed_file(dicom, f"{n}.dcm", f"{name:<9}{n}".encode() * 600)
    server.dicom = dicom  # type: ignore[attr-defined]
    return name


def _session(server: LocalXNAT, session: XNATSession, label: str = "S1_MR") -> Any:
    name = _seed(server, label)
    return session.projects[name].subjects["S1"].experiments[label]


@pytest.fixture
def hashed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the local files read to verify them."""
    names: list[str] = []
    md5 = bulk._md5

    def counting(path: Path) -> str:
        names.append(path.name)
        return md5(path)

    monkeypatch.setattr(bulk, "_md5", counting)
    return names


def test_a_rerun_reads_no_file_verified_before_and_full_reads_them_all(
    server: LocalXNAT, session: XNATSession, tmp_path: Path, hashed: list[str]
) -> None:
    """Every rerun read every file there to check its MD5 (hours on an archive)."""
    experiment = _session(server, session)
    first = bulk.sync_session(experiment, tmp_path)
    assert len(first.downloaded) == 4 and first.hashed_bytes == 0 and not hashed
    assert (tmp_path / FILES / RECORD_NAME).is_file()
    again = bulk.sync_session(experiment, tmp_path)
    assert len(again.skipped) == 4 and again.hashed_bytes == 0 and not hashed
    full = bulk.sync_session(experiment, tmp_path, verify="full")
    assert len(full.skipped) == 4 and sorted(hashed) == ["0.dcm", "1.dcm", "2.dcm", "3.dcm"]
    assert full.hashed_bytes == sum(p.stat().st_size for p in (tmp_path / FILES).glob("*.dcm"))
    with pytest.raises(XNATValidationError, match="verify"):
        bulk.sync_session(experiment, tmp_path, verify="fast")  # type: ignore[arg-type]
    with pytest.raises(XNATValidationError, match="verify"):
        session.download_files([experiment], tmp_path, verify="none")  # type: ignore[arg-type]


def test_a_file_changed_there_or_on_the_server_is_read_again(
    server: LocalXNAT, session: XNATSession, tmp_path: Path, hashed: list[str]
) -> None:
    """Same size, other content: written in place (new mtime), put in place by a tool that
    kept the mtime (``cp -p``: new inode), or changed on the server (new MD5)."""
    experiment = _session(server, session)
    bulk.sync_session(experiment, tmp_path)
    folder = tmp_path / FILES
    in_place = folder / "0.dcm"
    in_place.write_bytes(b"x" * in_place.stat().st_size)
    kept_time = folder / "1.dcm"
    other = folder / "other"
    other.write_bytes(b"y" * kept_time.stat().st_size)
    os.utime(other, ns=(kept_time.stat().st_atime_ns, kept_time.stat().st_mtime_ns))
    os.replace(other, kept_time)
    server.seed_file(server.dicom, "2.dcm", b"Z" * (folder / "2.dcm").stat().st_size)  # type: ignore[attr-defined]
    report = bulk.sync_session(experiment, tmp_path)
    assert sorted(Path(u).name for u in report.replaced) == ["0.dcm", "1.dcm", "2.dcm"]
    assert sorted(hashed) == ["0.dcm", "1.dcm", "2.dcm"]  # once each; 3.dcm unread
    assert (folder / "2.dcm").read_bytes().startswith(b"ZZZ")
    assert not (folder / "1.dcm").read_bytes().startswith(b"y")
    hashed.clear()
    again = bulk.sync_session(experiment, tmp_path)
    assert len(again.skipped) == 4 and not hashed  # the new files are in the record


def test_a_record_cut_short_or_edited_costs_a_read_not_a_wrong_skip(
    server: LocalXNAT, session: XNATSession, tmp_path: Path, hashed: list[str]
) -> None:
    experiment = _session(server, session)
    bulk.sync_session(experiment, tmp_path)
    record = tmp_path / FILES / RECORD_NAME
    lines = record.read_bytes().split(b"\n")
    assert len(lines) == 6 and lines[-1] == b""  # header, 4 files
    lines[1] = lines[1].replace(b'"', b"'", 1)  # edited: its check fails
    record.write_bytes(b"\n".join(lines)[:-10])  # the last line cut short (a killed run)
    report = bulk.sync_session(experiment, tmp_path)
    assert len(report.skipped) == 4 and len(hashed) == 2
    record.write_bytes(b"not a record\n")  # a file of that name not written by the SDK
    hashed.clear()
    bulk.sync_session(experiment, tmp_path)
    bulk.sync_session(experiment, tmp_path)
    assert len(hashed) == 8 and record.read_bytes() == b"not a record\n"  # left alone


def test_a_file_named_like_the_record_is_reported_not_downloaded_over_it(
    server: LocalXNAT, session: XNATSession, tmp_path: Path
) -> None:
    experiment = _session(server, session)
    server.seed_file(server.dicom, RECORD_NAME, b"data")  # type: ignore[attr-defined]
    with pytest.raises(XNATIncompleteDownloadError, match="SDK's own") as caught:
        bulk.sync_session(experiment, tmp_path)
    assert len(caught.value.report.downloaded) == 4
    assert (tmp_path / FILES / RECORD_NAME).read_bytes() != b"data"
    assert [rel for _, rel in iter_files(tmp_path)] == [f"{FILES}/{n}.dcm" for n in range(4)]


def test_two_runs_at_once_keep_one_record_both_can_use(
    server: LocalXNAT, session: XNATSession, tmp_path: Path, hashed: list[str]
) -> None:
    experiment = _session(server, session)
    server.faults.set_delay(0.02)
    with ThreadPoolExecutor(2) as pool:  # each its own claims and record: as two processes
        list(pool.map(lambda _: bulk.sync_session(experiment, tmp_path, workers=2), "ab"))
    server.faults.set_delay(0)
    hashed.clear()  # (a run may have found a file the other completed)
    report = bulk.sync_session(experiment, tmp_path)
    assert len(report.skipped) == 4 and not hashed


def test_progress_is_logged_where_no_bars_are_drawn(
    server: LocalXNAT,
    session: XNATSession,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A batch job's log said nothing for hours: now a line per interval, and at the end."""
    experiment = _session(server, session)
    caplog.set_level(logging.INFO, logger="xnat_sdk")
    bulk.sync_session(experiment, tmp_path, verbose=True)  # stdout is no terminal here
    lines = [r.getMessage() for r in caplog.records if r.name == "xnat_sdk"]
    assert lines[0] == "S1_MR: 4 files (24.0 kB) to bring"
    assert len(lines) == 2 and lines[1].startswith("S1_MR: 4 of 4 files (24.0 kB of 24.0 kB)")
    assert "0 failed; 4 downloaded" in lines[1] and lines[1].endswith("(finished)")
    caplog.clear()
    monkeypatch.setattr(bulk, "PROGRESS_LOG_SECONDS", 0.0)
    (tmp_path / FILES / "3.dcm").unlink()
    lost = experiment.scans["1"].resources["DICOM"].files["3.dcm"]
    server.faults.fail_next(50, status=503, prefix=lost.uri)
    with pytest.raises(XNATIncompleteDownloadError):
        bulk.sync_session(experiment, tmp_path, workers=1)
    lines = [r.getMessage() for r in caplog.records if r.name == "xnat_sdk"]
    assert [line.split(", ")[:2] for line in lines[1:5]] == [
        *(
            [f"S1_MR: {n} of 4 files ({n * 6}.0 kB of 24.0 kB)", "0 failed; 0 downloaded (0 B)"]
            for n in range(1, 4)
        ),
        ["S1_MR: 4 of 4 files (18.0 kB of 24.0 kB)", "1 failed; 0 downloaded (0 B)"],
    ]
    assert "1 already there (0 B read to verify them)" in lines[1]
    assert "1 failed; 0 downloaded" in lines[-1] and "3 already there" in lines[-1]


def test_sync_session_refuses_a_folder_of_another_session_of_that_label(
    server: LocalXNAT, session: XNATSession, tmp_path: Path
) -> None:
    """Two sessions of one label (two projects) took turns in one folder: each run
    replaced the other's files."""
    one, two = _seed(server, "MR1"), _seed(server, "MR1")
    first, other = (session.projects[n].subjects["S1"].experiments["MR1"] for n in (one, two))
    bulk.sync_session(first, tmp_path)
    before = {rel: path.read_bytes() for path, rel in iter_files(tmp_path)}
    with pytest.raises(XNATFileExistsError) as caught:
        bulk.sync_session(other, tmp_path)
    message = str(caught.value)
    assert first.id in message and other.id in message and "folder=" in message
    assert {rel: path.read_bytes() for path, rel in iter_files(tmp_path)} == before
    assert not bulk.sync_session(first, tmp_path).downloaded  # its own folder still
    report = bulk.sync_session(other, tmp_path, folder=f"{other.project}_MR1")
    assert len(report.downloaded) == 4
    assert {p.name for p in tmp_path.iterdir()} == {"MR1", f"{other.project}_MR1"}
    assert {".xnat-sdk-verified", ".xnat-sdk-session"} == SDK_FILES


def test_keeping_the_record_costs_a_first_run_little(
    server: LocalXNAT, session: XNATSession, tmp_path: Path
) -> None:
    """The record's lines are written in batches (not one write per file) and a run
    waits at most one clock tick of the file system for them at its end."""
    experiment = _session(server, session)
    started = time.monotonic()
    bulk.sync_session(experiment, tmp_path)
    assert time.monotonic() - started < 2.0
    assert len((tmp_path / FILES / RECORD_NAME).read_bytes().splitlines()) == 5


def test_records_forgotten_by_a_long_run_are_read_again(
    server: LocalXNAT,
    session: XNATSession,
    tmp_path: Path,
    hashed: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A run keeps only the latest folders' records in memory (a million files' would
    not fit); a folder met again is read again, its files still skipped unread."""
    from xnat_sdk.transfers import _verified

    experiment = _session(server, session)
    snap = server.seed_resource("scan", server.scan, "SNAP")  # type: ignore[attr-defined]
    server.seed_file(snap, "s.png", b"png" * 100)
    bulk.sync_session(experiment, tmp_path)
    monkeypatch.setattr(_verified, "_FOLDERS_KEPT", 1)
    report = bulk.sync_session(experiment, tmp_path)
    assert len(report.skipped) == 5 and not hashed
