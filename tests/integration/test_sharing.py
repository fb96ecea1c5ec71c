"""The archive-scale features on data shared between projects, for a non-admin user."""

from __future__ import annotations

import itertools
import zipfile
from pathlib import Path
from typing import Any

import pytest
import requests

import xnat_sdk
from tests.integration.conftest import RequestLog
from xnat_sdk.archives import SDK_FILES
from xnat_sdk.errors import XNATConflictError, XNATServerError, XNATValidationError
from xnat_sdk.mapping import FilterFunctions, MappedFunctionFailed, create_filter_funcs
from xnat_sdk.models import ExperimentData, MrScanData, MrSessionData, SubjectData
from xnat_sdk.search import col
from xnat_sdk.testing.local import LocalXNAT

_logins = itertools.count(1)


def _shared_from_a_closed_project(server: LocalXNAT, stem: str) -> tuple[str, str]:
    """A session of project ``{stem}_C`` shared (without its subject) into ``{stem}_O``
    under ``SESS_O``, for a new user who reads only ``{stem}_O``; (project, login)."""
    closed, open_ = f"{stem}_C", f"{stem}_O"
    server.seed_project(closed)
    server.seed_project(open_)
    login = f"sharing{next(_logins)}"
    server.add_user(login, "pw")
    server.add_member(open_, login, "collaborator")
    server.seed_subject(closed, "SUBJ")
    session = server.seed_session(closed, "SUBJ", "SESS")
    scan = server.seed_scan(session, "1", type="T1")
    server.seed_file(server.seed_resource("scan", scan, "DICOM"), "a.dcm", b"abc")
    with requests.Session() as admin:
        admin.auth = ("admin", "admin")
        url = f"{server.url}/data/projects/{closed}/experiments/SESS/projects/{open_}"
        assert admin.put(url, params={"label": "SESS_O"}).status_code == 200
    return open_, login


def test_download_files_of_a_session_shared_from_a_closed_project(
    server: LocalXNAT, xnat_project: str, tmp_path: Path
) -> None:
    """Its files are read by the session's accession ID, which a reader of the sharing
    project may read (XNAT: read access through ``sharing/share/project``)."""
    project, login = _shared_from_a_closed_project(server, xnat_project)
    with xnat_sdk.connect(server.url, user=login, password="pw") as session:
        sessions = list(session.projects[project].experiments.values())
        assert [s.label for s in sessions] == ["SESS_O"]
        report = session.download_files(sessions, tmp_path, verbose=False)
    assert not report.failed
    got = [
        p.relative_to(tmp_path).as_posix()
        for p in tmp_path.rglob("*")
        if p.is_file() and p.name not in SDK_FILES  # the record of verified files aside
    ]
    assert got == [f"{project}/SESS_O/scans/1-T1/resources/DICOM/files/a.dcm"]


def test_a_shared_object_keeps_its_label_in_the_sharing_project(
    server: LocalXNAT, xnat_project: str
) -> None:
    """The listing of the sharing project, ``load_tree`` and the object's own document
    agree: the share's label (an experiment: the sharing project too), as in xnatpy."""
    primary, other = xnat_project, f"{xnat_project}_B"
    server.seed_project(other)
    server.seed_subject(primary, "SUBJ")
    server.seed_session(primary, "SUBJ", "SESS")
    with xnat_sdk.connect(server.url, user="admin", password="admin") as session:
        subject = session.projects[primary].subjects["SUBJ"]
        subject.share(other, label="SUBJ_B")
        subject.experiments["SESS"].share(other, label="SESS_B")
        session.clearcache()
        seen = session.projects[other].subjects["SUBJ_B"]
        experiment = seen.experiments["SESS_B"]
        assert experiment.note is None  # not listed: reads the document
        assert (seen.label, seen.project) == ("SUBJ_B", primary)
        assert (experiment.label, experiment.project) == ("SESS_B", other)
        assert experiment.data["label"] == "SESS"  # the document itself is untouched
        assert seen.demographics is not None and seen.label == "SUBJ_B"
        session.clearcache()
        direct = session.create_object(experiment.uri)
        assert isinstance(direct, ExperimentData)
        assert (direct.label, direct.project) == ("SESS_B", other)
        session.clearcache()
        tree = session.projects[other].load_tree()
        (loaded,) = [e for s in tree.values() for e in s.experiments.values()]
        assert (loaded.uri, loaded.label, loaded.project) == (experiment.uri, "SESS_B", other)
        # in its primary project it keeps its own label
        mine = session.projects[primary].subjects["SUBJ"].experiments["SESS"]
        assert mine.note is None and (mine.label, mine.project) == ("SESS", primary)


def test_share_again_with_a_new_label_relabels_the_share(
    server: LocalXNAT, xnat_project: str
) -> None:
    """XNAT answers an experiment's relabelled share with 409 "Already assigned": the
    share reads back with the new label, so ``share`` succeeds; without a new label the
    conflict stands."""
    other = f"{xnat_project}_B"
    server.seed_project(other)
    server.seed_subject(xnat_project, "SUBJ")
    server.seed_session(xnat_project, "SUBJ", "SESS")
    with xnat_sdk.connect(server.url, user="admin", password="admin") as session:
        experiment = session.projects[xnat_project].subjects["SUBJ"].experiments["SESS"]
        experiment.share(other, label="FIRST")
        experiment.share(other, label="SECOND")
        labels = [e.label for e in session.projects[other].experiments.values()]
        assert labels == ["SECOND"]
        with pytest.raises(XNATConflictError, match="Already assigned"):
            experiment.share(other)


def test_a_share_without_a_label(server: LocalXNAT, xnat_project: str) -> None:
    """XNAT stores no label for it: the sharing project lists the objects under their own
    labels, and reaches them there by accession ID (the SDK's listings bind them so) and
    by no label; a subject's share takes a label later, an experiment's cannot (XNAT
    fails, 500), which the error says."""
    other = f"{xnat_project}_B"
    server.seed_project(other)
    server.seed_subject(xnat_project, "SUBJ")
    server.seed_session(xnat_project, "SUBJ", "SESS")
    with xnat_sdk.connect(server.url, user="admin", password="admin") as session:
        subject = session.projects[xnat_project].subjects["SUBJ"]
        experiment = subject.experiments["SESS"]
        subject.share(other)
        experiment.share(other)
        seen = session.projects[other].subjects["SUBJ"]
        shared = seen.experiments["SESS"]
        assert (seen.id, shared.id) == (subject.id, experiment.id)
        assert (shared.label, shared.project) == ("SESS", other)
        assert shared.data["label"] == "SESS"  # its document: its own label
        with pytest.raises(XNATServerError, match="cannot give a label") as failed:
            experiment.share(other, label="SESS_B")
        assert failed.value.status == 500
        remove = f"session.delete('/data/experiments/{experiment.id}/projects/{other}')"
        assert remove in str(failed.value)  # the way out, which works:
        session.delete(f"/data/experiments/{experiment.id}/projects/{other}")
        experiment.share(other, label="SESS_B")
        session.clearcache()
        assert session.projects[other].experiments["SESS_B"].id == experiment.id
        subject.share(other, label="SUBJ_B")
        assert session.projects[other].subjects["SUBJ_B"].id == subject.id


def test_walks_and_downloads_reach_a_session_shared_without_its_subject(
    server: LocalXNAT, xnat_project: str, tmp_path: Path
) -> None:
    """XNAT lists it among the project's experiments (``ProjSubExptList``: project or
    share), under none of its subjects: ``map``, ``mapping_iter`` (threaded, caching off)
    and ``download_files`` of the project reach it too; a subject filter leaves it out."""
    project, login = _shared_from_a_closed_project(server, xnat_project)
    server.seed_subject(project, "OWN")
    own = server.seed_session(project, "OWN", "OWN_MR")
    with xnat_sdk.connect(server.url, user=login, password="pw") as session:
        top = session.projects[project]
        labels = top.map(lambda e: e.label, "experiment")
        assert sorted(labels.values()) == ["OWN_MR", "SESS_O"]
        assert len(set(labels)) == 2
        report = top.download_files(tmp_path, verbose=False)
        assert len(report.downloaded) == 1 and not report.failed
        got = [p.relative_to(tmp_path).parts for p in tmp_path.rglob("*.dcm")]
        assert [parts[2] for parts in got] == ["SESS_O"]
        assert not top.download_files(tmp_path, verbose=False).downloaded  # a rerun skips
        filtered = top.map(lambda e: e.label, "experiment", filter_function=_subject("OWN"))
        assert list(filtered.values()) == ["OWN_MR"]
        session.caching = False
        walked = [e.label for e in top.mapping_iter("experiment", max_workers=4)]
        assert walked == ["OWN_MR", "SESS_O"]
        scans = [s.type for s in top.mapping_iter("scan")]
        assert scans == ["T1"]
    assert own


def _subject(label: str) -> FilterFunctions:
    return create_filter_funcs(subject=label)


def test_a_label_set_through_a_share_is_refused(server: LocalXNAT, xnat_project: str) -> None:
    """XNAT would rename the object in its primary project (``Rename`` sets its own label),
    not the share: refused before any write; from the primary project it renames."""
    other = f"{xnat_project}_B"
    server.seed_project(other)
    server.seed_subject(xnat_project, "SUBJ")
    server.seed_session(xnat_project, "SUBJ", "SESS")
    with xnat_sdk.connect(server.url, user="admin", password="admin") as session:
        mine = session.projects[xnat_project].subjects["SUBJ"]
        mine.experiments["SESS"].share(other, label="SESS_B")
        seen = session.projects[other].experiments["SESS_B"]
        with pytest.raises(XNATValidationError, match="share"):
            seen.label = "RENAMED"
        session.clearcache()
        labels = [e.label for e in session.projects[xnat_project].experiments.values()]
        assert labels == ["SESS"]
        mine.experiments["SESS"].label = "RENAMED"
        session.clearcache()
        assert [e.label for e in session.projects[xnat_project].experiments.values()] == ["RENAMED"]
        assert [e.label for e in session.projects[other].experiments.values()] == ["SESS_B"]


def test_download_dir_of_a_project_reaches_a_session_shared_without_its_subject(
    server: LocalXNAT, xnat_project: str, tmp_path: Path
) -> None:
    """One zip per session, as ``download_files``: the shared session goes under its
    subject's accession ID (the subject has no label in the project), beside the project's
    own sessions; the whole-project zip holds it too."""
    project, login = _shared_from_a_closed_project(server, xnat_project)
    server.seed_subject(project, "OWN")
    server.seed_file(
        server.seed_resource(
            "scan", server.seed_scan(server.seed_session(project, "OWN", "OWN_MR"), "1"), "DICOM"
        ),
        "b.dcm",
        b"de",
    )
    with xnat_sdk.connect(server.url, user=login, password="pw") as session:
        top = session.projects[project]
        holder = top.experiments["SESS_O"].subject_id
        told: list[str] = []
        folder = top.download_dir(tmp_path, verbose=False, progress_callback=told.append)
        zipped = top.download(tmp_path / "all.zip", verbose=False)
    got = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.dcm"))
    assert got == sorted(
        [
            # its label in this project, as download_files names it (XNAT's zip names the
            # folder by its primary label, getArchiveDirectoryName)
            f"{holder}/SESS_O/scans/1-T1/resources/DICOM/files/a.dcm",
            "OWN/OWN_MR/scans/1/resources/DICOM/files/b.dcm",
        ]
    )
    assert told and holder != "OWN"
    with zipfile.ZipFile(zipped) as archive:
        names = [n for n in archive.namelist() if n.endswith(".dcm")]
    assert sorted(n.split("/")[1] for n in names) == sorted([holder, "OWN"])


def test_a_site_walk_visits_a_session_shared_into_two_projects_once(
    server: LocalXNAT, xnat_project: str, tmp_path: Path
) -> None:
    """Shared without its subject into two projects, from a project the user does not
    read: a walk from the session visits it (its scans, their resources) once, through the
    first of the two in the walk's order, keyed by that project's path (its scans are
    bound to ``/data/experiments/{E}/scans/...``, where XNAT routes them); a rerun with the
    log calls nothing."""
    project, login = _shared_from_a_closed_project(server, xnat_project)
    second = f"{xnat_project}_T"
    server.seed_project(second)
    server.add_member(second, login, "collaborator")
    with requests.Session() as admin:
        admin.auth = ("admin", "admin")
        url = f"{server.url}/data/projects/{xnat_project}_C/experiments/SESS/projects/{second}"
        assert admin.put(url).status_code == 200
    log = tmp_path / "map.json"
    calls: list[str] = []
    with xnat_sdk.connect(server.url, user=login, password="pw") as session:
        eid = session.projects[project].experiments["SESS_O"].id
        order = [p.id for p in session.projects.values()]
        first = min((project, second), key=order.index)

        def note(obj: Any) -> str:
            calls.append(obj.uri)
            return str(obj.uri)

        scans = session.map(note, "scan", logfile=log)
        key = f"/data/projects/{first}/experiments/{eid}/scans/1"
        assert scans == {key: f"/data/experiments/{eid}/scans/1"}
        resources = session.map(lambda r: r.label, "scan_resource", max_workers=2)
        assert [k.rsplit("/resources/", 1)[0] for k in resources] == [key]
        assert list(resources.values()) == ["DICOM"]
        session.caching = False
        walked = [s.uri for s in session.mapping_iter("scan", max_workers=2)]
        assert walked == [f"/data/experiments/{eid}/scans/1"]
        assert [s.uri for s in session.mapping_iter("scan")] == walked
        assert session.map(note, "scan", logfile=log) == scans
        assert len(project and session.projects[second].map(note, "scan")) == 1  # as before
    assert len(calls) == 2  # once in the site walk, once in the project's; the rerun none


def _shared_around(server: LocalXNAT, stem: str) -> tuple[str, str, str, str, str, str]:
    """Session SESS (scan 1, its DICOM resource) of subject SUBJ of ``{stem}_Z``, shared
    with its subject into ``{stem}_B`` (as SUBJ_B, SESS_B) and alone into ``{stem}_C``;
    ``{stem}_B`` and ``{stem}_C`` come first (a walk meets the shares before the primary
    project). (primary, B, C, subject ID, session ID, resource ID)."""
    shares, primary = (f"{stem}_B", f"{stem}_C"), f"{stem}_Z"
    for project in (*shares, primary):
        server.seed_project(project)
    sid = server.seed_subject(primary, "SUBJ")
    eid = server.seed_session(primary, "SUBJ", "SESS")
    rid = server.seed_resource("scan", server.seed_scan(eid, "1", type="T1"), "DICOM")
    with requests.Session() as admin:
        admin.auth = ("admin", "admin")
        base = f"{server.url}/data/projects/{primary}/subjects/SUBJ"
        for url, label in ((base, "SUBJ_B"), (f"{base}/experiments/SESS", "SESS_B")):
            assert admin.put(f"{url}/projects/{shares[0]}", params={"label": label}).ok
        assert admin.put(f"{server.url}/data/experiments/{eid}/projects/{shares[1]}").ok
    return primary, *shares, sid, eid, str(rid)


def test_a_site_walk_visits_a_shared_session_once_under_its_primary_project(
    server: LocalXNAT, xnat_project: str, tmp_path: Path
) -> None:
    """A session shared with its subject into one project and alone into another: a walk
    from the session calls the function once per object, through its primary project when
    the walk goes through it (admin), else through the share (a member of the sharing
    project only), whatever runs the walk (threads or one at a time); one request more
    (the site's experiments, for their primary projects), none per object; a rerun with
    the log calls nothing (a walk through one project asks nothing more). A walk of one
    project still sees what is shared into it."""
    primary, shared, bare, sid, eid, rid = _shared_around(server, xnat_project)
    login = f"sharing{next(_logins)}"
    server.add_user(login, "pw")
    server.add_member(shared, login, "member")
    server.seed_project(f"{xnat_project}_M")  # a second project of the member's
    server.add_member(f"{xnat_project}_M", login, "member")
    ours = create_filter_funcs(project=lambda p: p.id.startswith(f"{xnat_project}_"))
    calls: list[str] = []

    def note(obj: Any) -> str:
        calls.append(obj.uri)
        return str(getattr(obj, "label", None) or obj.type)

    for user, password, home, labels in (
        ("admin", "admin", primary, ("SUBJ", "SESS")),
        (login, "pw", shared, ("SUBJ_B", "SESS_B")),
    ):
        where = f"/data/projects/{home}/subjects/{sid}"
        sess = f"{where}/experiments/{eid}"
        expected = {
            "subject": {where: labels[0]},
            "experiment": {sess: labels[1]},
            "scan": {f"{sess}/scans/1": "T1"},
            "scan_resource": {f"{sess}/scans/1/resources/{rid}": "DICOM"},
        }
        with xnat_sdk.connect(server.url, user=user, password=password) as session:
            recorder = RequestLog()
            session.interface.hooks["response"].append(recorder)
            for level, found in expected.items():
                calls.clear()
                logfile = tmp_path / f"{user}-{level}.json"
                assert session.map(note, level, filter_function=ours, logfile=logfile) == found
                assert len(calls) == 1, (user, level, calls)
                assert session.map(note, level, None, None, ours, logfile) == found
                assert len(calls) == 1  # the rerun skipped it
                walked = session.mapping_iter(level, ours)  # one at a time
                assert len(list(walked)) == 1
            site = [p for p in recorder.paths() if p.startswith("GET /data/experiments?")]
            assert len(site) == 9  # once per walk below the subjects (3 levels, 3 walks)
            found_once = session.search(project=ours.project, level="experiment")
            assert [e.uri for e in found_once] == [sess]
            recorder.clear()
            one = create_filter_funcs(project=lambda p: p.id == shared)
            assert len(session.map(note, "experiment", filter_function=one)) == 1
            assert not [p for p in recorder.paths() if p.startswith("GET /data/experiments?")]
            labels_b = session.projects[shared].map(lambda e: e.label, "experiment")
            assert list(labels_b.values()) == ["SESS_B"]
            if user == "admin":  # the primary project left out: through the first share
                shares = create_filter_funcs(project=lambda p: p.id in (shared, bare))
                by_share = session.map(lambda e: e.label, "experiment", filter_function=shares)
                assert by_share == {
                    f"/data/projects/{shared}/subjects/{sid}/experiments/{eid}": "SESS_B"
                }
                bare_scans = session.projects[bare].map(lambda s: s.type, "scan")
                assert bare_scans == {f"/data/projects/{bare}/experiments/{eid}/scans/1": "T1"}


def test_a_search_in_a_project_builds_its_shared_sessions_there(
    server: LocalXNAT, xnat_project: str, tmp_path: Path
) -> None:
    """XNAT finds a project's shared sessions with ``project = P OR sharing/share/project =
    P`` and answers them once, under their primary project (closed to a reader of P only):
    ``in_project`` builds those objects under P, where that reader reads them, their scans
    and their files, with the share's label."""
    project, login = _shared_from_a_closed_project(server, xnat_project)
    server.seed_subject(project, "OWN")
    server.seed_session(project, "OWN", "OWN_MR")
    with xnat_sdk.connect(server.url, user=login, password="pw") as session:
        query = session.query(MrSessionData)
        rows = query.in_project(project).all()
        assert sorted((r["label"], r["project"]) for r in rows) == [
            ("OWN_MR", project),
            ("SESS", f"{xnat_project}_C"),  # XNAT's row: the primary's label and project
        ]
        own_only = query.where(lambda s: col(s.project) == project).all()
        assert [r["label"] for r in own_only] == ["OWN_MR"]
        found = {o.uri.rsplit("/", 1)[-1]: o for o in query.in_project(project).objects()}
        shared = found[session.projects[project].experiments["SESS_O"].id]
        session.clearcache()
        assert shared.uri == f"/data/projects/{project}/experiments/{shared.id}"
        assert (shared.label, shared.project) == ("SESS_O", project)
        assert [s.type for s in shared.scans.values()] == ["T1"]
        folder = shared.download_dir(tmp_path, verbose=False)
        assert folder.name == "SESS_O"  # its label here (the zip's is its primary one)
        assert [p.name for p in folder.rglob("*.dcm")] == ["a.dcm"]
        typed = MrSessionData.query(session=session).in_project(project).all()
        assert sorted(o.label for o in typed) == ["OWN_MR", "SESS_O"]
        (scan,) = session.query(MrScanData).in_project(project).objects()
        assert (scan.uri, scan.type) == (f"/data/experiments/{shared.id}/scans/1", "T1")
        assert scan.data["type"] == "T1"  # its document, read by its session's accession ID
        assert not session.query(MrScanData).where(lambda s: col(s.project) == project).all()


def test_the_archive_folder_of_a_shared_session_is_its_primary_one(
    server: LocalXNAT, xnat_project: str, tmp_path: Path
) -> None:
    """XNAT keeps a session's files under its primary project and its own label
    (``getArchiveRootPath`` of the primary project, ``getArchiveDirectoryName``: its own
    label), a subject's under ``{primary}/subjects/{label}``: ``data_dir`` seen through a
    project it is shared into (under another label, or none) names those, reading each
    object's document once (none per scan)."""
    home, other, bare = f"{xnat_project}_H", f"{xnat_project}_S", f"{xnat_project}_U"
    for project in (home, other, bare):
        server.seed_project(project)
    sid = server.seed_subject(home, "SUBJ")
    server.seed_resource("subject", sid, "NOTES")
    eid = server.seed_session(home, "SUBJ", "SESS")
    for number in ("1", "2"):
        server.seed_scan(eid, number, type="T1")
    with requests.Session() as admin:
        admin.auth = ("admin", "admin")
        base = f"{server.url}/data/projects/{home}/subjects/SUBJ"
        for url, label in ((base, "SUBJ_B"), (f"{base}/experiments/SESS", "SESS_B")):
            assert admin.put(f"{url}/projects/{other}", params={"label": label}).ok
            assert admin.put(f"{url}/projects/{bare}").ok  # no label of its own there
    folder = tmp_path / home / "arc001" / "SESS"
    for part in ("SCANS/1", "SCANS/2", "RESOURCES/NOTES"):
        (folder / part).mkdir(parents=True)
    with xnat_sdk.connect(server.url, user="admin", password="admin") as connection:
        connection.mount_data_dir = tmp_path
        recorder = RequestLog()
        connection.interface.hooks["response"].append(recorder)
        for project, subject, label in ((other, "SUBJ_B", "SESS_B"), (bare, "SUBJ", "SESS")):
            shared = connection.projects[project].subjects[subject]
            experiment = shared.experiments[label]
            assert (experiment.project, experiment.label) == (project, label)
            recorder.requests.clear()
            assert experiment.data_dir == folder
            assert [s.data_dir for s in experiment.scans.values()] == [
                folder / "SCANS" / "1",
                folder / "SCANS" / "2",
            ]
            gets = [url for method, url, _ in recorder.requests if method == "GET"]
            assert len([u for u in gets if "/scans" not in u]) <= 1, gets
            resource = shared.resources["NOTES"]
            assert resource.expected_data_dir == tmp_path / home / "subjects" / "SUBJ" / "NOTES"
        by_id = connection.projects[bare].experiments[eid]
        assert by_id.expected_data_dir == folder


def test_a_site_search_builds_a_shared_session_where_its_reader_reads_it(
    server: LocalXNAT, xnat_project: str, tmp_path: Path
) -> None:
    """Not limited to a project, XNAT answers a shared session once, under its primary
    project (closed to a reader of the sharing project only), with its ``PROJECTS``
    display field (``<A>,<B>``): ``objects`` binds it under the project it is shared into
    that the user reads (the projects listing, one request), with the share's label, where
    its fields, scans and files are read and downloaded; a session of theirs stays where it
    is. The request counts: the search, the types, the readable projects, the sharing
    project's experiments (the share's label)."""
    project, login = _shared_from_a_closed_project(server, xnat_project)
    closed = f"{xnat_project}_C"
    server.seed_subject(project, "OWN")
    server.seed_session(project, "OWN", "OWN_MR")
    with xnat_sdk.connect(server.url, user=login, password="pw") as session:
        recorder = RequestLog()
        session.interface.hooks["response"].append(recorder)
        query = session.query(MrSessionData).where(
            lambda s: col(s.project).one_of([closed, project])
        )
        objects = query.objects()
        assert [p.split("?")[0] for p in recorder.paths()] == [
            "POST /data/search",
            "GET /data/experiments",
            "GET /data/projects",
            f"GET /data/projects/{project}/experiments",  # the shares' labels there
        ]
        recorder.clear()
        found = {o.label: o for o in objects}  # no request: the listing told
        assert sorted(found) == ["OWN_MR", "SESS_O"] and recorder.paths() == []
        shared, own = found["SESS_O"], found["OWN_MR"]
        assert shared.uri == f"/data/projects/{project}/experiments/{shared.id}"
        assert own.uri.startswith(f"/data/projects/{project}/subjects/")
        assert (shared.project, shared.data["label"]) == (project, "SESS")
        assert [s.type for s in shared.scans.values()] == ["T1"]
        files = shared.scans["1"].resources["DICOM"].files
        assert [f.path for f in files.values()] == ["a.dcm"]
        report = session.download_files(query.objects(), tmp_path, verbose=False)
    assert not report.failed and len(report.downloaded) == 1
    got = [p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.dcm")]
    assert got == [f"{project}/SESS_O/scans/1-T1/resources/DICOM/files/a.dcm"]


def test_a_protected_primary_project_is_not_taken_as_readable_and_shares_cost_one_listing(
    server: LocalXNAT, xnat_project: str
) -> None:
    """A ``protected`` project is listed to every user (``/data/projects``: XNAT gives the
    guest group read of the project itself) but its subjects and experiments are closed
    to a non-member: sessions of one shared into a project the user reads were bound
    under it, where they cannot be opened. They are bound where the user reads them
    (``/data/projects?data=readable``), and their labels there (the shares') come from
    one listing of that project, not one document read each: 4 requests for 3 sessions,
    their labels and project read without another."""
    closed, open_ = f"{xnat_project}_P", f"{xnat_project}_O"
    server.seed_project(closed, accessibility="protected")
    server.seed_project(open_)
    login = f"sharing{next(_logins)}"
    server.add_user(login, "pw")
    server.add_member(open_, login, "collaborator")
    server.seed_subject(closed, "SUBJ")
    with requests.Session() as admin:
        admin.auth = ("admin", "admin")
        for n in (1, 2, 3):
            server.seed_scan(server.seed_session(closed, "SUBJ", f"SESS{n}"), "1", type="T1")
            url = f"{server.url}/data/projects/{closed}/experiments/SESS{n}/projects/{open_}"
            assert admin.put(url, params={"label": f"SESS{n}_O"}).status_code == 200
    with xnat_sdk.connect(server.url, user=login, password="pw") as session:
        assert closed in set(session.projects.keys())  # listed: its description is open
        recorder = RequestLog()
        session.interface.hooks["response"].append(recorder)
        query = session.query(MrSessionData).where(lambda s: col(s.project) == closed)
        objects = query.objects()
        seen = sorted((o.label, o.project, o.uri.rsplit("/", 2)[0]) for o in objects)
        assert seen == [(f"SESS{n}_O", open_, f"/data/projects/{open_}") for n in (1, 2, 3)]
        assert [p.split("?")[0] for p in recorder.paths()] == [
            "POST /data/search",
            "GET /data/experiments",
            "GET /data/projects",
            f"GET /data/projects/{open_}/experiments",
        ]
        assert "data=readable" in recorder.paths()[2]
        assert [s.type for s in objects[0].scans.values()] == ["T1"]  # opened where read
        from xnat_sdk.search import readable_projects

        assert closed not in readable_projects(session) and open_ in readable_projects(session)


def test_a_site_search_of_subjects_builds_a_shared_subject_where_its_reader_reads_it(
    server: LocalXNAT, xnat_project: str
) -> None:
    """A subject's ``PROJECTS`` is ``,<A>,<B>``: a subject shared from a closed project is
    bound under the sharing project, with its label there. An admin's search binds it under
    its primary project; rows without shares send no more requests than before, a shared
    one whose primary project no unshared row shows readable one listing of the projects,
    once (cached)."""
    project, login = _shared_from_a_closed_project(server, xnat_project)
    closed = f"{xnat_project}_C"
    server.seed_subject(project, "OWN")
    with requests.Session() as admin:
        admin.auth = ("admin", "admin")
        url = f"{server.url}/data/projects/{closed}/subjects/SUBJ/projects/{project}"
        assert admin.put(url, params={"label": "SUBJ_O"}).status_code == 200
    with xnat_sdk.connect(server.url, user=login, password="pw") as session:
        (subject,) = session.query(SubjectData).where(lambda s: col(s.project) == closed).objects()
        assert subject.uri == f"/data/projects/{project}/subjects/{subject.id}"
        assert subject.label == "SUBJ_O"
        assert [e.label for e in subject.experiments.values()] == ["SESS_O"]
    search = "POST /data/search?format=json"
    with xnat_sdk.connect(server.url, user="admin", password="admin") as session:
        recorder = RequestLog()
        session.interface.hooks["response"].append(recorder)
        own = session.query(SubjectData).where(lambda s: col(s.project) == project).objects()
        assert recorder.paths() == [search]  # no share: as before
        assert [o.label for o in own] == ["OWN"]  # a listed field: no request
        recorder.clear()
        query = session.query(SubjectData).where(lambda s: col(s.project) == closed)
        (mine,) = query.objects()
        assert recorder.paths() == [search, "GET /data/projects?data=readable&format=json"]
        assert (mine.uri, mine.label) == (f"/data/projects/{closed}/subjects/{mine.id}", "SUBJ")
        recorder.clear()
        assert [o.uri for o in query.objects()] == [mine.uri]
        assert recorder.paths() == [search]  # the listing is cached


def test_subject_of_a_session_shared_without_its_subject_says_why(
    server: LocalXNAT, xnat_project: str
) -> None:
    """``experiment.subject`` of a session shared alone, read through the sharing project:
    XNAT's 404 ("The project ... does not contain a subject") came at a later field read
    with no hint; it is XNATNotSharedError (an XNATNotFoundError) at ``subject``, naming
    the project and what to do. Once the subject is shared too, it is found there."""
    from xnat_sdk.errors import XNATNotFoundError, XNATNotSharedError

    project, login = _shared_from_a_closed_project(server, xnat_project)
    with xnat_sdk.connect(server.url, user=login, password="pw") as session:
        experiment = session.projects[project].experiments["SESS_O"]
        with pytest.raises(XNATNotSharedError) as info:
            _ = experiment.subject
        assert isinstance(info.value, XNATNotFoundError) and info.value.status == 404
        hint = info.value.hint
        assert f"SESS_O ({experiment.id}) is shared into project {project} without its " in hint
        assert f"subjects['{experiment.subject_id}'].share({project!r})" in hint
        assert f"session.projects['{xnat_project}_C']" in hint
        with requests.Session() as admin:
            admin.auth = ("admin", "admin")
            url = f"{server.url}/data/projects/{xnat_project}_C/subjects/SUBJ/projects/{project}"
            assert admin.put(url, params={"label": "SUBJ_O"}).status_code == 200
        session.clearcache()
        assert session.projects[project].experiments["SESS_O"].subject.label == "SUBJ_O"


def test_a_site_walk_leaves_out_a_protected_project_whose_data_the_user_may_not_read(
    server: LocalXNAT, xnat_project: str
) -> None:
    """A ``protected`` project is in every user's projects listing, but XNAT refuses a
    non-member its subjects (403): a site-wide walk goes through the projects whose data
    the user reads (``data=readable``) and finishes, with no failure for the protected one."""
    guarded, mine = f"{xnat_project}_G", f"{xnat_project}_M"
    server.seed_project(guarded, accessibility="protected")
    server.seed_project(mine)
    server.seed_subject(guarded, "HIDDEN")
    server.seed_subject(mine, "OWN")
    login = f"walker{next(_logins)}"
    server.add_user(login, "pw")
    server.add_member(mine, login, "member")
    with xnat_sdk.connect(server.url, user=login, password="pw") as session:
        assert guarded in [p.id for p in session.projects.values()]
        found = session.map(lambda s: s.label, level="subject", stop_on_error=True)
    assert "OWN" in found.values() and "HIDDEN" not in found.values()
    assert not any(isinstance(v, MappedFunctionFailed) for v in found.values())


def test_a_shared_session_keeps_its_share_label_with_image_session_columns(
    server: LocalXNAT, xnat_project: str
) -> None:
    """A project's experiments listing whose root is ``xnat:imageSessionData`` (a column or
    filter of that type: ``modality``, ``scanner``; XNAT then names the root's key
    ``session_ID`` and leaves the share's values out, ``ProjSubExptList.represent``) shows a
    shared session under its primary label and project: the SDK still gives it its share's
    label and the sharing project there, in ``load_tree``, a filtered listing and a table."""
    primary, other = xnat_project, f"{xnat_project}_M"
    server.seed_project(other)
    server.seed_subject(primary, "SUBJ")
    server.seed_session(primary, "SUBJ", "SESS", fields={"modality": "MR", "scanner": "S1"})
    with xnat_sdk.connect(server.url, user="admin", password="admin") as session:
        subject = session.projects[primary].subjects["SUBJ"]
        subject.share(other, label="SUBJ_M")
        subject.experiments["SESS"].share(other, label="SESS_M")
        session.clearcache()
        project = session.projects[other]
        recorder = RequestLog()
        session.interface.hooks["response"].append(recorder)
        tree = project.load_tree(experiment_columns=["modality", "scanner"])
        (loaded,) = [e for s in tree.values() for e in s.experiments.values()]
        assert (loaded.label, loaded.project, loaded.modality) == ("SESS_M", other, "MR")
        # subjects, experiments (+ the image-session columns apart), scans: none more
        assert len([p for p in recorder.paths() if "/experiments" in p]) == 3
        session.clearcache()
        recorder.clear()
        found = project.experiments.filter(modality="MR")
        assert [(e.label, e.project) for e in found] == [("SESS_M", other)]
        # the filtered listing, and the project's listing once more for the share's values
        assert [p.split("?")[0] for p in recorder.paths()] == [
            f"GET /data/projects/{other}/experiments"
        ] * 2
        assert found["SESS_M"].uri.endswith(loaded.uri.rsplit("/", 1)[1])
        typed = project.experiments.filter(xsiType="xnat:imageSessionData")
        assert [(e.label, e.project) for e in typed] == [("SESS_M", other)]
        mine = project.subjects["SUBJ_M"].experiments.filter(modality="MR")
        assert [(e.label, e.project) for e in mine.values()] == [("SESS_M", other)]
        table = project.experiments.tabulate(["ID", "label", "project", "modality"])
        assert [(r["label"], r["project"], r["modality"]) for r in table] == [
            ("SESS_M", other, "MR")
        ]


def test_filters_on_a_share_label_find_the_shared_objects_of_a_project(
    server: LocalXNAT, xnat_project: str
) -> None:
    """XNAT filters a project's experiments and subjects listings on the primary label,
    project and subject label (in SQL) and puts a shared object's share values in its row
    afterwards (``ProjSubExptList``, ``ProjectSubjectList``): the SDK matches those filters
    itself, on the values the rows show, so a shared session is found by the label it has in
    the project (in a listing and in a table) and not by its primary label."""
    primary, other = xnat_project, f"{xnat_project}_L"
    server.seed_project(other)
    server.seed_subject(primary, "SUBJ")
    server.seed_session(primary, "SUBJ", "SESS")
    with xnat_sdk.connect(server.url, user="admin", password="admin") as session:
        subject = session.projects[primary].subjects["SUBJ"]
        subject.share(other, label="SUBJ_L")
        subject.experiments["SESS"].share(other, label="SESS_L")
        session.clearcache()
        project = session.projects[other]
        experiments = project.experiments
        assert [e.label for e in experiments.filter(label="SESS_L").values()] == ["SESS_L"]
        assert list(experiments.filter(label="SESS").values()) == []
        assert len(experiments.filter(subject_label="SUBJ_L", project=other)) == 1
        assert len(experiments.filter(subject_label="SUBJ")) == 0
        table = experiments.tabulate(["ID", "project"], filter={"label": "SESS_L"})
        assert [r["project"] for r in table] == [other]
        assert [s.label for s in project.subjects.filter(label="SUBJ_L").values()] == ["SUBJ_L"]
        assert len(project.subjects.filter(label="SUBJ")) == 0
