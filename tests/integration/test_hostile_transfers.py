"""Transfers against a hostile server and a hostile local disk: server-given names never lead
outside the target, local file-system failures are their own error and leave nothing behind,
and the leftovers of a killed client are removed by the next transfer (over HTTP against the
local server; kills and full disks are real, in a subprocess)."""

from __future__ import annotations

import errno
import io
import itertools
import os
import re
import signal
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from xnat_sdk.archives import iter_files, write_tar
from xnat_sdk.errors import (
    XNATConnectionError,
    XNATLocalFileError,
    XNATUnsafeArchiveError,
    XNATValueError,
)
from xnat_sdk.session import XNATSession
from xnat_sdk.testing.local import LocalXNAT

if TYPE_CHECKING:
    from conftest import RequestLog

_counter = itertools.count(1)
BIG = 4 << 20
_TEMP = re.compile(
    r"\.(?:.+\.xnat-(?P<fhost>[0-9a-f]{8})-(?P<fpid>[1-9][0-9]*)-[0-9a-f]{8}\.part"
    r"|xnat-sdk-(?P<dhost>[0-9a-f]{8})-(?P<dpid>[1-9][0-9]*)-[0-9a-f]{8})"
)


def temp_owner(name: str) -> tuple[str, int, bool] | None:
    """(host hash, pid, is a folder) of a temporary name of the documented shape."""
    found = _TEMP.fullmatch(name)
    if found is None:
        return None
    if found["fhost"]:
        return found["fhost"], int(found["fpid"]), False
    return found["dhost"], int(found["dpid"]), True


@dataclass
class Tree:
    """A project with subject S1, session E1, scan 1 and its resource R holding files."""

    project: str
    session: str
    files: dict[str, bytes]


def _tree(server: LocalXNAT, files: dict[str, bytes]) -> Tree:
    project = f"HOSTILE{next(_counter)}"
    server.seed_project(project)
    server.seed_subject(project, "S1")
    eid = server.seed_session(project, "S1", "E1")
    scan = server.seed_scan(eid, "1", type="T1")
    rid = server.seed_resource("scan", scan, "R")
    for path, data in files.items():
        server.seed_file(rid, path, data)
    return Tree(project, eid, files)


@pytest.fixture
def small(server: LocalXNAT) -> Tree:
    return _tree(server, {"a.txt": b"hello", "sub/b.txt": b"bee"})


@pytest.fixture
def big(server: LocalXNAT) -> Tree:
    return _tree(server, {"big.bin": os.urandom(BIG)})


def _resource(session: XNATSession, tree: Tree) -> Any:
    session.clearcache()
    return session.experiments[tree.session].scans["1"].resources["R"]


def _names(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


def _nest(tmp_path: Path) -> Path:
    """``tmp_path/a/b/t`` (each level with one marker file), the target of a download."""
    target = tmp_path / "a" / "b" / "t"
    target.mkdir(parents=True)
    for folder in (tmp_path, tmp_path / "a", tmp_path / "a" / "b"):
        (folder / "marker").write_bytes(b"m")
    return target


def _untouched(tmp_path: Path) -> None:
    assert _names(tmp_path) == ["a", "marker"]
    assert _names(tmp_path / "a") == ["b", "marker"]
    assert _names(tmp_path / "a" / "b") == ["marker", "t"]


# -- 7: names from the server ----------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["../../x.txt", "sub/../../x.txt", "ABSOLUTE", "..\\..\\x.txt", "C:x.txt", ".."]
)
def test_hostile_file_name_in_a_listing_is_refused_before_the_download(
    server: LocalXNAT,
    session: XNATSession,
    small: Tree,
    tmp_path: Path,
    log: RequestLog,
    name: str,
) -> None:
    target = _nest(tmp_path)
    if name == "ABSOLUTE":
        name = str(tmp_path / "abs.txt")
    resource = _resource(session, small)
    files_uri = f"{resource.uri}/files"
    row = {"Name": name, "URI": f"{files_uri}/a.txt", "Size": "5", "collection": "R"}
    if name == "..":
        row = {"URI": f"{files_uri}/..", "Size": "5", "collection": "R"}  # name from the URI
    server.faults.answer_next({"ResultSet": {"Result": [row]}}, prefix=files_uri, method="GET")
    remote = next(iter(resource.files.values()))
    log.clear()
    with pytest.raises(XNATUnsafeArchiveError) as info:
        remote.download(target, verbose=False)
    assert info.value.entry == name
    assert repr(name) in str(info.value)
    assert len(log) == 0, log.paths()  # refused before the request
    assert _names(target) == []
    _untouched(tmp_path)


def _zip(entries: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "bad",
    [
        "../../evil.txt",
        "/abs-xnat-sdk-test.txt",
        "a\\..\\..\\b",
        "E1/scans/../../../evil.txt",
        "../../evil/",  # a folder entry writes nothing, but is refused all the same
    ],
)
@pytest.mark.parametrize("level", ["resource", "session"])
def test_hostile_zip_entries_are_refused_by_download_dir(
    server: LocalXNAT, session: XNATSession, small: Tree, tmp_path: Path, bad: str, level: str
) -> None:
    target = _nest(tmp_path)
    resource = _resource(session, small)
    good = "E1/scans/1-T1/resources/R/files/a.txt"
    crafted = _zip([(good, b"hello"), (bad, b"evil")])
    experiment = session.experiments[small.session]
    zip_path = f"{resource.uri}/files" if level == "resource" else f"{experiment.uri}/scans"
    server.faults.answer_next(
        crafted, prefix=zip_path, method="GET", content_type="application/zip"
    )
    with pytest.raises(XNATUnsafeArchiveError) as info:
        if level == "resource":
            resource.download_dir(target, verbose=False)
        else:
            experiment.download_dir(target, verbose=False)
    assert info.value.entry == bad
    assert _names(target) == []  # not even the good entry, nor a staging folder
    _untouched(tmp_path)
    assert not Path("/abs-xnat-sdk-test.txt").exists()


@pytest.mark.parametrize(
    ("label", "folder"),
    [("C:evil", "C:evil" if os.name != "nt" else "C_evil"), ("nul\x00byte", "nul_byte")],
)
def test_a_label_that_is_no_plain_folder_name_becomes_one_inside_the_target(
    server: LocalXNAT, session: XNATSession, tmp_path: Path, label: str, folder: str
) -> None:
    project = f"HOSTILE{next(_counter)}"
    server.seed_project(project)
    server.seed_subject(project, label)
    subject = next(iter(session.projects[project].subjects.values()))
    assert subject.label == label
    made = subject.download_dir(tmp_path / "out", verbose=False)
    assert made == tmp_path / "out" / folder and made.is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize("remote", ["..\\evil", "a\\b.txt", "\\abs.txt"])
def test_remote_paths_with_backslashes_are_refused_before_any_request(
    session: XNATSession, small: Tree, log: RequestLog, remote: str
) -> None:
    resource = _resource(session, small)
    log.clear()
    with pytest.raises(XNATValueError, match=r"remotepath .*backslash"):
        resource.upload(b"x", remote)
    assert len(log) == 0, log.paths()


def test_upload_dir_per_file_refuses_a_local_name_with_a_backslash(
    session: XNATSession, small: Tree, tmp_path: Path, log: RequestLog
) -> None:
    (tmp_path / "fine.txt").write_bytes(b"fine")
    (tmp_path / "a\\b.txt").write_bytes(b"odd")
    resource = _resource(session, small)
    log.clear()
    with pytest.raises(XNATValueError, match="backslash"):
        resource.upload_dir(tmp_path, method="per_file")
    assert not [p for p in log.paths() if p.startswith("PUT")], log.paths()


# -- 10: local file-system errors ------------------------------------------------------------


def test_a_file_where_the_session_folder_must_go_is_a_local_error(
    session: XNATSession, small: Tree, tmp_path: Path
) -> None:
    target = tmp_path / "out"
    target.mkdir()
    (target / "E1").write_bytes(b"mine")
    experiment = session.experiments[small.session]
    with pytest.raises(XNATLocalFileError) as info:
        experiment.download_dir(target, verbose=False)
    error = info.value
    assert error.path == str(target / "E1")
    assert error.errno == errno.ENOTDIR
    assert isinstance(error, OSError) and not isinstance(error, XNATConnectionError)
    assert str(target / "E1") in str(error)
    assert _names(target) == ["E1"]  # no staging folder left
    assert (target / "E1").read_bytes() == b"mine"


def test_a_file_where_the_subject_folder_must_go_is_a_local_error(
    session: XNATSession, small: Tree, tmp_path: Path
) -> None:
    target = tmp_path / "out"
    target.mkdir()
    (target / "S1").write_bytes(b"mine")
    subject = session.projects[small.project].subjects["S1"]
    with pytest.raises(XNATLocalFileError) as info:
        subject.download_dir(target, verbose=False)
    assert info.value.path == str(target / "S1")
    assert info.value.errno == errno.EEXIST
    assert _names(target) == ["S1"]
    assert (target / "S1").read_bytes() == b"mine"


_FULL_DISK = """
import resource as limits, signal, sys
import xnat_sdk

url, eid, kind, target, limit = sys.argv[1:6]
with xnat_sdk.connect(url, user="admin", password="admin") as session:
    res = session.experiments[eid].scans["1"].resources["R"]
    remote = res.files["big.bin"]
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write beyond the limit fails: EFBIG
    limits.setrlimit(limits.RLIMIT_FSIZE, (int(limit), int(limit)))
    try:
        if kind == "file":
            remote.download(target, verbose=False)
        elif kind == "dir":
            res.download_dir(target, verbose=False)
        else:
            res.upload_dir(target, method="tar_file")
    except Exception as exc:
        print(type(exc).__name__, isinstance(exc, OSError), getattr(exc, "errno", None), sep="\\n")
        print(getattr(exc, "path", None), exc, sep="\\n")
        sys.exit(3)
print("no error")
"""


def _run(script: str, *args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", script, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("kind", ["file", "dir"])
def test_a_full_disk_is_a_local_error_and_leaves_nothing(
    server: LocalXNAT, big: Tree, tmp_path: Path, kind: str
) -> None:
    target = tmp_path / "out"
    target.mkdir()
    done = _run(_FULL_DISK, server.url, big.session, kind, target, 256 << 10)
    assert done.returncode == 3, done.stdout + done.stderr
    name, is_oserror, number, path = done.stdout.split("\n")[:4]
    assert (name, is_oserror, number) == ("XNATLocalFileError", "True", str(errno.EFBIG))
    assert path.startswith(str(target)) and path.endswith("big.bin")
    assert _names(target) == []  # no partial file, no staging folder


def test_a_full_disk_while_the_upload_archive_spills_is_a_local_error(
    server: LocalXNAT, session: XNATSession, big: Tree, tmp_path: Path
) -> None:
    import tempfile

    folder = tmp_path / "up"
    folder.mkdir()
    with open(folder / "large.bin", "wb") as handle:
        handle.truncate(33 << 20)  # beyond what the archive keeps in memory
    done = _run(_FULL_DISK, server.url, big.session, "upload", folder, 1 << 20)
    assert done.returncode == 3, done.stdout + done.stderr
    name, is_oserror, number, path = done.stdout.split("\n")[:4]
    assert (name, is_oserror, number) == ("XNATLocalFileError", "True", str(errno.EFBIG))
    assert path == tempfile.gettempdir()
    assert sorted(f.path for f in _resource(session, big).files.values()) == ["big.bin"]


def test_a_file_that_vanishes_while_archived_is_a_local_error_naming_it(tmp_path: Path) -> None:
    folder = tmp_path / "up"
    folder.mkdir()
    (folder / "a.bin").write_bytes(os.urandom(3 << 19))
    (folder / "b.txt").write_bytes(b"gone soon")

    class Sink(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, data: Any) -> int:
            (folder / "b.txt").unlink(missing_ok=True)  # while a.bin is archived
            return len(data)

    with pytest.raises(XNATLocalFileError) as info:
        write_tar(folder, Sink(), gzip=False)  # type: ignore[arg-type]
    assert info.value.path == str(folder / "b.txt")
    assert info.value.errno == errno.ENOENT


# -- 11: leftovers of a killed client ----------------------------------------------------------


_KILLED = """
import os, signal, sys
import xnat_sdk
from xnat_sdk.transfers import download_file, quote_path

url, eid, kind, folder = sys.argv[1:5]


def kill_after_first_chunk(done, total, finished):
    if done:
        os.kill(os.getpid(), signal.SIGKILL)


class KillingBars:
    def task(self, label, total):
        return kill_after_first_chunk


with xnat_sdk.connect(url, user="admin", password="admin") as session:
    experiment = session.experiments[eid]
    if kind == "file":
        remote = experiment.scans["1"].resources["R"].files["big.bin"]
        download_file(
            session,
            quote_path(remote.uri),
            os.path.join(folder, "big.bin"),
            verbose=False,
            update_func=kill_after_first_chunk,
        )
    else:
        experiment._download_dir(folder, verbose=False, bars=KillingBars())
print("not killed")
"""


def _fakes(leftover: str, dead: int) -> list[str]:
    """Names like ``leftover`` that the next transfer must keep: a live process's (this
    test's), another host's, and near misses of the pattern."""
    host, _, _ = temp_owner(leftover) or ("", 0, False)
    other = "00000000" if host != "00000000" else "ffffffff"
    return [
        leftover.replace(f"-{dead}-", f"-{os.getpid()}-"),
        leftover.replace(f"-{host}-", f"-{other}-"),
        leftover + ".bak",
        leftover.replace(f"-{dead}-", f"-0{dead}-"),
    ]


@pytest.mark.parametrize("kind", ["file", "dir"])
def test_leftovers_of_a_killed_download_are_removed_by_the_next(
    server: LocalXNAT, session: XNATSession, big: Tree, tmp_path: Path, kind: str
) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    killed = subprocess.Popen(
        [sys.executable, "-c", _KILLED, server.url, big.session, kind, str(folder)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = killed.communicate(timeout=120)
    assert killed.returncode == -signal.SIGKILL, out + err
    (leftover,) = _names(folder)
    owner = temp_owner(leftover)
    assert owner is not None and owner[1:] == (killed.pid, kind == "dir"), leftover
    if kind == "file":
        assert leftover.startswith(".big.bin.xnat-") and leftover.endswith(".part")
        assert 0 < (folder / leftover).stat().st_size < BIG
    else:
        assert leftover.startswith(".xnat-sdk-")
        assert (folder / leftover).is_dir()
    keep = _fakes(leftover, killed.pid)
    for name in keep:
        if kind == "file":
            (folder / name).write_bytes(b"partial")
        else:
            (folder / name).mkdir()
            (folder / name / "inside").write_bytes(b"x")
    resource = _resource(session, big)
    if kind == "file":
        # no listing of local files shows a partial one (only the near misses are no temps)
        assert sorted(rel for _, rel in iter_files(folder)) == sorted(keep[2:])
        resource.files["big.bin"].download(folder, verbose=False)
        assert (folder / "big.bin").read_bytes() == big.files["big.bin"]
        assert _names(folder) == sorted([*keep, "big.bin"])
    else:
        session.experiments[big.session].download_dir(folder, verbose=False)
        got = folder / "E1" / "scans" / "1-T1" / "resources" / "R" / "files" / "big.bin"
        assert got.read_bytes() == big.files["big.bin"]
        assert _names(folder) == sorted([*keep, "E1"])
        assert all((folder / name / "inside").exists() for name in keep)
