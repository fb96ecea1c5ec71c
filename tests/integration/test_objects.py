"""Objects: lazy fields, raw document access, custom variables, unknown types, errors."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

import pytest

import xnat_sdk
from xnat_sdk.bases import XNATObject
from xnat_sdk.errors import (
    XNATKeyError,
    XNATNoModelError,
    XNATNotFoundError,
    XNATServerError,
    XNATUnknownTypeWarning,
    XNATValidationError,
)
from xnat_sdk.generic import GenericExperiment
from xnat_sdk.models import DemographicData, ImageSessionDataScanner, MrSessionData, SubjectData
from xnat_sdk.session import XNATSession
from xnat_sdk.testing._server.store import dumps_data
from xnat_sdk.testing.local import LocalXNAT

if TYPE_CHECKING:
    from conftest import RequestLog, Seeded


def test_object_document_fields_uri_xpath(
    session: XNATSession, seeded: Seeded, log: RequestLog
) -> None:
    experiment = session.projects[seeded.project].subjects["S1"].experiments["E1"]
    assert isinstance(experiment, MrSessionData)
    before = len(log)
    document = experiment.fulldata
    assert document["meta"]["xsi:type"] == "xnat:mrSessionData"
    assert experiment.data["label"] == "E1"
    assert experiment.subject_id == seeded.subjects["S1"]
    assert experiment.xpath == "xnat:mrSessionData"
    assert experiment.uri.endswith(f"/experiments/{seeded.sessions['E1']}")
    assert experiment.fulluri == experiment.uri
    assert session.url_for(experiment) == session.server + experiment.uri
    assert len(log) == before + 1


def test_unknown_data_fields_are_kept_raw(
    server: LocalXNAT, session: XNATSession, seeded: Seeded
) -> None:
    # an element this schema lacks (a newer XNAT's): seeding refuses the key, so the
    # test writes it into the store the way a newer server's document would carry it
    with server.store.tx() as db:
        db.execute(
            "UPDATE subjects SET data=? WHERE id=?",
            (dumps_data({"visit": "baseline"}), seeded.subjects["S1"]),
        )
    subject = session.subjects[seeded.subjects["S1"]]
    assert subject.raw["visit"] == "baseline"
    assert "label" not in subject.raw


def test_nested_elements_become_nested_objects(
    server: LocalXNAT, session: XNATSession, seeded: Seeded
) -> None:
    eid = server.seed_session(
        seeded.project,
        "S2",
        "E9",
        fields={"scanner": "MCW", "scanner/manufacturer": "GE", "date": "2020-12-17"},
    )
    experiment = session.experiments[eid]
    assert isinstance(experiment, MrSessionData)
    scanner = experiment.scanner
    assert isinstance(scanner, ImageSessionDataScanner)
    assert (scanner.scanner, scanner.manufacturer, scanner.model) == ("MCW", "GE", None)
    assert experiment.date == datetime.date(2020, 12, 17)
    # a single nested element the server lacks is an empty one, never None
    assert (experiment.delay.delay, experiment.delay.ref_expt_id) == (None, None)


def test_custom_variables_read_write_delete(
    session: XNATSession, seeded: Seeded, server: LocalXNAT
) -> None:
    subject = session.projects[seeded.project].subjects["S2"]
    assert dict(subject.fields) == {}
    subject.fields["visit"] = "followup"
    subject.fields["weight"] = "70"
    assert subject.fields["visit"] == "followup"
    with xnat_sdk.connect(server.url, user="admin", password="admin") as other:
        fresh = other.subjects[seeded.subjects["S2"]]
        assert dict(fresh.fields) == {"visit": "followup", "weight": "70"}
    del subject.fields["weight"]
    assert dict(subject.fields) == {"visit": "followup"}
    with pytest.raises(XNATKeyError, match="no custom variable 'nope'"):
        subject.fields["nope"]
    with pytest.raises(XNATValidationError, match="custom variable name"):
        subject.fields["bad name"] = "x"


def test_unknown_xsi_type_becomes_a_generic_object(
    server: LocalXNAT, session: XNATSession, seeded: Seeded
) -> None:
    # a site plugin's type the SDK was not generated for: seeding checks types against the
    # server's schemas, so the test turns a seeded session into one in the store
    eid = server.seed_session(seeded.project, "S2", "PLUG1")
    with server.store.tx() as db:
        db.execute(
            "UPDATE experiments SET xsi_type=?, data=? WHERE id=?",
            ("site:fancySessionData", dumps_data({"color": "red"}), eid),
        )
    server.seed_scan(eid, "7", type="odd")
    with pytest.warns(XNATUnknownTypeWarning, match="xnat-sdk generate"):
        experiment = session.projects[seeded.project].experiments["PLUG1"]
    assert isinstance(experiment, GenericExperiment)
    assert experiment.xsi_type == "site:fancySessionData"
    assert experiment.color == "red"
    assert experiment.label == "PLUG1"
    assert experiment.raw["color"] == "red"
    assert [s.type for s in experiment.scans] == ["odd"]
    with pytest.raises(AttributeError, match="no field 'flavour'"):
        experiment.flavour  # noqa: B018
    experiment.delete()
    session.clearcache()
    assert "PLUG1" not in session.projects[seeded.project].experiments


def test_create_object_from_a_path(session: XNATSession, seeded: Seeded, log: RequestLog) -> None:
    found = session.create_object(f"/data/experiments/{seeded.sessions['E2']}")
    assert isinstance(found, MrSessionData)
    assert found.label == "E2"
    lazy = session.create_object(
        f"/data/subjects/{seeded.subjects['S1']}", type_="xnat:subjectData"
    )
    assert isinstance(lazy, SubjectData)
    assert len(log) == 1
    assert lazy.label == "S1"
    assert len(log) == 2


def test_response_errors_carry_method_url_status_message(
    session: XNATSession, server: LocalXNAT, seeded: Seeded
) -> None:
    with pytest.raises(XNATNotFoundError) as info:
        session.get_json(f"/data/projects/{seeded.project}/subjects/NOPE")
    error = info.value
    assert (error.method, error.status) == ("GET", 404)
    assert "/subjects/NOPE" in error.url
    assert "subject" in error.message.lower()
    assert "GET" in str(error) and "404" in str(error)
    with xnat_sdk.connect(server.url, user="user", password="user") as plain:
        # XNAT hides the private project: its subject PUT answers 422 "Submitted subject
        # record must include the project attribute.", which the SDK names for what it is
        with pytest.raises(XNATNotFoundError) as denied:
            plain.put(f"/data/projects/{seeded.project}/subjects/X1")
        assert denied.value.status == 422
        assert f"project {seeded.project!r} does not exist, or it is hidden" in str(denied.value)
    server.faults.fail_next(1, status=500, prefix="/data/projects")
    with pytest.raises(XNATServerError) as failed:
        session.get_json("/data/projects", query={"x": "1"})
    assert failed.value.status == 500


def test_retries_idempotent_requests_but_not_post(
    session: XNATSession, server: LocalXNAT, log: RequestLog
) -> None:
    server.faults.fail_next(2, status=503, prefix="/data/projects")
    assert "ResultSet" in session.get_json("/data/projects")
    server.faults.fail_next(1, status=503, prefix="/data/services")
    with pytest.raises(XNATServerError):
        session.post("/data/services/refresh/catalog", query={"resource": "/x"})


def test_expired_session_logs_in_again(session: XNATSession, server: LocalXNAT) -> None:
    old = session.jsession
    server.faults.expire_sessions()
    assert "ResultSet" in session.get_json("/data/projects")
    assert session.jsession != old


def test_no_parse_model(server: LocalXNAT, seeded: Seeded) -> None:
    with xnat_sdk.connect(server.url, user="admin", password="admin", no_parse_model=True) as s:
        rows = s.get_json("/data/projects")["ResultSet"]["Result"]
        assert seeded.project in {row["ID"] for row in rows}
        assert s.head(f"/data/projects/{seeded.project}").status_code == 200
        with pytest.raises(XNATNoModelError, match="no_parse_model"):
            s.projects  # noqa: B018
        with pytest.raises(XNATNoModelError):
            s.create_object(f"/data/projects/{seeded.project}")


def test_unbound_objects_are_plain_values() -> None:
    subject = SubjectData(id="X", label="S1")
    assert subject.label == "S1"
    subject.label = "S2"
    assert subject.label == "S2"
    assert isinstance(subject, XNATObject)
    with pytest.raises(xnat_sdk.XNATNotConnectedError):
        subject.delete()


def test_object_clearcache_reads_again(
    session: XNATSession, seeded: Seeded, server: LocalXNAT, log: RequestLog
) -> None:
    subject = session.projects[seeded.project].subjects["S1"]
    assert subject.group is None
    with xnat_sdk.connect(server.url, user="admin", password="admin") as other:
        other.subjects[seeded.subjects["S1"]].group = "patients"
    log.clear()
    assert subject.group is None, "held objects keep their values"
    subject.clearcache()
    assert subject.group == "patients"
    assert subject.label == "S1"
    assert len(log) == 1


def test_retry_policy_is_idempotent_only_and_honours_retry_after(
    session: XNATSession, server: LocalXNAT
) -> None:
    server.faults.start_recording()
    server.faults.fail_next(2, status=503, prefix="/data/projects")  # Retry-After: 0
    assert "ResultSet" in session.get_json("/data/projects")
    server.faults.fail_next(1, status=503, prefix="/data/projects")
    with pytest.raises(XNATServerError):
        session.post("/data/projects", data=b"")
    assert [r.method for r in server.faults.recorded()] == ["GET", "GET", "GET", "POST"]


def test_session_clearcache_refreshes_objects_already_held(
    session: XNATSession, seeded: Seeded, server: LocalXNAT, log: RequestLog
) -> None:
    """As in xnatpy, after ``session.clearcache()`` the objects you hold read again (one
    document request each, on first use); nested parts are taken anew from their owner."""
    subject = session.projects[seeded.project].subjects["S1"]
    experiment = session.experiments[seeded.sessions["E1"]]
    assert subject.group is None and experiment.note is None
    assert subject.demographics is None or subject.demographics.gender is None
    with xnat_sdk.connect(server.url, user="admin", password="admin") as other:
        theirs = other.subjects[seeded.subjects["S1"]]
        theirs.group = "patients"
        theirs.demographics = DemographicData(gender="female")
        other.experiments[seeded.sessions["E1"]].note = "rescanned"
    assert subject.group is None  # still the document read before
    session.clearcache()
    log.clear()
    assert subject.group == "patients"
    assert subject.label == "S1"
    assert subject.demographics is not None and subject.demographics.gender == "female"
    assert experiment.note == "rescanned"
    assert log.paths() == [f"GET {o.uri}?format=json" for o in (subject, experiment)]


def test_objects_dropped_by_the_user_are_not_kept_by_the_session(
    session: XNATSession, seeded: Seeded
) -> None:
    import gc
    import weakref

    subject = session.projects[seeded.project].subjects["S1"]
    ref = weakref.ref(subject)
    session.clearcache()  # the listing that made it is dropped too
    del subject
    gc.collect()
    assert ref() is None
