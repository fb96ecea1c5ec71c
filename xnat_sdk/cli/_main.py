"""``main()``: run the command, turn failures into one line on standard error and an exit
status (1 for a failure, 2 for a wrong command line, 130 for Ctrl-C)."""

from __future__ import annotations

import traceback

import click

from xnat_sdk.cli import _auth, _browse, _prearchive, _rest, _search, _tools, _transfer
from xnat_sdk.cli._app import Runtime, root

__all__ = ["main"]

_MODULES = (_auth, _browse, _prearchive, _rest, _search, _tools, _transfer)  # they add commands


def _one_line(exc: BaseException | str) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def main(argv: list[str] | None = None) -> int:
    """Run ``xnat-sdk`` with ``argv`` (default: the process's arguments); the exit status."""
    runtime = Runtime()
    try:
        result = root.main(args=argv, prog_name="xnat-sdk", standalone_mode=False, obj=runtime)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.UsageError as exc:  # a wrong command line: exit status 2
        exc.show()
        return exc.exit_code
    except click.ClickException as exc:  # the commands' own failures: 1
        click.echo(f"xnat-sdk: error: {_one_line(exc.format_message())}", err=True)
        return exc.exit_code
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("xnat-sdk: interrupted", err=True)
        return 130
    except Exception as exc:
        if runtime.verbose:
            traceback.print_exc()
        from xnat_sdk.errors import XNATError

        what = "" if isinstance(exc, (XNATError, OSError)) else f"{type(exc).__name__}: "
        click.echo(f"xnat-sdk: error: {what}{_one_line(exc)}", err=True)
        return 1
    return result if isinstance(result, int) else 0
