"""``login``, ``logout`` and ``whoami``."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

import click

from xnat_sdk.cli._app import Runtime, command, pass_runtime, root

if TYPE_CHECKING:
    from xnat_sdk.session import XNATSession

__all__: list[str] = []


def _netrc_path(runtime: Runtime) -> str:
    from xnat_sdk.auth import netrc_path

    return str(netrc_path(runtime.netrc))


def _server(runtime: Runtime) -> str:
    from xnat_sdk.auth import server_from_env
    from xnat_sdk.errors import XNATValueError

    server = runtime.server or server_from_env()
    if not server:
        raise XNATValueError("no server: give --server URL or set XNAT_HOST")
    # shown in the output: without the user info of a https://user:password@host URL
    parts = urlsplit(server)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


@command(root, "login")
@pass_runtime
def login(runtime: Runtime) -> None:
    """Log in and store an alias token (never the password) in your netrc.

    The token (alias and secret, valid as login and password) goes to the netrc file
    (--netrc, $NETRC or ~/.netrc; created with mode 0600) as the entry of the server's
    host[:port], replacing (and invalidating) the token of an earlier login; later commands
    log in with it. `xnat-sdk logout` invalidates it.
    """
    from pathlib import Path

    from xnat_sdk.cli._netrc import machine_of, read_entry, write_entry

    server = _server(runtime)
    path = Path(_netrc_path(runtime))
    machine = machine_of(server)
    earlier = read_entry(path, machine)
    session = runtime.connect()
    try:
        user = session.logged_in_user
        token = session.services.issue_token()
        try:
            write_entry(path, machine, token.alias, token.secret)
        except BaseException:  # a token nobody keeps must not stay valid for days
            with contextlib.suppress(Exception):
                session.services.invalidate_token(token)
            raise
        replaced = _forget(session, earlier, token.alias)
    finally:
        session.disconnect()
    runtime.output.record(
        {
            "server": server,
            "user": user,
            "alias": token.alias,
            "netrc": str(path),
            "replaced": replaced,
        }
    )


def _forget(session: XNATSession, earlier: tuple[str, str] | None, current: str) -> str | None:
    """Invalidate the token an earlier login stored (best effort: it may have expired);
    its alias, or None when there was none."""
    from xnat_sdk.auth import is_alias_token
    from xnat_sdk.errors import XNATError
    from xnat_sdk.services import TokenResult

    if earlier is None or not is_alias_token(earlier[0]) or earlier[0] == current:
        return None
    with contextlib.suppress(XNATError):
        session.services.invalidate_token(TokenResult(*earlier))
    return earlier[0]


@command(root, "logout")
@pass_runtime
def logout(runtime: Runtime) -> None:
    """Invalidate the alias token of `xnat-sdk login` and remove its netrc entry.

    An entry that is not a token (a password you wrote yourself) is removed only; a token
    that no longer logs in (expired) is removed with `invalidated: false`.
    """
    from pathlib import Path

    from xnat_sdk.auth import is_alias_token
    from xnat_sdk.cli._netrc import machine_of, read_entry, remove_entry
    from xnat_sdk.errors import XNATAuthError
    from xnat_sdk.services import TokenResult

    server = _server(runtime)
    path = Path(_netrc_path(runtime))
    machine = machine_of(server)
    found = read_entry(path, machine)
    if found is None:
        raise click.ClickException(f"no netrc entry for {machine} in {path}: not logged in")
    alias, secret = found
    invalidated = False
    if is_alias_token(alias):
        runtime.user, runtime.password = alias, secret
        try:
            session = runtime.connect()
        except XNATAuthError:  # expired or invalidated already: nothing left to invalidate
            runtime.output.message(f"the token {alias} no longer logs in (expired?)")
        else:
            try:
                session.services.invalidate_token(TokenResult(alias, secret))
                invalidated = True
            finally:
                session.disconnect()
    else:
        runtime.output.message(f"the netrc entry of {machine} is not a token: removed only")
    remove_entry(path, machine)
    runtime.output.record(
        {"server": server, "alias": alias, "invalidated": invalidated, "netrc": str(path)}
    )


@command(root, "whoami")
@pass_runtime
def whoami(runtime: Runtime) -> None:
    """Print who the server says you are. Anonymous (no credentials found), the server's
    guest: whether it lets the guest read anything is said too (XNAT's ``requireLogin``:
    one request to the projects listing, refused with 401 when it is on)."""
    session = runtime.session()
    user = session.logged_in_user
    record: dict[str, object] = {
        "user": user,
        "server": session.server,
        "credentials": session.credentials_source,
    }
    if session.credentials_source == "anonymous":
        open_to_guest = _guest_may_read(session)
        record["anonymous_access"] = open_to_guest
        if not open_to_guest:
            runtime.output.message(
                "xnat-sdk: this server refuses anonymous requests (it requires a login): "
                "give --user (or $XNAT_USER), a netrc entry, or run `xnat-sdk login`"
            )
    if runtime.output.format == "table":
        click.echo(user)
        return
    runtime.output.record(record)


def _guest_may_read(session: XNATSession) -> bool:
    from xnat_sdk.errors import XNATAuthError

    try:
        session.get("/data/projects", format="json")
    except XNATAuthError:
        return False
    return True
