"""The demo behind ``make demo``: a day of XNAT work, typed end to end.

By default it starts the embedded local XNAT server (``xnat_sdk.testing.LocalXNAT``) in a
temporary folder, so it needs no network and no real XNAT. ``--server URL`` (with ``--user`` and
``--password`` or a netrc entry) points it at another server; it then works inside a project of
its own, ``--project`` (default ``XNATSDK_DEMO``), which must not exist yet.

Steps: connect, create a project, import a DICOM study (made with pydicom) into the prearchive,
archive it under a subject, browse the typed tree, set fields and custom variables, upload a
folder of derived files, download the whole session with size and MD5 verification, search,
and clean up.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import xnat_sdk
from xnat_sdk.models import DemographicData, MrScanData, MrSessionData, ProjectData, SubjectData
from xnat_sdk.prearchive import PrearchiveSession
from xnat_sdk.search import col
from xnat_sdk.session import XNATSession
from xnat_sdk.testing.dicomgen import make_dicom_zip
from xnat_sdk.testing.local import LocalXNAT


def _say(text: str) -> None:
    print(f"\n== {text}")


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()


def run(server: str, user: str | None, password: str | None, project_id: str, work: Path) -> None:
    """Run every step of the demo against ``server``."""
    started = time.perf_counter()
    with xnat_sdk.connect(server, user=user, password=password) as session:
        _say(f"connected to {session.server} as {session.logged_in_user}")
        print(f"XNAT version {session.xnat_version}")
        project = _create_project(session, project_id)
        mr = _import_and_archive(session, project_id, work)
        subject = _browse(session, project_id, mr)
        _write_fields(session, project_id, subject, mr)
        _transfers(mr, work)
        _search(session, project_id)
        if not session.server.startswith("http://127.0.0.1"):
            _say(f"clean up: delete project {project_id}")
            project.delete()
    print(f"\ndemo finished in {time.perf_counter() - started:.2f} s")


def _create_project(session: XNATSession, project_id: str) -> ProjectData:
    _say(f"create project {project_id}")
    project: ProjectData = ProjectData.create(
        session, id=project_id, name="xnat-sdk demo", description="made by make demo"
    )
    print(f"{project.id}: {project.name!r} -> {project.uri}")
    return project


def _import_and_archive(session: XNATSession, project_id: str, work: Path) -> MrSessionData:
    _say("import a 3-series MR study (pydicom) into the prearchive")
    study = make_dicom_zip(
        work / "study.zip",
        patient="DEMO01",
        series=[(1, "T1_MPRAGE"), (2, "T2_FLAIR"), (3, "DWI")],
        instances_per_series=4,
    )
    pre = session.services.import_(study, project=project_id, destination="/prearchive")
    assert isinstance(pre, PrearchiveSession)
    for row in session.prearchive.sessions(project=project_id):
        print(f"prearchive: {row.folder_name} status={row.status} scans={len(row.scans)}")

    _say("archive it as subject DEMO01, session DEMO01_MR1")
    experiment = pre.archive(subject="DEMO01", experiment="DEMO01_MR1")
    assert isinstance(experiment, MrSessionData)
    print(f"{type(experiment).__name__} {experiment.id} label={experiment.label}")
    return experiment


def _browse(session: XNATSession, project_id: str, experiment: MrSessionData) -> SubjectData:
    _say("browse the typed tree")
    subject: SubjectData = session.projects[project_id].subjects["DEMO01"]
    mr = subject.experiments[experiment.label or "DEMO01_MR1"]
    assert isinstance(mr, MrSessionData)  # the listing knows the xsi type; mypy learns it
    for scan in mr.scans.values():
        assert isinstance(scan, MrScanData)
        files = scan.resources["DICOM"].files
        print(f"scan {scan.id:>2} {scan.type:<10} {scan.series_description!r}: {len(files)} files")
    return subject


def _write_fields(
    session: XNATSession, project_id: str, subject: SubjectData, mr: MrSessionData
) -> None:
    _say("set fields and custom variables")
    subject.update(group="control")
    subject.demographics = DemographicData(gender="female", handedness="right", yob=1980)
    subject.fields["cohort"] = "pilot"
    mr.update(note="demo session", session_type="research")
    session.clearcache()
    again = session.projects[project_id].subjects["DEMO01"]
    demo = again.demographics
    assert isinstance(demo, DemographicData)
    print(f"group={again.group} gender={demo.gender} yob={demo.yob}")
    print(f"custom variable cohort={again.fields['cohort']}")


def _transfers(mr: MrSessionData, work: Path) -> None:
    _say("upload a folder of derived files to a session resource")
    derived = work / "derived"
    (derived / "stats").mkdir(parents=True)
    (derived / "report.txt").write_text("volumes within normal range\n", encoding="utf-8")
    (derived / "stats" / "volumes.csv").write_text("region,ml\nhippocampus,3.9\n", "utf-8")
    resource = mr.create_resource("QC", format="TXT")
    resource.upload_dir(derived, method="tgz_memory")
    for f in resource.files.values():
        print(f"{f.name}: {f.size} bytes, md5 {f.digest}")

    _say("download every scan of the session (sizes and MD5 digests verified)")
    target = work / "download"
    mr.download_dir(target, verbose=sys.stdout.isatty())
    got = sorted(p for p in target.rglob("*.dcm") if p.is_file())
    print(f"{len(got)} DICOM files under {target}")
    qc_dir = resource.download_dir(work / "qc", verbose=sys.stdout.isatty())
    report = qc_dir / "report.txt"
    assert _md5(report) == _md5(derived / "report.txt")
    print(f"QC resource back in {qc_dir}: report.txt md5 {_md5(report)} matches")


def _search(session: XNATSession, project_id: str) -> None:
    _say("search: MR sessions of the project")
    rows = (
        session.query(MrSessionData)
        .where(lambda s: col(s.project) == project_id)
        .columns(lambda s: [col(s.label), col(s.date), col(s.id)])
        .all()
    )
    for row in rows:  # named tuples: row.label, row.date, row["id"]
        print(f"{row.label}  {row.date}  ({row['id']})")


def main(argv: list[str] | None = None) -> int:
    """Command line of ``python -m xnat_sdk.testing.demo``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--server", default=None, help="XNAT URL (default: embedded server)")
    parser.add_argument("--user", default=None)
    parser.add_argument("--password", default=None)
    parser.add_argument("--project", default="XNATSDK_DEMO")
    args = parser.parse_args(argv)
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="xnat-sdk-demo-")))
        server, user, password = args.server, args.user, args.password
        if server is None:
            local = stack.enter_context(LocalXNAT(data_dir=work / "server"))
            server, user, password = local.url, "admin", "admin"
            print(f"embedded local XNAT server at {server} (data in {work / 'server'})")
        run(server, user, password, args.project, work)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
