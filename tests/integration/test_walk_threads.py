"""``mapping_iter`` with ``max_workers`` or a thread pool: a level's listings side by side, in
the serial walk's order (issue 16: a resource level lists every object's resources, one
request each)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

import pytest

import xnat_sdk
from xnat_sdk.errors import XNATServerError, XNATValidationError
from xnat_sdk.mapping import create_filter_funcs
from xnat_sdk.session import XNATSession
from xnat_sdk.testing.local import LocalXNAT

PROJECT = "WALKT"
LEVELS = (
    "project",
    "subject",
    "experiment",
    "scan",
    "project_resource",
    "subject_resource",
    "experiment_resource",
    "scan_resource",
)


@pytest.fixture(scope="module")
def walked(server: LocalXNAT) -> str:
    server.seed_project(PROJECT, name="threaded walk")
    server.seed_bulk(PROJECT, 3, sessions_per_subject=2, scans_per_session=2, files_per_scan=1)
    return PROJECT


@pytest.fixture
def admin(server: LocalXNAT, walked: str) -> Iterator[XNATSession]:
    with xnat_sdk.connect(server.url, user="admin", password="admin") as session:
        yield session


def _uris(items: Iterator[Any]) -> list[str]:
    return [item.uri for item in items]


@pytest.mark.parametrize("level", LEVELS)
def test_a_threaded_walk_gives_the_serial_walk(admin: XNATSession, level: str) -> None:
    project = admin.projects[PROJECT]
    serial = _uris(project.mapping_iter(level))
    assert _uris(project.mapping_iter(level, max_workers=4)) == serial
    with ThreadPoolExecutor(3) as pool:
        assert _uris(project.mapping_iter(level, executor=pool)) == serial
    site = _uris(admin.mapping_iter(level, max_workers=4))
    assert site == _uris(admin.mapping_iter(level))
    assert [uri for uri in site if f"/projects/{PROJECT}" in uri] == serial


def test_filters_prune_a_threaded_walk(admin: XNATSession) -> None:
    filters = create_filter_funcs(scan="T1")
    serial = _uris(admin.projects[PROJECT].mapping_iter("scan_resource", filters))
    threaded = _uris(admin.projects[PROJECT].mapping_iter("scan_resource", filters, max_workers=4))
    assert threaded == serial
    assert 0 < len(serial) < len(_uris(admin.projects[PROJECT].mapping_iter("scan_resource")))


def test_a_threaded_walk_lists_a_levels_objects_side_by_side(
    server: LocalXNAT, admin: XNATSession
) -> None:
    project = admin.projects[PROJECT]
    scans = list(project.mapping_iter("scan"))
    expected = _uris(project.mapping_iter("scan_resource"))
    first = scans[0].uri.removeprefix(server.url)
    admin.clearcache()  # the walks above left every listing in the cache: list them again
    server.faults.start_recording()
    # the first scan's resource listing does not answer until released: a serial walk
    # would send nothing more meanwhile
    server.faults.hang_next(prefix=f"{first}/resources", seconds=30)
    found: list[str] = []
    walker = threading.Thread(
        target=lambda: found.extend(_uris(project.mapping_iter("scan_resource", max_workers=4)))
    )
    walker.start()
    deadline = time.monotonic() + 20
    listed: set[str] = set()
    while time.monotonic() < deadline and len(listed) < 4:
        listed = {r.path for r in server.faults.recorded() if r.path.endswith("/resources")}
        time.sleep(0.02)
    server.faults.clear()  # releases the hanging listing
    walker.join(30)
    assert len(listed) >= 4  # the first and three others asked for at once
    assert found == expected  # and the walk's order kept


def test_a_walk_refuses_what_cannot_list_here(server: LocalXNAT, admin: XNATSession) -> None:
    project = admin.projects[PROJECT]
    server.faults.start_recording()
    with ProcessPoolExecutor(1) as pool, pytest.raises(XNATValidationError, match="map"):
        project.mapping_iter("scan", executor=pool)  # type: ignore[arg-type]
    for bad in (0, -2, True):
        with pytest.raises(XNATValidationError, match="max_workers"):
            project.mapping_iter("scan", max_workers=bad)
    with pytest.raises(XNATValidationError, match="level"):
        admin.mapping_iter("series", max_workers=2)
    assert server.faults.recorded() == []  # refused before anything was sent


def test_map_walks_a_resource_level_on_its_threads(admin: XNATSession) -> None:
    project = admin.projects[PROJECT]
    expected = _uris(project.mapping_iter("scan_resource"))
    results = project.map(lambda resource: resource.label, "scan_resource", max_workers=3)
    assert list(results) == expected
    assert set(results.values()) == {"DICOM"}


def test_a_failed_listing_stops_a_threaded_walk_with_its_error(
    server: LocalXNAT, admin: XNATSession
) -> None:
    project = admin.projects[PROJECT]
    scans = list(project.mapping_iter("scan"))
    second = scans[1].uri.removeprefix(server.url)
    server.faults.fail_next(count=20, status=500, prefix=f"{second}/resources")
    with pytest.raises(XNATServerError):
        list(project.mapping_iter("scan_resource", max_workers=4))
    server.faults.clear()
    assert len(list(project.mapping_iter("scan_resource", max_workers=4))) == len(scans)


def test_a_walk_lists_again_what_the_server_failed_once(
    server: LocalXNAT, admin: XNATSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One 500 on one listing ended a whole map run (hours of work, on a big archive):
    the walk asks that listing once more; a second failure in a row still raises."""
    from xnat_sdk import mapping
    from xnat_sdk.errors import XNATServerError

    monkeypatch.setattr(mapping, "_RELIST_AFTER", 0.01)
    subject = next(iter(admin.projects[PROJECT].subjects.values()))
    experiment = next(iter(subject.experiments.values()))
    expected = experiment.map(lambda s: s.type, "scan")
    for max_workers in (None, 4):
        admin.clearcache()
        server.faults.fail_next(1, status=500, prefix=experiment.uri)
        assert experiment.map(lambda s: s.type, "scan", max_workers=max_workers) == expected
    admin.clearcache()
    server.faults.fail_next(2, status=500, prefix=experiment.uri)
    with pytest.raises(XNATServerError):
        experiment.map(lambda s: s.type, "scan")
