"""Safe extraction: zip-slip entries (``../x``, ``/abs``, symlinks, drive letters) are refused
before anything is written, also when the zip is read straight from the server."""

from __future__ import annotations

import io
import os
import stat
import tarfile
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xnat_sdk.archives import check_tar, extract_zip, safe_member_path, write_tar
from xnat_sdk.errors import XNATFileExistsError, XNATUnsafeArchiveError
from xnat_sdk.session import XNATSession

if TYPE_CHECKING:
    from conftest import Seeded


def _zip(entries: list[tuple[str, bytes]], link: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries:
            archive.writestr(name, data)
        if link is not None:
            info = zipfile.ZipInfo(link)
            info.create_system = 3
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
    return buffer.getvalue()


@pytest.mark.parametrize(
    "bad",
    [
        "../x",
        "a/../../x",
        "/abs/path",
        "\\\\server\\share",
        "C:/windows/x",
        "a\\..\\x",
        "..",
        "./../x",
    ],
)
def test_escaping_entries_refused_before_writing(tmp_path: Path, bad: str) -> None:
    data = _zip([("ok/first.txt", b"first"), (bad, b"evil")])
    target = tmp_path / "out"
    with pytest.raises(XNATUnsafeArchiveError) as info:
        extract_zip(io.BytesIO(data), target)
    assert info.value.entry == bad
    assert not any(target.rglob("*")), "nothing written, not even the safe first entry"
    assert not (tmp_path / "x").exists()


def test_symlink_entry_refused(tmp_path: Path) -> None:
    data = _zip([("a.txt", b"a")], link="innocent")
    with pytest.raises(XNATUnsafeArchiveError, match="symbolic link") as info:
        extract_zip(io.BytesIO(data), tmp_path)
    assert info.value.entry == "innocent"
    assert list(tmp_path.iterdir()) == []


def test_existing_symlinked_folder_in_target_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    target = tmp_path / "target"
    target.mkdir()
    (target / "sub").symlink_to(outside)
    with pytest.raises(XNATUnsafeArchiveError, match="outside"):
        extract_zip(io.BytesIO(_zip([("sub/x.txt", b"x")])), target)
    assert list(outside.iterdir()) == []


def test_safe_zip_extracts_and_respects_overwrite(tmp_path: Path) -> None:
    data = _zip([("a/b.txt", b"b"), ("./c.txt", b"c"), ("dir/", b"")])
    written = extract_zip(io.BytesIO(data), tmp_path)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in written) == ["a/b.txt", "c.txt"]
    (tmp_path / "c.txt").write_bytes(b"mine")
    with pytest.raises(XNATFileExistsError):
        extract_zip(io.BytesIO(data), tmp_path, overwrite=False)
    assert (tmp_path / "c.txt").read_bytes() == b"mine"
    assert (tmp_path / "a/b.txt").read_bytes() == b"b"


def test_crafted_zip_on_server_refused(
    session: XNATSession, seeded: Seeded, tmp_path: Path
) -> None:
    resource = session.experiments[seeded.sessions["E1"]].create_resource("ZIPS")
    resource.upload(_zip([("fine.txt", b"ok"), ("../../escape.txt", b"evil")]), "evil.zip")
    remote = resource.files["evil.zip"]
    with remote.open() as handle, pytest.raises(XNATUnsafeArchiveError, match="escape"):
        extract_zip(handle, tmp_path / "t")
    assert not (tmp_path / "escape.txt").exists()
    assert not any((tmp_path / "t").rglob("*"))


def test_tar_checks(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("link")
        info.type = tarfile.SYMTYPE
        info.linkname = "/etc/passwd"
        tar.addfile(info)
    buffer.seek(0)
    with tarfile.open(fileobj=buffer) as tar, pytest.raises(XNATUnsafeArchiveError):
        check_tar(tar)
    (tmp_path / "src" / "d").mkdir(parents=True)
    (tmp_path / "src" / "d" / "f.txt").write_bytes(b"f")
    out = io.BytesIO()
    assert write_tar(tmp_path / "src", out, gzip=True) == 1
    out.seek(0)
    with tarfile.open(fileobj=out) as tar:
        assert [rel.as_posix() for _, rel in check_tar(tar)] == ["d/f.txt"]


_SEGMENT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="/\\\x00"),
    min_size=1,
    max_size=8,
)


@given(st.lists(st.one_of(_SEGMENT, st.just(".."), st.just(".")), min_size=1, max_size=5))
def test_member_paths_never_escape(parts: list[str]) -> None:
    name = "/".join(parts)
    try:
        rel = safe_member_path(name)
    except XNATUnsafeArchiveError:
        return
    resolved = os.path.normpath(os.path.join("/root", *rel.parts))
    assert resolved.startswith("/root/")
