"""Bad transfer inputs raise XNATValueError naming the problem, before any request."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from xnat_sdk.errors import XNATValueError
from xnat_sdk.session import XNATSession

if TYPE_CHECKING:
    from conftest import RequestLog, Seeded


@pytest.fixture
def resource(session: XNATSession, seeded: Seeded) -> Any:
    experiment = session.experiments[seeded.sessions["E1"]]
    res = experiment.create_resource("INPUTS")
    res.upload(b"hello", "a.txt")
    return res


@pytest.mark.parametrize(
    "remote", ["/", "/../x.txt", "../x.txt", "a/../b.txt", "a//b.txt", "./a.txt"]
)
def test_upload_refuses_remote_paths_outside_the_resource(
    resource: Any, remote: str, log: RequestLog
) -> None:
    log.clear()
    with pytest.raises(XNATValueError, match="remotepath"):
        resource.upload(b"x", remote)
    assert len(log) == 0, log.paths()
    assert sorted(f.name for f in resource.files.values()) == ["a.txt"]


def test_upload_reads_a_leading_slash_as_relative_to_the_resource(resource: Any) -> None:
    """As xnatpy does: remote paths are inside the resource, so '/x/y.txt' is 'x/y.txt'."""
    resource.upload(b"leading", "/sub/y.txt")
    resource.upload_data(b"leading2", "//z.txt")
    resource.clearcache()
    assert resource.files["sub/y.txt"].open().read() == b"leading"
    assert resource.files["z.txt"].open().read() == b"leading2"
    assert sorted(f.path for f in resource.files.values()) == ["a.txt", "sub/y.txt", "z.txt"]


def test_download_needs_a_path(resource: Any, log: RequestLog) -> None:
    remote = resource.files["a.txt"]
    log.clear()
    with pytest.raises(XNATValueError, match="target must be a path"):
        remote.download(None)
    assert len(log) == 0


def test_download_dir_refuses_an_existing_file_as_folder(
    resource: Any, tmp_path: Path, log: RequestLog
) -> None:
    blocker = tmp_path / "not_a_folder"
    blocker.write_bytes(b"keep me")
    log.clear()
    with pytest.raises(XNATValueError, match="not a folder"):
        resource.download_dir(blocker)
    assert len(log) == 0
    assert blocker.read_bytes() == b"keep me"
