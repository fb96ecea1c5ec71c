"""``xnat-sdk generate --server URL``: generate a site's models from the schemas its server
serves.

XNAT lists its schemas at ``GET /xapi/schemas`` (names such as ``xnat`` or
``screening/screeningAssessment``: the classpath files ``schemas/*/*.xsd`` with repeated path
segments removed) and serves each at ``GET /xapi/schemas/{name}`` (``SchemaApi`` in
xnat-web). Every listed schema is downloaded into a folder laid out like XNAT's classpath
(``{folder}/{schema}.xsd``), so that the relative imports between them (``../xnat/xnat.xsd``)
resolve. The core ones are checked against the pin (which differ is reported); the site
ones, all but the core and XNAT's own built-in schemas, are generated, subclassing the core
models. The core the site types are read against is the pinned one built into this
installation (or a checkout's, or ``--core-schemas``); without any, the server's own copies.
"""

from __future__ import annotations

import sys
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .core import CORE_FILES, default_core_schemas, pin_file
from .lenient import SchemaLeniencyWarning
from .pin import Pin, sha256_of

if TYPE_CHECKING:
    from xnat_sdk.session import XNATSession

__all__ = ["BUILTIN_SCHEMAS", "CoreCheck", "Download", "check_core", "download_schemas"]

BUILTIN_SCHEMAS = frozenset(
    {
        "security", "xnat", "assessments", "screening/screeningAssessment", "pipeline/build",
        "pipeline/repository", "pipeline/workflow", "birn/birnprov", "catalog", "project",
        "validation/protocolValidation", "xdat/display", "xdat", "xdat/instance",
        "xdat/PlexiViewer",
    }
)  # fmt: skip
"""The schemas every XNAT serves (its own data model, not a site's; xnatpy's default list,
which matches ``/xapi/schemas`` of a plain XNAT 1.8): not generated as site types."""


def schema_file(name: str) -> str:
    """The classpath file of a schema name: ``xnat`` -> ``xnat/xnat.xsd``,
    ``screening/screeningAssessment`` -> ``screening/screeningAssessment.xsd``."""
    parts = [p for p in name.strip("/").split("/") if p not in ("", ".", "..")]
    if not parts:
        raise ValueError(f"not a schema name: {name!r}")
    if len(parts) == 1:
        parts = [parts[0], parts[0]]
    return "/".join(parts) + ".xsd"


@dataclass
class Download:
    """The schemas of one server, saved under ``root``."""

    root: Path
    """Every schema but the core ones."""
    core_root: Path
    """The server's copies of the core schemas (``xnat/xnat.xsd`` ...)."""
    site: list[Path] = field(default_factory=list)
    builtin: list[str] = field(default_factory=list)
    core: dict[str, Path] = field(default_factory=dict)
    """Pinned core file (``xnat/xnat.xsd``) -> the server's copy."""


@dataclass(frozen=True)
class CoreCheck:
    """How one pinned core schema compares with the server's copy."""

    path: str
    status: str
    """``matches``, ``differs`` or ``missing`` (the server does not serve it)."""
    pinned: str
    served: str | None = None


def download_schemas(session: XNATSession, root: Path, core_root: Path) -> Download:
    """Save every schema ``session``'s server lists into ``root`` (classpath layout; the
    core ones into ``core_root``)."""
    names = session.get_json("/xapi/schemas")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ValueError(f"{session.server}/xapi/schemas did not answer a list of schema names")
    found = Download(root, core_root)
    for name in sorted(set(names)):
        rel = schema_file(name)
        data = session.get(f"/xapi/schemas/{name.strip('/')}").content
        target = (core_root if rel in CORE_FILES else root) / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        if rel in CORE_FILES:
            found.core[rel] = target
        elif name in BUILTIN_SCHEMAS:
            found.builtin.append(name)
        else:
            found.site.append(target)
    return found


def check_core(download: Download, pin: Path | None) -> list[CoreCheck]:
    """Each pinned core file compared (sha256) with the server's copy."""
    if pin is None:
        return []
    pinned = {f.path: f.sha256 for f in Pin.load(pin).files}  # a bad pin: PinError
    checks = []
    for rel, sha in sorted(pinned.items()):
        served = download.core.get(rel)
        if served is None:
            checks.append(CoreCheck(rel, "missing", sha))
            continue
        actual = sha256_of(served.read_bytes())
        checks.append(CoreCheck(rel, "matches" if actual == sha else "differs", sha, actual))
    return checks


def _report(checks: list[CoreCheck], download: Download) -> None:
    words = {"matches": "matches the pin", "differs": "differs from the pin", "missing": ""}
    for c in checks:
        said = words[c.status] or "is not served"
        detail = f" (served sha256 {c.served}, pinned {c.pinned})" if c.status == "differs" else ""
        print(f"codegen: core schema {c.path}: {said}{detail}", file=sys.stderr)
    if download.builtin:
        print(f"codegen: XNAT's built-in schemas, not generated: {', '.join(download.builtin)}",
              file=sys.stderr)  # fmt: skip
    names = ", ".join(p.relative_to(download.root).as_posix() for p in download.site)
    print(f"codegen: site schemas: {names or 'none'}", file=sys.stderr)


def _core_for(download: Download, core_schemas: Path | None, checks: list[CoreCheck]) -> Path:
    core = core_schemas or default_core_schemas()
    if core is not None:
        return core
    if any(c.status != "matches" for c in checks):
        print("codegen: warning: no pinned core schemas in this installation; reading the site "
              "schemas against the server's core copies, which differ from the pin the core "
              "models were generated from", file=sys.stderr)  # fmt: skip
    return download.core_root


def generate_from_server(args: Any, session: XNATSession, command: str) -> int:
    """Download, check and generate (``args`` as :func:`~xnat_sdk_codegen.options.add_arguments`
    fills them); returns the exit status."""
    from .cli import finish, run

    with tempfile.TemporaryDirectory(prefix="xnat-sdk-schemas-") as tmp:
        download = download_schemas(session, Path(tmp) / "schemas", Path(tmp) / "core")
        checks = check_core(download, pin_file())
        _report(checks, download)
        if not download.site:
            print(f"codegen: {session.server} serves no site schemas", file=sys.stderr)
            return 1
        core = _core_for(download, Path(args.core_schemas) if args.core_schemas else None, checks)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", SchemaLeniencyWarning)
            differing = run(
                download.root,
                Path(args.out),
                check=args.check,
                core_schemas=core,
                core_package=args.core_package,
                command=command,
                only=download.site,
            )
        for warning in caught:  # name the server's schema, not the temporary copy
            text = str(warning.message).replace(f"{download.root}/", f"{session.server}/schemas/")
            warnings.warn(SchemaLeniencyWarning(text), stacklevel=1)
    return finish(args, differing)
