"""The ``xnat-sdk`` command: ``serve`` (local XNAT server) and ``generate`` (site models)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from xnat_sdk_codegen.options import add_arguments

from xnat_sdk.testing._server.options import add_serve_arguments

Handler = Callable[[argparse.Namespace], int]


def _generate(args: argparse.Namespace) -> int:
    from xnat_sdk_codegen.cli import run_args  # the codegen extra (xsdata, ruff)

    return run_args(args)


def _serve(args: argparse.Namespace) -> int:
    from xnat_sdk.testing.cli import serve

    return serve(args)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``xnat-sdk`` command."""
    parser = argparse.ArgumentParser(prog="xnat-sdk", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="generate typed models from a site's XSD schemas")
    add_arguments(gen)
    gen.set_defaults(handler=_generate)

    serve = sub.add_parser("serve", help="run the local XNAT server")
    add_serve_arguments(serve)
    serve.set_defaults(handler=_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``xnat-sdk`` console script."""
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
