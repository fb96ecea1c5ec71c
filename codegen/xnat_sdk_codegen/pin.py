"""Materialise the pinned XNAT schemas: download the pinned archive, verify, extract.

The pin (``schemas/pin.json``) names one source archive and the members taken from it, each
with its sha256. Every hash is checked; a mismatch stops with :class:`PinError` and writes
nothing into the schema folder.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path


class PinError(Exception):
    """The pin file is malformed, or a download or hash does not match it."""


@dataclass(frozen=True)
class PinnedFile:
    """One schema file: where it lives in the archive, where it goes, its sha256."""

    member: str
    path: str
    sha256: str


@dataclass(frozen=True)
class Pin:
    """The whole pin: the source archive and the files taken from it."""

    requirement: str
    filename: str
    sha256: str
    files: tuple[PinnedFile, ...]

    @classmethod
    def load(cls, pin_path: Path) -> Pin:
        """Read and check a pin file."""
        try:
            raw = json.loads(pin_path.read_text(encoding="utf-8"))
            source = raw["source"]
            files = tuple(
                PinnedFile(member=f["member"], path=f["path"], sha256=f["sha256"])
                for f in raw["files"]
            )
            return cls(
                requirement=source["requirement"],
                filename=source["filename"],
                sha256=source["sha256"],
                files=files,
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise PinError(f"cannot read schema pin {pin_path}: {exc!r}") from exc


def sha256_of(data: bytes) -> str:
    """Hex sha256 of *data*."""
    return hashlib.sha256(data).hexdigest()


def _check(what: str, data: bytes, expected: str) -> None:
    actual = sha256_of(data)
    if actual != expected:
        raise PinError(
            f"sha256 mismatch for {what}: expected {expected}, got {actual}. "
            "The pinned schema source changed or the download is corrupt; refusing to continue."
        )


def is_materialised(pin: Pin, schema_dir: Path) -> bool:
    """True when every pinned file is present in *schema_dir* with the right hash."""
    for f in pin.files:
        target = schema_dir / f.path
        if not target.is_file() or sha256_of(target.read_bytes()) != f.sha256:
            return False
    return True


def download_archive(pin: Pin, cache_dir: Path) -> Path:
    """Fetch the pinned sdist with pip into *cache_dir* (reused when already valid)."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    archive = cache_dir / pin.filename
    if archive.is_file() and sha256_of(archive.read_bytes()) == pin.sha256:
        return archive
    cmd = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
        "-d", str(cache_dir), pin.requirement,
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0 or not archive.is_file():
        raise PinError(
            f"could not download {pin.requirement} ({' '.join(cmd)}):\n{proc.stderr[-2000:]}"
        )
    return archive


def extract(pin: Pin, archive: Path, schema_dir: Path) -> list[Path]:
    """Verify *archive* and every member, then write the members into *schema_dir*."""
    _check(pin.filename, archive.read_bytes(), pin.sha256)
    contents: dict[str, bytes] = {}
    with tarfile.open(archive, "r:gz") as tar:
        for f in pin.files:
            try:
                member = tar.extractfile(f.member)
            except KeyError:
                member = None
            if member is None:
                raise PinError(f"{pin.filename} has no member {f.member}")
            data = member.read()
            _check(f.member, data, f.sha256)
            contents[f.path] = data
    written = []
    for rel, data in contents.items():
        target = schema_dir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as tmp:
            tmp.write(data)
        Path(tmp.name).replace(target)
        written.append(target)
    return written


def materialise(pin_path: Path, schema_dir: Path, cache_dir: Path) -> list[Path]:
    """Make *schema_dir* hold exactly the verified pinned files; returns their paths."""
    pin = Pin.load(pin_path)
    if is_materialised(pin, schema_dir):
        return [schema_dir / f.path for f in pin.files]
    archive = download_archive(pin, cache_dir)
    return extract(pin, archive, schema_dir)


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m xnat_sdk_codegen.pin [--pin F] [--dir D]``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pin", type=Path, default=Path("schemas/pin.json"))
    parser.add_argument("--dir", type=Path, default=Path("schemas"))
    parser.add_argument("--cache", type=Path, default=None)
    args = parser.parse_args(argv)
    cache = args.cache or args.dir / ".download"
    try:
        paths = materialise(args.pin, args.dir, cache)
    except PinError as exc:
        print(f"make schemas: {exc}", file=sys.stderr)
        return 1
    for p in paths:
        print(f"verified {p}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
