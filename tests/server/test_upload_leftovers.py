"""Temporary upload files of a server killed mid-upload are removed when it starts again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from serve_process import start_serve, stop

from xnat_sdk.testing.local import LocalXNAT

AUTH = ("admin", "admin")
CHUNK = b"\0" * (1 << 20)


def _start(data_dir: Path, started: list[subprocess.Popen[str]]) -> tuple[int, str]:
    """Run ``xnat-sdk serve`` on ``data_dir`` (127.0.0.1, a free port): its pid and URL."""
    proc, url = start_serve(data_dir)
    started.append(proc)  # killed by the fixture whatever happens next
    return proc.pid, url


def _kill(proc: subprocess.Popen[str]) -> None:
    stop(proc, kill=True)


def _wait_for(predicate: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _leftovers(data_dir: Path, pid: int | None = None) -> list[Path]:
    found = [p for p in data_dir.rglob(".upload-*") if p.is_file()]
    if pid is not None:
        found = [p for p in found if p.name.startswith(f".upload-{pid}-")]
    return found


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        _kill(proc)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs kill -9")
def test_restart_removes_uploads_of_a_killed_server(
    tmp_path: Path, processes: list[subprocess.Popen[str]]
) -> None:
    pid, url = _start(tmp_path, processes)
    assert requests.put(f"{url}/data/projects/LEFT", auth=AUTH).status_code in (200, 201)
    files = f"{url}/data/projects/LEFT/resources/R/files"
    assert requests.put(f"{files}/done.txt", data=b"complete", auth=AUTH).status_code == 200

    release = threading.Event()
    outcome: list[BaseException | int] = []

    def body() -> Iterator[bytes]:
        for _ in range(4):
            yield CHUNK
        release.wait(60)

    def upload() -> None:
        try:
            outcome.append(requests.put(f"{files}/big.bin", data=body(), auth=AUTH).status_code)
        except Exception as exc:  # the server dies under it
            outcome.append(exc)

    sender = threading.Thread(target=upload, name="blocked-upload", daemon=True)
    sender.start()
    try:
        _wait_for(
            lambda: any(_size(p) >= len(CHUNK) for p in _leftovers(tmp_path, pid)),
            f"a .upload-{pid}-* file holding data",
        )
        # the listing never shows the half-written file
        listed = requests.get(files, params={"format": "json"}, auth=AUTH).json()
        assert [r["Name"] for r in listed["ResultSet"]["Result"]] == ["done.txt"]

        os.kill(pid, signal.SIGKILL)
        _kill(processes[0])
        leftover = _leftovers(tmp_path, pid)
        assert leftover, "kill -9 should leave the temporary file behind"
        # an old-style name (no pid) nobody has touched for a long time goes too
        legacy = leftover[0].with_name(".upload-abcd1234")
        legacy.write_bytes(b"partial")
        old = time.time() - 2 * 3600
        os.utime(legacy, (old, old))
    finally:
        release.set()
        sender.join(timeout=30)
    assert not sender.is_alive()
    assert outcome and not isinstance(outcome[0], int), outcome

    _, url2 = _start(tmp_path, processes)
    assert requests.get(f"{url2}/data/JSESSION", auth=AUTH).status_code == 200
    assert _leftovers(tmp_path) == []
    files2 = f"{url2}/data/projects/LEFT/resources/R/files"
    listed = requests.get(files2, params={"format": "json"}, auth=AUTH).json()
    assert [r["Name"] for r in listed["ResultSet"]["Result"]] == ["done.txt"]
    assert requests.get(f"{files2}/done.txt", auth=AUTH).content == b"complete"


def _dead_pid() -> int:
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    done.wait(timeout=30)
    return done.pid


def test_startup_keeps_what_a_live_process_or_the_archive_owns(tmp_path: Path) -> None:
    dead = _dead_pid()
    with LocalXNAT(data_dir=tmp_path) as server:
        assert requests.put(f"{server.url}/data/projects/KEEP", auth=AUTH).status_code in (
            200,
            201,
        )
        files = f"{server.url}/data/projects/KEEP/resources/R/files"
        # a real file that merely looks temporary
        named = f".upload-{dead}-mine"
        assert requests.put(f"{files}/{named}", data=b"kept", auth=AUTH).status_code == 200
    [folder] = [p.parent for p in tmp_path.rglob(named)]
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        old = time.time() - 2 * 3600
        plant = {
            folder / f".upload-{dead}-abc": False,
            tmp_path / f".extract-{dead}-abc": False,
            folder / f".upload-{live.pid}-abc": True,
            folder / f".upload-{os.getpid()}-old": False,  # same pid, earlier process
            folder / ".upload-young123": True,
            folder / ".upload-0123456789ab-0": False,
        }
        for path in plant:
            path.write_bytes(b"partial")
        for path in (folder / ".upload-0123456789ab-0", folder / f".upload-{os.getpid()}-old"):
            os.utime(path, (old, old))
        with LocalXNAT(data_dir=tmp_path) as server:
            got = requests.get(
                f"{server.url}/data/projects/KEEP/resources/R/files/{named}", auth=AUTH
            )
            assert got.content == b"kept"
        assert {p.name: p.exists() for p in plant} == {p.name: keep for p, keep in plant.items()}
        assert (folder / named).read_bytes() == b"kept"
    finally:
        live.kill()
        live.wait(timeout=30)
