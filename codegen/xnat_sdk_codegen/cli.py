"""``python -m codegen --schemas DIR --out PACKAGE_DIR [--check]``: generate the typed models.

Without ``--check`` the package folder is brought up to date: changed files are rewritten,
stale generated files (recognised by their header) are deleted, other files are left alone.
With ``--check`` nothing is written; the exit status is 1 and the differing files are named
when the folder differs from a fresh generation.

Site schemas: a folder holding a plugin XSD that imports the ``xnat`` namespace generates a
package whose classes subclass the core models (``--core-package``, default
``xnat_sdk.models``); imports of the core namespaces resolve against ``--core-schemas``
(default: the checkout's pinned ``schemas/`` folder).
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

from .core import default_core_schemas
from .emit import EmitOptions, generate_files, generated_files_in
from .lenient import SchemaLeniencyWarning
from .options import CORE_PACKAGE, add_arguments
from .reader import SchemaError, read_schemas


def _shown(path: str) -> str:
    """*path* as given, made relative to the working directory when it lies inside it."""
    p = Path(path)
    if p.is_absolute():
        try:
            return p.relative_to(Path.cwd()).as_posix() or "."
        except ValueError:
            return p.as_posix()
    return Path(os.path.normpath(path)).as_posix()


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the generator."""
    parser = argparse.ArgumentParser(
        prog="python -m codegen", description="Generate typed attrs models from XNAT XSD files."
    )
    add_arguments(parser)
    return parser


def run(
    schemas: Path,
    out: Path,
    *,
    check: bool = False,
    core_schemas: Path | None = None,
    core_package: str = CORE_PACKAGE,
    command: str | None = None,
    only: Sequence[Path] | None = None,
) -> list[str]:
    """Generate (or check) *out*; returns the names of the files that differ or changed.
    With *only*, just those files of *schemas* are generated (and what they import)."""
    core = core_schemas if core_schemas is not None else default_core_schemas()
    schema_set = read_schemas(schemas, core, core_package, only=only)
    if command is None:
        command = f"python -m codegen --schemas {_shown(str(schemas))} --out {_shown(str(out))}"
    files = generate_files(schema_set, EmitOptions(command=command, core_package=core_package))
    differing: list[str] = []
    for name, text in files.items():
        target = out / name
        data = text.encode("utf-8")
        if not target.is_file():
            differing.append(f"missing: {name}")
        elif target.read_bytes() != data:
            differing.append(f"differs: {name}")
        else:
            continue
        if not check:
            out.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(target.name + ".tmp")
            tmp.write_bytes(data)
            tmp.replace(target)
    for stale in generated_files_in(out):
        if stale.name not in files:
            differing.append(f"stale: {stale.name}")
            if not check:
                stale.unlink()
    return differing


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    return run_args(build_parser().parse_args(argv))


def run_args(args: argparse.Namespace) -> int:
    """Run the generator with parsed arguments (of a parser :func:`add_arguments` filled,
    such as ``xnat-sdk generate``'s); returns the exit status."""
    if bool(args.schemas) == bool(args.server):
        print("codegen: give exactly one of --schemas DIR and --server URL", file=sys.stderr)
        return 2
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", SchemaLeniencyWarning)
            status = _from_server(args) if args.server else _from_folder(args)
    except SchemaError as exc:
        print(f"codegen: schema error: {exc}", file=sys.stderr)
        return 2
    finally:
        for warning in caught:
            print(f"codegen: warning: {warning.message}", file=sys.stderr)
    return status


def _from_folder(args: argparse.Namespace) -> int:
    command = f"python -m codegen --schemas {_shown(args.schemas)} --out {_shown(args.out)}" + (
        f" --core-package {args.core_package}" if args.core_package != CORE_PACKAGE else ""
    )
    differing = run(
        Path(args.schemas),
        Path(args.out),
        check=args.check,
        core_schemas=Path(args.core_schemas) if args.core_schemas else None,
        core_package=args.core_package,
        command=command,
    )
    return finish(args, differing)


def _from_server(args: argparse.Namespace) -> int:
    import xnat_sdk
    from xnat_sdk.errors import XNATError

    from .remote import generate_from_server

    command = f"xnat-sdk generate --server {args.server} --out {_shown(args.out)}" + (
        f" --core-package {args.core_package}" if args.core_package != CORE_PACKAGE else ""
    )
    try:
        with xnat_sdk.connect(
            args.server,
            user=args.user,
            password=args.password,
            netrc_file=args.netrc,
            verify=not args.insecure,
            extension_types=False,
        ) as session:
            return generate_from_server(args, session, command)
    except (XNATError, ValueError) as exc:
        print(f"codegen: cannot read the schemas of {args.server}: {exc}", file=sys.stderr)
        return 2


def finish(args: argparse.Namespace, differing: list[str]) -> int:
    """Report the outcome of :func:`run` (``--check`` or a write); the exit status."""
    out = Path(args.out)
    if args.check:
        if differing:
            print(
                f"codegen: {out} differs from a fresh generation "
                "(run `make generate` and commit the result):",
                file=sys.stderr,
            )
            for line in differing:
                print(f"  {line}", file=sys.stderr)
            return 1
        print(f"codegen: {out} is up to date")
        return 0
    print(f"codegen: wrote {out} ({len(differing)} file(s) changed)")
    return 0
