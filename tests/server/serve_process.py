"""``xnat-sdk serve`` as a child process for the tests that need a real one (kill -9, CLI
flags): started on 127.0.0.1 on a free port, its URL read from the line it prints."""

from __future__ import annotations

import selectors
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

MAIN = "import sys; from xnat_sdk.cli import main; sys.exit(main())"
"""``python -c`` code running the ``xnat-sdk`` command."""


def start_serve(
    data_dir: Path, argv: Sequence[str] = (MAIN, "serve")
) -> tuple[subprocess.Popen[str], str]:
    """Run ``python -c *argv`` (a ``serve`` command line) on ``data_dir``: the process and
    its URL. A server that prints no URL within 30 s is stopped and fails the test."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            *argv,
            "--data-dir",
            str(data_dir),
            "--host",
            "127.0.0.1",
            "--port",
            "0",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            assert sel.select(timeout=30), "the server printed no URL within 30 s"
        line = proc.stdout.readline()
        assert "http://127.0.0.1:" in line, line
    except BaseException:
        stop(proc, kill=True)
        raise
    return proc, line.split()[4]


def stop(proc: subprocess.Popen[str], *, kill: bool = False) -> None:
    """End the server (SIGTERM, or SIGKILL with ``kill``) and reap it: a zombie would
    still count as a live pid."""
    if proc.poll() is None:
        if kill:
            proc.kill()
        else:
            proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    proc.wait(timeout=30)
    if proc.stdout is not None:
        proc.stdout.close()
