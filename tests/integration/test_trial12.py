"""A demanding user's trial of the archive-scale features (``load_tree``, ``map`` on threads,
processes and Dask, ``download_files``): the defects it found, each over HTTP."""

from __future__ import annotations

import logging
import pickle
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

import xnat_sdk
from xnat_sdk import progress
from xnat_sdk.errors import (
    XNATCaseCollisionError,
    XNATFileExistsError,
    XNATForbiddenError,
    XNATNotPicklableError,
)
from xnat_sdk.mapping import MappedFunctionFailed, create_filter_funcs
from xnat_sdk.models import ImageScanData
from xnat_sdk.session import XNATSession
from xnat_sdk.testing.local import LocalXNAT

if TYPE_CHECKING:
    from conftest import Seeded

# -- a site walk by a user who is not a member of a protected project ------------------------


@pytest.fixture(scope="module")
def protected(server: LocalXNAT) -> tuple[str, str]:
    """A project of the user ``user`` (two subjects with a session of one scan) and a
    protected project they are not a member of: XNAT lists it to every user, and answers
    403 to a listing of its data. The protected project shares its first subject and that
    subject's session into the user's project, and its second session without its subject.
    """
    mine, other = "T12_MINE", "T12_PROT"
    server.seed_project(mine)
    server.seed_bulk(mine, 2, scans_per_session=1, files_per_scan=1)
    server.add_member(mine, "user")
    server.seed_project(other, accessibility="protected")
    server.seed_bulk(other, 2, scans_per_session=1, files_per_scan=1)
    with xnat_sdk.connect(server.url, user="admin", password="admin") as admin:
        subjects = admin.projects[other].subjects
        subjects["SUBJ_00001"].share(mine, label="SHARED_S")
        subjects["SUBJ_00001"].experiments["SUBJ_00001_MR1"].share(mine, label="SHARED_E")
        subjects["SUBJ_00002"].experiments["SUBJ_00002_MR1"].share(mine, label="SHARED_E2")
    return mine, other


@pytest.fixture
def member(server: LocalXNAT) -> Iterator[XNATSession]:
    with xnat_sdk.connect(server.url, user="user", password="user") as session:
        yield session


@pytest.mark.parametrize("level", ["subject", "experiment", "scan", "project_resource"])
@pytest.mark.parametrize("threads", [None, 4])
def test_a_site_walk_leaves_out_a_protected_project_the_user_cannot_read(
    protected: tuple[str, str], member: XNATSession, level: str, threads: int | None
) -> None:
    """XNAT lists a protected project to every user but refuses (403) to list its
    subjects, experiments or resources to a non-member: ``session.map`` over what the user
    can see ended with ``XNATForbiddenError`` on the first such project of the site."""
    mine, other = protected
    assert other in member.projects  # listed to the user
    both = create_filter_funcs(project=lambda p: p.id in (mine, other))
    walked = [o.uri for o in member.mapping_iter(level, both, max_workers=threads)]
    assert not [uri for uri in walked if f"/{other}/" in uri]
    # the shared subject, and the shared sessions (one without its subject) with their scans:
    # seen through the user's project, as the protected primary project shows nothing
    expected = {"subject": 3, "experiment": 4, "scan": 4, "project_resource": 0}[level]
    assert len(walked) == expected, walked  # (a scan of the session shared without its
    # subject is bound to /data/experiments/{ID}/scans/..., where XNAT serves it)
    results = member.map(lambda o: o.uri, level, filter_function=both, max_workers=threads)
    assert list(results.values()) == walked
    assert all(f"/{mine}/" in key for key in results)
    # a walk of the project itself still says why it sees nothing
    with pytest.raises(XNATForbiddenError):
        list(member.projects[other].mapping_iter(level))


# -- map's progress where it draws no bar ----------------------------------------------------


def test_a_verbose_map_logs_its_progress_where_it_draws_no_bar(
    seeded: Seeded, session: XNATSession, caplog: pytest.LogCaptureFixture, monkeypatch: Any
) -> None:
    """``verbose=True`` drew a bar on a terminal and said nothing elsewhere (a batch job's
    log, where a run of hours goes), while bulk downloads log their progress there."""
    monkeypatch.setattr(progress, "PROGRESS_LOG_SECONDS", 0.0)

    def scan_type(scan: ImageScanData) -> str:
        if scan.type == "FLAIR":
            raise ValueError("no FLAIR")
        return str(scan.type)

    project = session.projects[seeded.project]
    with caplog.at_level(logging.INFO, logger="xnat_sdk"):
        results = project.map(scan_type, "scan", verbose=True, max_workers=2)
    assert len(results) == 4
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("map: ")]
    assert lines[0] == "map: 4 calls to make"
    assert lines[-1].startswith("map: 4 of 4 calls done, 1 failed,")
    assert lines[-1].endswith("(finished)")
    assert len(lines) == 6  # the start, one per call (every 0 s), the end
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="xnat_sdk"):
        project.map(scan_type, "scan")  # not verbose: nothing
    assert not [r for r in caplog.records if r.getMessage().startswith("map: ")]


# -- a map log of NumPy results ----------------------------------------------------------------


def test_a_logged_map_keeps_numpy_results(
    seeded: Seeded, session: XNATSession, tmp_path: Path
) -> None:
    """Image statistics come as NumPy numbers (``numpy.int64``, which ``json`` refuses): with
    a ``logfile`` the first such result ended the whole run ("the results must be JSON
    data"), the calls under way abandoned."""
    calls: list[str] = []

    def stats(scan: ImageScanData) -> Any:
        calls.append(scan.uri)
        voxels = np.arange(4, dtype=np.int64) * int(scan.id or 0)
        return {"sum": voxels.sum(), "mean": np.float32(voxels.mean()), "voxels": voxels}

    project = session.projects[seeded.project]
    log = tmp_path / "stats.json"
    first = project.map(stats, "scan", logfile=log)
    assert len(first) == 4 and len(calls) == 4
    assert not [r for r in first.values() if isinstance(r, MappedFunctionFailed)]
    calls.clear()
    again = project.map(stats, "scan", logfile=log)  # from the log: no call
    assert not calls
    e1_scan_3 = next(uri for uri in again if uri.endswith("/scans/3"))
    assert again[e1_scan_3] == {"sum": 18, "mean": 4.5, "voxels": [0, 3, 6, 9]}
    assert list(again) == list(first)


# -- batch_download of one label in two projects -----------------------------------------------


def test_batch_download_refuses_two_sessions_of_one_label_before_downloading(
    server: LocalXNAT, session: XNATSession, tmp_path: Path
) -> None:
    """``batch_download`` unpacks each object into the folder of its session's label: the
    T1 scans of session ``MR1`` of two projects went into one ``MR1`` folder, the second's
    files over the first's, with no error."""
    for n, label in ((1, "MR1"), (2, "MR1"), (3, "mr1")):
        project = f"T12_BD{n}"
        server.seed_project(project, name=f"T12 batch {n}")
        server.seed_subject(project, "S")
        experiment = server.seed_session(project, "S", label)
        pk = server.seed_scan(experiment, "1", type="T1")
        server.seed_file(server.seed_resource("scan", pk, "DICOM"), "1.dcm", f"{n}".encode())
    target = tmp_path / "out"
    for projects, error in (
        ("T12 batch [12]", XNATFileExistsError),
        ("T12 batch [13]", XNATCaseCollisionError),  # one folder on macOS and Windows
    ):
        with pytest.raises(XNATFileExistsError) as raised:
            session.batch_download(target, project=projects, scan="T1")
        assert type(raised.value) is error
        assert "T12_BD1/" in str(raised.value) and not target.exists()  # nothing downloaded
    session.batch_download(target, project="T12 batch 2", scan="T1")  # one project: as before
    files = [p for p in target.rglob("*") if p.is_file()]
    assert [(p.relative_to(target).parts[0], p.read_bytes()) for p in files] == [("MR1", b"2")]


# -- the session's requests session does not travel ---------------------------------------------


def test_the_sessions_interface_does_not_travel_with_its_cookie(
    seeded: Seeded, session: XNATSession
) -> None:
    """``session.interface`` (xnatpy's name for the ``requests.Session``) pickled with the
    live ``JSESSIONID``: passed in a map's arguments it reached the worker processes, which
    could use the server session (a session itself refuses to travel)."""
    cookie = session.interface.cookies.get("JSESSIONID")
    assert cookie
    with pytest.raises(XNATNotPicklableError, match="cookie"):
        pickle.dumps(session.interface)
    with ProcessPoolExecutor(1) as pool, pytest.raises(XNATNotPicklableError):
        session.projects[seeded.project].map(
            _second, "subject", args=(session.interface,), executor=pool
        )
    assert session.interface.get(f"{session.server}/data/projects/{seeded.project}").ok


def _second(subject: Any, interface: Any) -> str:
    return str(interface.cookies.get("JSESSIONID"))
