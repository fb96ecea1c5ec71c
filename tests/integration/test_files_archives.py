"""Safe extraction: zip-slip entries (``../x``, ``/abs``, symlinks, drive letters) are refused
before anything is written, also when the zip is read straight from the server."""

from __future__ import annotations

import io
import os
import stat
import tarfile
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xnat_sdk.archives import check_tar, extract_zip, safe_member_path, write_tar
from xnat_sdk.errors import XNATFileExistsError, XNATIntegrityError, XNATUnsafeArchiveError
from xnat_sdk.session import XNATSession
from xnat_sdk.transfers._zipstream import ChunkReader, iter_zip_stream

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
    kept = [p for p in parts if p != "."]
    if ".." in parts or not kept or name[1:2] == ":":
        # climbing, naming no file, or a drive letter: refused, naming the entry
        with pytest.raises(XNATUnsafeArchiveError) as info:
            safe_member_path(name)
        assert repr(name) in str(info.value)
        return
    rel = safe_member_path(name)  # anything else is accepted, with '.' segments dropped
    assert rel.as_posix() == "/".join(kept)
    resolved = os.path.normpath(os.path.join("/root", *rel.parts))
    assert resolved.startswith("/root/")


class _NoSeek(io.RawIOBase):
    """A write-only sink without seek, so zipfile writes data descriptors (like a server
    streaming a zip)."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        self.data += bytes(b)
        return len(b)


def _streamed_zip(entries: dict[str, bytes], method: int, zip64: bool = False) -> bytes:
    sink = _NoSeek()
    with zipfile.ZipFile(sink, "w", compression=method) as archive:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = method
            with archive.open(info, "w", force_zip64=zip64) as out:
                out.write(data)
    return bytes(sink.data)


def _read_stream(data: bytes, sizes: dict[str, int], chunk: int = 7) -> dict[str, bytes]:
    chunks = (data[i : i + chunk] for i in range(0, len(data), chunk))
    reader = ChunkReader(chunks)
    return {name: b"".join(body) for name, body in iter_zip_stream(reader, sizes.get)}


@pytest.mark.parametrize("zip64", [False, True])
@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_zip_read_while_streaming(method: int, zip64: bool) -> None:
    entries = {"a.txt": b"a" * 1000, "d/b.bin": os.urandom(3000), "empty": b""}
    sizes = {k: len(v) for k, v in entries.items()}
    assert _read_stream(_streamed_zip(entries, method, zip64), sizes) == entries
    # sizes in the local headers (a seekable writer): no listing needed
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=method) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    assert _read_stream(buffer.getvalue(), {}) == entries


def test_zip_stream_integrity_errors() -> None:
    entries = {"a.txt": b"hello world" * 10}
    good = _streamed_zip(entries, zipfile.ZIP_STORED)
    bad = good.replace(b"hello world", b"jello world", 1)
    with pytest.raises(XNATIntegrityError, match="CRC"):
        _read_stream(bad, {"a.txt": 110})
    with pytest.raises(XNATIntegrityError, match="not in the server's file listing"):
        _read_stream(good, {})
    with pytest.raises(EOFError):
        _read_stream(good[:50], {"a.txt": 110})


def test_highly_compressed_entry_streams_in_bounded_pieces() -> None:
    data = bytes(40 << 20)  # 40 MiB of zeros deflate to ~40 KiB
    packed = _streamed_zip({"zeros.bin": data}, zipfile.ZIP_DEFLATED)
    assert len(packed) < 1 << 20
    reader = ChunkReader(iter([packed]))
    for name, body in iter_zip_stream(reader, {}.get):
        sizes = [len(piece) for piece in body]
        assert name == "zeros.bin"
        assert sum(sizes) == len(data)
        assert max(sizes) <= 1 << 20


def test_entries_that_differ_only_in_case_refused_before_writing(tmp_path: Path) -> None:
    """``a/B.txt`` and ``A/b.txt`` are one file on macOS and Windows (so are the composed
    and decomposed ``é``): nothing is written, both are named."""
    from xnat_sdk.errors import XNATCaseCollisionError

    for first, second in (("a/B.txt", "A/b.txt"), ("\u00e9.txt", "e\u0301.txt")):
        data = _zip([("ok.txt", b"ok"), (first, b"1"), (second, b"2")])
        target = tmp_path / "out"
        with pytest.raises(XNATCaseCollisionError, match="differ only in case") as info:
            extract_zip(io.BytesIO(data), target)
        assert (info.value.source, info.value.other_source) == (second, first)
        assert not any(target.rglob("*"))
