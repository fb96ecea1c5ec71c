"""The fast paths of the local server's archives: the hand-written STORED zip, extraction
of uploaded archives in one transaction, and the client's hand-built tar."""

from __future__ import annotations

import io
import os
import struct
import tarfile
import zipfile
import zlib
from pathlib import Path

import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xnat_sdk.archives import _looks_compressible, walk_files, write_tar
from xnat_sdk.testing._areas.files.zips import ZipEntry, stream_zip
from xnat_sdk.testing.local import LocalXNAT
from xnat_sdk.transfers._zipstream import ChunkReader, iter_zip_stream

_NAMES = st.lists(
    st.text(
        alphabet=st.characters(whitelist_categories=("L", "N"), whitelist_characters="-_."),
        min_size=1,
        max_size=12,
    ).filter(lambda t: t not in (".", "..")),
    min_size=1,
    max_size=3,
).map("/".join)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.dictionaries(_NAMES, st.binary(max_size=3000), min_size=1, max_size=6),
)
def test_stored_zip_round_trips(tmp_path: Path, files: dict[str, bytes]) -> None:
    folder = tmp_path / os.urandom(4).hex()
    entries = []
    for index, (name, data) in enumerate(files.items()):
        path = folder / str(index)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        entries.append(ZipEntry(f"root/{name}", path))
    blob = b"".join(stream_zip(entries))
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        assert archive.testzip() is None
        assert {i.filename[5:]: archive.read(i) for i in archive.infolist()} == files
    seen = {}
    pieces = iter([blob[i : i + 777] for i in range(0, len(blob), 777)])
    for name, chunks in iter_zip_stream(ChunkReader(pieces), lambda n: None):
        seen[name[5:]] = b"".join(chunks)  # no size needed: small entries carry it
    assert seen == files


def test_stored_zip_headers(tmp_path: Path) -> None:
    small, big = tmp_path / "small", tmp_path / "big"
    small.write_bytes(b"abc" * 100)
    big.write_bytes(os.urandom((1 << 20) + 10))
    blob = b"".join(stream_zip([ZipEntry("ü.txt", small), ZipEntry("big.bin", big)]))
    flags, method, _t, _d, crc, csize, usize = struct.unpack_from("<4H3L", blob, 6)
    assert flags == 0x800 and method == 0  # UTF-8 name, STORED, no data descriptor
    assert (crc, csize, usize) == (zlib.crc32(b"abc" * 100), 300, 300)
    second = blob.index(b"PK\x03\x04", 30)
    assert struct.unpack_from("<H", blob, second + 6)[0] & 0x08  # big: data descriptor
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        assert archive.read("big.bin") == big.read_bytes()
    sizes = {"big.bin": big.stat().st_size}
    got = {n: b"".join(c) for n, c in iter_zip_stream(ChunkReader(iter([blob])), sizes.get)}
    assert got == {"ü.txt": b"abc" * 100, "big.bin": big.read_bytes()}


def test_write_tar_headers_and_level(tmp_path: Path) -> None:
    files = {
        "a/x.dcm": os.urandom(4096),
        "é/ü.txt": b"hello",
        "b" * 130: b"long name",
        "empty": b"",
    }
    for rel, data in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(data)
    os.chmod(tmp_path / "empty", 0o600)
    for gzip in (False, True):
        buffer = io.BytesIO()
        assert write_tar(tmp_path, buffer, gzip=gzip, compresslevel=None) == len(files)
        assert len(buffer.getvalue()) % (20 * 512) == 0 or gzip
        buffer.seek(0)
        with tarfile.open(fileobj=buffer, mode="r:*") as archive:
            members = {m.name: m for m in archive}
            got = {n: archive.extractfile(m).read() for n, m in members.items()}  # type: ignore[union-attr]
        assert got == files
        assert members["empty"].mode == 0o600
    # the deflate level follows the data: none for random bytes, fast deflate for text
    text = tmp_path / "text"
    (text / "t").mkdir(parents=True)
    for index in range(20):
        (text / "t" / f"{index}.txt").write_bytes(b"the same line again\n" * 500)
    assert not _looks_compressible(list(walk_files(tmp_path / "a")))
    assert _looks_compressible(list(walk_files(text)))
    text_out = io.BytesIO()
    write_tar(text, text_out, gzip=True, compresslevel=None)
    assert len(text_out.getvalue()) < 10000


def _tar(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_extracted_upload_is_all_or_nothing(
    xnat_server: LocalXNAT, xnat_project: str, admin: requests.Session
) -> None:
    url = xnat_server.url
    p = f"{url}/data/projects/{xnat_project}/resources/BATCH"
    assert admin.put(p).status_code == 200
    good = {f"d{i % 3}/f{i}.bin": os.urandom(100 + i) for i in range(30)}
    r = admin.put(f"{p}/files/up.tar?extract=true", data=_tar(good))
    assert r.status_code == 200, r.text
    listed = admin.get(f"{p}/files?format=json").json()["ResultSet"]["Result"]
    import hashlib

    assert {row["URI"].split("/files/", 1)[1]: row["digest"] for row in listed} == {
        k: hashlib.md5(v).hexdigest() for k, v in good.items()
    }
    for rel, data in good.items():
        assert admin.get(f"{p}/files/{rel}").content == data
    # a bad member late in the archive: nothing of it is stored
    bad = {"new/first.bin": b"one", "../escape.bin": b"two"}
    r = admin.put(f"{p}/files/bad.tar?extract=true", data=_tar(bad))
    assert r.status_code == 400
    assert admin.get(f"{p}/files/new/first.bin").status_code == 404
    # duplicates without overwrite are reported and kept unchanged; the rest is stored
    again = {"d0/f0.bin": b"changed", "fresh.bin": b"fresh"}
    r = admin.put(f"{p}/files/again.tar?extract=true", data=_tar(again))
    assert r.status_code == 200 and "d0/f0.bin" in r.text
    assert admin.get(f"{p}/files/d0/f0.bin").content == good["d0/f0.bin"]
    assert admin.get(f"{p}/files/fresh.bin").content == b"fresh"
    r = admin.put(f"{p}/files/again.tar?extract=true&overwrite=true", data=_tar(again))
    assert r.status_code == 200 and "duplicates" not in r.text
    assert admin.get(f"{p}/files/d0/f0.bin").content == b"changed"
    folder = xnat_server.data_dir / "files"
    assert not [q for q in folder.rglob(".upload-*")]


def test_small_file_read_trusts_no_stale_size(tmp_path: Path) -> None:
    from xnat_sdk.testing._areas.files.zips import _read_small

    path = tmp_path / "f"
    path.write_bytes(b"x" * 100)
    assert _read_small(path, 100) == b"x" * 100
    assert _read_small(path, 50) == b"x" * 100  # the file grew since it was recorded
    assert _read_small(path, 200) == b"x" * 100  # or shrank
    path.write_bytes(b"y" * ((1 << 20) + 5))
    assert _read_small(path, 10) is None  # too big now: streamed instead
    path.write_bytes(b"")
    assert _read_small(path, 0) == b""
