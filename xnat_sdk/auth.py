"""Where credentials come from: arguments, environment variables, netrc, a prompt.

The order follows xnatpy: explicit arguments, then the ``XNATPY_*``/``XNAT_*`` environment
variables, then a netrc entry for the server (``netrc_file``, else ``$NETRC``, else
``~/.netrc``), then a password prompt when only a user name is known, else anonymous access.
An alias token (``alias``/``secret`` from ``/data/services/tokens/issue``) works as a user name
and password.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from xnat_sdk.errors import XNATNoPasswordError, XNATValueError

__all__ = ["Credentials", "is_alias_token", "netrc_credentials", "resolve_credentials"]

_TOKEN = r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"


class Credentials:
    """A resolved login: ``user`` (``None`` for anonymous), its password and their ``source``.

    The password is not an attribute: :meth:`reveal_password` gives it, so that neither a
    ``repr``, nor a debugger's or a traceback's view of local variables, shows it.
    """

    __slots__ = ("_password", "source", "user")

    def __init__(self, user: str | None, password: str | None, source: str) -> None:
        self.user = user
        self.source = source
        self._password = _hidden(password)

    def reveal_password(self) -> str | None:
        """The password (``None`` when there is none)."""
        return self._password()

    @property
    def anonymous(self) -> bool:
        """True when no user name is known (guest access)."""
        return self.user is None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Credentials):
            return NotImplemented
        return (self.user, self.source, self.reveal_password()) == (
            other.user,
            other.source,
            other.reveal_password(),
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Credentials(user={self.user!r}, password=<redacted>, source={self.source!r})"


def _hidden(value: str | None) -> Callable[[], str | None]:
    """A function returning ``value`` (kept in a closure, out of sight of ``vars()``)."""
    return lambda: value


def is_alias_token(user: str) -> bool:
    """True when ``user`` looks like an XNAT alias token (a UUID)."""
    return re.fullmatch(_TOKEN, user) is not None


def _env(*names: str) -> str | None:
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None


def server_from_env() -> str | None:
    """The server URL from ``XNATPY_HOST`` or ``XNAT_HOST``."""
    return _env("XNATPY_HOST", "XNAT_HOST")


def netrc_path(netrc_file: str | os.PathLike[str] | None = None) -> Path:
    """The netrc file to read: the argument, else ``$NETRC``, else ``~/.netrc``."""
    if netrc_file is not None:
        return Path(netrc_file)
    env = os.environ.get("NETRC")
    if env:
        return Path(env)
    return Path.home() / ("_netrc" if os.name == "nt" else ".netrc")


def netrc_credentials(
    server: str, netrc_file: str | os.PathLike[str] | None = None
) -> tuple[str, str] | None:
    """The (login, password) netrc holds for ``server``: its ``host:port`` entry, else ``host``.

    A missing file gives ``None``; a malformed one raises :class:`XNATValueError`.
    """
    path = netrc_path(netrc_file)
    if not path.is_file():
        return None
    import netrc  # only when a netrc file is there to read (cold start)

    try:
        entries = netrc.netrc(str(path))
    except netrc.NetrcParseError as exc:
        raise XNATValueError(f"cannot parse netrc file {path}: {exc}") from exc
    parts = urlsplit(server)
    candidates = [parts.netloc]
    if parts.hostname and parts.hostname != parts.netloc:
        candidates.append(parts.hostname)
    # the machine entries first: authenticators() would answer a missing host:port with the
    # 'default' entry before the host's own entry is tried
    found = next((entries.hosts[m] for m in candidates if m in entries.hosts), None)
    if found is None:
        found = entries.authenticators(candidates[0]) if candidates[0] else None
    if found is not None:
        login, _account, password = found
        if login:
            return login, password or ""
    return None


def _prompt(user: str, server: str) -> str:
    """The password, asked for on the terminal (``/dev/tty``, also when standard input is a
    pipe). Without a terminal ``getpass`` would read it from standard input, the program's
    data, with a warning: that is refused instead."""
    import getpass  # only to prompt (cold start)
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", getpass.GetPassWarning)
            return getpass.getpass(f"Password for user '{user}' at {server}: ")
    except (EOFError, OSError, getpass.GetPassWarning) as exc:
        raise XNATNoPasswordError(user, server) from exc


def resolve_credentials(
    server: str,
    user: str | None,
    password: str | None,
    netrc_file: str | os.PathLike[str] | None = None,
) -> Credentials:
    """Work out who logs in, following the documented order (may prompt for a password)."""
    user_source = "argument"
    password_source = "argument"
    if not user:
        user = _env("XNATPY_USER", "XNAT_USER")
        user_source = "environment"
    if not password:
        password = _env("XNATPY_PASS", "XNAT_PASS")
        password_source = "environment"
    if password is None:
        found = netrc_credentials(server, netrc_file)
        if found is not None and (user is None or found[0] == user):
            return Credentials(found[0], found[1], "netrc")
    if user is None:
        return Credentials(None, None, "anonymous")
    if password is None:
        password = _prompt(user, server)
        password_source = "prompt"
    source = user_source if user_source == password_source else f"{user_source}+{password_source}"
    return Credentials(user, password, source)
