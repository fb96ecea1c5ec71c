"""A site administrator's trial of the command line (search, users, prearchive): the
defects it found, each against the local server."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import requests
from cli_helpers import Cli

from xnat_sdk.testing.dicomgen import make_dicom_zip
from xnat_sdk.testing.local import LocalXNAT


def test_search_refuses_a_bad_field_or_value_as_usage_naming_the_part(
    cli: Cli, server: LocalXNAT
) -> None:
    """``--where gender=female`` said only "no searchable field 'gender'" (the field is
    ``demographics.gender``), and ``--where demographics.gender=mle`` (no gender XNAT
    allows) failed with status 1 after logging in, where other bad conditions are usage
    errors (status 2) told before anything is sent."""
    server.faults.start_recording()
    try:
        done = cli.run("search", "xnat:subjectData", "--where", "gender=female")
        assert done.returncode == 2
        assert "no searchable field 'gender' (did you mean demographics.gender?)" in done.stderr
        done = cli.run("search", "MrScanData", "--where", "tr>2")
        assert "(did you mean parameters.tr?)" in done.stderr
        done = cli.run("search", "SubjectData", "--where", "demographics.gender=mle")
        assert done.returncode == 2, done.stderr
        assert "Invalid value for --where: demographics.gender: 'mle' is none" in done.stderr
        assert server.faults.recorded() == []
    finally:
        server.faults.clear()


def test_users_ls_on_a_site_that_restricts_the_list_fails_naming_why(
    cli: Cli, server: LocalXNAT, rest: requests.Session
) -> None:
    """A non-admin's ``users ls`` on a site that lets only admins list its users printed an
    empty list with status 0: a site without users, for a script. It fails, saying why."""
    config = f"{server.url}/xapi/siteConfig"
    rest.post(config, json={"restrictUserListAccessToAdmins": True}).raise_for_status()
    try:
        cli.env.update(XNAT_USER="user", XNAT_PASS="user")
        done = cli.run("users", "ls")
        assert done.returncode == 1, done.stdout
        assert "/data/users: the server lets only site admins list its users" in done.stderr
        assert done.stdout == ""
    finally:
        rest.post(config, json={"restrictUserListAccessToAdmins": False}).raise_for_status()
    assert cli.run("users", "ls").returncode == 0  # once the site lets users list it


def test_import_of_a_duplicate_points_to_the_prearchive_copy(
    cli: Cli, server: LocalXNAT, tmp_path: Path
) -> None:
    """``import`` of a session the archive has said "give --overwrite append": importing
    again so leaves the refused upload in the prearchive (CONFLICT) for good. The message
    points to that copy and the commands that archive or delete it."""
    server.seed_project("CLIDUP")
    study = tmp_path / "study.zip"
    study.write_bytes(make_dicom_zip(patient="DUP", series=[(1, "T1")]))
    args = ("import", str(study), "--project", "CLIDUP", "--destination", "/archive")
    assert cli.run(*args).returncode == 0
    done = cli.run(*args)
    assert done.returncode == 1
    assert "XNAT keeps the upload in project CLIDUP's prearchive with status CONFLICT" in (
        done.stderr
    )
    assert "`xnat-sdk prearchive ls --project CLIDUP`" in done.stderr
    [waiting] = cli.csv("prearchive", "ls", "--project", "CLIDUP")
    assert waiting["status"] == "CONFLICT"
    archived = cli.json("prearchive", "archive", waiting["address"], "--overwrite", "append")
    assert archived["label"] == "DUP_MR1"
    assert cli.csv("prearchive", "ls", "--project", "CLIDUP") == []


def test_import_of_several_studies_names_every_session(
    cli: Cli, server: LocalXNAT, tmp_path: Path
) -> None:
    """A zip of two studies: ``import`` printed the first session alone; the other is
    named on a warning line."""
    server.seed_project("CLITWO")
    bundle = tmp_path / "two.zip"
    with zipfile.ZipFile(bundle, "w") as out:
        for patient in ("TWOA", "TWOB"):
            with zipfile.ZipFile(io.BytesIO(make_dicom_zip(patient=patient))) as study:
                for name in study.namelist():
                    out.writestr(name, study.read(name))
    done = cli.run(
        "-f", "json", "import", str(bundle), "--project", "CLITWO", "--destination", "/prearchive"
    )
    assert done.returncode == 0, done.stderr
    assert "xnat-sdk: warning: the import made 2 sessions" in done.stderr
    assert "TWOB_MR1" in done.stderr and json.loads(done.stdout)["label"] == "TWOA_MR1"
