"""The generator's command-line options, in one place: ``python -m codegen`` and
``xnat-sdk generate`` both add them with :func:`add_arguments` (this module imports nothing
heavy, so the ``xnat-sdk`` command can build its parser cheaply)."""

from __future__ import annotations

import argparse

__all__ = ["CORE_PACKAGE", "add_arguments"]

CORE_PACKAGE = "xnat_sdk.models"
"""The package that holds the core models."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the generator's options to ``parser``."""
    parser.add_argument(
        "--schemas", default=None, help="folder holding the .xsd files (or give --server)"
    )
    parser.add_argument(
        "--server",
        default=None,
        metavar="URL",
        help="read the site schemas from this XNAT (/xapi/schemas), check its core schemas "
        "against the pin and generate the site types only",
    )
    parser.add_argument("--user", default=None, help="login for --server (else netrc/env)")
    parser.add_argument(
        "--password", default=None, help="password for --server (prompted when only --user)"
    )
    parser.add_argument(
        "--netrc",
        default=None,
        metavar="FILE",
        help="netrc file for --server's credentials (default $NETRC or ~/.netrc)",
    )
    parser.add_argument(
        "--insecure",
        action="store_true",
        help="do not check --server's TLS certificate (as the other commands' --insecure)",
    )
    parser.add_argument("--out", required=True, help="package folder to write")
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 and name the files that differ from a fresh generation",
    )
    parser.add_argument(
        "--core-schemas",
        default=None,
        help="folder with the pinned core schemas (xnat/xnat.xsd, xdat/xdat.xsd); "
        "default: the ones built into this installation, else the checkout's schemas/ folder",
    )
    parser.add_argument(
        "--core-package",
        default=CORE_PACKAGE,
        help=f"package that holds the core models (default {CORE_PACKAGE})",
    )
