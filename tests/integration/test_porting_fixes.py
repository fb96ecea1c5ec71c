"""xnatpy behaviours a ported script relies on (found by running xnatpy scripts unchanged
but for the import line): the exception classes and their bases, xsiType patterns in
filters, ``in`` agreeing with ``[]``, IndexError past the end, OSErrors for missing local
paths, DICOM dump rows as mappings, prearchive scans as a listing, CSV/pandas column names,
seeded project fields, xnatpy's parameter and attribute names, and text for typed fields.
Each outcome is checked over HTTP against the local server."""

from __future__ import annotations

import builtins
import json
from pathlib import Path

import pytest
import requests

import xnat_sdk
from tests.integration.conftest import RequestLog, Seeded
from xnat_sdk import errors
from xnat_sdk.session import XNATSession
from xnat_sdk.testing.dicomgen import make_dicom_zip
from xnat_sdk.testing.local import LocalXNAT

xnat = pytest.importorskip("xnat")  # xnatpy 0.8.1, the reference


def _listed(server: LocalXNAT, path: str) -> list[dict[str, str]]:
    resp = requests.get(
        server.url + path, params={"format": "json"}, auth=("admin", "admin"), timeout=30
    )
    assert resp.status_code == 200, resp.text[:200]
    rows: list[dict[str, str]] = resp.json()["ResultSet"]["Result"]
    return rows


# -- 1. exceptions ----------------------------------------------------------------------------


def test_every_xnatpy_exception_exists_with_its_bases() -> None:
    import xnat_sdk.exceptions as ours  # xnatpy's module name, importable

    assert ours.XNATNotFoundError is errors.XNATNotFoundError
    assert xnat_sdk.exceptions is ours
    for name in (n for n in dir(xnat.exceptions) if n.startswith("XNAT")):
        theirs = getattr(xnat.exceptions, name)
        mine = getattr(ours, name)
        # bases by name (XNATLoginFailedError here is XNATAuthError itself: an alias)
        named = {c.__name__ for c in theirs.__mro__[1:] if c.__name__.startswith("XNAT")}
        assert named <= {c.__name__ for c in mine.__mro__}, name
        builtin = {c for c in theirs.__mro__ if getattr(builtins, c.__name__, None) is c}
        assert all(issubclass(mine, base) for base in builtin), name


def test_a_failed_request_is_a_value_error_as_in_xnatpy(session: XNATSession) -> None:
    with pytest.raises(ValueError) as info:
        session.get("/data/projects/NOPE")
    assert isinstance(info.value, errors.XNATNotFoundError)


def test_connection_errors_are_requests_own_as_xnatpy_lets_them_through(
    session: XNATSession, server: LocalXNAT
) -> None:
    """xnatpy scripts catch requests' exceptions around a dead server or a timeout: those
    clauses caught nothing (the SDK's errors were ValueErrors and built-in OSErrors only)."""
    import socket

    import requests

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    with pytest.raises(requests.exceptions.ConnectionError) as refused:
        xnat_sdk.connect(dead, user="admin", password="admin", retries=0)
    assert isinstance(refused.value, errors.XNATConnectionError)
    server.faults.hang_next(prefix="/data/projects", seconds=5)
    with pytest.raises(requests.exceptions.Timeout) as late:
        session.get("/data/projects", timeout=0.5)
    server.faults.clear()
    assert isinstance(late.value, errors.XNATTimeoutError)
    assert isinstance(late.value, requests.exceptions.ConnectionError)  # ReadTimeout's too


def test_a_failed_import_is_an_upload_error(
    session: XNATSession, server: LocalXNAT, tmp_path: Path
) -> None:
    archive = make_dicom_zip(tmp_path / "s.zip", patient="S1")
    with pytest.raises(xnat_sdk.exceptions.XNATUploadError) as info:
        session.services.import_(str(archive), project="NOPE", subject="S1", experiment="E1")
    assert isinstance(info.value, errors.XNATNotFoundError)  # still the precise error
    assert isinstance(info.value, OSError) and info.value.status == 404
    assert "NOPE" in info.value.message
    assert [r for r in _listed(server, "/data/experiments") if r["project"] == "NOPE"] == []


def test_a_failed_upload_is_an_upload_error(
    session: XNATSession, seeded: Seeded, server: LocalXNAT, tmp_path: Path
) -> None:
    resource = session.experiments[seeded.sessions["E1"]].resources.create("R")
    (tmp_path / "a.txt").write_bytes(b"a")
    server.faults.answer_next("<h3>no</h3>", status=403, prefix=resource.uri, method="PUT")
    with pytest.raises(errors.XNATUploadError) as info:
        resource.upload(tmp_path / "a.txt", "a.txt")
    assert isinstance(info.value, errors.XNATForbiddenError)
    server.faults.answer_next("<h3>gone</h3>", status=404, prefix=resource.uri, method="PUT")
    with pytest.raises(errors.XNATNotFoundError) as found:
        resource.upload_dir(tmp_path)
    assert isinstance(found.value, IOError)
    assert _listed(server, f"{resource.uri}/files") == []
    resource.upload(tmp_path / "a.txt", "a.txt")
    with pytest.raises(errors.XNATUploadError) as again:
        resource.upload(tmp_path / "a.txt", "a.txt")  # kept: overwrite not asked for
    assert isinstance(again.value, errors.XNATFileExistsError)


# -- 2. filters XNAT reads as something else ----------------------------------------------------


def test_xsi_type_patterns_filter_locally(
    session: XNATSession, seeded: Seeded, server: LocalXNAT
) -> None:
    server.seed_session(seeded.project, "S2", "PET1", xsi_type="xnat:petSessionData")
    experiments = session.projects[seeded.project].experiments
    server.faults.start_recording()
    assert [e.label for e in experiments.filter(xsiType="xnat:pet*")] == ["PET1"]
    assert [e.label for e in experiments.filter(xsiType="*MR*")] == ["E1", "E2"]
    both = experiments.filter(xsiType="xnat:petSessionData,xnat:mrSessionData")
    assert sorted(e.label for e in both) == ["E1", "E2", "PET1"]
    table = experiments.tabulate(columns=("ID", "label"), filter={"xsiType": "*pet*"})
    assert [row.label for row in table] == ["PET1"]
    exact = experiments.filter(xsiType="xnat:petSessionData")
    assert [e.label for e in exact] == ["PET1"]
    queries = [r.query for r in server.faults.recorded()]
    assert not any("xsiType=%2A" in q or "*" in q or "%2C" in q for q in queries), queries
    assert any("xsiType=xnat:petSessionData" in q for q in queries)  # exact: XNAT narrows


# -- 3. `in` agrees with [] ---------------------------------------------------------------------


def test_a_key_two_items_share_is_not_in_the_listing(
    session: XNATSession, seeded: Seeded, server: LocalXNAT
) -> None:
    server.seed_scan(seeded.sessions["E2"], "2", type="T1")
    scans = session.experiments[seeded.sessions["E2"]].scans
    assert "T1" not in scans and scans.get("T1") is None
    with pytest.raises(KeyError, match="several"):
        scans["T1"]
    assert "1" in scans and "2" in scans  # the IDs still are
    subjects = session.projects[seeded.project].subjects
    assert "S1" in subjects and subjects["S1"].label == "S1"


# -- 4. a position past the end ---------------------------------------------------------------


def test_a_position_past_the_end_is_an_index_error(session: XNATSession, seeded: Seeded) -> None:
    scans = session.experiments[seeded.sessions["E1"]].scans
    assert scans[2].id == "3" and scans[-1].id == "3"
    with pytest.raises(IndexError, match="3 entries, no index 5") as info:
        scans[5]
    assert isinstance(info.value, errors.XNATKeyError)  # as before
    with pytest.raises(xnat_sdk.XNATIndexError):
        session.projects[seeded.project].subjects[-3]


# -- 5. local paths that are missing or of the other kind ----------------------------------------


def test_missing_local_paths_raise_the_matching_os_errors(
    session: XNATSession, seeded: Seeded, server: LocalXNAT, tmp_path: Path
) -> None:
    resource = session.experiments[seeded.sessions["E1"]].resources.create("R")
    missing, afile = tmp_path / "nope.nii", tmp_path / "a.nii"
    afile.write_bytes(b"a")
    server.faults.start_recording()
    cases = [
        (FileNotFoundError, lambda: resource.upload(str(missing), "f.nii")),
        (FileNotFoundError, lambda: resource.upload(missing, "f.nii")),
        (IsADirectoryError, lambda: resource.upload(str(tmp_path), "f.nii")),
        (FileNotFoundError, lambda: resource.upload_dir(missing)),
        (NotADirectoryError, lambda: resource.upload_dir(afile)),
        (FileNotFoundError, lambda: session.upload_file(f"{resource.uri}/files/f", missing)),
        (FileNotFoundError, lambda: session.services.import_(missing, project=seeded.project)),
        (NotADirectoryError, lambda: session.services.import_dir(afile, project=seeded.project)),
    ]
    for kind, call in cases:
        with pytest.raises(kind) as info:
            call()
        assert isinstance(info.value, errors.XNATValidationError)  # an XNATError, as before
        assert info.value.filename in (str(missing), str(afile), str(tmp_path))
        assert info.value.errno is not None and info.value.filename in str(info.value)
    assert [r for r in server.faults.recorded() if r.method != "GET"] == []


# -- 6. DICOM dump rows are mappings -------------------------------------------------------------


def test_dicom_dump_rows_are_dicts(session: XNATSession, seeded: Seeded, tmp_path: Path) -> None:
    archive = make_dicom_zip(tmp_path / "s.zip", patient="S7", series=[(1, "T1")])
    made = session.services.import_(
        archive, project=seeded.project, subject="S7", experiment="D7", destination="/archive"
    )
    by_scan = made.scans["1"].dicom_dump(fields=["PatientID"])
    by_service = session.services.dicom_dump(made.scans["1"], fields=["PatientID"])
    for rows in (by_scan, by_service):
        (row,) = rows
        assert row["tag1"] == row.tag1 == "(0010,0020)" and row.tag == (0x10, 0x20)
        assert row["value"] == row.value and row.value.startswith("S7")
        assert list(row.keys()) == ["tag1", "tag2", "vr", "value", "desc"]
        assert dict(row) == row and row == dict(row.items())
        assert row.get("nope") is None and "value" in row
        with pytest.raises(KeyError, match="no 'nope'"):
            row["nope"]
        # xnatpy's rows are dicts: JSON, copies, edits (a read-only mapping refused them)
        assert isinstance(row, dict) and json.loads(json.dumps(rows))[0] == dict(row)
        copied = row.copy()
        copied["value"] = "x"
        assert copied["value"] == "x" and row.value.startswith("S7")


# -- 7. a prearchive session's scans are a listing -----------------------------------------------


def test_prearchive_scans_are_a_keyed_listing(
    session: XNATSession, seeded: Seeded, tmp_path: Path
) -> None:
    archive = make_dicom_zip(tmp_path / "s.zip", patient="P7", series=[(1, "T1"), (2, "T2")])
    pre = session.services.import_(archive, project=seeded.project, destination="/prearchive")
    assert isinstance(pre, xnat_sdk.prearchive.PrearchiveSession)
    scans = pre.scans
    assert [s.series_description for s in scans.values()] == ["T1", "T2"]
    assert scans.keys() == ["1", "2"] and [k for k, _ in scans.items()] == ["1", "2"]
    assert scans["1"].series_description == "T1" and scans["T2"].id == "2"
    assert [s.id for s in scans] == ["1", "2"] and scans[1].id == "2" and len(scans) == 2
    assert "1" in scans and "9" not in scans and scans.get("9") is None
    assert len(scans["2"].files) == 3  # a scan of the server's
    with pytest.raises(errors.XNATKeyError, match="IDs: 1, 2"):
        scans["9"]
    with pytest.raises(IndexError):
        scans[2]
    # xnatpy's listing methods: filter, tabulate; a row's URI
    assert [s.id for s in scans.filter(series_description="t2*")] == ["2"]
    assert scans.filter(series_description="T1,T2").keys() == ["1", "2"]
    with pytest.raises(errors.XNATValidationError, match="no column 'nope'"):
        scans.filter(nope="x")
    table = scans.tabulate(["ID", "series_description", "URI"])
    assert [tuple(row) for row in table] == [
        ("1", "T1", f"{pre.uri}/scans/1"),
        ("2", "T2", f"{pre.uri}/scans/2"),
    ]
    assert scans.tabulate_csv(["ID"]).splitlines() == ["ID", "1", "2"]


# -- 8. CSV and pandas name the columns as the rows do --------------------------------------------


def test_csv_and_pandas_columns_are_the_row_field_names(
    session: XNATSession, seeded: Seeded
) -> None:
    pytest.importorskip("pandas")
    experiments = session.projects[seeded.project].experiments
    fields = experiments.tabulate()[0]._fields
    assert "xnat_subjectassessordata_id" in fields
    assert tuple(experiments.tabulate_csv().splitlines()[0].split(",")) == fields
    frame = experiments.tabulate_pandas()
    assert tuple(frame.columns) == fields
    assert sorted(frame["xnat_subjectassessordata_id"]) == sorted(seeded.sessions.values())
    asked = ["label", "xnat:mrSessionData/fieldStrength"]
    table = experiments.tabulate(columns=asked)
    assert table.fields == ("label", "xnat_mrSessionData_fieldStrength") == table[0]._fields
    frame = experiments.tabulate_pandas(columns=asked)
    assert dict(zip(frame["label"], frame["xnat_mrSessionData_fieldStrength"], strict=True)) == {
        "E1": "3.0",
        "E2": "",
    }
    assert experiments.tabulate_csv(columns=asked).splitlines()[0] == ",".join(table.fields)
    # a listing read from the session's document: each column once (the scan's id came twice,
    # as xnat_imagescandata_id and xnat_imageScanData_id)
    scans = session.experiments[seeded.sessions["E1"]].scans.tabulate()
    assert len({c.lower() for c in scans.columns}) == len(scans.columns)
    assert "xnat_imagescandata_id" in scans.columns


# -- 9. a seeded project's description is listed ----------------------------------------------


def test_seeded_project_fields_are_listed(server: LocalXNAT, session: XNATSession) -> None:
    server.seed_project(
        "RT_SEEDDESC", name="Study", fields={"description": "demo", "secondary_ID": "SD"}
    )
    (row,) = [r for r in _listed(server, "/data/projects") if r["ID"] == "RT_SEEDDESC"]
    assert (row["description"], row["secondary_ID"], row["name"]) == ("demo", "SD", "Study")
    resp = requests.get(
        f"{server.url}/data/projects/RT_SEEDDESC",
        params={"format": "json"},
        auth=("admin", "admin"),
        timeout=30,
    )
    fields = resp.json()["items"][0]["data_fields"]
    assert (fields["description"], fields["secondary_ID"]) == ("demo", "SD")
    assert session.projects["RT_SEEDDESC"].description == "demo"


# -- 10. xnatpy's parameter and attribute names ---------------------------------------------------


def test_get_json_takes_xnatpys_uri_and_the_old_path(
    session: XNATSession, seeded: Seeded, server: LocalXNAT
) -> None:
    path = f"/data/projects/{seeded.project}/subjects"
    by_uri = session.get_json(uri=path)
    assert by_uri == session.get_json(path) == session.get_json(path=path)
    assert sorted(r["label"] for r in by_uri["ResultSet"]["Result"]) == ["S1", "S2"]
    server.faults.start_recording()
    with pytest.raises(errors.XNATValidationError, match="uri"):
        session.get_json(path, path=path)  # type: ignore[call-overload]
    assert server.faults.recorded() == []


def test_insert_date_clearcache_flags_and_remove_object(
    session: XNATSession, seeded: Seeded
) -> None:
    import datetime

    experiment = session.experiments[seeded.sessions["E1"]]
    stored = experiment.insert_date
    assert stored is not None and stored.tzinfo is not None
    now = datetime.datetime.now(datetime.timezone.utc)
    assert abs((now - stored).total_seconds()) < 600
    assert session.projects[seeded.project].insert_date is not None
    listing = session.projects[seeded.project].subjects
    assert "S3" not in listing
    session.put(f"/data/projects/{seeded.project}/subjects/S3")
    session.clearcache(wipe_general_object_cache=False, wipe_listings=False)  # nothing
    assert "S3" not in listing
    session.clearcache(wipe_listings=True)
    assert "S3" in listing
    session.put(f"/data/projects/{seeded.project}/subjects/S4")
    session.remove_object(listing["S3"])
    assert "S4" in listing  # read again


def test_file_objects_have_xnatpys_attributes(
    session: XNATSession, seeded: Seeded, tmp_path: Path
) -> None:
    scan = session.experiments[seeded.sessions["E1"]].scans["1"]
    resource = scan.resources.create("NIFTI")
    (tmp_path / "a.nii").write_bytes(b"nifti")
    resource.upload(
        path=tmp_path / "a.nii",
        remotepath="sub/a.nii",
        file_format="NIFTI",
        file_content="T1_RAW",
        file_tags="one,two",
    )
    (found,) = resource.files
    assert found.id == found.path == "sub/a.nii" and found.name == "a.nii"
    assert (found.file_format, found.file_content) == ("NIFTI", "T1_RAW")
    assert found.file_tags.split(",") == ["one", "two"]
    assert found.collection == "NIFTI" and found.cat_id == str(resource.id)
    assert found.data_path is None  # nothing mounted
    on_disk = tmp_path / seeded.project / "arc001" / "E1" / "SCANS" / "1" / "NIFTI" / "sub"
    on_disk.mkdir(parents=True)
    session.mount_data_dir = tmp_path
    assert found.expected_data_path == on_disk / "a.nii" and found.data_path is None
    (on_disk / "a.nii").write_bytes(b"nifti")
    assert found.data_path == on_disk / "a.nii"


def test_import_dir_takes_xnatpys_parameters(
    session: XNATSession, seeded: Seeded, server: LocalXNAT, tmp_path: Path
) -> None:
    import zipfile

    archive = make_dicom_zip(tmp_path / "s.zip", patient="P9", series=[(1, "T1")])
    zipfile.ZipFile(archive).extractall(tmp_path / "dcm")
    server.faults.start_recording()
    made = session.services.import_dir(
        tmp_path / "dcm",
        project=seeded.project,
        import_handler="DICOM-zip",
        ignore_unparsable=True,
        timeout=60,
    )
    assert isinstance(made, xnat_sdk.prearchive.PrearchiveSession)
    (sent,) = [r for r in server.faults.recorded() if r.method == "POST"]
    assert "import-handler=DICOM-zip" in sent.query and "Ignore-Unparsable=true" in sent.query


# -- 11. text for typed fields, as read from CSV ------------------------------------------------


def test_text_for_typed_fields_is_stored_typed(
    session: XNATSession, seeded: Seeded, server: LocalXNAT
) -> None:
    import datetime

    subject = session.projects[seeded.project].subjects["S1"]
    exp = session.classes.MrSessionData(parent=subject, label="T11", age="41")
    scan = session.classes.MrScanData(parent=exp, id="1", type="T1", frames="160")
    exp.date = "2006-04-18"  # type: ignore[assignment]
    exp.age = "84.9"  # type: ignore[assignment]
    scan.parameters.tr = "3000.0"  # type: ignore[assignment]
    scan.frames = "166"  # type: ignore[assignment]
    assert (exp.date, exp.age) == (datetime.date(2006, 4, 18), 84.9)
    assert (scan.parameters.tr, scan.frames) == (3000.0, 166) and type(scan.frames) is int
    resp = requests.get(
        f"{server.url}{scan.uri}", params={"format": "json"}, auth=("admin", "admin"), timeout=30
    )
    fields = resp.json()["items"][0]["data_fields"]
    assert (fields["frames"], float(fields["parameters/tr"])) == (166, 3000.0)
    session.clearcache()
    again = session.experiments[exp.id]
    assert (again.date, again.age) == (datetime.date(2006, 4, 18), 84.9)
    server.faults.start_recording()
    for obj, name, text, form in (
        (exp, "date", "18/04/2006", "ISO date"),
        (exp, "age", "old", "decimal number"),
        (scan, "frames", "16.5", "whole number"),
        (scan.parameters, "tr", "3 s", "decimal number"),
    ):
        with pytest.raises(errors.XNATValidationError, match=form) as info:
            setattr(obj, name, text)
        assert info.value.field == name
    assert [r for r in server.faults.recorded() if r.method != "GET"] == []
    assert scan.frames == 166


# -- one server object reached by several paths ------------------------------------------------


def test_one_server_object_reached_by_two_paths_is_equal(
    session: XNATSession, seeded: Seeded
) -> None:
    """xnatpy's cache makes one object of an experiment reached as a project's subject's
    experiment and as session.experiments[ID]: sets and ``in`` rely on it. They were
    unequal, so a set of them kept duplicates."""
    from xnat_sdk.models import MrSessionData

    project = session.projects[seeded.project]
    a = project.subjects["S1"].experiments["E1"]
    b = session.experiments[seeded.sessions["E1"]]
    c = project.experiments["E1"]
    assert a == b == c and len({a, b, c}) == 1 and a is not b
    assert a.scans["1"] == b.scans["1"] != a.scans["2"]
    subject = session.subjects[seeded.subjects["S1"]]
    assert subject in project.subjects.values() and subject != a
    unbound = MrSessionData(label="U1")
    assert unbound == unbound and unbound != MrSessionData(label="U1") and unbound != a
    # a write through one handle is read again through the others, whatever their path
    b.note = "written through session.experiments"
    assert a.note == c.note == "written through session.experiments"


def test_connect_takes_xnatpys_positional_arguments_in_xnatpys_order(server: LocalXNAT) -> None:
    """A script written for xnatpy 0.8 that passes ``connect``'s arguments by position gets
    them where xnatpy puts them: the 12th is ``default_timeout`` (it was this SDK's
    ``timeout``), the 15th ``cli``; the SDK's own ``timeout`` is keyword only."""
    import inspect

    xnat = pytest.importorskip("xnat")
    theirs = list(inspect.signature(xnat.connect).parameters)
    ours = [
        p.name
        for p in inspect.signature(xnat_sdk.connect).parameters.values()
        if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    ]
    assert ours == theirs
    args = (True, None, False, True, None, None, True, False, 42.0, None, None, True)
    session = xnat_sdk.connect(server.url, "admin", "admin", *args)
    try:
        assert session.request_timeout == 42.0
        jsession = session.interface.cookies.get("JSESSIONID")
    finally:
        session.disconnect()
    with requests.Session() as again:  # cli=True: the server session outlives disconnect
        again.cookies.set("JSESSIONID", str(jsession))
        assert again.get(f"{server.url}/data/projects", params={"format": "json"}).ok


def test_session_plugins_lists_the_servers_plugins_in_one_request(server: LocalXNAT) -> None:
    """xnatpy's ``session.plugins``: the installed plugins by ID with their bean's fields
    under xnatpy's names, from one ``/xapi/plugins`` request (xnatpy reads each again); an
    ID not installed is an ``XNATKeyError`` naming those that are."""
    server.add_plugin(
        "ohifViewerPlugin",
        "OHIF Viewer",
        "3.6.0",
        plugin_class="org.nrg.xnatx.ohifviewer.OhifViewerPlugin",
        log_configuration_file="ohif-logback.xml",
    )
    with requests.Session() as raw:
        raw.auth = ("admin", "admin")
        one = raw.get(f"{server.url}/xapi/plugins/ohifViewerPlugin")
        missing = raw.get(f"{server.url}/xapi/plugins/nothere")
    assert one.json()["beanName"] == "ohifViewerPlugin" and missing.status_code == 404
    with xnat_sdk.connect(server.url, user="admin", password="admin") as session:
        log = RequestLog()
        session.interface.hooks["response"].append(log)
        plugins = session.plugins
        info = plugins["ohifViewerPlugin"]
        assert "ohifViewerPlugin" in list(session.plugins)
        with pytest.raises(errors.XNATKeyError, match=r"installed: .*ohifViewerPlugin"):
            session.plugins["batchLaunchPlugin"]
        assert len(log) == 1
    assert (info.id, info.name, info.label, info.version) == (
        "ohifViewerPlugin",
        "OHIF Viewer",
        "OHIF Viewer",
        "3.6.0",
    )
    assert info.plugin_class == "org.nrg.xnatx.ohifviewer.OhifViewerPlugin"
    assert (info.bean_name, info.log_file) == ("ohifViewerPlugin", "ohif-logback.xml")


def test_a_plugin_bean_of_unexpected_shapes_is_read_without_a_bare_error(
    server: LocalXNAT,
) -> None:
    """What the server sends is not trusted: a bean whose ``entityPackages`` is no list
    (a number raised a bare TypeError) reads as none, a missing version as empty."""
    from xnat_sdk.testing._areas.info.routes import add_plugin

    add_plugin(server.store, {"id": "oddPlugin", "name": "Odd", "entityPackages": 5})
    with xnat_sdk.connect(server.url, user="admin", password="admin") as session:
        assert session.plugins["oddPlugin"].entity_packages == ()
        assert session.plugins["oddPlugin"].version == ""
