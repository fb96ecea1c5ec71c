"""Writing the netrc entry of ``xnat-sdk login`` (one line per machine, file mode 0600).

The entry is ``machine HOST[:PORT] login ALIAS password SECRET`` on one line. Other entries,
comments and blank lines are kept as they are; an entry of the same machine spread over
several lines is not rewritten (the login stops and names it) so that nothing is lost.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from xnat_sdk.errors import XNATValueError

__all__ = ["machine_of", "read_entry", "remove_entry", "write_entry"]


def machine_of(server: str) -> str:
    """The netrc machine name of a server URL (``host`` or ``host:port``)."""
    from urllib.parse import urlsplit

    netloc = urlsplit(server).netloc
    return netloc.rsplit("@", 1)[-1]


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text().splitlines()
    except FileNotFoundError:
        return []


def _entry_line(line: str, machine: str) -> bool:
    words = line.split()
    return len(words) >= 2 and words[0] == "machine" and words[1] == machine


def _check_one_line(line: str, machine: str, path: Path) -> None:
    words = line.split()
    if "login" not in words[2:] or "password" not in words[2:]:
        raise XNATValueError(
            f"{path}: the entry of {machine} spans several lines; remove it by hand first"
        )


def read_entry(path: Path, machine: str) -> tuple[str, str] | None:
    """The (login, password) of ``machine``'s one-line entry, None without one."""
    for line in _lines(path):
        if _entry_line(line, machine):
            _check_one_line(line, machine, path)
            words = line.split()
            pairs = dict(zip(words[2::2], words[3::2], strict=False))
            return pairs.get("login", ""), pairs.get("password", "")
    return None


def _write(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=".netrc-", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write("".join(line + "\n" for line in lines))
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def write_entry(path: Path, machine: str, login: str, password: str) -> None:
    """Set ``machine``'s entry (replacing a one-line entry of it), file mode 0600."""
    lines = _lines(path)
    for line in lines:
        if _entry_line(line, machine):
            _check_one_line(line, machine, path)
    kept = [line for line in lines if not _entry_line(line, machine)]
    _write(path, [*kept, f"machine {machine} login {login} password {password}"])


def remove_entry(path: Path, machine: str) -> bool:
    """Remove ``machine``'s entry; False when there was none."""
    lines = _lines(path)
    kept = [line for line in lines if not _entry_line(line, machine)]
    if len(kept) == len(lines):
        return False
    _write(path, kept)
    return True
