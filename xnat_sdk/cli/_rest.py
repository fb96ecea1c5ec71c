"""``rest get|head|put|post|delete PATH``: raw REST calls on the session."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from xnat_sdk._urls import redact_headers
from xnat_sdk.cli._app import Runtime, command, pass_runtime, root

__all__: list[str] = []

REST_HELP = """Send one {verb} request to PATH (e.g. /data/projects) and print the answer's
body to standard output ({what}). The request must succeed (2xx): an error status exits 1
with the server's message.

\b
--query k=v adds query parameters (repeatable){data}.
"""

_DATA_HELP = """; --data FILE sends a file as the body
('-' reads standard input)"""


def _query(values: tuple[str, ...]) -> dict[str, str]:
    query: dict[str, str] = {}
    for value in values:
        key, sep, item = value.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{value!r} is not k=v", param_hint="--query")
        query[key] = item
    return query


@root.group("rest")
def rest() -> None:
    """Raw REST calls: get, head, put, post, delete."""


def _verb(name: str, what: str, data: bool) -> None:
    @click.argument("path")
    @click.option("--query", "queries", multiple=True, metavar="K=V", help="query parameter")
    @pass_runtime
    def run(runtime: Runtime, /, path: str, queries: tuple[str, ...], **kw: Any) -> None:
        query = _query(queries)
        extra: dict[str, Any] = {"query": query, "accepted_status": tuple(range(200, 300))}
        source = kw.get("data")
        if source is not None:
            extra["data"] = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
        response = getattr(runtime.session(), name)(path, **extra)
        if name == "head":  # cookie values (the session id) hidden: output gets shared
            headers = redact_headers(response.headers)
            runtime.output.record({"status": response.status_code, **headers})
            return
        sys.stdout.buffer.write(response.content)
        sys.stdout.buffer.flush()

    if data:
        run = click.option(
            "--data",
            metavar="FILE",
            type=click.Path(exists=True, dir_okay=False, allow_dash=True),
            help="file to send as the body ('-': standard input)",
        )(run)
    text = REST_HELP.format(verb=name.upper(), what=what, data=_DATA_HELP if data else "")
    command(rest, name, help=text)(run)


for _name, _what, _data in (
    ("get", "bytes as sent; JSON for listings", False),
    ("head", "the status and headers, as a record", False),
    ("put", "often empty", True),
    ("post", "often a URI", True),
    ("delete", "often empty", False),
):
    _verb(_name, _what, _data)
