"""xnatpy 0.8.1 tutorial topics: listings, tabulate (pandas), the search query builder
(classes.X.query().filter(...)), xnatpy 0.8's session.search and session.map.

Run: python tables_and_queries.py URL WORKDIR (the server needs project PORT3).
"""

import pathlib
import sys

import xnat

url, work = sys.argv[1], pathlib.Path(sys.argv[2])
report = []

with xnat.connect(url, user="admin", password="admin") as session:
    project = session.projects["PORT3"]
    for number in range(1, 4):
        subject = session.classes.SubjectData(parent=project, label=f"S{number:02d}")
        for visit in ("MR1", "MR2"):
            session.classes.MrSessionData(parent=subject, label=f"S{number:02d}_{visit}")
    session.clearcache()
    project = session.projects["PORT3"]

    frame = project.subjects.tabulate_pandas()
    report.append(f"pandas {len(frame)} {sorted(frame['label'])}")
    table = project.experiments.tabulate(columns=["ID", "label"])
    report.append(f"tabulate {sorted(row.label for row in table)}")

    MrSessionData = session.classes.MrSessionData
    found = MrSessionData.query().filter(MrSessionData.project == "PORT3").all()
    report.append(f"query {sorted(e.label for e in found)}")
    found = (
        MrSessionData.query()
        .filter(MrSessionData.project == "PORT3")
        .filter(MrSessionData.label.like("%_MR2"))
        .all()
    )
    report.append(f"query like {sorted(e.label for e in found)}")

    matches = session.search(project="PORT3", subject="S0[12]", level="experiment")
    report.append(f"search {sorted(e.label for e in matches)}")
    results = session.map(lambda subject: subject.label.lower(), level="subject")
    report.append(f"map {sorted(v for v in results.values() if v.startswith('s'))}")

    for experiment in found:
        experiment.fields["flagged"] = "yes"
    resource = session.classes.ResourceCatalog(parent=project, label="REPORT")
    resource.upload_data("\n".join(report) + "\n", "report.txt")
