"""``xnat-sdk download --help`` says what a download of a project, subject or experiment
brings and where it puts it: checked against the files on disk, and against `tree`."""

from __future__ import annotations

import re
from pathlib import Path

import requests
from cli_helpers import FILES, Cli, Seeded

from xnat_sdk.archives import SDK_FILES
from xnat_sdk.testing.local import LocalXNAT


def _data(path: Path) -> bool:
    """Whether ``path`` is a data file (not one of the SDK's own hidden files)."""
    return path.is_file() and path.name not in SDK_FILES


def test_download_help_names_the_layout_and_scope_it_delivers(
    cli: Cli, seeded: Seeded, server: LocalXNAT, tmp_path: Path
) -> None:
    """The help said ``{project}/.../scans/{scan}/...`` where the folders are the project's
    name and ``{scan ID}-{type}``, and ``Download ADDRESS`` where a session's own resources,
    which `tree` counts, are left out."""
    notes = server.seed_resource("experiment", seeded.sessions["E2"], "NOTES")
    server.seed_file(notes, "qc.txt", b"fine\n")
    done = cli.run("download", "--help")
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.split())
    assert "{project name}/{subject}/{session}/scans/{scan ID}-{type}/resources/" in text
    assert "the files of its sessions' scans" in text
    assert "P/S/E/NOTES" in text

    tree = cli.json("tree", "CLIP/S2/E2")
    assert tree["files"] == len(FILES) + 1  # the scan's files and the session's own note
    out = tmp_path / "out"
    report = cli.json("download", "CLIP/S2", str(out))
    assert report["files"] == len(FILES)  # the scans' files only, as the help says
    on_disk = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if _data(p))
    assert all(re.fullmatch(r"S2/E2/scans/1-T1/resources/DICOM/files/.+", p) for p in on_disk)
    own = cli.json("download", "CLIP/S2/E2/NOTES", str(tmp_path / "notes"))
    assert own["files"] == 1


def test_search_by_custom_variable(cli: Cli, server: LocalXNAT) -> None:
    """``--where fields/NAME=VALUE`` and ``--columns fields/NAME``: the custom variables the
    typed search takes as ``col(s.fields["NAME"])`` (the command refused the slash)."""
    server.seed_project("CLIVARS")
    for label, diagnosis in (("V1", "AD"), ("V2", "CN"), ("V3", "AD")):
        server.seed_subject("CLIVARS", label, fields={"fields/diagnosis": diagnosis})
    rows = cli.csv(
        "search",
        "xnat:subjectData",
        "--where",
        "project=CLIVARS",
        "--where",
        "fields/diagnosis=AD",
        "--columns",
        "label,fields/diagnosis",
    )
    assert rows == [
        {"label": "V1", "fields/diagnosis": "AD"},
        {"label": "V3", "fields/diagnosis": "AD"},
    ]
    like = cli.csv("search", "SubjectData", "-w", "project=CLIVARS", "-w", "fields/diagnosis~C%")
    assert [row["label"] for row in like] == ["V2"]
    done = cli.run("search", "xnat:subjectData", "--help")
    assert "fields/NAME" in done.stdout


def test_search_of_a_misspelt_type_suggests_the_close_ones(cli: Cli) -> None:
    done = cli.run("search", "xnat:mrSesionData")
    assert done.returncode == 2
    assert "no model for 'xnat:mrSesionData' (did you mean xnat:mrSessionData" in done.stderr
    assert "did you mean MrSessionData" in cli.run("search", "MRSessionData").stderr


def test_download_of_nothing_reports_a_folder_that_exists(
    cli: Cli, server: LocalXNAT, tmp_path: Path
) -> None:
    """A session without scan files: the JSON's ``path`` named a folder never made, so a
    script going on with it (``cd "$(jq -r .path)"``) failed."""
    server.seed_project("CLIEMPTY")
    server.seed_subject("CLIEMPTY", "S")
    server.seed_scan(server.seed_session("CLIEMPTY", "S", "E"), "1", type="T1")
    for address in ("CLIEMPTY", "CLIEMPTY/S", "CLIEMPTY/S/E"):
        done = cli.json("download", address, str(tmp_path / address))
        assert done["files"] == 0
        assert Path(done["path"]).is_dir(), done
        assert not [p for p in Path(done["path"]).rglob("*") if _data(p)]


def test_download_of_an_experiment_with_resource_is_file_by_file_and_resumes(
    cli: Cli, seeded: Seeded, tmp_path: Path
) -> None:
    """The help promises a file-by-file download that skips verified files for experiments;
    with --resource it was a zip per scan resource, fetched again on every run, and the
    JSON had no downloaded/skipped."""
    out = tmp_path / "out"
    first = cli.json("download", "CLIP/S1/E1", str(out), "--resource", "DICOM")
    assert (first["downloaded"], first["skipped"], first["files"]) == (len(FILES), 0, len(FILES))
    assert first["path"] == str(out / "E1")
    again = cli.json("download", "CLIP/S1/E1", str(out), "--resource", "DICOM")
    assert (again["downloaded"], again["skipped"]) == (0, len(FILES))
    on_disk = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if _data(p))
    assert on_disk == sorted(f"E1/scans/1-T1/resources/DICOM/files/{p}" for p in FILES)
    missing = cli.run("download", "CLIP/S1/E1", str(tmp_path / "none"), "--resource", "NOPE")
    assert missing.returncode == 1 and "has a resource 'NOPE'" in missing.stderr


def test_search_by_a_part_field_and_in_a_project_as_the_api_does(
    cli: Cli, server: LocalXNAT
) -> None:
    """``--where demographics.gender=female``, ``--columns demographics.yob`` and
    ``--in-project P``: the API's ``col(s.demographics.gender)`` and ``in_project`` (the
    command refused a dotted field and had no way to search a project's shared objects)."""
    server.seed_project("CLIPART")
    server.seed_project("CLIPART2")
    server.seed_subject("CLIPART", "F1", fields={"gender": "female", "yob": "1970"})
    server.seed_subject("CLIPART", "M1", fields={"gender": "male", "yob": "1990"})
    wheres = ("-w", "project=CLIPART", "-w", "demographics.gender=female")
    rows = cli.csv("search", "SubjectData", *wheres, "-c", "label,demographics.yob")
    assert rows == [{"label": "F1", "demographics.yob": "1970"}]
    younger = cli.csv(
        "search", "SubjectData", "-w", "project=CLIPART", "-w", "demographics.yob>1980"
    )
    assert [row["label"] for row in younger] == ["M1"]
    done = cli.run("search", "SubjectData", "-w", "demographics=female")
    assert done.returncode == 2 and "demographics is a part" in done.stderr
    with requests.Session() as admin:
        admin.auth = ("admin", "admin")
        url = f"{server.url}/data/projects/CLIPART/subjects/F1/projects/CLIPART2?label=F1_B"
        assert admin.put(url).ok
    shared = cli.csv("search", "SubjectData", "--in-project", "CLIPART2", "-c", "label")
    assert [row["label"] for row in shared] == ["F1"]  # XNAT's rows name the primary label
    assert cli.csv("search", "SubjectData", "-w", "project=CLIPART2") == []
