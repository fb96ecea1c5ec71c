"""Safe archive handling for transfers.

* :func:`check_zip` / :func:`extract_zip`: extraction that refuses, before writing anything,
  every entry that would land outside the target folder (absolute paths, drive letters,
  ``..`` segments, symbolic links); each file is written to a temporary name and renamed
  when complete.
* :func:`check_tar`: the same checks for tar archives (links and devices refused too).
* :func:`write_tar`: a tar (optionally gzipped) of a folder's regular files, for
  ``resource.upload_dir``.
"""

from __future__ import annotations

import os
import shutil
import stat
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import IO

from xnat_sdk.errors import XNATFileExistsError, XNATUnsafeArchiveError

__all__ = [
    "check_tar",
    "check_zip",
    "extract_zip",
    "iter_files",
    "safe_member_path",
    "write_tar",
]

CHUNK = 1 << 20


def safe_member_path(name: str) -> PurePosixPath:
    """The relative path of an archive entry; raises :class:`XNATUnsafeArchiveError` when it
    is absolute, has a drive letter or backslashes, or climbs with ``..``."""
    if not name or "\x00" in name:
        raise XNATUnsafeArchiveError(name, "empty name or NUL character")
    if name.startswith(("/", "\\")):
        raise XNATUnsafeArchiveError(name, "absolute path")
    if "\\" in name:
        raise XNATUnsafeArchiveError(name, "backslash in the path")
    if len(name) >= 2 and name[1] == ":":
        raise XNATUnsafeArchiveError(name, "drive letter")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise XNATUnsafeArchiveError(name, "'..' escapes the target folder")
    if not parts:
        raise XNATUnsafeArchiveError(name, "names no file")
    return PurePosixPath(*parts)


def _zip_is_link(info: zipfile.ZipInfo) -> bool:
    mode = info.external_attr >> 16
    return info.create_system == 3 and stat.S_ISLNK(mode)


def check_zip(archive: zipfile.ZipFile) -> list[tuple[zipfile.ZipInfo, PurePosixPath]]:
    """Every file entry of ``archive`` with its safe relative path (directories skipped);
    raises :class:`XNATUnsafeArchiveError` naming the first bad entry."""
    found: list[tuple[zipfile.ZipInfo, PurePosixPath]] = []
    for info in archive.infolist():
        if info.is_dir() and not info.filename.strip("./"):
            continue
        rel = safe_member_path(info.filename)
        if _zip_is_link(info):
            raise XNATUnsafeArchiveError(info.filename, "symbolic link")
        if info.is_dir():
            continue
        found.append((info, rel))
    return found


def check_tar(archive: tarfile.TarFile) -> list[tuple[tarfile.TarInfo, PurePosixPath]]:
    """Every regular file of a tar archive with its safe relative path; raises
    :class:`XNATUnsafeArchiveError` for escaping names, links and device entries."""
    found: list[tuple[tarfile.TarInfo, PurePosixPath]] = []
    for info in archive.getmembers():
        if info.isdir():
            if info.name.strip("./"):
                safe_member_path(info.name)
            continue
        rel = safe_member_path(info.name)
        if info.issym() or info.islnk():
            raise XNATUnsafeArchiveError(info.name, "link entry")
        if not info.isfile():
            raise XNATUnsafeArchiveError(info.name, "not a regular file")
        found.append((info, rel))
    return found


def _inside(root: Path, rel: PurePosixPath) -> Path:
    target = root.joinpath(*rel.parts)
    resolved_root = root.resolve()
    parent = target.parent.resolve()
    if parent != resolved_root and resolved_root not in parent.parents:
        raise XNATUnsafeArchiveError(str(rel), "resolves outside the target folder (symlink)")
    return target


def extract_zip(
    source: str | os.PathLike[str] | IO[bytes],
    target_dir: str | os.PathLike[str],
    *,
    overwrite: bool = True,
) -> list[Path]:
    """Extract a zip into ``target_dir`` safely; returns the written files.

    Every entry is checked first (nothing is written if one is unsafe); with
    ``overwrite=False`` an existing file raises :class:`XNATFileExistsError` before writing.
    Entry CRCs are verified by :mod:`zipfile` while reading.
    """
    root = Path(target_dir)
    root.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with zipfile.ZipFile(source) as archive:
        entries = check_zip(archive)
        targets = [(info, _inside(root, rel)) for info, rel in entries]
        if not overwrite:
            for _, target in targets:
                if target.exists():
                    raise XNATFileExistsError(f"{target} exists (overwrite=False)")
        try:
            for info, target in targets:
                target.parent.mkdir(parents=True, exist_ok=True)
                _inside(root, PurePosixPath(target.relative_to(root).as_posix()))
                tmp = target.with_name(f".{target.name}.part")
                with archive.open(info) as src, open(tmp, "wb") as out:
                    shutil.copyfileobj(src, out, CHUNK)
                os.replace(tmp, target)
                written.append(target)
        except BaseException:
            for _info, target in targets:
                tmp = target.with_name(f".{target.name}.part")
                if tmp.exists():
                    tmp.unlink()
            raise
    return written


def iter_files(directory: Path) -> Iterator[tuple[Path, str]]:
    """Regular files below ``directory`` (symlinks not followed) with their POSIX relative
    paths, sorted."""
    for dirpath, dirnames, filenames in os.walk(directory):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if path.is_symlink() or not path.is_file():
                continue
            yield path, path.relative_to(directory).as_posix()


def write_tar(directory: Path, fileobj: IO[bytes], *, gzip: bool, compresslevel: int = 1) -> int:
    """Write a tar (gzip when asked, fast level by default) of the regular files below
    ``directory`` into ``fileobj``; returns the number of files."""
    count = 0
    mode = "w:gz" if gzip else "w"
    kwargs = {"compresslevel": compresslevel} if gzip else {}
    with tarfile.open(fileobj=fileobj, mode=mode, **kwargs) as tar:  # type: ignore[call-overload]
        for path, rel in iter_files(directory):
            info = tar.gettarinfo(str(path), arcname=rel)
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            with open(path, "rb") as handle:
                tar.addfile(info, handle)
            count += 1
    return count
