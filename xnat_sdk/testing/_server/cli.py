"""``xnat-sdk serve``: run the local XNAT server in the foreground until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from xnat_sdk.errors import XNATValueError
from xnat_sdk.testing.local import DEFAULT_USERS, LocalXNAT

__all__ = ["serve"]


def serve(args: argparse.Namespace) -> int:
    """Start the server described by ``args`` (data_dir, host, port, user, password,
    site_id, require_login, restrict_user_list, schemas: a folder of site schemas).

    ``site_id`` (``--site-id``) sets XNAT's ``siteId`` preference, the prefix of accession
    IDs (``{siteId}_S00001``); without it the data folder's stored one (else ``XNAT``) stays.
    ``require_login`` (``--no-require-login`` makes it ``False``) is XNAT's ``requireLogin``.

    ``restrict_user_list`` (``--restrict-user-list``) switches on XNAT's
    ``restrictUserListAccessToAdmins``: only site admins may then list the site's users
    (``/data/users`` and the ``/xapi/users`` listings answer others 403). Off by default, as
    in XNAT, where every logged-in user may.
    """
    users = list(DEFAULT_USERS)
    login = getattr(args, "user", None) or "admin"
    password = getattr(args, "password", None) or "admin"
    users = [u for u in users if u[0] != login] + [(login, password, True)]
    try:
        server = _server(args, users)
    except (FileNotFoundError, XNATValueError) as exc:
        print(f"xnat-sdk serve: {exc}", file=sys.stderr)
        return 1
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    try:
        url = server.start()
    except OSError as exc:  # the data folder (a file named), else the address
        where = (
            f"cannot use the data folder {server.data_dir}"
            if exc.filename is not None
            else f"cannot listen on {args.host}:{args.port}"
        )
        reason = getattr(exc.__cause__, "strerror", None) or exc.strerror or exc
        print(f"xnat-sdk serve: {where}: {reason}", file=sys.stderr)
        return 1
    previous = signal.signal(signal.SIGTERM, _on_signal)
    restricted = "; user list restricted to admins" if server.restrict_user_list else ""
    site = server.app.state.config.site_id
    print(
        f"Local XNAT serving at {url} (user {login}, site {site}); data in {server.data_dir}"
        f"{restricted}",
        flush=True,
    )
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.stop()
    print("Local XNAT stopped.", flush=True)
    return 0


def _server(args: argparse.Namespace, users: list[tuple[str, str, bool]]) -> LocalXNAT:
    """The server ``args`` describe (a missing ``--schemas`` folder: FileNotFoundError)."""
    return LocalXNAT(
        data_dir=getattr(args, "data_dir", None),
        host=getattr(args, "host", "127.0.0.1"),
        port=int(getattr(args, "port", 8080)),
        users=users,
        site_id=getattr(args, "site_id", None),
        require_login=getattr(args, "require_login", None),
        restrict_user_list=bool(getattr(args, "restrict_user_list", False)),
        schemas=getattr(args, "schemas", None),
        session_timeout=float(getattr(args, "session_timeout", 900.0)),
        keepalive_timeout=float(getattr(args, "keepalive_timeout", 20.0)),
    )
