"""download_dir / upload_dir on the fast paths: the listing read while the zip streams,
empty resources, and tgz uploads whose deflate level follows the data."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from xnat_sdk.errors import XNATFileExistsError
from xnat_sdk.session import XNATSession
from xnat_sdk.testing.local import LocalXNAT

if TYPE_CHECKING:
    from conftest import Seeded


def _pk(server: LocalXNAT, eid: str) -> int:
    row = server.store.one("SELECT pk FROM scans WHERE experiment_id=? AND id=?", (eid, "1"))
    assert row is not None
    return int(row[0])


def test_download_dir_of_an_empty_resource(
    server: LocalXNAT, session: XNATSession, seeded: Seeded, tmp_path: Path
) -> None:
    eid = seeded.sessions["E1"]
    server.seed_resource("scan", _pk(server, eid), "EMPTY")
    resource = session.experiments[eid].scans["1"].resources["EMPTY"]
    assert resource.download_dir(tmp_path / "out", verbose=False) == tmp_path / "out"
    assert list((tmp_path / "out").rglob("*")) == []


@pytest.mark.parametrize("kind", ["random", "text"])
def test_upload_dir_then_download_dir(
    server: LocalXNAT, session: XNATSession, seeded: Seeded, tmp_path: Path, kind: str
) -> None:
    eid = seeded.sessions["E1"]
    server.seed_resource("scan", _pk(server, eid), "MANY")
    resource = session.experiments[eid].scans["1"].resources["MANY"]
    source = tmp_path / "src"
    files: dict[str, bytes] = {}
    for index in range(60):
        rel = f"d{index % 4}/f{index:03d}.dat"
        data = os.urandom(700 + index) if kind == "random" else b"line %d\n" % index * 90
        (source / rel).parent.mkdir(parents=True, exist_ok=True)
        (source / rel).write_bytes(data)
        files[rel] = data
    resource.upload_dir(source)
    listed = {f.path: f.digest for f in resource.files}
    assert listed == {rel: hashlib.md5(d).hexdigest() for rel, d in files.items()}
    out = resource.download_dir(tmp_path / "out", verbose=False, flatten_dirs=True)
    got = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert got == files
    # overwrite=False: the same bytes again are no conflict; a file changed here is kept
    resource.download_dir(tmp_path / "out", verbose=False, flatten_dirs=True, overwrite=False)
    (out / "d0/f000.dat").write_bytes(b"changed here")
    with pytest.raises(XNATFileExistsError, match=r"f000\.dat exists and is not the server's"):
        resource.download_dir(tmp_path / "out", verbose=False, flatten_dirs=True, overwrite=False)
    assert (out / "d0/f000.dat").read_bytes() == b"changed here"
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".xnat-sdk-")]


def test_download_dir_merges_into_existing_folders(
    server: LocalXNAT, session: XNATSession, seeded: Seeded, tmp_path: Path
) -> None:
    eid = seeded.sessions["E1"]
    rid = server.seed_resource("scan", _pk(server, eid), "MERGE")
    server.seed_file(rid, "a/one.dat", b"one")
    server.seed_file(rid, "b/two.dat", b"two")
    resource = session.experiments[eid].scans["1"].resources["MERGE"]
    out = tmp_path / "out"
    (out / "a").mkdir(parents=True)
    (out / "a" / "mine.txt").write_bytes(b"kept")
    resource.download_dir(out, verbose=False, flatten_dirs=True)
    got = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert got == {"a/mine.txt": b"kept", "a/one.dat": b"one", "b/two.dat": b"two"}
    (out / "b" / "two.dat").write_bytes(b"local edit")
    resource.download_dir(out, verbose=False, flatten_dirs=True)  # overwrite=True by default
    assert (out / "b" / "two.dat").read_bytes() == b"two"
    assert sorted(p.name for p in out.iterdir()) == ["a", "b"]  # no staging folder left
