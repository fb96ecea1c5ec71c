"""xnatpy's API on xnat_sdk, beyond the happy paths the porting scripts walk: creation by
constructor (validated first), the query spelling, map/search, listings as sequences, access
management, REST/transfer helpers, import options, the mounted archive. Every outcome is
checked on the server (plain requests) or on disk."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import date
from pathlib import Path

import pytest
import requests

from tests.integration.conftest import RequestLog, Seeded
from xnat_sdk.errors import (
    XNATConflictError,
    XNATIntegrityError,
    XNATKeyError,
    XNATLocalFileError,
    XNATMapError,
    XNATNotConnectedError,
    XNATValidationError,
    XNATValueError,
)
from xnat_sdk.mapping import MappedFunctionFailed, MappingLevel, create_filter_funcs
from xnat_sdk.models import MrScanData, MrSessionData, SubjectData
from xnat_sdk.search import and_, col, or_
from xnat_sdk.session import XNATSession
from xnat_sdk.testing.dicomgen import make_dicom_zip
from xnat_sdk.testing.local import LocalXNAT


def _rows(server: LocalXNAT, path: str) -> list[dict[str, str]]:
    resp = requests.get(
        server.url + path, params={"format": "json"}, auth=("admin", "admin"), timeout=30
    )
    assert resp.status_code == 200, resp.text[:200]
    rows: list[dict[str, str]] = resp.json()["ResultSet"]["Result"]
    return rows


# -- session.classes and parent= -------------------------------------------------------------


def test_classes_are_the_models_and_parent_creates_on_the_server(
    session: XNATSession, seeded: Seeded, server: LocalXNAT
) -> None:
    assert session.classes.MrSessionData is MrSessionData
    subject = session.projects[seeded.project].subjects["S1"]
    made = session.classes.MrSessionData(parent=subject, label="E9", note="ported")
    assert isinstance(made, MrSessionData) and made.uri.endswith(made.id)
    rows = _rows(server, f"/data/projects/{seeded.project}/subjects/S1/experiments")
    assert {r["label"]: r["xsiType"] for r in rows}["E9"] == "xnat:mrSessionData"
    scan = MrScanData(parent=made, id="7", type="DWI")  # the class itself works the same
    assert [r["type"] for r in _rows(server, f"{made.uri}/scans")] == ["DWI"]
    assert scan.type == "DWI"
    listing_made = SubjectData(parent=session.projects[seeded.project].subjects, label="S9")
    assert listing_made.label == "S9"
    with pytest.raises(AttributeError, match="no model class 'MrSesionData'"):
        session.classes.MrSesionData  # noqa: B018


def test_constructor_creation_is_validated_before_anything_is_sent(
    session: XNATSession, seeded: Seeded, log: RequestLog, server: LocalXNAT
) -> None:
    subject = session.projects[seeded.project].subjects["S1"]
    log.clear()
    with pytest.raises(XNATValidationError, match="frames"):
        session.classes.MrScanData(parent=subject.experiments["E1"], id="9", frames="x")  # type: ignore[arg-type]
    with pytest.raises(XNATValidationError, match="label"):
        session.classes.MrSessionData(parent=subject, label="bad label")
    with pytest.raises(XNATValidationError, match="in a subject"):
        session.classes.MrSessionData(parent=session.projects[seeded.project], label="E5")
    with pytest.raises(XNATValidationError, match="not the session"):
        session.classes.SubjectData(parent=session, label="S5")
    assert [p for p in log.paths() if not p.startswith("GET")] == []
    with pytest.raises(XNATConflictError, match="already exists") as info:
        session.classes.MrSessionData(parent=subject, label="E1")
    import xnat_sdk as xnat

    assert isinstance(info.value, xnat.exceptions.XNATObjectAlreadyExistsError)  # xnatpy's name
    labels = [r["label"] for r in _rows(server, f"/data/projects/{seeded.project}/experiments")]
    assert sorted(labels) == ["E1", "E2"]


# -- the query spelling ----------------------------------------------------------------------


def test_class_query_spelling_runs_the_same_search(session: XNATSession, seeded: Seeded) -> None:
    mr = session.classes.MrSessionData
    query = mr.query().filter(mr.project == seeded.project)
    assert sorted(e.label for e in query.all()) == ["E1", "E2"]
    assert (
        mr.query().filter(and_(mr.project == seeded.project, mr.label == "E2")).one().label == "E2"
    )
    either = or_(mr.label == "E1", mr.label == "E2")
    assert len(mr.query().filter(mr.project == seeded.project, either).all()) == 2
    assert mr.query().filter(mr.label == "NOPE_NONE").one_or_none() is None
    assert mr.query().filter(mr.label == "NOPE_NONE").first() is None
    with pytest.raises(XNATValueError, match="exactly one"):
        query.one()
    with pytest.raises(XNATValueError, match="one result or none"):
        query.one_or_none()
    assert "E1" in query.tabulate_csv() and "E1" in query.tabulate_json()
    with pytest.raises(XNATValidationError, match="expected a condition"):
        mr.query().filter(True)


def test_custom_variables_are_searchable(session: XNATSession, seeded: Seeded) -> None:
    experiment = session.projects[seeded.project].subjects["S1"].experiments["E1"]
    experiment.fields["weight"] = "70"
    typed = session.query(MrSessionData).where(
        lambda s: (col(s.fields["weight"]) == "70") & (col(s.project) == seeded.project)
    )
    assert [e.label for e in typed.objects()] == ["E1"]
    mr = session.classes.MrSessionData
    found = mr.query().filter(mr.custom_variables["WEIGHT"] == "70", mr.project == seeded.project)
    assert [e.label for e in found.all()] == ["E1"]
    assert experiment.custom_variables["weight"] == "70"


def test_class_query_needs_a_connected_session(server: LocalXNAT) -> None:
    import xnat_sdk

    with xnat_sdk.connect(server.url, user="admin", password="admin") as other:
        other.classes  # noqa: B018  (the session Cls.query() uses)
    with pytest.raises(XNATNotConnectedError, match="session="):
        MrSessionData.query()


# -- map, mapping_iter, search, batch_download ------------------------------------------------


def test_map_collects_results_and_failures(
    session: XNATSession, seeded: Seeded, tmp_path: Path
) -> None:
    project = session.projects[seeded.project]

    def scan_type(scan: MrScanData) -> str:
        if scan.type == "FLAIR":
            raise RuntimeError("no FLAIR today")
        return str(scan.type)

    log = tmp_path / "map.json"
    results = project.map(scan_type, level=MappingLevel.SCAN, logfile=log)
    values = sorted(v for v in results.values() if isinstance(v, str))
    assert values == ["T1", "T1", "T2"]
    failed = [v for v in results.values() if isinstance(v, MappedFunctionFailed)]
    assert failed == [MappedFunctionFailed("no FLAIR today")]
    state = json.loads(log.read_text())
    assert sum(1 for e in state.values() if e["success"]) == 3
    calls: list[str] = []
    again = project.map(lambda s: calls.append(s.type) or s.type, level="scan", logfile=log)
    assert calls == ["FLAIR"] and len(again) == 4  # the three done before are skipped
    assert [p.name for p in tmp_path.iterdir()] == ["map.json"]  # no temporary left
    # a run stopped by its first failure still leaves what it did in the log
    stopped = tmp_path / "stopped.json"
    with pytest.raises(XNATMapError):
        project.map(scan_type, level="scan", logfile=stopped, stop_on_error=True, max_workers=1)
    outcomes = [e["success"] for e in json.loads(stopped.read_text()).values()]
    # T1, T2, then FLAIR stopped the run; a call that finished meanwhile is kept too
    assert outcomes[:3] == [True, True, False] and all(outcomes[3:])
    # a result the log cannot keep stops the run at once: the calls not started never run
    started: list[str] = []

    def not_json(scan: MrScanData) -> object:
        started.append(scan.uri)
        return object()

    with pytest.raises(XNATValidationError, match="must be JSON"):
        project.map(not_json, level="scan", logfile=tmp_path / "bad.json", max_workers=1)
    assert 1 <= len(started) < 4
    # a date (a typed field's value) is kept in the log as ISO text, given back on a rerun
    dated = tmp_path / "dated.json"
    project.subjects["S1"].experiments["E1"].date = date(2024, 5, 6)
    session.clearcache()
    first_dates = project.map(lambda e: e.date, level="experiment", logfile=dated)
    assert date(2024, 5, 6) in first_dates.values()
    again_dates = project.map(lambda e: e.date, level="experiment", logfile=dated)
    assert "2024-05-06" in again_dates.values() and list(again_dates) == list(first_dates)
    # with a log: the walk's order, its objects only, at its level
    plain = list(project.map(scan_type, level="scan"))
    walk_log = tmp_path / "walk.json"
    first = project.map(scan_type, level="scan", logfile=walk_log)
    resumed = project.map(scan_type, level="scan", logfile=walk_log)
    assert list(first) == list(resumed) == plain  # a failure no longer comes last
    assert [isinstance(v, MappedFunctionFailed) for v in resumed.values()] == [
        isinstance(v, MappedFunctionFailed) for v in first.values()
    ]
    one = create_filter_funcs(scan="T2")
    assert len(project.map(scan_type, level="scan", filter_function=one, logfile=walk_log)) == 1
    visits: list[str] = []
    by_experiment = project.map(
        lambda e: visits.append(e.label) or e.label, level="experiment", logfile=walk_log
    )
    assert sorted(by_experiment.values()) == sorted(visits)  # a scan log skips no experiment
    assert len(visits) == len(project.experiments)
    with pytest.raises(XNATValidationError, match="not a level"):
        session.map(print, level="visit")
    with pytest.raises(XNATValidationError, match="above this"):
        project.subjects["S1"].map(print, level="project")


def test_search_and_batch_download(session: XNATSession, seeded: Seeded, tmp_path: Path) -> None:
    found = session.search(project=f"Project {seeded.project}", scan="T*", level="scan")
    assert sorted(s.type for s in found) == ["T1", "T1", "T2"]
    by_regex = session.search(
        project=lambda p: p.id == seeded.project, subject=r"S[2]", use_regex=True, level="subject"
    )
    assert [s.label for s in by_regex] == ["S2"]
    levels = list(session.projects[seeded.project].mapping_iter("experiment"))
    assert sorted(e.label for e in levels) == ["E1", "E2"]
    resource = session.projects[seeded.project].subjects["S2"].experiments["E2"]
    resource.create_resource("OUT").upload_data("data\n", "out.txt")
    session.batch_download(
        tmp_path, project=f"Project {seeded.project}", resource="OUT", level="experiment_resource"
    )
    assert [p.read_text() for p in tmp_path.rglob("out.txt")] == ["data\n"]


# -- listings and objects --------------------------------------------------------------------


def test_listings_are_sequences_and_mappings(session: XNATSession, seeded: Seeded) -> None:
    from collections.abc import Mapping

    subjects = session.projects[seeded.project].subjects
    assert isinstance(subjects, Mapping)
    assert subjects[0].label == "S1" and [s.label for s in subjects[0:2]] == ["S1", "S2"]
    assert subjects[-1].label == "S2" and subjects.listing[1].label == "S2"
    with pytest.raises(XNATKeyError, match="no index 5"):
        subjects[5]
    assert subjects.non_unique_keys == set()
    other = session.classes.SubjectData(
        parent=session.classes.ProjectData(parent=session, id=f"{seeded.project}_B"), label="S1"
    )
    session.clearcache()
    assert "S1" in session.subjects.non_unique_keys
    assert other.label == "S1"
    rows = subjects.tabulate(["label"], filter={"label": "S2"})
    assert [r.label for r in rows] == ["S2"]


def test_get_reads_fields_and_raw_keys(session: XNATSession, seeded: Seeded) -> None:
    experiment = session.projects[seeded.project].subjects["S1"].experiments["E1"]
    assert experiment.get("label") == "E1"
    assert experiment.get("ID") == seeded.sessions["E1"]
    assert experiment.get("fieldStrength", float) == 3.0
    assert experiment.get("no_such_key") is None
    with pytest.raises(XNATValidationError, match="is no int"):
        experiment.get("label", int)


def test_assessor_by_xsi_type_and_its_download(
    session: XNATSession, seeded: Seeded, tmp_path: Path
) -> None:
    experiment = session.projects[seeded.project].subjects["S1"].experiments["E1"]
    assessor = experiment.create_assessor("QC1", "xnat:qcAssessmentData")
    assert assessor.xsi_type == "xnat:qcAssessmentData"
    assessor.create_resource("R").upload_data("qc\n", "qc.txt")
    zipped = assessor.download(tmp_path / "qc.zip")
    import zipfile

    assert any(n.endswith("qc.txt") for n in zipfile.ZipFile(zipped).namelist())
    with pytest.raises(XNATValidationError, match="no model class"):
        experiment.create_assessor("QC2", "xnat:noSuchType")
    with pytest.raises(XNATValidationError, match="pass_: expects str"):
        experiment.create_assessor("QC3", "xnat:qcManualAssessorData", pass_=3)
    assert sorted(experiment.assessors.keys()) == [assessor.id]


# -- project access --------------------------------------------------------------------------


def test_project_access_management(
    session: XNATSession, seeded: Seeded, server: LocalXNAT, log: RequestLog
) -> None:
    project = session.projects[seeded.project]
    assert project.access_level == "Owners"
    assert session.access_levels[seeded.project] == "Owners"
    project.set_access("user", "collaborator")
    members = {r["login"]: r["displayname"] for r in _rows(server, f"{project.uri}/users")}
    assert members["user"] == "Collaborators"
    assert project.users["user"].access_level == "Collaborators"
    assert project.users["user"].data["GROUP_ID"] == f"{seeded.project}_collaborator"
    log.clear()
    with pytest.raises(XNATValidationError, match="owner, member, collaborator"):
        project.set_access("user", "boss")
    with pytest.raises(XNATValueError, match="no member"):
        project.remove_access("nobody")
    assert [p for p in log.paths() if not p.startswith("GET")] == []
    project.remove_access("user@example.com")  # by email, as xnatpy
    assert "user" not in {r["login"] for r in _rows(server, f"{project.uri}/users")}


# -- REST and transfer helpers ---------------------------------------------------------------


def test_head_takes_xnatpy_positional_arguments(session: XNATSession, seeded: Seeded) -> None:
    response = session.head(f"/data/projects/{seeded.project}", None, False, 5)
    assert response.status_code == 200
    with pytest.raises(XNATValidationError, match="allow_redirects"):
        session.head("/data/projects", None, 30)  # type: ignore[arg-type]


def test_upload_helpers_and_download_generator(
    session: XNATSession, seeded: Seeded, tmp_path: Path
) -> None:
    experiment = session.projects[seeded.project].subjects["S1"].experiments["E1"]
    base = f"{experiment.create_resource('U').uri}/files"
    local = tmp_path / "a.bin"
    local.write_bytes(b"A" * 5000)
    session.upload_file(f"{base}/a.bin", local)
    session.upload_string(f"{base}/b.txt", "text")
    session.upload_stream(f"{base}/c.bin", io.BytesIO(b"stream"))
    seen: list[tuple[int, bool]] = []
    chunks = session.download_generator(
        f"{base}/a.bin",
        chunk_size=1024,
        update_func=lambda done, total, finished: seen.append((done, finished)),
        expected_md5_digest=hashlib.md5(b"A" * 5000).hexdigest(),
    )
    assert b"".join(chunks) == b"A" * 5000 and seen[-1] == (5000, True)
    assert b"".join(session.download_generator(f"{base}/b.txt")) == b"text"
    bad = session.download_generator(f"{base}/c.bin", expected_md5_digest="0" * 32)
    with pytest.raises(XNATIntegrityError, match="does not match"):
        b"".join(bad)
    with pytest.raises(XNATLocalFileError, match=r"missing\.bin"):
        session.upload_file(f"{base}/d.bin", tmp_path / "missing.bin")
    assert sorted(experiment.resources["U"].files.keys()) == ["a.bin", "b.txt", "c.bin"]


def test_import_options_and_prearchive_find(
    session: XNATSession, seeded: Seeded, server: LocalXNAT
) -> None:
    data = make_dicom_zip(patient="P1", series=((1, "T1"),), seed="porting-import")
    with pytest.raises(XNATValidationError, match="exactly one"):
        session.services.import_(b"x", data=data)
    made = session.services.import_(
        data=data, project=seeded.project, subject="S3", experiment="E3", direct_archive=True
    )
    assert isinstance(made, MrSessionData) and made.label == "E3"
    assert "E3" in [
        r["label"] for r in _rows(server, f"/data/projects/{seeded.project}/experiments")
    ]
    pending = session.services.import_(
        data=make_dicom_zip(patient="P2", series=((1, "T1"),), seed="porting-pre"),
        project=seeded.project,
        ignore_unparsable=True,
        timeout=60,
    )
    found = session.prearchive.find(project=seeded.project, session=pending.label)
    assert [f.uri for f in found] == [pending.uri]
    assert found[0].fulldata["status"] == "READY" and found[0].xpath == "xnatpy:prearchiveSession"
    assert session.prearchive.find(project=seeded.project, session="nope") == []
    assert session.services.guess_content_type("a.tar.gz") == "application/x-gzip"


def test_refresh_catalog_reaches_the_server(session: XNATSession, seeded: Seeded) -> None:
    experiment = session.projects[seeded.project].subjects["S1"].experiments["E1"]
    resource = experiment.create_resource("CAT")
    resource.upload_data("x\n", "x.txt")
    resource.refresh_catalog(checksum=True)
    session.services.refresh_catalog(experiment, populate_stats=True)
    assert list(resource.files.keys()) == ["x.txt"]
    with pytest.raises(XNATValidationError, match="REST path"):
        session.services.refresh_catalog("resources/CAT")


def test_mounted_archive_folders(
    session: XNATSession, seeded: Seeded, tmp_path: Path, log: RequestLog
) -> None:
    experiment = session.projects[seeded.project].subjects["S1"].experiments[MrSessionData]["E1"]
    assert experiment.data_dir is None  # nothing mounted
    (tmp_path / seeded.project / "arc001" / "E1" / "SCANS" / "1").mkdir(parents=True)
    session.mount_data_dir = tmp_path
    assert session.mount_data_dir_type.name == "ARCHIVE_DIR"
    session.clearcache()
    assert experiment.project == seeded.project
    log.clear()
    assert experiment.data_dir == tmp_path / seeded.project / "arc001" / "E1"
    assert len(log) == 0, log.paths()  # the folder comes from the session's own project ID
    assert experiment.scans["1"].data_dir == experiment.data_dir / "SCANS" / "1"
    assert experiment.scans["2"].data_dir is None  # expected, but not there
    assert experiment.scans["2"].expected_data_dir == experiment.data_dir / "SCANS" / "2"
    hub = tmp_path / "hub"
    (hub / "projects" / seeded.project / "experiments" / "E1").mkdir(parents=True)
    session.mount_data_dir = hub
    assert experiment.data_dir == hub / "projects" / seeded.project / "experiments" / "E1"
    session.mount_data_dir = tmp_path / "missing"
    assert session.mount_data_dir is None


def test_import_dicom_inbox_is_checked_and_sent(session: XNATSession, log: RequestLog) -> None:
    from xnat_sdk.errors import XNATResponseError

    with pytest.raises(XNATValidationError, match="absolute path"):
        session.services.import_dicom_inbox("inbox/study1")
    with pytest.raises(XNATValidationError, match="cleanup"):
        session.services.import_dicom_inbox("/data/inbox/study1", cleanup="yes")  # type: ignore[arg-type]
    assert len(log) == 0
    # the local server has no inbox importer: its refusal arrives as a typed error, and the
    # request carried XNAT's inbox parameters
    with pytest.raises(XNATResponseError, match="inbox importer is not supported"):
        session.services.import_dicom_inbox("/data/inbox/study1", project="P", experiment="E1")
    sent = log.paths()[-1]
    assert "import-handler=inbox" in sent and "path=/data/inbox/study1" in sent
    assert "PROJECT_ID=P" in sent and "EXPT_LABEL=E1" in sent


def test_default_update_func_follows_a_transfer(
    session: XNATSession, seeded: Seeded, tmp_path: Path
) -> None:
    from xnat_sdk.session import default_update_func

    experiment = session.projects[seeded.project].subjects["S1"].experiments["E1"]
    resource = experiment.create_resource("BAR")
    resource.upload_data("x" * 3000, "x.txt")
    update = default_update_func(3000)  # no terminal here: a silent callback
    got = bytearray()
    with (tmp_path / "x.txt").open("wb") as target:
        count = session.download_stream(
            f"{resource.uri}/files/x.txt", target, update_func=update, chunk_size=1000
        )
    got += (tmp_path / "x.txt").read_bytes()
    assert count == 3000 and bytes(got) == b"x" * 3000
    update(3000, 3000, True)  # finishing twice is harmless
