"""``xnat-sdk generate`` and ``xnat-sdk serve``: their options are defined once, with
argparse, beside the generator and the server; these commands hand their arguments to a
parser built from those definitions (so ``--help`` lists the real options)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

import click

from xnat_sdk.cli._app import root

__all__ = ["generate_parser", "serve_parser"]

_PASS_THROUGH = {
    "ignore_unknown_options": True,
    "allow_extra_args": True,
    "help_option_names": [],
}


def generate_parser() -> argparse.ArgumentParser:
    """The parser of ``xnat-sdk generate`` (the generator's own options)."""
    from xnat_sdk_codegen.options import add_arguments

    parser = argparse.ArgumentParser(
        prog="xnat-sdk generate", description="Generate typed models from a site's XSD schemas."
    )
    add_arguments(parser)
    return parser


def serve_parser() -> argparse.ArgumentParser:
    """The parser of ``xnat-sdk serve`` (the local server's options)."""
    from xnat_sdk.testing._server.options import add_serve_arguments

    parser = argparse.ArgumentParser(
        prog="xnat-sdk serve", description="Run the local XNAT server until Ctrl-C."
    )
    add_serve_arguments(parser)
    return parser


def _run(make: Callable[[], argparse.ArgumentParser], handler: str, args: tuple[str, ...]) -> int:
    parsed = make().parse_args(list(args))
    if handler == "generate":
        from xnat_sdk_codegen.cli import run_args  # the codegen extra (xsdata, ruff)

        return run_args(parsed)
    from xnat_sdk.testing._server.cli import serve

    return serve(parsed)


@root.command(
    "generate",
    context_settings=_PASS_THROUGH,
    add_help_option=False,
    help="Generate typed models from a site's XSD schemas (see `xnat-sdk generate --help`).",
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def generate(args: tuple[str, ...]) -> int:
    """``xnat-sdk generate ...``."""
    return _run(generate_parser, "generate", args)


@root.command(
    "serve",
    context_settings=_PASS_THROUGH,
    add_help_option=False,
    help="Run the local XNAT server (see `xnat-sdk serve --help`).",
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def serve(args: tuple[str, ...]) -> int:
    """``xnat-sdk serve ...``."""
    return _run(serve_parser, "serve", args)
