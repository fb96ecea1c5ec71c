"""``xnat-sdk --help``, ``ls``, ``tree``, ``users ls``, ``whoami`` and ``search`` as
subprocesses against the local server: exit codes and parsed JSON/CSV."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import FILES, Cli, Seeded, one_line_error

import xnat_sdk
from xnat_sdk.cli._browse import COLUMNS
from xnat_sdk.models import MrSessionData
from xnat_sdk.testing.local import LocalXNAT

pytestmark = pytest.mark.usefixtures("seeded")


def test_help_version_and_pass_through_help(cli: Cli) -> None:
    done = cli.run("--help")
    assert done.returncode == 0
    for name in ("download", "upload", "import", "prearchive", "search", "rest", "login"):
        assert f"  {name}" in done.stdout
    assert "_XNAT_SDK_COMPLETE=bash_source" in done.stdout
    assert cli.run("--version").stdout.strip().endswith("0.1.0")
    # generate and serve show their own (argparse) options
    assert "--schemas" in cli.run("generate", "--help").stdout
    assert "--data-dir" in cli.run("serve", "--help").stdout
    # click's shell completion
    cli.env.update(
        _XNAT_SDK_COMPLETE="bash_complete", COMP_WORDS="xnat-sdk prearchive ", COMP_CWORD="2"
    )
    words = cli.run().stdout.split()
    assert words == [f"plain,{w}" for w in ("archive", "delete", "ls", "move", "rebuild")]


def test_ls_every_level(cli: Cli, seeded: Seeded) -> None:
    projects = cli.json("ls")
    assert {"ID": "CLIP", "secondary_ID": "CLIP", "name": "CLI project"}.items() <= next(
        p for p in projects if p["ID"] == "CLIP"
    ).items()
    subjects = cli.json("ls", "CLIP")
    assert [s["label"] for s in subjects] == ["S1", "S2"]
    assert all(list(s) == list(COLUMNS["subjects"]) for s in subjects)  # stable keys
    experiments = cli.json("ls", "CLIP/S1")
    assert [(e["label"], e["ID"]) for e in experiments] == [("E1", seeded.sessions["E1"])]
    scans = cli.json("ls", "CLIP/S1/E1")
    assert [(s["ID"], s["type"]) for s in scans] == [("1", "T1"), ("2", "T2")]
    files = cli.json("ls", "CLIP/S1/E1/1/DICOM")
    assert {f["path"]: int(f["Size"]) for f in files} == {p: len(b) for p, b in FILES.items()}


def test_ls_rest_path_csv_columns_filter_and_options_after(cli: Cli, seeded: Seeded) -> None:
    rows = cli.csv(
        "ls",
        "/data/projects/CLIP/subjects/S1/experiments/E1",
        "--columns",
        "ID,type",
        "--filter",
        "type=T*2",
    )
    assert rows == [{"ID": "2", "type": "T2"}]
    # global options after the command; the accession ID form
    done = cli.run("ls", f"/data/experiments/{seeded.sessions['E2']}", "-f", "csv")
    assert done.returncode == 0 and done.stdout.splitlines()[0].startswith("ID,type")
    # the path of a listing names its parent, as `ls` shows that parent's children (it was
    # "not a path of the archive at 'scans'"); a trailing / of the short form is dropped
    # (it was "empty part"); a URL names its path in the error (it was "empty part")
    for path in ("/data/projects/CLIP/subjects/S1/experiments/E1/scans", "CLIP/S1/E1/"):
        assert [s["ID"] for s in cli.json("ls", path)] == ["1", "2"]
    url = cli.server.url + "/data/projects/CLIP"
    done = cli.run("ls", url)
    assert done.returncode == 1 and "give the path on the server (/data/projects/CLIP)" in (
        done.stderr
    )


def test_ls_of_a_file_and_default_formats(cli: Cli) -> None:
    [row] = cli.json("ls", "CLIP/S1/E1/1/DICOM/a/2.dcm")
    assert (row["path"], int(row["Size"])) == ("a/2.dcm", len(FILES["a/2.dcm"]))
    # not a terminal: JSON; on a terminal: a table
    piped = cli.run("ls", "CLIP")
    assert [s["label"] for s in json.loads(piped.stdout)] == ["S1", "S2"]
    leader, follower = pty.openpty()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "xnat_sdk.cli", "ls", "CLIP"],
            env={**cli.base_env(), "COLUMNS": "80"},
            stdin=subprocess.DEVNULL,
            stdout=follower,
            stderr=subprocess.PIPE,
            timeout=60,
        )
        os.close(follower)
        shown = b""
        with contextlib.suppress(OSError):  # EIO once the child's side is closed
            while chunk := os.read(leader, 65536):
                shown += chunk
    finally:
        os.close(leader)
    assert proc.returncode == 0, proc.stderr
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", shown.decode())  # no colours
    assert "subjects of CLIP" in text and "S2" in text and "┃ ID" in text, text


def test_ls_refusals(cli: Cli) -> None:
    nope = one_line_error(cli.run("ls", "CLIP/NOPE"))
    assert "no subject or resource 'NOPE' in project CLIP (subjects: " in nope
    assert "no subject 'NOPE'" in one_line_error(cli.run("ls", "/data/projects/CLIP/subjects/NOPE"))
    done = cli.run("ls", "CLIP", "--columns", "nonsense")
    assert done.returncode == 2 and "no column nonsense" in done.stderr
    assert cli.run("ls", "/data/nothing/x").returncode == 1
    # a project the user may not read is not listed: the message says whose view it is
    # (it said "no project 'CLIP' in URL (there are: none)" to a user who knew it is there)
    cli.env.update(XNAT_USER="user", XNAT_PASS="user")
    hidden = one_line_error(cli.run("ls", "CLIP"))
    assert f"no project 'CLIP' in {cli.server.url} (projects user may read: " in hidden


def test_tree_counts_and_sizes(cli: Cli) -> None:
    tree = cli.json("tree", "CLIP")
    size = sum(len(b) for b in FILES.values())
    assert (tree["level"], tree["files"], tree["size"]) == ("project", 4, 2 * size)
    s1 = tree["children"][0]
    assert (s1["label"], s1["files"]) == ("S1", 2)
    scans = s1["children"][0]["children"]
    assert [(s["id"], s["files"], s["size"]) for s in scans] == [("1", 2, size), ("2", 0, 0)]
    assert tree["label"] == "CLI project"  # the project's name (it was empty)
    rows = cli.csv("tree", "CLIP/S2")
    # addresses: a scan by ID (a type repeats, or is another scan's ID)
    assert [r["path"] for r in rows] == ["CLIP/S2", "CLIP/S2/E2", "CLIP/S2/E2/1"]
    resource = cli.json("tree", "CLIP/S1/E1/1/DICOM")
    assert (resource["level"], resource["label"], resource["files"]) == ("resource", "DICOM", 2)


def test_tree_counts_every_level_s_resources_in_requests_per_session(
    cli: Cli, server: LocalXNAT
) -> None:
    """Resources of the project, a subject and a session count with the scans' (they were
    left out), each a node of its own, and a session's assessors with theirs; the files are
    listed once per object that can hold resources, a session's scans in one listing (it
    was one per scan)."""
    server.seed_project("TREEP")
    subject = server.seed_subject("TREEP", "S1")
    session = server.seed_session("TREEP", "S1", "E1")
    for number in range(1, 6):
        server.seed_scan(session, str(number), type=f"T{number}")
        pk = server.store.one(
            "SELECT pk FROM scans WHERE experiment_id=? AND id=?", (session, str(number))
        )
        assert pk is not None
        server.seed_file(server.seed_resource("scan", int(pk[0]), "DICOM"), "x.dcm", b"s" * 10)
    for kind, owner, label, size in (
        ("project", "TREEP", "PROTOCOL", 100),
        ("subject", subject, "CONSENT", 200),
        ("experiment", session, "NOTES", 300),
    ):
        server.seed_file(server.seed_resource(kind, owner, label), "f.txt", b"r" * size)
    with xnat_sdk.connect(server.url, user="admin", password="admin") as sdk:
        experiment = sdk.experiments[session, MrSessionData]
        assessor = experiment.create_assessor("E1_QC", "xnat:qcManualAssessorData")
        assessor.create_resource("QC").upload_data(b"q" * 400, "report.txt")
    server.faults.start_recording()
    tree = cli.json("tree", "TREEP")
    files_read = [r.path for r in server.faults.recorded() if r.path.endswith("/files")]
    assert (tree["files"], tree["size"]) == (9, 5 * 10 + 100 + 200 + 300 + 400)
    s1 = tree["children"][0]
    e1 = s1["children"][0]
    assert [(c["level"], c["label"], c["files"], c["size"]) for c in e1["children"]] == [
        *(("scan", f"T{n}", 1, 10) for n in range(1, 6)),
        ("assessor", "E1_QC", 1, 400),
        ("resource", "NOTES", 1, 300),
    ]
    assert [c["label"] for c in s1["children"]] == ["E1", "CONSENT"]
    assert tree["children"][-1]["label"] == "PROTOCOL"
    assert len(files_read) == 5  # the project, the subject, the session, its scans, the QC


def test_users_and_whoami(cli: Cli) -> None:
    users = cli.json("users", "ls")
    assert {"login": "admin", "email": "admin@example.com"}.items() <= next(
        u for u in users if u["login"] == "admin"
    ).items()
    me = cli.json("whoami")
    assert me == {"user": "admin", "server": cli.server.url, "credentials": "environment"}
    assert cli.run("-f", "table", "whoami").stdout == "admin\n"


def test_search_typed_conditions(cli: Cli) -> None:
    found = cli.json(
        "search", "xnat:mrSessionData", "--where", "project=CLIP", "--where", "date>=2024-01-01"
    )
    assert sorted(r["label"] for r in found) == ["E1", "E2"]
    assert all(list(r) == ["label", "project", "date"] for r in found)
    assert cli.json("search", "MrSessionData", "-w", "project=CLIP", "-w", "label~%2") == [
        {"label": "E2", "project": "CLIP", "date": "2024-03-01"}
    ]
    assert cli.json("search", "MrSessionData", "-w", "date<2000-01-01", "-w", "project=CLIP") == []
    # a wrong field or value is a usage error (nothing sent)
    bad = cli.run("search", "MrSessionData", "--where", "labell=E1")
    assert bad.returncode == 2 and "labell" in bad.stderr
    soon = cli.run("search", "MrSessionData", "--where", "date>=soon")
    assert soon.returncode == 2 and "YYYY-MM-DD" in soon.stderr
    # a doubled '=' searched for "=E1" and found nothing
    twice = cli.run("search", "MrSessionData", "--where", "label==E1")
    assert twice.returncode == 2 and "label=E1" in twice.stderr


def test_ls_filters_on_columns_it_does_not_show(cli: Cli, server: LocalXNAT) -> None:
    """``--filter`` on a column the listing does not show gives the matching rows with the
    columns shown (they came with every value empty), and a custom variable's path, with
    its ``=`` inside brackets, is a filter key like any other (it was cut at that ``=``)."""
    server.seed_project("CLIF")
    for label, gender, cohort in (("A", "female", "B"), ("C", "male", "D")):
        fields = {"demographics/gender": gender, "fields/cohort": cohort}
        server.seed_subject("CLIF", label, fields=fields)
    rows = cli.json("ls", "CLIF", "--filter", "gender=female")
    assert [(r["label"], r["project"], str(r["ID"]).startswith("XNAT_S")) for r in rows] == [
        ("A", "CLIF", True)
    ]
    path = "xnat:subjectData/fields/field[name=cohort]/field"
    rows = cli.json("ls", "CLIF", "--columns", f"label,{path}", "--filter", f"{path}=D")
    assert rows == [{"label": "C", path: "D"}]


def test_ls_filters_dates_and_numbers_by_range_as_the_api_does(cli: Cli, server: LocalXNAT) -> None:
    """``--filter date=2024-01-01..2024-12-31`` (the API's filter value) matched as a glob:
    no row; a glob (``2024*``) still is one."""
    server.seed_project("CLIR")
    server.seed_subject("CLIR", "S", fields={"yob": "1970"})
    for label, date in (("OLD", "2023-03-01"), ("NEW", "2024-03-01")):
        server.seed_session("CLIR", "S", label, fields={"date": date})
    for pattern in ("2024-01-01..2024-12-31", "01/01/2024-12/31/2024", "2024*"):
        rows = cli.csv("ls", "CLIR/S", "--filter", f"date={pattern}")
        assert [r["label"] for r in rows] == ["NEW"], pattern
    rows = cli.csv("ls", "CLIR", "--filter", "yob=1960..1975", "--columns", "label")
    assert rows == [{"label": "S"}]
    # a value that is no date (nor a glob) matched no row without a word: refused, as the
    # API's filter refuses it
    done = cli.run("ls", "CLIR/S", "--filter", "date=2024-13-01")
    assert done.returncode == 2 and "a filter on a date field takes" in done.stderr


def test_tree_and_download_of_a_scan_whose_id_is_another_scan_s_type(
    cli: Cli, server: LocalXNAT, tmp_path: Path
) -> None:
    """``tree P/S/E/1`` and ``download P/S/E/1`` asked for ``{scan}/files``, which XNAT
    reads as the scans of ID 1 *and of type 1*: scan 3 (type "1") was counted and
    downloaded with scan 1."""
    server.seed_project("SELT")
    server.seed_subject("SELT", "S")
    eid = server.seed_session("SELT", "S", "E")
    for scan, kind, size in (("1", "T1", 10), ("3", "1", 40)):
        resource = server.seed_resource("scan", server.seed_scan(eid, scan, type=kind), "DICOM")
        server.seed_file(resource, f"{scan}.dcm", b"x" * size)
    (row,) = cli.csv("tree", "SELT/S/E/1")
    assert (row["files"], row["size"]) == ("1", "10")
    done = cli.run("-q", "download", "SELT/S/E/1", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    got = [p.name for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert got == ["1.dcm"]
    done = cli.run("-q", "download", "SELT/S/E/1", str(tmp_path / "flat"), "--flat")
    assert done.returncode == 0, done.stderr
    flat = [p.name for p in (tmp_path / "flat").iterdir()]
    assert sorted(flat) == [".xnat-sdk-verified", "1.dcm"]  # the record of verified files


def test_tree_shows_a_session_shared_without_its_subject(cli: Cli, server: LocalXNAT) -> None:
    """Under its project (XNAT lists it among the project's experiments only), with its
    files, and addressed by its REST path, which names no subject."""
    server.seed_project("SHAREDIN")
    server.seed_project("SHAREDFROM")
    server.seed_subject("SHAREDFROM", "SUB")
    session = server.seed_session("SHAREDFROM", "SUB", "SESS")
    scan = server.seed_scan(session, "1", type="T1")
    server.seed_file(server.seed_resource("scan", scan, "DICOM"), "a.dcm", b"abcd")
    with xnat_sdk.connect(server.url, user="admin", password="admin") as xnat:
        experiment = xnat.projects["SHAREDFROM"].subjects["SUB"].experiments["SESS"]
        experiment.share("SHAREDIN", label="SESS_IN")
    tree = cli.json("tree", "SHAREDIN")
    assert (tree["files"], tree["size"]) == (1, 4)
    (found,) = tree["children"]
    assert (found["level"], found["label"], found["files"]) == ("experiment", "SESS_IN", 1)
    rows = cli.csv("tree", "SHAREDIN")
    path = f"/data/projects/SHAREDIN/experiments/{session}"
    assert [r["path"] for r in rows] == ["SHAREDIN", path, f"{path}/scans/1"]
    assert cli.json("tree", f"{path}/scans/1")["files"] == 1
