"""xnatpy 0.8.1 tutorial topics: connect, create subject/session/scan/resource through
session.classes, demographics, custom variables, uploads, files, navigation.

Run: python build_archive.py URL WORKDIR (the server needs project PORT1).
"""

import datetime
import pathlib
import sys

import xnat

url, work = sys.argv[1], pathlib.Path(sys.argv[2])
report = []

with xnat.connect(url, user="admin", password="admin") as session:
    project = session.projects["PORT1"]
    subject = session.classes.SubjectData(parent=project, label="S01")
    subject.demographics.gender = "female"
    subject.demographics.handedness = "right"
    subject.fields["group"] = "control"

    experiment = session.classes.MrSessionData(parent=subject, label="S01_MR1")
    experiment.date = datetime.date(2021, 3, 4)
    experiment.fields["visit"] = "baseline"
    scan = session.classes.MrScanData(
        parent=experiment, id="1", type="T1w", series_description="t1_mprage"
    )
    scan.quality = "usable"
    resource = session.classes.ResourceCatalog(parent=scan, label="NIFTI", format="NIFTI")
    image = work / "image.nii"
    image.write_bytes(b"\x5c\x01\x00\x00" + bytes(range(256)) * 4)
    resource.upload(str(image), "image.nii")
    resource.upload_data("hello from the porting test\n", "notes/readme.txt")
    qc = experiment.create_resource("QC")
    qc.upload_data("ok\n", "qc.txt")

    session.clearcache()
    subject = session.projects["PORT1"].subjects["S01"]
    for experiment in subject.experiments.values():
        report.append(f"experiment {experiment.label} {experiment.date}")
        for scan in experiment.scans.values():
            report.append(f"scan {scan.id} {scan.type} {scan.quality}")
            for resource in scan.resources.values():
                for name in sorted(resource.files.keys()):
                    report.append(f"file {resource.label} {name}")
    report.append(f"gender {subject.demographics.gender}")
    report.append(f"group {subject.fields['group']}")
    report.append(f"subjects {len(project.subjects)}")
    report_resource = session.classes.ResourceCatalog(parent=project, label="REPORT")
    report_resource.upload_data("\n".join(report) + "\n", "report.txt")
