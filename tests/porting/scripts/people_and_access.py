"""xnatpy 0.8.1 tutorial topics: users, project access, alias tokens, experiment status.

Run: python people_and_access.py URL WORKDIR (the server needs project PORT4).
"""

import pathlib
import sys

import xnat

url, work = sys.argv[1], pathlib.Path(sys.argv[2])
report = []

with xnat.connect(url, user="admin", password="admin") as session:
    report.append(f"users {sorted(session.users)}")
    report.append(f"user email {session.users['user'].email}")
    project = session.projects["PORT4"]
    project.set_access("user", "member")
    project.users.clearcache()
    report.append(f"members {sorted(project.users)}")
    report.append(f"my access {project.access_level}")

    token = session.services.issue_token()
    with xnat.connect(url, user=token.alias, password=token.secret) as second:
        report.append(f"token sees {sorted(second.projects.keys())}")

    subject = session.classes.SubjectData(parent=project, label="S01")
    experiment = session.classes.MrSessionData(parent=subject, label="S01_MR1")
    experiment.quarantine()
    report.append("quarantined")
    resource = session.classes.ResourceCatalog(parent=project, label="REPORT")
    resource.upload_data("\n".join(report) + "\n", "report.txt")
