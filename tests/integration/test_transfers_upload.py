"""Uploads: every source kind, every upload_dir method, remote overwrite refusals, retries
only for rewindable bodies, create_resource(data_dir=...), odd remote names."""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from xnat_sdk.errors import XNATFileExistsError, XNATServerError, XNATValueError
from xnat_sdk.session import XNATSession
from xnat_sdk.testing.local import LocalXNAT
from xnat_sdk.transfers import UPLOAD_DIR_METHODS

if TYPE_CHECKING:
    from conftest import RequestLog, Seeded

    from xnat_sdk.models import AbstractResource


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def resource(session: XNATSession, seeded: Seeded) -> AbstractResource:
    experiment = session.experiments[seeded.sessions["E1"]]
    return experiment.scans["1"].create_resource("UP", format="MISC")


def _remote(server: LocalXNAT, resource: AbstractResource) -> dict[str, bytes]:
    """What the server stores for the resource (read from its data folder)."""
    from xnat_sdk.testing import objects

    last = resource.uri.rsplit("/", 1)[-1]
    row = server.store.one(
        "SELECT id FROM resources WHERE id=? OR label=? ORDER BY id DESC",
        (int(last) if last.isdigit() else -1, last),
    )
    assert row is not None
    rid = int(row[0])
    base = objects.resource_dir(server.store, rid)
    paths = [r[0] for r in server.store.query("SELECT path FROM files WHERE resource_id=?", (rid,))]
    return {p: (base / p).read_bytes() for p in paths}


def test_upload_sources_round_trip(
    server: LocalXNAT, resource: AbstractResource, tmp_path: Path
) -> None:
    on_disk = tmp_path / "disk.bin"
    on_disk.write_bytes(os.urandom(300_000))
    resource.upload(on_disk)  # a path: the name is the file's
    resource.upload(str(on_disk), "as/str path.bin")
    resource.upload(b"\x00bytes\xff", "b.bin")
    resource.upload_data("text é", "t.txt")
    resource.upload(io.BytesIO(b"from a file object"), "f.bin")
    with open(on_disk, "rb") as handle:
        resource.upload(handle, "handle.bin")
    stored = _remote(server, resource)
    assert _sha(stored["disk.bin"]) == _sha(on_disk.read_bytes())
    assert stored["as/str path.bin"] == on_disk.read_bytes()
    assert stored["b.bin"] == b"\x00bytes\xff"
    assert stored["t.txt"] == "text é".encode()
    assert stored["f.bin"] == b"from a file object"
    assert stored["handle.bin"] == on_disk.read_bytes()
    files = resource.files
    assert files["disk.bin"].digest == hashlib.md5(on_disk.read_bytes()).hexdigest()
    assert resource.file_count == 6
    with pytest.raises(XNATValueError, match="remotepath"):
        resource.upload(b"data")


def test_session_upload(
    server: LocalXNAT, session: XNATSession, resource: AbstractResource
) -> None:
    session.upload(f"{resource.uri}/files/s.bin", b"one")
    session.upload(f"{resource.uri}/files/p.bin", "two", method="post")
    session.upload(f"{resource.uri}/files/g.bin", (c for c in [b"gen", b"erator"]))
    assert _remote(server, resource) == {"s.bin": b"one", "p.bin": b"two", "g.bin": b"generator"}
    with pytest.raises(XNATValueError):
        session.upload(f"{resource.uri}/files/x", b"x", method="patch")
    with pytest.raises(XNATValueError):
        session.upload(f"{resource.uri}/files/x", 12)  # type: ignore[arg-type]


def test_remote_overwrite_refused(server: LocalXNAT, resource: AbstractResource) -> None:
    resource.upload(b"original", "keep/me.txt")
    with pytest.raises(XNATFileExistsError, match=r"keep/me\.txt") as refused:
        resource.upload(b"replacement", "keep/me.txt")
    assert str(refused.value).endswith("kept it (pass overwrite=True to replace it)")
    assert refused.value.with_remedy("--overwrite").endswith("kept it (--overwrite)")
    assert _remote(server, resource)["keep/me.txt"] == b"original"
    resource.upload(b"replacement", "keep/me.txt", overwrite=True)
    assert _remote(server, resource)["keep/me.txt"] == b"replacement"


@pytest.mark.parametrize("method", UPLOAD_DIR_METHODS)
def test_upload_dir_methods(
    server: LocalXNAT, resource: AbstractResource, tmp_path: Path, method: str
) -> None:
    source = tmp_path / "src"
    content = {
        "top.txt": b"top",
        "sub/a.bin": os.urandom(70_000),
        "sub/deeper/b c#.txt": "unicodé".encode(),
        "empty.txt": b"",
        "sub/deeper/empty too.txt": b"",
    }
    for rel, data in content.items():
        (source / rel).parent.mkdir(parents=True, exist_ok=True)
        (source / rel).write_bytes(data)
    (source / "link").symlink_to(source / "top.txt")  # a link inside: followed
    content["link"] = b"top"
    resource.upload_dir(source, method=method)
    stored = _remote(server, resource)
    assert {k: _sha(v) for k, v in stored.items()} == {k: _sha(v) for k, v in content.items()}
    assert resource.file_count == len(content)
    # again without overwrite: the server keeps its copies and we raise
    (source / "top.txt").write_bytes(b"changed")
    with pytest.raises(XNATFileExistsError):
        resource.upload_dir(source, method=method)
    assert _remote(server, resource)["top.txt"] == b"top"
    resource.upload_dir(source, method=method, overwrite=True)
    assert _remote(server, resource)["top.txt"] == b"changed"


def test_upload_dir_bad_input(resource: AbstractResource, tmp_path: Path) -> None:
    with pytest.raises(XNATValueError, match="not a folder"):
        resource.upload_dir(tmp_path / "missing")
    with pytest.raises(XNATValueError, match="unknown upload_dir method"):
        resource.upload_dir(tmp_path, method="zip_magic")


def test_create_resource_with_data_dir(
    server: LocalXNAT, session: XNATSession, seeded: Seeded, tmp_path: Path
) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "x.txt").write_bytes(b"x")
    project = session.projects[seeded.project]
    subject = project.subjects["S1"]
    experiment = session.experiments[seeded.sessions["E1"]]
    owners = [project, subject, experiment, experiment.scans["2"]]
    for number, owner in enumerate(owners):
        created = owner.create_resource(f"DD{number}", data_dir=tmp_path / "d", method="per_file")
        assert [f.path for f in created.files] == ["x.txt"]
        assert _remote(server, created) == {"x.txt": b"x"}
        assert f"DD{number}" in owner.resources


def test_retries_rewindable_only(
    server: LocalXNAT, session: XNATSession, resource: AbstractResource, log: RequestLog
) -> None:
    uri = f"{resource.uri}/files/r.bin"
    server.faults.fail_next(1, status=500, prefix="/data/")
    log.clear()
    session.upload(uri, b"rewindable", retries=2)
    assert _remote(server, resource)["r.bin"] == b"rewindable"
    assert [status for _, _, status in log.requests] == [500, 200]

    def chunks() -> Iterator[bytes]:
        yield b"generator "
        yield b"body"

    server.faults.fail_next(1, status=500, prefix="/data/")
    log.clear()
    with pytest.raises(XNATServerError):
        session.upload(f"{resource.uri}/files/g.bin", chunks(), retries=3)
    assert len(log) == 1, "a generator body is never sent twice"
    assert "g.bin" not in _remote(server, resource)


def test_upload_progress_callback(session: XNATSession, resource: AbstractResource) -> None:
    data = os.urandom(200_000)
    seen: list[tuple[int, int | None, bool]] = []
    session.upload(
        f"{resource.uri}/files/p.bin", data, update_func=lambda d, t, f: seen.append((d, t, f))
    )
    assert seen[-1] == (len(data), len(data), True)
    assert any(not finished for _, _, finished in seen)


def test_assessor_resources(session: XNATSession, seeded: Seeded, tmp_path: Path) -> None:
    from xnat_sdk.models import QcAssessmentData

    experiment = session.experiments[seeded.sessions["E1"]]
    assessor = experiment.create_assessor("QC1", QcAssessmentData)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "report.txt").write_bytes(b"report")
    created = assessor.create_resource("REPORT", data_dir=tmp_path / "out")
    assert [f.path for f in created.files] == ["report.txt"]
    folder = created.download_dir(tmp_path / "back", verbose=False)
    assert (folder / "report.txt").read_bytes() == b"report"


def test_overall_progress_bar_for_many_files(
    resource: AbstractResource, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class FakeTTY(io.StringIO):
        def isatty(self) -> bool:
            return True

    source = tmp_path / "many"
    for index in range(3):
        (source / f"f{index}.bin").parent.mkdir(parents=True, exist_ok=True)
        (source / f"f{index}.bin").write_bytes(os.urandom(2000))
    screen = FakeTTY()
    monkeypatch.setattr("sys.stdout", screen)
    resource.upload_dir(source, method="per_file", verbose=True)
    shown = screen.getvalue()
    assert "upload many" in shown, shown[-400:]
    assert all(f"f{index}.bin" in shown for index in range(3))
    quiet = FakeTTY()
    monkeypatch.setattr("sys.stdout", quiet)
    resource.upload_dir(source, method="tgz_memory", overwrite=True)
    assert quiet.getvalue() == ""


def test_resource_upload_str_is_a_path(resource: AbstractResource, tmp_path: Path) -> None:
    with pytest.raises(XNATValueError, match="not an existing file"):
        resource.upload(str(tmp_path / "missing.txt"), "x.txt")
    assert len(resource.files) == 0
