"""Downloads: byte-for-byte round trips, verification, interrupted transfers, local overwrite,
odd names, streaming reads and progress bars (over HTTP against the local server)."""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xnat_sdk.errors import (
    XNATFileExistsError,
    XNATIntegrityError,
    XNATNotFoundError,
    XNATTransferError,
    XNATValueError,
)
from xnat_sdk.session import XNATSession
from xnat_sdk.testing.local import LocalXNAT

if TYPE_CHECKING:
    from conftest import RequestLog, Seeded

    from xnat_sdk.models import AbstractResource


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _scan_pk(server: LocalXNAT, eid: str, scan: str) -> int:
    row = server.store.one("SELECT pk FROM scans WHERE experiment_id=? AND id=?", (eid, scan))
    assert row is not None
    return int(row[0])


def _e2_file(
    server: LocalXNAT, session: XNATSession, seeded: Seeded, label: str, name: str, data: bytes
) -> tuple[int, Any]:
    """A new resource ``label`` on session E2 holding ``name``: (its resource id, the file)."""
    rid = server.seed_resource("experiment", seeded.sessions["E2"], label)
    server.seed_file(rid, name, data)
    return rid, session.experiments[seeded.sessions["E2"]].resources[label].files[name]


@pytest.fixture
def payloads() -> dict[str, bytes]:
    """Files of the DICOM resource of scan 1 of E1 (sizes around chunk boundaries)."""
    return {
        "a/1.dcm": os.urandom(524288 + 17),
        "2.dcm": os.urandom(1000),
        "deep/er/3.dcm": b"",
    }


@pytest.fixture
def resource(
    server: LocalXNAT, session: XNATSession, seeded: Seeded, payloads: dict[str, bytes]
) -> AbstractResource:
    eid = seeded.sessions["E1"]
    rid = server.seed_resource("scan", _scan_pk(server, eid, "1"), "DICOM", format="DICOM")
    for path, data in payloads.items():
        server.seed_file(rid, path, data)
    return session.experiments[eid].scans["1"].resources["DICOM"]


def _files_below(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_file_download_round_trip(
    resource: AbstractResource, payloads: dict[str, bytes], tmp_path: Path
) -> None:
    assert resource.file_count == 3
    assert resource.file_size == sum(len(d) for d in payloads.values())
    for remote in resource.files:
        assert remote.file_size == len(payloads[remote.path])
        assert remote.digest == hashlib.md5(payloads[remote.path]).hexdigest()
        target = remote.download(tmp_path / remote.path.replace("/", "_"), verbose=False)
        assert _sha(target.read_bytes()) == _sha(payloads[remote.path])
    # a folder as target keeps the file's name
    got = resource.files["2.dcm"].download(tmp_path, verbose=False)
    assert got == tmp_path / "2.dcm"
    assert sorted(os.listdir(tmp_path)) == ["2.dcm", "a_1.dcm", "deep_er_3.dcm"]


def test_session_download_and_stream(
    session: XNATSession, resource: AbstractResource, payloads: dict[str, bytes], tmp_path: Path
) -> None:
    remote = resource.files["a/1.dcm"]
    target = session.download(remote.uri, tmp_path / "x.bin", verbose=False)
    assert target.read_bytes() == payloads["a/1.dcm"]
    calls: list[tuple[int, int | None, bool]] = []
    sink = io.BytesIO()
    count = session.download_stream(
        remote.uri, sink, chunk_size=65536, update_func=lambda d, t, f: calls.append((d, t, f))
    )
    assert count == len(payloads["a/1.dcm"]) == len(sink.getvalue())
    assert sink.getvalue() == payloads["a/1.dcm"]
    assert calls[0] == (0, count, False)
    assert calls[-1] == (count, count, True)
    assert [c[0] for c in calls] == sorted(c[0] for c in calls)
    archive = session.download_zip(f"{resource.uri}/files", tmp_path / "r.zip", verbose=False)
    with zipfile.ZipFile(archive) as zf:
        names = {n.split("/files/", 1)[1]: zf.read(n) for n in zf.namelist()}
    assert names == payloads


def test_open_streams_and_seeks(
    resource: AbstractResource, payloads: dict[str, bytes], log: RequestLog
) -> None:
    data = payloads["a/1.dcm"]
    remote = resource.files["a/1.dcm"]
    log.clear()
    with remote.open() as handle:
        assert handle.read(10) == data[:10]
        handle.seek(3)
        assert handle.read(4) == data[3:7]
        assert len(log) == 1, "a seek inside the window reuses the stream"
        handle.seek(-5, io.SEEK_END)
        assert handle.read() == data[-5:]
        assert len(log) == 2, "a far seek re-opens with a Range request"
        handle.seek(0)
        assert hashlib.md5(handle.read()).hexdigest() == remote.digest
    with pytest.raises(XNATValueError):
        remote.open("w")


def test_digest_mismatch_raises_and_leaves_nothing(
    server: LocalXNAT, resource: AbstractResource, tmp_path: Path
) -> None:
    server.faults.corrupt_digests(count=1)
    resource.clearcache()
    remote = resource.files["2.dcm"]
    with pytest.raises(XNATIntegrityError, match="MD5"):
        remote.download(tmp_path / "2.dcm", verbose=False)
    assert os.listdir(tmp_path) == []


def test_digest_mismatch_in_download_dir_leaves_nothing(
    server: LocalXNAT, resource: AbstractResource, tmp_path: Path
) -> None:
    server.faults.corrupt_digests(count=1)
    with pytest.raises(XNATIntegrityError):
        resource.download_dir(tmp_path)
    assert list(tmp_path.rglob("*")) == []


def test_interrupted_download_leaves_no_file(
    server: LocalXNAT, resource: AbstractResource, tmp_path: Path
) -> None:
    remote = resource.files["a/1.dcm"]
    # cut with no resume allowed (a cut after some bytes is progress: resumes go on while
    # they add bytes), the download fails, leaving nothing
    server.faults.drop_after(70000, count=1, prefix="/data/")
    with pytest.raises(XNATTransferError, match="broke off"):
        resource.xnat_session.download(remote.uri, tmp_path / "1.dcm", verbose=False, resume=0)
    assert os.listdir(tmp_path) == []
    # the next attempt succeeds
    assert remote.download(tmp_path / "1.dcm", verbose=False).stat().st_size == remote.size


def test_broken_off_download_goes_on_from_where_it_stopped(
    server: LocalXNAT,
    session: XNATSession,
    seeded: Seeded,
    tmp_path: Path,
    log: RequestLog,
) -> None:
    data = os.urandom((3 << 20) + 777)
    _rid, remote = _e2_file(server, session, seeded, "RESUME", "r.bin", data)
    assert remote.size == len(data)
    server.faults.drop_after((1 << 20) + 5, count=2, prefix="/data/")  # cut twice
    log.clear()
    target = remote.download(tmp_path / "r.bin", verbose=False)
    assert target.read_bytes() == data  # and its MD5 matched the server's digest
    statuses = [status for method, _, status in log.requests if method == "GET"]
    assert statuses == [200, 206, 206]
    assert os.listdir(tmp_path) == ["r.bin"]
    # resume=0 turns it off: the first cut is final
    server.faults.drop_after((1 << 20) + 5, count=1, prefix="/data/")
    sink = io.BytesIO()
    with pytest.raises(XNATTransferError, match="broke off"):
        remote.download_stream(sink, resume=0)


@pytest.mark.parametrize("how", ["download", "stream"])
def test_a_connection_breaking_inside_every_chunk_still_makes_progress(
    server: LocalXNAT,
    session: XNATSession,
    seeded: Seeded,
    tmp_path: Path,
    log: RequestLog,
    how: str,
) -> None:
    """Answers that break off every 100 kB: each resume lost the 100 kB it got (they were
    inside one 512 KiB chunk), so no try made progress and a download (or ``open().read()``)
    failed after the allowed resumes. After a break-off the body is read as it arrives:
    every try adds."""
    from xnat_sdk.transfers import RESUME_ATTEMPTS

    data = os.urandom(100_000 * (RESUME_ATTEMPTS + 3) + 123)
    _rid, remote = _e2_file(server, session, seeded, f"PIECES_{how}", "p.bin", data)
    server.faults.drop_after(100_000, count=RESUME_ATTEMPTS + 3, prefix="/data/")
    log.clear()
    if how == "download":
        assert remote.download(tmp_path / "p.bin", verbose=False).read_bytes() == data
    else:
        with remote.open() as stream:
            assert stream.read() == data
    statuses = [status for method, _, status in log.requests if method == "GET"]
    assert statuses == [200] + [206] * (RESUME_ATTEMPTS + 3)


def test_resume_refuses_to_stitch_a_file_that_changed(
    server: LocalXNAT, session: XNATSession, seeded: Seeded, tmp_path: Path
) -> None:
    """If-Range: when the file changed on the server after the break-off, the rest is not
    appended to the old start (the server answers 200, not 206)."""
    import time

    data = os.urandom(2 << 20)
    rid, remote = _e2_file(server, session, seeded, "CHANGING", "c.bin", data)
    server.faults.drop_after(1 << 20, count=1, prefix="/data/")
    changed: list[bool] = []

    def replace_on_first_chunk(done: int, total: int | None, finished: bool) -> None:
        if done and not changed:
            changed.append(True)
            time.sleep(1.1)  # Last-Modified has one-second steps
            server.seed_file(rid, "c.bin", os.urandom(2 << 20))

    sink = io.BytesIO()
    with pytest.raises(XNATTransferError, match="changed on the server"):
        session.download_stream(remote.uri, sink, update_func=replace_on_first_chunk)


def test_a_broken_off_zip_starts_over(
    server: LocalXNAT,
    resource: AbstractResource,
    payloads: dict[str, bytes],
    tmp_path: Path,
    log: RequestLog,
) -> None:
    """XNAT builds a zip as it sends it (no length, no byte ranges): a break-off failed the
    download at once. It is asked for again from the start (what the cut try wrote goes)."""
    server.faults.drop_after(2000, count=1, prefix="/data/")
    log.clear()
    target = resource.download(tmp_path / "r.zip", verbose=False)
    with zipfile.ZipFile(target) as archive:
        got = {n.split("/files/", 1)[1]: archive.read(n) for n in archive.namelist()}
    assert got == payloads
    zips = [status for method, url, status in log.requests if "format=zip" in url]
    assert zips == [200, 200]
    assert os.listdir(tmp_path) == ["r.zip"]
    # unpacked while it streams in: the staging folder of the cut try goes, the rest lands
    server.faults.drop_after(2000, count=2, prefix="/data/")
    resource.download_dir(tmp_path / "d", verbose=False)
    assert {k.split("/files/", 1)[1]: v for k, v in _files_below(tmp_path / "d").items()} == (
        payloads
    )
    # into a stream that can be rewound: cut back to where the download began
    server.faults.drop_after(2000, count=1, prefix="/data/")
    sink = io.BytesIO(b"kept")
    sink.seek(4)
    resource.xnat_session.download_stream(resource.uri + "/files", sink, format="zip")
    assert sink.getvalue()[:4] == b"kept" and sink.getvalue()[4:] == target.read_bytes()


def test_a_zip_that_keeps_breaking_off_gives_up_leaving_nothing(
    server: LocalXNAT, resource: AbstractResource, tmp_path: Path, log: RequestLog
) -> None:
    from xnat_sdk.transfers import RESUME_ATTEMPTS

    server.faults.drop_after(2000, count=1000, prefix="/data/")
    log.clear()
    tries = RESUME_ATTEMPTS + 1
    with pytest.raises(XNATTransferError, match=f"broke off {tries} times.*gave up"):
        resource.download(tmp_path / "r.zip", verbose=False)
    assert os.listdir(tmp_path) == []
    assert len([url for _, url, _ in log.requests if "format=zip" in url]) == tries
    with pytest.raises(XNATTransferError, match=f"broke off {tries} times.*gave up"):
        resource.download_dir(tmp_path / "d", verbose=False)
    assert list((tmp_path / "d").rglob("*")) == []
    # resume=0: the first break-off is final
    log.clear()
    with pytest.raises(XNATTransferError, match="the connection broke off \\("):
        resource.xnat_session.download(
            resource.uri + "/files", tmp_path / "r.zip", format="zip", resume=0, verbose=False
        )
    assert len(log) == 1 and os.listdir(tmp_path) == ["d"]
    server.faults.clear()


def test_local_overwrite_refused(
    resource: AbstractResource, payloads: dict[str, bytes], tmp_path: Path, log: RequestLog
) -> None:
    target = tmp_path / "2.dcm"
    target.write_bytes(b"mine")
    remote = resource.files["2.dcm"]
    log.clear()
    with pytest.raises(XNATFileExistsError):
        remote.download(target, verbose=False, overwrite=False)
    assert len(log) == 0, "refused before any request"
    assert target.read_bytes() == b"mine"
    remote.download(target, verbose=False)
    assert target.read_bytes() == payloads["2.dcm"]
    # download_dir: nothing replaced when one file exists
    first = resource.download_dir(tmp_path / "d", verbose=False)
    (first / "2.dcm").write_bytes(b"changed")
    with pytest.raises(XNATFileExistsError):
        resource.download_dir(tmp_path / "d", verbose=False, overwrite=False)
    assert (first / "2.dcm").read_bytes() == b"changed"
    assert not [p for p in (tmp_path / "d").iterdir() if p.name.startswith(".")]


def test_download_dir_layouts(
    server: LocalXNAT,
    session: XNATSession,
    seeded: Seeded,
    resource: AbstractResource,
    payloads: dict[str, bytes],
    tmp_path: Path,
) -> None:
    e1 = seeded.sessions["E1"]
    other = server.seed_resource("scan", _scan_pk(server, e1, "2"), "NIFTI")
    server.seed_file(other, "t2.nii", b"nifti")
    e2_res = server.seed_resource("scan", _scan_pk(server, seeded.sessions["E2"], "1"), "DICOM")
    server.seed_file(e2_res, "x.dcm", b"e2")
    folder = resource.download_dir(tmp_path / "res", verbose=False)
    assert folder == tmp_path / "res/E1/scans/1-T1/resources/DICOM/files"
    assert _files_below(folder) == payloads

    experiment = session.experiments[e1]
    scan_dir = experiment.scans["1"].download_dir(tmp_path / "scan", verbose=False)
    assert scan_dir == tmp_path / "scan/E1/scans/1-T1"
    assert _files_below(scan_dir / "resources/DICOM/files") == payloads

    exp_dir = experiment.download_dir(tmp_path / "exp", verbose=False)
    assert exp_dir == tmp_path / "exp/E1"
    got = _files_below(exp_dir / "scans")
    assert got["2-T2/resources/NIFTI/files/t2.nii"] == b"nifti"
    assert got["1-T1/resources/DICOM/files/a/1.dcm"] == payloads["a/1.dcm"]

    project = session.projects[seeded.project]
    proj_dir = project.download_dir(tmp_path / "proj", verbose=False)
    assert proj_dir == tmp_path / "proj" / (project.name or seeded.project)
    tree = _files_below(proj_dir)
    assert tree["S2/E2/scans/1-T1/resources/DICOM/files/x.dcm"] == b"e2"
    assert tree["S1/E1/scans/2-T2/resources/NIFTI/files/t2.nii"] == b"nifti"
    assert len(tree) == 5

    subject_dir = session.projects[seeded.project].subjects["S2"].download_dir(tmp_path / "s")
    assert _files_below(subject_dir) == {"E2/scans/1-T1/resources/DICOM/files/x.dcm": b"e2"}

    archive = project.download(tmp_path / "p.zip", verbose=False)
    with zipfile.ZipFile(archive) as zf:
        assert len(zf.namelist()) == 5
        assert zf.read(f"{proj_dir.name}/S2/E2/scans/1-T1/resources/DICOM/files/x.dcm") == b"e2"
    session_zip = experiment.download(tmp_path / "e.zip", verbose=False)
    with zipfile.ZipFile(session_zip) as zf:
        assert len(zf.namelist()) == 4
    scan_zip = experiment.scans["1"].download(tmp_path / "s.zip", verbose=False)
    with zipfile.ZipFile(scan_zip) as zf:
        assert sorted(n.split("/files/", 1)[1] for n in zf.namelist()) == sorted(payloads)
    assert not [p for p in tmp_path.rglob(".*")], "no temporary names left"


def test_missing_file_is_typed_error(session: XNATSession, seeded: Seeded, tmp_path: Path) -> None:
    with pytest.raises(XNATNotFoundError):
        session.download(
            f"/data/experiments/{seeded.sessions['E1']}/resources/NOPE/files/x",
            tmp_path / "x",
            verbose=False,
        )
    assert os.listdir(tmp_path) == []


_NAME = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs", "Cc"), blacklist_characters="/\\", min_codepoint=32
    ),
    min_size=1,
    max_size=20,
).filter(lambda s: s.strip(". ") == s and s not in (".", ".."))


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=_NAME, data=st.binary(min_size=1, max_size=200))
def test_odd_names_round_trip(
    session: XNATSession, resource: AbstractResource, name: str, data: bytes, tmp_path: Path
) -> None:
    remote_path = f"odd dir #?/{name}"
    resource.upload(data, remote_path, overwrite=True)
    found = resource.files[remote_path]
    assert found.size == len(data)
    target = tmp_path / f"{abs(hash(name))}.bin"
    assert found.download(target, verbose=False).read_bytes() == data
    with found.open() as handle:
        assert handle.read() == data
    found.delete()
    assert remote_path not in resource.files


def test_progress_bar_on_fake_tty(
    resource: AbstractResource, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class FakeTTY(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = FakeTTY()
    monkeypatch.setattr("sys.stdout", screen)
    resource.files["a/1.dcm"].download(tmp_path / "1.dcm", verbose=True)
    shown = screen.getvalue()
    assert "1.dcm" in shown and "━" in shown, shown[-300:]
    assert "MB" in shown or "kB" in shown

    quiet = FakeTTY()
    monkeypatch.setattr("sys.stdout", quiet)
    resource.files["a/1.dcm"].download(tmp_path / "2.dcm", verbose=False)
    assert quiet.getvalue() == ""


def test_no_progress_when_not_a_tty(
    resource: AbstractResource, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    resource.files["a/1.dcm"].download(tmp_path / "1.dcm", verbose=True)
    resource.download_dir(tmp_path / "d", verbose=True)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_session_level_uris(
    session: XNATSession, resource: AbstractResource, payloads: dict[str, bytes], tmp_path: Path
) -> None:
    from xnat_sdk.listings import FileData

    resource.upload(b"spaced", "with space/é #1.txt")
    remote = resource.files["with space/é #1.txt"]
    assert isinstance(remote, FileData)
    # raw characters in a session-level URI are encoded; a ?query is kept as a query
    got = session.download(f"{resource.uri}/files/with space/é %231.txt", tmp_path / "a")
    assert got.read_bytes() == b"spaced"
    archive = session.download(f"{resource.uri}/files?format=zip", tmp_path / "b.zip")
    with zipfile.ZipFile(archive) as zf:
        assert len(zf.namelist()) == len(payloads) + 1
    assert session.download_zip(f"{resource.uri}/files", tmp_path / "c.zip").stat().st_size


def test_html_page_instead_of_data_is_refused(session: XNATSession, tmp_path: Path) -> None:
    from xnat_sdk.errors import XNATResponseError

    # the server's front page stands in for a login page answered with status 200
    with pytest.raises(XNATResponseError, match="HTML page"):
        session.download("/", tmp_path / "page", verbose=False)
    assert os.listdir(tmp_path) == []
    html = session.download("/data/projects?format=html", tmp_path / "p.html", verbose=False)
    assert html.read_bytes().startswith(b"<html")


def test_flatten_dirs_callback_and_tree_overwrite(
    session: XNATSession,
    seeded: Seeded,
    resource: AbstractResource,
    payloads: dict[str, bytes],
    tmp_path: Path,
) -> None:
    flat = resource.download_dir(tmp_path / "flat", verbose=False, flatten_dirs=True)
    assert flat == tmp_path / "flat"
    assert _files_below(flat) == payloads

    project = session.projects[seeded.project]
    messages: list[str] = []
    folder = project.download_dir(tmp_path / "p", verbose=False, progress_callback=messages.append)
    assert messages[0].startswith("Downloading subject 1 of 2")
    assert "Downloading experiment 1 of 1" in messages
    victim = next(p for p in folder.rglob("*.dcm"))
    victim.write_bytes(b"local edit")
    with pytest.raises(XNATFileExistsError):
        project.download_dir(tmp_path / "p", verbose=False, overwrite=False)
    assert victim.read_bytes() == b"local edit"
    project.download_dir(tmp_path / "p", verbose=False)
    assert victim.read_bytes() != b"local edit"


def test_large_file_round_trip_and_drop(
    server: LocalXNAT, session: XNATSession, seeded: Seeded, tmp_path: Path
) -> None:
    data = os.urandom((9 << 20) + 12345)
    _rid, remote = _e2_file(server, session, seeded, "BIG", "big.bin", data)
    assert _sha(remote.download(tmp_path / "a", verbose=False).read_bytes()) == _sha(data)
    sink = io.BytesIO()
    assert remote.download_stream(sink) == len(data)
    assert _sha(sink.getvalue()) == _sha(data)
    # cut after 3 MiB every time: each try brings 3 MiB more, so it completes
    server.faults.drop_after(3 << 20, count=99, prefix="/data/")
    assert _sha(remote.download(tmp_path / "b", verbose=False).read_bytes()) == _sha(data)
    # without resuming the first cut is final, and nothing is left
    with pytest.raises(XNATTransferError, match="broke off"):
        remote.download(tmp_path / "c", verbose=False, resume=0)
    assert sorted(os.listdir(tmp_path)) == ["a", "b"]
    server.faults.clear()


def test_stall_watchdog_ends_a_silent_transfer() -> None:
    """A large body read from a blocking socket: the watchdog shuts the socket when no byte
    arrives for the read timeout (0.2 s here), so the reader sees the end instead of
    hanging."""
    import socket
    from types import SimpleNamespace

    from xnat_sdk.transfers import _StallGuard

    ours, peer = socket.socketpair()
    ours.settimeout(30.0)
    response = SimpleNamespace(raw=SimpleNamespace(connection=SimpleNamespace(sock=ours)))
    owner = SimpleNamespace(request_timeout=0.2)
    guard = _StallGuard(response, owner, None, _StallGuard.MIN_BODY)  # type: ignore[arg-type]
    try:
        with guard:
            assert ours.gettimeout() is None
            peer.sendall(b"first")
            assert ours.recv(5) == b"first"
            guard.received = 5
            assert ours.recv(10) == b"", "the watchdog ended the silent read"
        assert guard.stalled
        assert ours.gettimeout() == 30.0
    finally:
        ours.close()
        peer.close()


def test_verify_digest(server: LocalXNAT, resource: AbstractResource) -> None:
    assert resource.files["2.dcm"].verify_digest()
    server.faults.corrupt_digests(count=1)
    resource.clearcache()
    assert not resource.files["2.dcm"].verify_digest()


@pytest.mark.parametrize("corrupt", [False, True])
def test_large_body_hashed_beside_the_download(
    server: LocalXNAT,
    resource: AbstractResource,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    corrupt: bool,
) -> None:
    """Bodies from ``_Hasher.MIN_BODY`` up are hashed by a helper thread while they stream:
    the digest is still checked, and the thread is gone afterwards either way."""
    import threading

    from xnat_sdk import transfers

    monkeypatch.setattr(transfers._Hasher, "MIN_BODY", 1 << 20)
    data = os.urandom(3 * 524288 + 5)  # several chunks
    resource.upload_data(data, "big/4.dcm")
    if corrupt:
        server.faults.corrupt_digests(count=1)
    resource.clearcache()
    remote = resource.files["big/4.dcm"]
    target = tmp_path / "4.dcm"
    if corrupt:
        with pytest.raises(XNATIntegrityError, match="MD5"):
            remote.download(target, verbose=False)
        assert os.listdir(tmp_path) == []
    else:
        remote.download(target, verbose=False)
        assert target.read_bytes() == data
    assert not [t for t in threading.enumerate() if t.name == "xnat-sdk-md5"]


def test_open_goes_on_after_a_break_off(
    server: LocalXNAT, session: XNATSession, seeded: Seeded, log: RequestLog
) -> None:
    data = os.urandom((2 << 20) + 99)
    _rid, remote = _e2_file(server, session, seeded, "STREAMED", "s.bin", data)
    server.faults.drop_after(700_000, count=2, prefix="/data/")
    log.clear()
    with remote.open() as handle:
        head = handle.read(1000)
        assert head == data[:1000]
        assert handle.read() == data[1000:]
        handle.seek(5)
        assert handle.read(10) == data[5:15]
    ranges = [status for method, _, status in log.requests if method == "GET"]
    assert ranges[:3] == [200, 206, 206]  # two break-offs, each continued with a range
    # cut, and the rest cannot be had: the read fails with a clear error (a cut after 100
    # bytes every time is no longer enough: after a first break-off the body is read as it
    # arrives, so each try adds bytes and the tries count afresh)
    server.faults.drop_after(100, count=1, prefix="/data/")
    try:
        with remote.open() as handle, pytest.raises(XNATTransferError, match="broke off"):
            server.faults.fail_next(99, status=500, prefix="/data/")
            handle.read()
    finally:
        server.faults.clear()


@pytest.mark.parametrize("close", [True, False], ids=["connection-close", "kept-alive"])
def test_stall_guard_takes_the_socket_of_the_answer(
    server: LocalXNAT,
    session: XNATSession,
    seeded: Seeded,
    monkeypatch: pytest.MonkeyPatch,
    close: bool,
) -> None:
    """A ``Connection: close`` answer (asked for here; the local server keeps connections
    open, as XNAT's Tomcat does) leaves the connection object without its socket; the guard
    must still find the socket under the response to read it without per-recv polling, and
    put its timeout back afterwards. A kept-alive answer's socket is its connection's."""
    import socket

    from xnat_sdk import transfers

    data = os.urandom(1 << 20)
    rid = server.seed_resource("experiment", seeded.sessions["E2"], "GUARDED")
    server.seed_file(rid, "g.bin", data)
    uri = f"/data/experiments/{seeded.sessions['E2']}/resources/GUARDED/files/g.bin"
    monkeypatch.setattr(transfers._StallGuard, "MIN_BODY", 1)
    response = transfers._open_get(session, uri, headers={"Connection": "close"} if close else None)
    try:
        assert response.headers.get("Connection", "").lower() == ("close" if close else "")
        assert (getattr(response.raw.connection, "sock", None) is None) is close
        sock = transfers._socket_of(response)
        assert isinstance(sock, socket.socket)
        before = sock.gettimeout()
        assert before is not None  # the session's read timeout
        guard = transfers._StallGuard(response, session, None, len(data))
        with guard:
            assert sock.gettimeout() is None
            assert b"".join(response.iter_content(1 << 16)) == data
        assert sock.gettimeout() == before
    finally:
        response.close()


def _seed_tree(server: LocalXNAT, project: str) -> dict[str, bytes]:
    """Two subjects with two sessions each, one scan with three files per session; returns
    each file's bytes by its path below the project folder."""
    expected: dict[str, bytes] = {}
    server.seed_project(project)
    for subject in ("SA", "SB"):
        server.seed_subject(project, subject)
        for number in (1, 2):
            label = f"{subject}_MR{number}"
            eid = server.seed_session(project, subject, label)
            pk = server.seed_scan(eid, "1", type="T1")
            rid = server.seed_resource("scan", pk, "DICOM", format="DICOM")
            for index in range(3):
                data = os.urandom(1000 + index)
                server.seed_file(rid, f"{index}.dcm", data)
                rel = f"{subject}/{label}/scans/1-T1/resources/DICOM/files/{index}.dcm"
                expected[rel] = data
    return expected


def test_tree_download_runs_sessions_side_by_side(
    server: LocalXNAT, session: XNATSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from xnat_sdk._objects.transfers import SessionDownloads

    expected = _seed_tree(server, "PARTREE")
    project = session.projects["PARTREE"]
    # two sessions must be under way at once, or the barrier breaks (no timing involved)
    barrier = threading.Barrier(2, timeout=20)
    original = SessionDownloads._download_dir
    calls: list[str] = []

    def side_by_side(self: Any, *args: Any, **kwargs: Any) -> Path:
        calls.append(threading.current_thread().name)
        if len(calls) <= 2:
            barrier.wait()
        return original(self, *args, **kwargs)

    monkeypatch.setattr(SessionDownloads, "_download_dir", side_by_side)
    folder = project.download_dir(tmp_path / "par", verbose=False, workers=2)
    assert _files_below(folder) == expected
    assert len(calls) == 4 and all(name.startswith("xnat-sdk-session") for name in calls)
    monkeypatch.setattr(SessionDownloads, "_download_dir", original)
    # one worker: the same tree, on the calling thread
    assert _files_below(project.download_dir(tmp_path / "one", workers=1)) == expected
    with pytest.raises(XNATValueError, match="workers"):
        project.download_dir(tmp_path / "bad", workers=0)
    assert not (tmp_path / "bad").exists()


def test_tree_download_failure_in_one_session_is_raised_and_leaves_no_staging(
    server: LocalXNAT, session: XNATSession, tmp_path: Path
) -> None:
    _seed_tree(server, "PARFAIL")
    project = session.projects["PARFAIL"]
    server.faults.corrupt_digests(count=1)  # one session's listing lies about its digests
    with pytest.raises(XNATIntegrityError):
        project.download_dir(tmp_path / "out", verbose=False, workers=4)
    left = [p.name for p in (tmp_path / "out").rglob("*") if p.name.startswith(".xnat-sdk-")]
    assert left == []
    sessions = [p for p in (tmp_path / "out" / "PARFAIL").glob("*/*") if p.is_dir()]
    assert len(sessions) <= 3  # the failed session is not there; the others are whole
    for folder in sessions:
        assert len(list(folder.rglob("*.dcm"))) == 3


def test_project_download_bars_are_named_and_know_their_totals(
    session: XNATSession, server: LocalXNAT, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a terminal, a project ``download_dir`` shows one bar per session named by its
    label and a project bar whose total is the listed size of every file (not ``?``)."""
    from xnat_sdk.progress import TransferProgress

    project = "RT_BARS"
    server.seed_project(project)
    sizes = {"VISIT_A": 3000, "VISIT_B": 5000}
    for number, (label, size) in enumerate(sizes.items(), start=1):
        server.seed_subject(project, f"SUBJ{number}")
        eid = server.seed_session(project, f"SUBJ{number}", label)
        server.seed_scan(eid, "1", type="T1")
        res = server.seed_resource("scan", _scan_pk(server, eid, "1"), "DICOM")
        server.seed_file(res, "1.dcm", os.urandom(size))

    class FakeTTY(io.StringIO):
        def isatty(self) -> bool:
            return True

    seen: list[dict[str, tuple[float | None, float]]] = []
    exit_bars = TransferProgress.__exit__

    def record(self: TransferProgress, *exc: Any) -> None:
        if self._progress is not None:
            seen.append({t.description: (t.total, t.completed) for t in self._progress.tasks})
        exit_bars(self, *exc)

    # scan_filter picks the scans of every session (none of type T2 here)
    assert session.projects[project].download_dir(tmp_path / "t2", scan_filter="T2", verbose=False)
    assert not [p for p in (tmp_path / "t2").rglob("*") if p.is_file()]
    t1 = session.projects[project].download_dir(tmp_path / "t1", scan_filter="T1", verbose=False)
    assert sorted(p.stat().st_size for p in t1.rglob("*.dcm")) == sorted(sizes.values())

    monkeypatch.setattr(TransferProgress, "__exit__", record)
    monkeypatch.setattr("sys.stdout", FakeTTY())
    for workers in (1, 3):
        seen.clear()
        session.projects[project].download_dir(tmp_path / str(workers), workers=workers)
        [bars] = seen
        assert set(bars) == {project, *sizes}, bars
        # totals from the listings, and every bar ends at its total
        assert bars[project] == (sum(sizes.values()), sum(sizes.values()))
        for label, size in sizes.items():
            assert bars[label] == (size, size)
