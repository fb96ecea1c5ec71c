"""``session.services.import_``: every kind of source, both destinations, and bad input."""

from __future__ import annotations

import io
import re
import tarfile
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xnat_sdk.errors import (
    XNATBadRequestError,
    XNATNotFoundError,
    XNATValidationError,
)
from xnat_sdk.models import CtSessionData, MrSessionData
from xnat_sdk.prearchive import PrearchiveSession
from xnat_sdk.services import guess_content_type
from xnat_sdk.session import XNATSession
from xnat_sdk.testing.dicomgen import make_dicom_zip, write_dicom_folder

if TYPE_CHECKING:
    from conftest import RequestLog


def _state(session: XNATSession, project: str) -> tuple[list[str], list[str]]:
    """(prearchive session ids, archive experiment labels) of a project, read fresh."""
    session.clearcache()
    pending = sorted(p.id for p in session.prearchive.sessions(project=project))
    archived = sorted(session.projects[project].experiments.keys())
    return pending, archived


def test_direct_to_archive(session: XNATSession, xnat_project: str) -> None:
    data = make_dicom_zip(
        None, patient="P_DIRECT", study_label="DIRECT_MR", project=xnat_project,
        series=[(3, "LOCALIZER"), (5, "BOLD")],
    )  # fmt: skip
    made = session.services.import_(
        data, destination=f"/archive/projects/{xnat_project}", subject="SUBJ_D", experiment="MR_D"
    )
    assert isinstance(made, MrSessionData)
    assert made.label == "MR_D"
    assert made.uri.endswith("/experiments/MR_D")
    assert session.prearchive.sessions(project=xnat_project) == []
    listed = session.projects[xnat_project].experiments["MR_D"]
    assert isinstance(listed, MrSessionData)
    assert sorted(listed.scans.keys()) == ["3", "5"]
    assert listed.scans["5"].series_description == "BOLD"
    assert session.projects[xnat_project].subjects["SUBJ_D"].label == "SUBJ_D"


def test_ct_study_becomes_a_ct_session(session: XNATSession, xnat_project: str) -> None:
    data = make_dicom_zip(
        None, patient="P_CT", study_label="CT1", project=xnat_project, modality="CT",
        series=[(1, "HEAD")], instances_per_series=1,
    )  # fmt: skip
    made = session.services.import_(data, destination="/archive", project=xnat_project)
    assert isinstance(made, CtSessionData)
    assert made.label == "CT1"


def test_sources_path_folder_tar_and_file_object(
    session: XNATSession, xnat_project: str, tmp_path: Path
) -> None:
    on_disk = make_dicom_zip(
        tmp_path / "study.zip", patient="P_FILE", study_label="FROM_FILE", project=xnat_project
    )
    from_path = session.services.import_(on_disk, project=xnat_project)
    assert isinstance(from_path, PrearchiveSession) and from_path.label == "FROM_FILE"

    folder = tmp_path / "loose"
    written = write_dicom_folder(
        folder, patient="P_DIR", study_label="FROM_DIR", project=xnat_project, series=[(7, "X")]
    )
    from_folder = session.services.import_(str(folder), project=xnat_project)
    assert isinstance(from_folder, PrearchiveSession) and from_folder.label == "FROM_DIR"
    assert len(from_folder.scans[0].files) == len(written)

    tgz = tmp_path / "study.tar.gz"
    with tarfile.open(tgz, "w:gz") as archive:
        archive.add(folder, arcname="study")
    from_tar = session.services.import_(
        tgz, project=xnat_project, subject="P_TAR", experiment="FROM_TAR"
    )
    assert isinstance(from_tar, PrearchiveSession)
    assert from_tar.label == "FROM_TAR" and from_tar.subject == "P_TAR"

    stream = io.BytesIO(
        make_dicom_zip(None, patient="P_OBJ", study_label="FROM_OBJ", project=xnat_project)
    )
    from_object = session.services.import_(stream, project=xnat_project)
    assert isinstance(from_object, PrearchiveSession) and from_object.label == "FROM_OBJ"

    labels = sorted(p.label for p in session.prearchive.sessions(project=xnat_project))
    assert labels == ["FROM_DIR", "FROM_FILE", "FROM_OBJ", "FROM_TAR"]


def test_import_with_labels_overrides_the_dicom_headers(
    session: XNATSession, xnat_project: str
) -> None:
    data = make_dicom_zip(None, patient="HEADER_SUBJ", study_label="HEADER_LABEL")
    made = session.services.import_(
        data, project=xnat_project, subject="GIVEN_SUBJ", experiment="GIVEN_LABEL"
    )
    assert isinstance(made, PrearchiveSession)
    assert (made.project, made.subject, made.label) == (xnat_project, "GIVEN_SUBJ", "GIVEN_LABEL")


def test_bad_input_is_refused_before_sending(
    session: XNATSession, xnat_project: str, tmp_path: Path, log: RequestLog
) -> None:
    data = make_dicom_zip(None, patient="P_BAD", study_label="BAD", project=xnat_project)
    log.clear()
    with pytest.raises(XNATValidationError, match="no such file"):
        session.services.import_(tmp_path / "missing.zip", project=xnat_project)
    with pytest.raises(XNATValidationError, match="empty"):
        session.services.import_(b"", project=xnat_project)
    with pytest.raises(XNATValidationError, match="overwrite"):
        session.services.import_(data, overwrite="always")
    with pytest.raises(XNATValidationError, match="destination"):
        session.services.import_(data, destination="archive/projects/X")
    with pytest.raises(XNATValidationError, match="experiment"):
        session.services.import_(data, experiment="has space")
    with pytest.raises(XNATValidationError, match="path"):
        session.services.import_(12)  # type: ignore[arg-type]
    assert len(log) == 0


def test_server_refusals_carry_the_reason_and_change_nothing(
    session: XNATSession, xnat_project: str, tmp_path: Path
) -> None:
    before = _state(session, xnat_project)
    good = make_dicom_zip(None, patient="P_REF", study_label="REF", project=xnat_project)

    with pytest.raises(XNATNotFoundError) as unknown:
        session.services.import_(good, project="NO_SUCH_PROJECT")
    assert "NO_SUCH_PROJECT" in unknown.value.message
    assert unknown.value.status == 404

    not_dicom = io.BytesIO()
    with zipfile.ZipFile(not_dicom, "w") as archive:
        archive.writestr("notes/readme.txt", "no DICOM in here")
    with pytest.raises(XNATBadRequestError) as empty:
        session.services.import_(not_dicom.getvalue(), project=xnat_project)
    assert "parsable" in empty.value.message

    with pytest.raises(XNATBadRequestError) as corrupt:
        session.services.import_(b"PK\x03\x04 truncated junk", project=xnat_project)
    assert corrupt.value.status == 400 and corrupt.value.message

    text_file = tmp_path / "notes.zip"
    text_file.write_text("plain text, not a zip")
    with pytest.raises(XNATBadRequestError) as wrong_file:
        session.services.import_(text_file, project=xnat_project)
    assert wrong_file.value.status == 400
    assert _state(session, xnat_project) == before


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.zip", "application/zip"),
        ("A.ZIP", "application/zip"),
        ("a.tar", "application/x-tar"),
        ("a.tar.gz", "application/x-gzip"),
        ("a.tgz", "application/x-gzip"),
        ("x.dcm", "application/dicom"),
        ("noext", "application/zip"),
    ],
)
def test_guess_content_type(name: str, expected: str) -> None:
    assert guess_content_type(name) == expected


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    label=st.one_of(
        st.text(min_size=1, max_size=12).filter(
            lambda s: re.fullmatch(r"[A-Za-z0-9_-]+", s) is None
        ),
        st.sampled_from(["with space", "ümlaut", "a/b", "../x", "%2e%2e", "a.b"]),
    ),
    field=st.sampled_from(["project", "subject", "experiment"]),
)
def test_labels_with_forbidden_characters_never_reach_the_server(
    session: XNATSession, log: RequestLog, label: str, field: str
) -> None:
    names = {"project": "P", "subject": "S", "experiment": "E"}
    names[field] = label
    log.clear()
    with pytest.raises(XNATValidationError, match=field):
        session.services.import_(b"PK", **names)
    assert len(log) == 0


def test_import_dir(session: XNATSession, xnat_project: str, tmp_path: Path) -> None:
    folder = tmp_path / "dicoms"
    write_dicom_folder(folder, patient="P_ID", study_label="DIR_MR", series=[(2, "A"), (3, "B")])
    made = session.services.import_dir(
        folder, destination="/archive", project=xnat_project, subject="SUBJ_ID"
    )
    assert isinstance(made, MrSessionData)
    assert sorted(made.scans.keys()) == ["2", "3"]
    with pytest.raises(XNATValidationError, match="not a folder"):
        session.services.import_dir(tmp_path / "nothing")


def test_auto_archiving_project_returns_the_archived_session(
    session: XNATSession, xnat_project: str
) -> None:
    session.put(f"/data/projects/{xnat_project}/prearchive_code/4")
    data = make_dicom_zip(None, patient="P_AUTO", study_label="AUTO_MR", project=xnat_project)
    made = session.services.import_(data, project=xnat_project)
    assert isinstance(made, MrSessionData)
    assert made.label == "AUTO_MR"
    assert session.prearchive.sessions(project=xnat_project) == []
