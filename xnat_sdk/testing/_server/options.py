"""The options of ``xnat-sdk serve`` (a leaf module: building the parser imports no server)."""

from __future__ import annotations

import argparse

__all__ = ["add_serve_arguments"]


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``xnat-sdk serve`` to ``parser`` (read by
    :func:`xnat_sdk.testing._server.cli.serve`)."""
    parser.add_argument(
        "--data-dir",
        default=None,
        help="folder for the database and files, kept between runs (default: a temporary "
        "folder removed at the end)",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    parser.add_argument(
        "--port", type=_port, default=8080, help="TCP port, 0-65535 (0: a free one; default 8080)"
    )
    parser.add_argument(
        "--schemas",
        default=None,
        metavar="DIR",
        help="folder of site schemas (.xsd) to load: their types can be created, listed, read "
        "and searched, and /xapi/schemas serves them next to the core ones",
    )
    parser.add_argument(
        "--user", default="admin", help="a site admin made at start when missing (default admin)"
    )
    parser.add_argument("--password", default="admin", help="that admin's password (default admin)")
    parser.add_argument(
        "--site-id",
        default=None,
        help="XNAT's site ID (siteId preference; accession IDs are {site ID}_S00001 ...); "
        "default: the one stored in --data-dir, else XNAT",
    )
    parser.add_argument(
        "--no-require-login",
        dest="require_login",
        action="store_false",
        default=None,
        help="let anonymous requests in as the guest user (XNAT's requireLogin off; on by "
        "default, as on a fresh XNAT: anonymous requests get 401 but on XNAT's open URLs)",
    )
    parser.add_argument(
        "--restrict-user-list",
        action="store_true",
        help="let only site admins list the site's users (XNAT's restrictUserListAccessToAdmins; "
        "off by default, as in XNAT)",
    )
    parser.add_argument(
        "--session-timeout",
        type=_seconds,
        default=900.0,
        metavar="SECONDS",
        help="how long a server session lives without a request (XNAT's sessionTimeout; "
        "default 900, 15 minutes, as in XNAT)",
    )
    parser.add_argument(
        "--keepalive-timeout",
        type=_seconds,
        default=20.0,
        metavar="SECONDS",
        help="how long an idle client connection stays open (Tomcat's keepAliveTimeout; "
        "default 20, as on XNAT's connector)",
    )


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port 0-65535 (0: a free one), got {text}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds > 0, got {text!r}")
    return value
