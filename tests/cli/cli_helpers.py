"""Helpers of the command-line tests (a module of its own name: other test folders have a
``conftest`` too): :class:`Cli` runs ``xnat-sdk`` as a subprocess."""

from __future__ import annotations

import csv
import io
import json
import os
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xnat_sdk.testing.local import LocalXNAT

FILES = {"a/1.dcm": b"first file" * 100, "a/2.dcm": b"second" * 50}
"""The files of resource DICOM of scan 1 of E1 (and scan 1 of E2)."""


@dataclass
class Cli:
    """Runs ``python -m xnat_sdk.cli`` against ``server`` (admin/admin from the
    environment unless ``env`` says otherwise)."""

    server: LocalXNAT
    home: Path
    env: dict[str, str] = field(default_factory=dict)

    def base_env(self, login: bool = True) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("XNAT", "NETRC")) and k not in ("HOME", "COLUMNS")
        }
        env.update(HOME=str(self.home), XNAT_HOST=self.server.url)
        if login:
            env.update(XNAT_USER="admin", XNAT_PASS="admin")
        return env

    def run(
        self, *args: str, login: bool = True, input: bytes | None = None
    ) -> subprocess.CompletedProcess[str]:
        env = {**self.base_env(login), **self.env}
        return subprocess.run(
            [sys.executable, "-m", "xnat_sdk.cli", *args],
            env=env,
            stdin=subprocess.DEVNULL if input is None else None,
            input=input.decode() if input is not None else None,
            capture_output=True,
            text=True,
            # no controlling terminal, as in CI: a password prompt can never wait on the
            # developer's terminal (the SDK asks on /dev/tty, not on standard input)
            start_new_session=True,
            timeout=60,
        )

    def json(self, *args: str, login: bool = True) -> Any:
        done = self.run("--format", "json", *args, login=login)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def csv(self, *args: str) -> list[dict[str, str]]:
        done = self.run("--format", "csv", *args)
        assert done.returncode == 0, done.stderr
        return list(csv.DictReader(io.StringIO(done.stdout)))


def own_address() -> str | None:
    """An IPv4 address of this machine that is not a loopback one, or None (a UDP socket's
    connect picks the route's source address and sends nothing)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 9))
            address = str(probe.getsockname()[0])
        except OSError:
            return None
    return None if address.startswith(("127.", "0.")) else address


def this_machine_only(app: Any, address: str) -> Any:
    """``app`` answering only connections from this machine (their source address is the
    one it listens on): the network that can reach the address gets 403."""

    def guarded(environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("REMOTE_ADDR") != address:
            start_response("403 Forbidden", [("Content-Length", "0")])
            return [b""]
        return app(environ, start_response)

    return guarded


def one_line_error(done: subprocess.CompletedProcess[str], code: int = 1) -> str:
    """The error line of a failed run (checks: exit status, one line, no traceback)."""
    assert done.returncode == code, (done.returncode, done.stdout, done.stderr)
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    return lines[0]


@dataclass
class Seeded:
    project: str
    sessions: dict[str, str]
    """label -> accession ID"""
