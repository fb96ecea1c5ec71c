"""A site administrator's and data manager's trial (prearchive, import, users and access,
search, site schemas, the pytest plugin): the defects it found, each over HTTP."""

from __future__ import annotations

import io
import pickle
import zipfile

import pytest

import xnat_sdk
from xnat_sdk.errors import (
    XNATKeyError,
    XNATResponseError,
    XNATSeveralSessionsWarning,
    XNATUploadConflictError,
    XNATValidationError,
    XNATValueError,
)
from xnat_sdk.models import SubjectData
from xnat_sdk.prearchive import PrearchiveSession
from xnat_sdk.search import col
from xnat_sdk.session import XNATSession
from xnat_sdk.testing.dicomgen import make_dicom_zip
from xnat_sdk.testing.local import LocalXNAT

# -- search ------------------------------------------------------------------------------------


def test_values_of_a_custom_variable_are_its_text(
    server: LocalXNAT, session: XNATSession, xnat_project: str
) -> None:
    """``query.values(lambda s: col(s.fields["cohort"]))`` raised a bare AttributeError
    (``'CustomColumn' object has no attribute '_ref'``) though custom variables are
    searchable columns: it gives their text, in the order of ``objects()``."""
    server.seed_subject(xnat_project, "S1", fields={"fields/cohort": "pilot"})
    server.seed_subject(xnat_project, "S2", fields={"fields/cohort": "main"})
    server.seed_subject(xnat_project, "S3")
    query = session.query(SubjectData).where(lambda s: col(s.project) == xnat_project)
    values = query.values(lambda s: col(s.fields["cohort"]))
    labels = [subject.label for subject in query.objects()]
    assert dict(zip(labels, values, strict=True)) == {"S1": "pilot", "S2": "main", "S3": None}


def test_a_field_of_a_part_named_alone_is_pointed_to_through_the_part(
    session: XNATSession,
) -> None:
    """``lambda s: col(s.gender) == "female"`` (XNAT's REST shortcut, xnatpy's habit) said
    only "SubjectData has no field 'gender'": the error names ``demographics.gender``."""
    query = session.query(SubjectData)
    with pytest.raises(XNATValidationError, match=r"did you mean demographics\.gender\?"):
        query.where(lambda s: col(s.gender) == "female")  # type: ignore[attr-defined]


# -- users and access --------------------------------------------------------------------------


def test_a_refused_user_list_says_so(server: LocalXNAT, session: XNATSession) -> None:
    """On a site that lets only admins list its users, a non-admin's ``session.users`` is
    empty (xnatpy's behaviour) with nothing to tell it from a site without users, and a
    lookup said "none visible": ``users.refused`` tells, and the lookup names the refusal."""
    session.post("/xapi/siteConfig", json={"restrictUserListAccessToAdmins": True})
    try:
        with xnat_sdk.connect(server.url, user="user", password="user") as user:
            assert len(user.users) == 0 and user.users.refused
            with pytest.raises(XNATKeyError, match="refuses /data/users to this user"):
                user.users["admin"]
    finally:
        session.post("/xapi/siteConfig", json={"restrictUserListAccessToAdmins": False})
    assert not session.users.refused and "user" in session.users


# -- fault injection for users' own tests ------------------------------------------------------


def test_a_fault_that_could_never_apply_is_refused(server: LocalXNAT, session: XNATSession) -> None:
    """A misspelt fault (``{"failnext": ...}``) or option (``"cuont"``) on the HTTP switch
    was ignored with 200, a prefix without its leading slash never matched, and
    ``fail_next("2")`` made every later request a 500 with a traceback: a user's test of
    their retries passed testing nothing, or failed for no reason of theirs. Each is refused,
    named, and the server keeps answering."""
    faults = "/xapi/testing/faults"
    for spec, why in (
        ({"failnext": {"count": 2}}, "Unknown fault 'failnext'; the faults are: delay,"),
        ({"fail_next": {"cuont": 2}}, "Unknown option 'cuont' of fail_next"),
        ({"fail_next": {"prefix": "data"}}, "prefix: must be a path starting with /"),
        ({"hang_next": {"count": 0}}, "count: must be a whole number >= 1, got 0"),
    ):
        with pytest.raises(XNATResponseError, match=why) as info:
            session.put(faults, json=spec)
        assert info.value.status == 400
    for call in (
        lambda: server.faults.fail_next("2"),  # type: ignore[arg-type]
        lambda: server.faults.fail_next(1, prefix="data/projects"),
        lambda: server.faults.drop_after(10, count=-1),
        lambda: server.faults.redirect_next("http://x{path}", status=200),
    ):
        with pytest.raises(XNATValidationError):
            call()
    assert session.get_json(faults)["fail_next"] is None
    assert session.get("/data/projects", format="json").status_code == 200


# -- prearchive --------------------------------------------------------------------------------


def test_prearchive_find_refuses_a_status_xnat_has_not(
    server: LocalXNAT, session: XNATSession, xnat_project: str
) -> None:
    """``find(status="ready")`` matched nothing, silently (XNAT's statuses are upper case):
    it is refused naming the status meant, before anything is sent; ``READY`` finds it."""
    study = make_dicom_zip(patient="T14", series=[(1, "T1")])
    waiting = session.services.import_(study, project=xnat_project, destination="/prearchive")
    assert isinstance(waiting, PrearchiveSession)
    server.faults.start_recording()
    with pytest.raises(XNATValidationError, match=r"'ready' is no prearchive status \(did you"):
        session.prearchive.find(project=xnat_project, status="ready")
    assert server.faults.recorded() == []
    found = session.prearchive.find(project=xnat_project, status="READY")
    assert [s.uri for s in found] == [waiting.uri]


def test_an_import_refused_as_a_duplicate_says_where_the_upload_waits(
    session: XNATSession, xnat_project: str
) -> None:
    """An import to the archive of a session already there raised XNAT's "Session already
    exists, retry with overwrite enabled" alone; XNAT keeps the upload in the prearchive as
    CONFLICT, and retrying the import as told leaves that copy there for good. The error
    says where it waits; archiving it from there with ``overwrite`` empties the prearchive."""
    study = make_dicom_zip(patient="T14D", series=[(1, "T1")])
    first = session.services.import_(study, project=xnat_project, destination="/archive")
    with pytest.raises(XNATUploadConflictError) as info:
        session.services.import_(study, project=xnat_project, destination="/archive")
    assert info.value.hint.startswith(
        f"XNAT keeps the upload in project {xnat_project}'s prearchive with status CONFLICT"
    )
    waiting = session.prearchive.find(project=xnat_project, status="CONFLICT")
    assert len(waiting) == 1
    again = waiting[0].archive(overwrite="append")
    assert again.uri == first.uri
    assert session.prearchive.sessions(xnat_project) == []


def _two_studies() -> bytes:
    """One zip of two studies (patients T14A and T14B)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        for patient in ("T14A", "T14B"):
            with zipfile.ZipFile(io.BytesIO(make_dicom_zip(patient=patient))) as study:
                for name in study.namelist():
                    bundle.writestr(name, study.read(name))
    return buffer.getvalue()


def test_an_import_that_made_several_sessions_names_them_all(
    session: XNATSession, xnat_project: str
) -> None:
    """A zip of two studies imported to the prearchive makes two sessions, and XNAT names
    both; ``import_`` returned the first and said nothing of the other. It still returns the
    first (as xnatpy's), and warns naming every one."""
    with pytest.warns(XNATSeveralSessionsWarning) as caught:
        first = session.services.import_(
            _two_studies(), project=xnat_project, destination="/prearchive"
        )
    assert isinstance(first, PrearchiveSession) and first.subject == "T14A"
    [warning] = [w.message for w in caught if isinstance(w.message, XNATSeveralSessionsWarning)]
    waiting = session.prearchive.sessions(xnat_project)
    assert sorted(warning.uris) == sorted(s.uri for s in waiting)
    assert {s.subject for s in waiting} == {"T14A", "T14B"}
    assert pickle.loads(pickle.dumps(warning)).uris == warning.uris


def test_an_import_naming_two_projects_is_refused(
    server: LocalXNAT, session: XNATSession, xnat_project: str
) -> None:
    """``import_(..., project="P", destination="/archive/projects/Q")`` archived into P
    without a word; the caller named Q too. Refused before the upload is sent; the same
    project in both is fine."""
    study = make_dicom_zip(patient="T14P", series=[(1, "T1")])
    server.faults.start_recording()
    with pytest.raises(XNATValidationError, match="destination '/archive/projects/OTHER'"):
        session.services.import_(study, project=xnat_project, destination="/archive/projects/OTHER")
    assert server.faults.recorded() == []
    server.faults.clear()
    made = session.services.import_(
        study, project=xnat_project, destination=f"/archive/projects/{xnat_project}"
    )
    assert made.uri.startswith(f"/data/projects/{xnat_project}/")


def test_set_access_sends_only_a_user_the_site_has(
    server: LocalXNAT, session: XNATSession, xnat_project: str
) -> None:
    """XNAT's ``PUT {project}/users/{group}/{id}`` reads a number as a user's numeric ID, an
    email as its users', and anything else it does not know as an address to email an
    invitation to, answering 200 (``ProjectMemberResource``): ``set_access("nobdy", ...)``
    "succeeded" with no member added, an invitation to "nobdy" sent. A login or email the
    site does not have is refused before anything is sent; an email names its user, as
    ``remove_access`` takes one."""
    project = session.projects[xnat_project]
    server.faults.start_recording()
    with pytest.raises(XNATKeyError, match="no user with login or email 'nobdy'"):
        project.set_access("nobdy", "member")
    with pytest.raises(XNATValidationError, match="numeric ID"):
        project.set_access("2", "member")
    assert [r for r in server.faults.recorded() if r.method == "PUT"] == []
    server.faults.clear()
    project.set_access("user@example.com", "collaborator")
    assert project.users["user"].access_level == "Collaborators"
    # the local server answers as XNAT: an unknown one is invited, and made no member
    session.put(f"{project.uri}/users/member/stranger@example.org")
    session.clearcache()
    assert "stranger@example.org" not in {u.email for u in project.users.values()}


def test_set_access_without_the_user_list_says_when_no_member_was_made(
    server: LocalXNAT, session: XNATSession, xnat_project: str
) -> None:
    """An owner who may not list the site's users cannot have the login checked first:
    what XNAT made of it is checked after, and a login it made no member of is an error
    (it was silent)."""
    server.add_member(xnat_project, "user", "owner")
    session.post("/xapi/siteConfig", json={"restrictUserListAccessToAdmins": True})
    try:
        with xnat_sdk.connect(server.url, user="user", password="user") as owner:
            project = owner.projects[xnat_project]
            with pytest.raises(XNATValueError, match="XNAT made no user 'nobdy' a member"):
                project.set_access("nobdy", "member")
            project.set_access("admin", "collaborator")
            assert project.users["admin"].access_level == "Collaborators"
    finally:
        session.post("/xapi/siteConfig", json={"restrictUserListAccessToAdmins": False})


# -- plugins -----------------------------------------------------------------------------------


def test_session_plugins_takes_xnatpys_clearcache(server: LocalXNAT, session: XNATSession) -> None:
    """xnatpy's ``session.plugins.clearcache()`` (and ``.xnat_session``, a plugin's
    ``uri``) raised AttributeError: a porter's refresh after installing a plugin failed."""
    before = session.plugins
    assert before.xnat_session is session and before.caching
    server.add_plugin("trial14Plugin", "Trial 14", "0.1.0")
    assert "trial14Plugin" not in session.plugins  # read once, until cleared
    session.plugins.clearcache()
    info = session.plugins["trial14Plugin"]
    assert info.uri == "/xapi/plugins/trial14Plugin"
    assert session.get_json(info.uri)["version"] == "0.1.0"
