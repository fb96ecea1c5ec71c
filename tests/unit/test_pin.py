"""The schema pin: verified extraction from a local archive (no network)."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest
from xnat_sdk_codegen.pin import Pin, PinError, extract, is_materialised, sha256_of

MEMBER = "pkg-1.0/data/a.xsd"
CONTENT = b"<xs:schema xmlns:xs='http://www.w3.org/2001/XMLSchema'/>\n"


def _archive(path: Path, content: bytes = CONTENT) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo(MEMBER)
        info.size = len(content)
        tar.addfile(info, io.BytesIO(content))
    return path


def _pin(tmp_path: Path, archive: Path, member_sha: str | None = None) -> Pin:
    raw = {
        "source": {
            "requirement": "pkg==1.0",
            "filename": archive.name,
            "sha256": sha256_of(archive.read_bytes()),
        },
        "files": [
            {"member": MEMBER, "path": "x/a.xsd", "sha256": member_sha or sha256_of(CONTENT)}
        ],
    }
    pin_path = tmp_path / "pin.json"
    pin_path.write_text(json.dumps(raw), encoding="utf-8")
    return Pin.load(pin_path)


def test_extract_writes_verified_members(tmp_path: Path) -> None:
    archive = _archive(tmp_path / "pkg-1.0.tar.gz")
    pin = _pin(tmp_path, archive)
    out = tmp_path / "schemas"
    written = extract(pin, archive, out)
    assert written == [out / "x" / "a.xsd"]
    assert (out / "x" / "a.xsd").read_bytes() == CONTENT
    assert is_materialised(pin, out)


def test_tampered_archive_is_refused(tmp_path: Path) -> None:
    archive = _archive(tmp_path / "pkg-1.0.tar.gz")
    pin = _pin(tmp_path, archive)
    _archive(archive, b"<evil/>\n")  # same name, other bytes
    out = tmp_path / "schemas"
    with pytest.raises(PinError, match=r"sha256 mismatch for pkg-1\.0\.tar\.gz"):
        extract(pin, archive, out)
    assert not out.exists()


def test_member_hash_mismatch_is_refused(tmp_path: Path) -> None:
    archive = _archive(tmp_path / "pkg-1.0.tar.gz")
    pin = _pin(tmp_path, archive, member_sha="0" * 64)
    out = tmp_path / "schemas"
    with pytest.raises(PinError, match=f"sha256 mismatch for {MEMBER}"):
        extract(pin, archive, out)
    assert not out.exists()
    assert not is_materialised(pin, out)


def test_missing_member_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "pkg-1.0.tar.gz"
    with tarfile.open(archive, "w:gz"):
        pass
    pin = _pin(tmp_path, archive)
    with pytest.raises(PinError, match="has no member"):
        extract(pin, archive, tmp_path / "schemas")


def test_malformed_pin_is_a_pin_error(tmp_path: Path) -> None:
    bad = tmp_path / "pin.json"
    bad.write_text('{"source": {}}', encoding="utf-8")
    with pytest.raises(PinError, match="cannot read schema pin"):
        Pin.load(bad)


def test_repository_pin_loads() -> None:
    pin = Pin.load(Path(__file__).resolve().parents[2] / "schemas" / "pin.json")
    assert {f.path for f in pin.files} == {"xnat/xnat.xsd", "xdat/xdat.xsd"}
    assert all(len(f.sha256) == 64 for f in pin.files)
