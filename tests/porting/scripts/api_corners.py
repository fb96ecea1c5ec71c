"""The rest of xnatpy 0.8.1's public API a script meets: raw REST verbs and uploads,
obj.get, listings as sequences, tabulate with filters, assessors, catalog refresh, the
prearchive's find/fulldata, users' raw data, removing access, batch_download.

Run: python api_corners.py URL WORKDIR (WORKDIR holds study.zip; the server needs project
PORT5).
"""

import hashlib
import io
import pathlib
import sys

import xnat

url, work = sys.argv[1], pathlib.Path(sys.argv[2])
report = []

with xnat.connect(url, user="admin", password="admin") as session:
    project = session.projects["PORT5"]
    subject = session.classes.SubjectData(parent=project, label="S01")
    experiment = session.classes.MrSessionData(parent=subject, label="S01_MR1")
    session.classes.MrSessionData(parent=subject, label="S01_MR2")
    resource = experiment.create_resource("RAW")
    base = f"{resource.uri}/files"
    local = work / "local.txt"
    local.write_text("from a file\n")
    session.upload_file(f"{base}/file.txt", str(local))
    session.upload_string(f"{base}/string.txt", "from a string\n")
    session.upload_stream(f"{base}/stream.bin", io.BytesIO(b"\x00\x01from a stream"))
    head = session.head(f"{base}/string.txt", None, False)
    report.append(f"head {head.status_code}")
    chunks = session.download_generator(f"{base}/stream.bin")
    report.append(f"generator {hashlib.md5(b''.join(chunks)).hexdigest()}")
    report.append(f"content type {session.services.guess_content_type('study.zip')}")

    session.clearcache()
    subject = session.projects["PORT5"].subjects["S01"]
    report.append(f"first experiment {subject.experiments[0].label}")
    report.append(f"get label {subject.experiments['S01_MR1'].get('label')}")
    report.append(f"non unique {sorted(subject.experiments.non_unique_keys)}")
    rows = subject.experiments.tabulate(columns=["label"], filter={"label": "*MR2"})
    report.append(f"filtered {[row.label for row in rows]}")

    experiment = subject.experiments["S01_MR1"]
    assessor = experiment.create_assessor("S01_QC1", "xnat:qcAssessmentData")
    report.append(f"assessor {assessor.label} {assessor.__xsi_type__}")
    assessor.create_resource("QC").upload_data("qc ok\n", "qc.txt")
    assessor.download(str(work / "assessor.zip"))
    report.append(f"assessor zip {(work / 'assessor.zip').stat().st_size > 0}")
    experiment.resources["RAW"].refresh_catalog()
    report.append(f"files after refresh {sorted(experiment.resources['RAW'].files.keys())}")

    session.services.import_(
        data=(work / "study.zip").read_bytes(), project="PORT5", content_type="application/zip"
    )
    found = session.prearchive.find(project="PORT5", status="READY")
    report.append(f"prearchive found {len(found)} {found[0].fulldata['status']}")
    report.append(f"prearchive xpath {found[0].xpath}")

    report.append(f"user data {session.users.data['user'].data['login']}")
    project = session.projects["PORT5"]
    project.set_access("user", "collaborator")
    project.users.clearcache()
    report.append(f"collaborator {project.users['user'].access_level}")
    project.remove_access(project.users["user"])
    project.users.clearcache()
    report.append(f"members after {sorted(project.users)}")

    session.batch_download(
        str(work / "batch"), project="PORT5", resource="RAW", level="experiment_resource"
    )
    report.append(f"batch {sorted(p.name for p in (work / 'batch').rglob('*.*'))}")
    resource = session.classes.ResourceCatalog(parent=project, label="REPORT")
    resource.upload_data("\n".join(report) + "\n", "report.txt")
