"""The ``xnat-sdk`` root command: global options, the lazily opened session, errors.

Global options go before the command (``xnat-sdk -s URL -u me --format json ls P``) and
are accepted after it as well (``xnat-sdk ls P --format json``), except by ``generate`` and
``serve``, which take their own options.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import click

from xnat_sdk import __version__
from xnat_sdk.cli._output import FORMATS, Output

if TYPE_CHECKING:
    from xnat_sdk.session import XNATSession

__all__ = [
    "OVERWRITE_HELP",
    "Runtime",
    "command",
    "global_options",
    "pass_runtime",
    "root",
    "session_exists_in_words",
]

OVERWRITE_HELP = (
    "a session of that label already in the archive: none (the default) refuses it, append "
    "adds to it, delete replaces it"
)
"""``--overwrite`` of ``import`` and ``prearchive archive``."""


@contextlib.contextmanager
def session_exists_in_words(imported_to: str | None = None) -> Iterator[None]:
    """A 409 of ``import`` or ``prearchive archive`` (the label is in use) with the
    command's option as remedy (XNAT says "retry with overwrite enabled"). An import's
    (``imported_to``: its project) upload waits in the prearchive: the remedy archives it
    from there, as importing again would leave that copy behind."""
    from xnat_sdk.errors import XNATConflictError

    try:
        yield
    except XNATConflictError as exc:
        shown = str(exc).removesuffix(f" ({exc.hint})") if exc.hint else str(exc)
        if imported_to is None:
            remedy = "give --overwrite append to add to that session, or --overwrite delete "
            remedy += "to replace it"
        else:
            remedy = (
                f"XNAT keeps the upload in project {imported_to}'s prearchive with status "
                f"CONFLICT: see `xnat-sdk prearchive ls --project {imported_to}`, then "
                "`xnat-sdk prearchive archive ADDRESS --overwrite append` (or delete) or "
                "`xnat-sdk prearchive delete ADDRESS`; importing again leaves that copy there"
            )
        raise click.ClickException(f"{shown} ({remedy})") from exc


F = TypeVar("F", bound=Callable[..., Any])

ROOT_HELP = """Browse, download, upload, import and search an XNAT server from the shell.

The server is --server or $XNAT_HOST; the login --user/--password, else $XNAT_USER and
$XNAT_PASS, else the server's netrc entry (see `xnat-sdk login`), else a password prompt
on a terminal, else guest access.

Output: a table on a terminal, JSON otherwise (--format table|json|csv). JSON is a list
of objects whose keys are the table's columns (an object for single results); CSV has a
header line. Errors: one line on standard error and exit status 1 (2 for a wrong command
line, 130 for Ctrl-C); --verbose adds the request log (secrets hidden) and tracebacks.

\b
Shell completion (bash; zsh_source and fish_source alike):
  eval "$(_XNAT_SDK_COMPLETE=bash_source xnat-sdk)"
"""


@dataclass
class Runtime:
    """What the global options chose, and the session opened from them on first use."""

    server: str | None = None
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    netrc: str | None = None
    insecure: bool = False
    format: str | None = None
    quiet: bool = False
    verbose: bool = False
    _session: XNATSession | None = field(default=None, repr=False)

    @property
    def output(self) -> Output:
        """The printer for the chosen format."""
        return Output(self.format, self.quiet)

    def connect(self, **extra: Any) -> XNATSession:
        """A new session from the options (``extra`` goes to :func:`xnat_sdk.connect`)."""
        import xnat_sdk

        if self.insecure:  # one line of our own instead of the SDK's warning
            import warnings

            warnings.simplefilter("ignore", xnat_sdk.XNATInsecureWarning)
            self.output.message("xnat-sdk: warning: --insecure: TLS certificates are not checked")
        try:
            with _plain_http_noted(self.output):
                return xnat_sdk.connect(
                    self.server,
                    user=self.user,
                    password=self.password,
                    verify=not self.insecure,
                    netrc_file=self.netrc,
                    loglevel=logging.DEBUG if self.verbose else None,
                    **extra,
                )
        except xnat_sdk.XNATNoPasswordError as exc:  # the remedy in the command's words
            raise click.ClickException(
                f"no password for user {exc.user!r}: give --password, set XNAT_PASS or add "
                "a netrc entry (`xnat-sdk login`); there is no terminal to ask on"
            ) from exc

    def session(self) -> XNATSession:
        """The session of this command (opened on first use, closed at exit)."""
        if self._session is None:
            self._session = self.connect()
            click.get_current_context().call_on_close(self.close)
        return self._session

    def close(self) -> None:
        """Log out of the session, if one was opened."""
        if self._session is not None:
            session, self._session = self._session, None
            session.disconnect()


@contextlib.contextmanager
def _plain_http_noted(output: Output) -> Iterator[None]:
    """The SDK's :class:`~xnat_sdk.errors.XNATPlainHTTPWarning` as one line of the command's
    own (it would name a line of the SDK's source); every other warning as it was."""
    import warnings

    from xnat_sdk.errors import XNATPlainHTTPWarning

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", XNATPlainHTTPWarning)
            yield
    finally:
        for item in caught:
            found = item.message
            if not isinstance(found, XNATPlainHTTPWarning):
                warnings.warn_explicit(found, item.category, item.filename, item.lineno)
                continue
            output.message(
                f"xnat-sdk: warning: {found.sent} is sent over plain http to {found.server}, "
                "which is not this machine: anyone on the network path can read it; use "
                "https:// (--quiet hides this line)"
            )


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream is not None and stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


pass_runtime = click.make_pass_decorator(Runtime, ensure=True)


def _setter(name: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    def store(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        if value is None or value is False:
            return
        runtime = ctx.find_object(Runtime)
        if runtime is None:
            runtime = ctx.ensure_object(Runtime)
        setattr(runtime, name, value)

    return store


def _options() -> list[Callable[[F], F]]:
    def opt(*decls: str, name: str, **kw: Any) -> Callable[[F], F]:
        return click.option(*decls, expose_value=False, callback=_setter(name), **kw)

    return [
        opt("--server", "-s", name="server", metavar="URL", help="XNAT server (or $XNAT_HOST)"),
        opt("--user", "-u", name="user", help="login name or token alias (or $XNAT_USER)"),
        opt("--password", name="password", help="password (or $XNAT_PASS; prompted on a TTY)"),
        opt(
            "--netrc",
            name="netrc",
            metavar="FILE",
            type=click.Path(dir_okay=False),
            help="netrc file for credentials (default $NETRC or ~/.netrc)",
        ),
        opt("--insecure", name="insecure", is_flag=True, help="do not check TLS certificates"),
        opt(
            "--format",
            "-f",
            name="format",
            type=click.Choice(FORMATS),
            help="output format (default: table on a terminal, else json)",
        ),
        opt("--quiet", "-q", name="quiet", is_flag=True, help="no progress bars or messages"),
        opt(
            "--verbose",
            "-v",
            name="verbose",
            is_flag=True,
            help="log requests (secrets hidden) and show tracebacks",
        ),
    ]


def global_options(func: F) -> F:
    """Accept the global options after the command as well."""
    for option in reversed(_options()):
        func = option(func)
    return func


@click.group(
    name="xnat-sdk",
    help=ROOT_HELP,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, "--version", prog_name="xnat-sdk")
@global_options
def root() -> None:
    """The root group (its options are stored on the :class:`Runtime`)."""


def command(group: click.Group, name: str, **kw: Any) -> Callable[[F], F]:
    """A command of ``group`` that also accepts the global options (listed after its own)."""

    def decorate(func: F) -> F:
        created = group.command(name, **kw)(global_options(func))
        shared = {"server", "user", "password", "netrc", "insecure", "format", "quiet", "verbose"}
        ours = [p for p in created.params if p.name not in shared]
        created.params = ours + [p for p in created.params if p.name in shared]
        return func

    return decorate
