"""``download``, ``upload`` and ``import``."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from xnat_sdk.cli._addresses import ADDRESS_HELP, Address, parse_address, resolve
from xnat_sdk.cli._app import (
    OVERWRITE_HELP,
    Runtime,
    command,
    pass_runtime,
    root,
    session_exists_in_words,
)

if TYPE_CHECKING:
    from xnat_sdk.archives import Links

__all__: list[str] = []


def _summary(folder: Path, links: Links = "skip") -> tuple[int, int]:
    """The number and bytes of the files below ``folder`` (the files an upload of it sends
    with ``links="inside"`` or ``"all"``: a link leading out refused by the first). A
    count of a download's folder (``skip``) tells nothing of what the walk left out: the
    download wrote no link and no special file."""
    import warnings

    from xnat_sdk.archives import iter_files
    from xnat_sdk.errors import XNATSkippedFilesWarning

    files = size = 0
    with warnings.catch_warnings():
        if links == "skip":
            warnings.simplefilter("ignore", XNATSkippedFilesWarning)
        for path, _ in iter_files(folder, links=links):
            files += 1
            size += path.stat().st_size
    return files, size


_FOLLOW_HELP = "send what symbolic links leading outside the folder point to (refused otherwise)"


@contextlib.contextmanager
def _links_in_words(runtime: Runtime | None = None) -> Iterator[None]:
    """A link leading outside an uploaded folder, with the command's option as remedy (a
    folder swapped for such a link after the walk: no remedy, what was sent told); the
    SDK's :class:`~xnat_sdk.errors.XNATLinkLoopWarning`,
    :class:`~xnat_sdk.errors.XNATSkippedFilesWarning` and (an import of several studies)
    :class:`~xnat_sdk.errors.XNATSeveralSessionsWarning` as one line of the command's own
    each, printed through ``runtime`` (without it dropped: a walk before told it already)."""
    import warnings

    from xnat_sdk.errors import (
        XNATLinkLoopWarning,
        XNATLinkOutsideError,
        XNATSeveralSessionsWarning,
        XNATSkippedFilesWarning,
    )

    told = (XNATLinkLoopWarning, XNATSkippedFilesWarning, XNATSeveralSessionsWarning)
    try:
        with warnings.catch_warnings(record=True) as caught:
            for category in told:
                warnings.simplefilter("always", category)
            yield
    except XNATLinkOutsideError as exc:
        if exc.checked:  # changed after the walk: following links would send what it leads to
            raise click.ClickException(
                f"{exc}; files read before it may have been sent (was the folder changed "
                "during the upload?)"
            ) from exc
        raise click.ClickException(
            f"{exc.path}: a link leading outside the folder, to {exc.target}: nothing was "
            "sent (give --follow-symlinks to send what links point to)"
        ) from exc
    for item in caught:
        if not isinstance(item.message, told):
            warnings.warn_explicit(item.message, item.category, item.filename, item.lineno)
        elif runtime is not None:
            runtime.output.message(f"xnat-sdk: warning: {item.message}")


def _scan_resources(obj: Any, level: str, resource: str, scan_type: str | None) -> list[Any]:
    """The resources ``resource`` of the scan ``obj``, or of the experiment ``obj``'s scans
    (those of ``scan_type``: IDs or types, comma-separated, as the server's scan filter)."""
    from xnat_sdk.transfers._paths import scans_matching  # the engine loads on first use

    if level == "scan":
        scans = [obj]
    else:
        picked = scans_matching(obj.scans, scan_type or "ALL")
        scans = [s for key, s in obj.scans.items() if key in picked]
    found = [s.resources[resource] for s in scans if resource in s.resources]
    if not found:
        raise click.ClickException(f"no scan of {obj.uri} has a resource {resource!r}")
    return found


def _check_scan_type(experiment: Any, scan_type: str) -> None:
    """Raise when ``scan_type`` (IDs or types, comma-separated) picks no scan of
    ``experiment``: a typo downloaded nothing without a word (the API's download_dir says
    404 there)."""
    from xnat_sdk.transfers._paths import scans_matching

    if scans_matching(experiment.scans, scan_type):
        return
    types = {
        str(key): str(getattr(scan, "type", "") or "") for key, scan in experiment.scans.items()
    }
    ids = ", ".join(types) or "none"
    kinds = ", ".join(sorted({t for t in types.values() if t})) or "none"
    label = getattr(experiment, "label", None) or experiment.uri
    raise click.ClickException(
        f"no scan of ID or type {scan_type!r} in experiment {label} (IDs: {ids}; types: {kinds})"
    )


def _sync_experiment(obj: Any, target: Path, opts: dict[str, Any], verbose: bool) -> Path:
    """An experiment's scan files into ``target/{label}``, file by file (the report into
    ``opts["report"]``); returns that folder."""
    from xnat_sdk.bulk import sync_session
    from xnat_sdk.errors import XNATFileExistsError
    from xnat_sdk.transfers._paths import _safe_name

    label = str(getattr(obj, "label", "") or obj.uri.rsplit("/", 1)[-1])
    try:
        opts["report"] = sync_session(
            obj,
            target,
            opts["scan_type"] or "ALL",
            opts["workers"],
            verbose=verbose,
            folder=label,
            resource=opts["resource"] or None,
            verify=opts["verify"],
            fsync=opts["fsync"],
            overwrite=opts["overwrite"],
        )
    except XNATFileExistsError as exc:  # another session's folder (one label, two projects)
        raise click.ClickException(
            exc.with_remedy("download this session into another TARGET_DIR")
        ) from exc
    return target / _safe_name(label)


def _download(runtime: Runtime, obj: Any, level: str, target: Path, opts: dict[str, Any]) -> Path:
    """Download ``obj`` into ``target``; returns the folder or file written. What it wrote
    goes to ``opts["report"]`` (file by file) or ``opts["written"]`` (folders it made)."""
    # the transfer engine loads with the first download, not with every command's start
    from xnat_sdk.transfers._paths import _safe_name

    verbose = not runtime.quiet
    scan_type, resource, workers, flat = (
        opts[k] for k in ("scan_type", "resource", "workers", "flat")
    )
    if level == "site":
        raise click.UsageError("give something to download (a project or below)")
    if resource and level not in ("experiment", "scan"):
        raise click.UsageError("--resource needs an experiment or scan address")
    if scan_type and level not in ("project", "subject", "experiment"):
        raise click.UsageError("--scan-type needs a project, subject or experiment address")
    if scan_type and level == "experiment":
        _check_scan_type(obj, scan_type)
    found = _scan_resources(obj, level, resource, scan_type) if resource else []
    if flat and level != "file":  # file by file, straight into TARGET_DIR
        from xnat_sdk.cli._flat import download_flat

        opts["report"] = download_flat(
            obj,
            level,
            target,
            scan_type=scan_type,
            resources=found,
            workers=workers,
            verbose=verbose,
            verify=opts["verify"],
            fsync=opts["fsync"],
            overwrite=opts["overwrite"],
        )
        return target
    if level in ("project", "subject"):
        # file by file, resumable: a rerun skips the files already there and verified
        report = obj.download_files(
            target,
            verbose=verbose,
            workers=workers,
            scan_filter=scan_type or "ALL",
            verify=opts["verify"],
            fsync=opts["fsync"],
            overwrite=opts["overwrite"],
        )
        opts["report"] = report
        if scan_type and not (report.downloaded or report.skipped or report.failed):
            raise click.ClickException(
                f"no scan of ID or type {scan_type!r} in any session of {level} "
                f"{obj._folder_name()}: nothing to download"
            )
        return target / _safe_name(obj._folder_name())
    if level == "experiment":  # file by file too with --resource (checked above)
        return _sync_experiment(obj, target, opts, verbose)
    overwrite = opts["overwrite"]
    if found:  # only what this run wrote counts, not what TARGET_DIR held before
        opts["written"] = [
            Path(item.download_dir(target, verbose=verbose, overwrite=overwrite)) for item in found
        ]
        return target
    if level in ("scan", "resource"):
        return Path(obj.download_dir(target, verbose=verbose, overwrite=overwrite))
    return _download_file(obj, target, verbose, overwrite)


def _download_file(obj: Any, target: Path, verbose: bool, overwrite: bool) -> Path:
    """One file into the folder ``target``: a file there with the listed size and MD5 is
    left as it is, another one is kept (an error) unless ``overwrite``."""
    from xnat_sdk.archives import safe_join
    from xnat_sdk.bulk import FileToGet, is_verified
    from xnat_sdk.errors import XNATFileExistsError

    path = safe_join(target, obj.name)  # a name from the server: checked
    if path.exists() or path.is_symlink():
        if obj.digest and is_verified(FileToGet(obj.uri, path, obj.size, obj.digest)):
            return path  # already there, verified: nothing to fetch
        if not overwrite:
            why = (
                f"is not the server's {obj.name} (another size or MD5)"
                if obj.digest
                else f"may not be the server's {obj.name} (it lists no MD5 to compare)"
            )
            raise XNATFileExistsError(f"{path} exists and {why}: kept")
    target.mkdir(parents=True, exist_ok=True)
    return Path(obj.download(path, verbose=verbose))


@contextlib.contextmanager
def _kept_in_words() -> Iterator[None]:
    """A local file a download kept (no ``--overwrite``), with the option as remedy."""
    from xnat_sdk.errors import XNATFileExistsError, XNATIncompleteDownloadError

    try:
        yield
    except XNATIncompleteDownloadError as exc:
        if not exc.report.kept:
            raise
        text = str(exc).replace("pass overwrite=True to replace", "give --overwrite to replace")
        raise click.ClickException(text) from exc
    except XNATFileExistsError as exc:
        if exc.remedy != XNATFileExistsError.remedy:  # another path of the download, ...
            raise
        raise click.ClickException(exc.with_remedy("give --overwrite to replace it")) from exc


@command(
    root,
    "download",
    help="Download ADDRESS (a project, subject, experiment, scan, resource or file) into "
    "TARGET_DIR, every file verified against the server's listing (size, MD5); a broken-off "
    "transfer resumes, and an interrupted one leaves no partial files. Of a project, subject "
    "or experiment, the files of its sessions' scans are fetched, file by file: a rerun skips "
    "the files already there with the listed size and MD5 and fetches only what is missing "
    "(a local file that differs from the server's is kept, and named in an error, unless "
    "--overwrite; the own resources of a project, subject or session, which `tree` counts, are "
    "addresses of their own: P/DOCS, P/S/E/NOTES). Layout: xnatpy's download_dir's "
    "({project name}/{subject}/{session}/scans/{scan ID}-{type}/resources/{label}/files/... "
    "from a project, {subject}/... from a subject, {session}/... from an experiment); "
    "with --flat "
    "(any address) each file goes file by file straight into TARGET_DIR at its path inside "
    "its resource, and two files that would land on the same path are refused before "
    "anything is written.\n\n"
    "JSON: {address, path, files, bytes}: the folder (or file) written and the files and "
    "bytes below it; for projects, subjects and experiments, and with --flat, also "
    "{downloaded, skipped, hashed_bytes}: the files this run fetched, those it found "
    "verified, and the bytes it read there to verify them (see --verify).\n\n" + ADDRESS_HELP,
)
@click.argument("address")
@click.argument("target_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--scan-type",
    help="only scans of this type (or IDs, comma-separated); one that picks no scan is an error",
)
@click.option("--resource", help="only this resource of each scan (experiment or scan)")
@click.option(
    "--workers",
    type=click.IntRange(1, 32),
    default=4,
    show_default=True,
    help="files downloaded at a time (project, subject, experiment)",
)
@click.option(
    "--flat",
    is_flag=True,
    help="put every file straight into TARGET_DIR at its path inside its resource (no "
    "session/scan/resource folders); two files with the same path are refused before "
    "anything is written",
)
@click.option(
    "--verify",
    type=click.Choice(["quick", "full"]),
    default="quick",
    show_default=True,
    help="how a rerun knows a file there is verified (file by file downloads): quick skips "
    "one whose size, times and inode are those recorded when it was last verified and whose "
    "listed MD5 is unchanged, without reading it; full reads every file to check its MD5",
)
@click.option(
    "--fsync",
    is_flag=True,
    help="put each file's data on the disk before its final name (file by file downloads): "
    "after a power cut no file shows cut short; slower on many small files",
)
@click.option(
    "--overwrite",
    is_flag=True,
    help="replace local files that differ from the server's (changed here, or on the server "
    "since they were downloaded); without it they are kept and the download fails naming them",
)
@pass_runtime
def download(runtime: Runtime, /, address: str, target_dir: Path, **opts: Any) -> None:
    """``xnat-sdk download ADDRESS TARGET_DIR``."""
    parsed = parse_address(address)
    obj = resolve(runtime.session(), parsed)
    with _kept_in_words():
        path = _download(runtime, obj, parsed.level, target_dir, opts)
    report = opts.get("report")
    if report is not None:  # downloaded file by file: what this run fetched and found there
        files, size = len(report.downloaded) + len(report.skipped), report.present_bytes
        path.mkdir(parents=True, exist_ok=True)  # the path reported exists, files or none
    elif path.is_file():
        files, size = 1, path.stat().st_size
    else:  # folders (none when there was nothing to download)
        sizes = [_summary(folder) for folder in opts.get("written") or [path]]
        files, size = sum(n for n, _ in sizes), sum(b for _, b in sizes)
    record: dict[str, Any] = {"address": address, "path": str(path), "files": files, "bytes": size}
    if report is not None:
        record["downloaded"] = len(report.downloaded)
        record["skipped"] = len(report.skipped)
        record["hashed_bytes"] = report.hashed_bytes
    runtime.output.record(record)


def _resource_for_upload(runtime: Runtime, address: str) -> tuple[Any, bool]:
    """The resource ``address`` names (created when missing) and whether it was created."""
    from xnat_sdk.errors import XNATValueError

    if address.startswith("/"):
        parsed = parse_address(address)
        label = parsed.parts.pop("resource", None)
        bad = label is None or "file" in parsed.parts
        parent_address = Address(address, dict(parsed.parts))
    else:  # the short form: PARENT/RESOURCE, the last part names the resource
        parent_text, _, label = address.rstrip("/").rpartition("/")
        bad = not parent_text or not label
        parent_address = parse_address(parent_text) if not bad else Address(address)
        bad = bad or "resource" in parent_address.parts
    if bad or not label:
        raise click.BadParameter(
            "name a resource: P/RESOURCE, P/S/RESOURCE, P/S/E/RESOURCE, P/S/E/SCAN/RESOURCE "
            "or a REST path ending in /resources/LABEL",
            param_hint="ADDRESS",
        )
    session = runtime.session()
    parent = resolve(session, parent_address, resources=False)
    if parent is session:
        raise XNATValueError(f"address {address!r}: a resource belongs to an object")
    if label in parent.resources:
        return parent.resources[label], False
    return parent.create_resource(label), True


@command(
    root,
    "upload",
    help="Upload LOCAL (a file, or a folder with its sub-folders) into the resource "
    "ADDRESS/RESOURCE, created when missing (e.g. P/S/E/1/DICOM, P/S/E/NOTES for a resource "
    "of the experiment itself, or /data/projects/P/resources/DOCS). Existing remote files "
    "are kept (an error says so) unless --overwrite.\n\n"
    "JSON: {resource, created, files, bytes}.",
)
@click.argument("local", type=click.Path(exists=True, path_type=Path))
@click.argument("address")
@click.option("--overwrite", is_flag=True, help="replace remote files of the same name")
@click.option("--extract", is_flag=True, help="unpack an uploaded zip/tar on the server")
@click.option(
    "--method",
    type=click.Choice(["per_file", "tar_file", "tgz_file", "tar_memory", "tgz_memory"]),
    default="tgz_file",
    show_default=True,
    help="how a folder is sent",
)
@click.option("--name", help="remote path of an uploaded file (default: its name)")
@click.option("--follow-symlinks", is_flag=True, help=_FOLLOW_HELP)
@pass_runtime
def upload(
    runtime: Runtime,
    local: Path,
    address: str,
    overwrite: bool,
    extract: bool,
    method: str,
    name: str | None,
    follow_symlinks: bool,
) -> None:
    """``xnat-sdk upload LOCAL ADDRESS/RESOURCE``."""
    from xnat_sdk.errors import XNATFileExistsError

    if local.is_dir() and (extract or name):
        raise click.UsageError("--extract and --name are for a file, not a folder")
    # a link leading out (or to nothing) is refused before the resource is made
    with _links_in_words(runtime):
        links: Links = "all" if follow_symlinks else "inside"
        files, size = _summary(local, links) if local.is_dir() else (1, 0)
    resource, created = _resource_for_upload(runtime, address)
    verbose = not runtime.quiet
    try:
        if local.is_dir():
            with _links_in_words():
                resource.upload_dir(
                    local,
                    overwrite=overwrite,
                    method=method,
                    verbose=verbose,
                    follow_symlinks=follow_symlinks,
                )
        else:
            resource.upload(
                local, name or local.name, overwrite=overwrite, extract=extract, verbose=verbose
            )
            size = local.stat().st_size
    except XNATFileExistsError as exc:  # the SDK's remedy names its keyword, not our option
        raise click.ClickException(exc.with_remedy("give --overwrite to replace it")) from exc
    runtime.output.record(
        {"resource": resource.uri, "created": created, "files": files, "bytes": size}
    )


@command(
    root,
    "import",
    help="Import DICOM data (a zip/tar file or a folder) with XNAT's import service; prints "
    "where it landed.\n\nJSON: {uri, destination (prearchive|archive), project, label}.",
)
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("--project", "-p", required=True, help="project to import into")
@click.option("--subject", help="subject label")
@click.option("--experiment", help="experiment (session) label")
@click.option(
    "--destination",
    type=click.Choice(["/archive", "/prearchive"]),
    help="archive at once or go to the prearchive (default: the project's setting)",
)
@click.option("--overwrite", type=click.Choice(["none", "append", "delete"]), help=OVERWRITE_HELP)
@click.option("--follow-symlinks", is_flag=True, help=_FOLLOW_HELP)
@pass_runtime
def import_(
    runtime: Runtime,
    source: Path,
    project: str,
    subject: str | None,
    experiment: str | None,
    destination: str | None,
    overwrite: str | None,
    follow_symlinks: bool,
) -> None:
    """``xnat-sdk import FILE_OR_DIR --project P``."""
    from xnat_sdk.prearchive import PrearchiveSession

    if destination is not None:
        destination = f"{destination}/projects/{project}"
    with _links_in_words(runtime), session_exists_in_words(imported_to=project):
        result = runtime.session().services.import_(
            os.fspath(source),
            project=project,
            subject=subject,
            experiment=experiment,
            destination=destination,
            overwrite=overwrite,
            follow_symlinks=follow_symlinks,
        )
    where = "prearchive" if isinstance(result, PrearchiveSession) else "archive"
    label = result.label if isinstance(result, PrearchiveSession) else getattr(result, "label", "")
    runtime.output.record(
        {"uri": result.uri, "destination": where, "project": project, "label": label}
    )
