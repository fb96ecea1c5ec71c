"""xnatpy 0.8.1 tutorial topics: DICOM import (archive and prearchive), navigation,
read_dicom, download_dir, the prearchive.

Run: python dicom_import.py URL WORKDIR (WORKDIR holds study1.zip and study2.zip; the
server needs project PORT2).
"""

import pathlib
import sys

import xnat

url, work = sys.argv[1], pathlib.Path(sys.argv[2])
report = []

with xnat.connect(url, user="admin", password="admin") as session:
    experiment = session.services.import_(
        str(work / "study1.zip"),
        project="PORT2",
        subject="S01",
        experiment="S01_MR1",
        destination="/archive",
    )
    report.append(f"imported {experiment.label}")
    session.clearcache()
    experiment = session.projects["PORT2"].subjects["S01"].experiments["S01_MR1"]
    for scan in experiment.scans.values():
        report.append(f"scan {scan.id} {scan.type}")
    header = experiment.scans["1"].read_dicom()
    report.append(f"dicom {header.Modality} {header.SeriesNumber}")
    experiment.download_dir(str(work / "download"))
    downloaded = sorted(p.name for p in (work / "download").rglob("*.dcm"))
    report.append(f"downloaded {len(downloaded)} dicom files")

    session.services.import_(str(work / "study2.zip"), project="PORT2", destination="/prearchive")
    waiting = session.prearchive.sessions(project="PORT2")
    report.append(f"prearchive {len(waiting)}")
    for entry in waiting:
        report.append(f"prearchive entry {entry.project} {entry.subject} {entry.status}")
    archived = waiting[0].archive(subject="S02", experiment="S02_MR1")
    report.append(f"archived {archived.label}")
    report.append(f"prearchive after {len(session.prearchive.sessions(project='PORT2'))}")

    session.clearcache()
    project = session.projects["PORT2"]
    report.append(f"subjects {sorted(s.label for s in project.subjects.values())}")
    resource = session.classes.ResourceCatalog(parent=project, label="REPORT")
    resource.upload_data("\n".join(report) + "\n", "report.txt")
