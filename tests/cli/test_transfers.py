"""``xnat-sdk download``, ``upload``, ``import`` and ``prearchive`` as subprocesses: files
on disk and the server's state read back with plain REST calls."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from cli_helpers import FILES, Cli, Seeded, one_line_error

from xnat_sdk.archives import SDK_FILES
from xnat_sdk.testing.dicomgen import make_dicom_zip


def _tree(folder: Path) -> dict[str, bytes]:
    """The data files below ``folder`` (not the SDK's own hidden files)."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in folder.rglob("*")
        if p.is_file() and p.name not in SDK_FILES
    }


def _files(rest: requests.Session, url: str) -> dict[str, str]:
    answer = rest.get(url, params={"format": "json"})
    assert answer.status_code == 200, answer.text
    rows = answer.json()["ResultSet"]["Result"]
    return {r["URI"].split("/files/", 1)[1]: r["digest"] for r in rows}


def test_download_project_verified_on_disk(cli: Cli, seeded: Seeded, tmp_path: Path) -> None:
    done = cli.json("download", "CLIP", str(tmp_path / "out"), "--workers", "2")
    got = _tree(tmp_path / "out" / "CLI project")  # named by the project name, as xnatpy
    size = sum(len(b) for b in FILES.values())
    assert done == {
        "address": "CLIP",
        "path": str(tmp_path / "out" / "CLI project"),
        "files": 4,
        "bytes": 2 * size,
        "downloaded": 4,
        "skipped": 0,
        "hashed_bytes": 0,  # nothing there to verify
    }
    for path, payload in FILES.items():
        key = f"S1/E1/scans/1-T1/resources/DICOM/files/{path}"
        assert got[key] == payload
    assert not [p for p in (tmp_path / "out").rglob("*") if ".part" in p.name or "stag" in p.name]


def test_download_scan_resource_flat_and_scan_type(
    cli: Cli, seeded: Seeded, tmp_path: Path
) -> None:
    flat = cli.json(
        "download", "CLIP/S1/E1/1", str(tmp_path / "flat"), "--resource", "DICOM", "--flat"
    )
    assert flat["files"] == 2 and _tree(tmp_path / "flat") == FILES
    only = cli.json("download", "CLIP/S1/E1", str(tmp_path / "t1"), "--scan-type", "T1")
    assert set(_tree(tmp_path / "t1")) == {
        f"E1/scans/1-T1/resources/DICOM/files/{p}" for p in FILES
    }
    assert only["files"] == 2
    empty = cli.json("download", "CLIP/S1/E1", str(tmp_path / "t2"), "--scan-type", "T2")
    assert empty["files"] == 0 and _tree(tmp_path / "t2") == {}  # scan 2 has no files
    bad = cli.run("download", "CLIP", str(tmp_path / "x"), "--resource", "DICOM")
    assert bad.returncode == 2 and "--resource" in bad.stderr
    assert not (tmp_path / "x").exists()
    # the counts are what this run wrote, not what TARGET_DIR held before
    (tmp_path / "t1" / "earlier.txt").write_text("not from this run")
    again = cli.json(
        "download", "CLIP/S1/E1", str(tmp_path / "t1"), "--resource", "DICOM", "--scan-type", "1"
    )
    assert again["files"] == 2 and again["bytes"] == sum(len(b) for b in FILES.values())


def test_upload_file_folder_and_overwrite(
    cli: Cli, seeded: Seeded, rest: requests.Session, tmp_path: Path
) -> None:
    folder = tmp_path / "notes"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("one")
    (folder / "sub" / "b.txt").write_text("two")
    made = cli.json("upload", str(folder), "CLIP/S1/E1/NOTES")
    assert made["created"] is True and made["files"] == 2
    url = f"{cli.server.url}/data/experiments/{seeded.sessions['E1']}/resources/NOTES/files"
    assert _files(rest, url) == {
        "a.txt": hashlib.md5(b"one").hexdigest(),
        "sub/b.txt": hashlib.md5(b"two").hexdigest(),
    }
    (folder / "a.txt").write_text("changed")
    error = one_line_error(cli.run("upload", str(folder / "a.txt"), "CLIP/S1/E1/NOTES"))
    assert "already has a.txt" in error
    assert _files(rest, url)["a.txt"] == hashlib.md5(b"one").hexdigest()  # kept
    cli.json("upload", str(folder / "a.txt"), "CLIP/S1/E1/NOTES", "--overwrite")
    assert _files(rest, url)["a.txt"] == hashlib.md5(b"changed").hexdigest()
    # a project resource through its REST path
    cli.json("upload", str(folder / "a.txt"), "/data/projects/CLIP/resources/DOCS")
    assert "a.txt" in _files(rest, f"{cli.server.url}/data/projects/CLIP/resources/DOCS/files")


def test_import_and_prearchive_commands(
    cli: Cli, seeded: Seeded, rest: requests.Session, tmp_path: Path
) -> None:
    cli.server.seed_project("CLIQ")
    archived = cli.json(
        "import",
        str(make_dicom_zip(tmp_path / "a.zip", patient="P1", series=((1, "T1"),))),
        "--project",
        "CLIP",
        "--subject",
        "S9",
        "--experiment",
        "MR9",
        "--destination",
        "/archive",
    )
    assert archived["destination"] == "archive" and archived["label"] == "MR9"
    scans = rest.get(f"{cli.server.url}{archived['uri']}/scans", params={"format": "json"})
    assert [r["ID"] for r in scans.json()["ResultSet"]["Result"]] == ["1"]

    for name in ("MRA", "MRB"):
        zipped = make_dicom_zip(tmp_path / f"{name}.zip", patient=name, study_label=name)
        landed = cli.json("import", str(zipped), "-p", "CLIP", "--destination", "/prearchive")
        assert landed["destination"] == "prearchive"
    waiting = {r["label"]: r for r in cli.json("prearchive", "ls", "--project", "CLIP")}
    assert set(waiting) == {"MRA", "MRB"} and waiting["MRA"]["status"] == "READY"

    rebuilt = cli.json("prearchive", "rebuild", waiting["MRA"]["address"])
    assert rebuilt["label"] == "MRA"
    moved = cli.json("prearchive", "move", waiting["MRA"]["address"], "CLIQ")
    assert moved["project"] == "CLIQ"
    done = cli.json("prearchive", "archive", moved["address"], "--subject", "SA")
    assert rest.get(f"{cli.server.url}{done['uri']}").status_code == 200
    again = cli.run(  # a label in use: the error names the option that goes on
        "prearchive", "archive", waiting["MRB"]["address"], "--subject", "S9",
        "--experiment", "MR9",
    )  # fmt: skip
    assert again.returncode == 1 and "409" in again.stderr
    assert again.stderr.rstrip().endswith("or --overwrite delete to replace it)")
    cli.json("prearchive", "delete", waiting["MRB"]["address"])
    assert cli.json("prearchive", "ls", "--project", "CLIP") == []
    assert cli.run("prearchive", "archive", "CLIP/nope").returncode == 2


def test_broken_or_interrupted_download_leaves_no_files(
    cli: Cli, seeded: Seeded, rest: requests.Session, tmp_path: Path
) -> None:
    faults = cli.server.faults
    subjects = rest.get(f"{cli.server.url}/data/projects/CLIP/subjects", params={"format": "json"})
    sid = next(r["ID"] for r in subjects.json()["ResultSet"]["Result"] if r["label"] == "S1")
    zip_path = f"/data/projects/CLIP/subjects/{sid}/experiments/{seeded.sessions['E1']}/scans"
    try:
        faults.drop_after(300, count=5, prefix=zip_path)
        broken = cli.run("download", "CLIP/S1/E1", str(tmp_path / "broken"))
        assert "broke off" in one_line_error(broken) or "ended early" in broken.stderr
        assert not (tmp_path / "broken").exists() or _tree(tmp_path / "broken") == {}
        faults.clear()

        faults.start_recording()
        faults.hang_next(prefix=zip_path, seconds=30)
        proc = subprocess.Popen(
            [sys.executable, "-m", "xnat_sdk.cli", "download", "CLIP/S1/E1", str(tmp_path / "int")],
            env=cli.base_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 20
        while not any("/scans/ALL/files" in r.path for r in faults.recorded()):
            assert time.monotonic() < deadline and proc.poll() is None, "no zip request"
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
        assert proc.returncode == 130 and err.strip() == "xnat-sdk: interrupted", err
        assert out == ""
        assert not _tree(tmp_path / "int")
    finally:
        faults.clear()


def test_download_rerun_skips_verified_files(cli: Cli, seeded: Seeded, tmp_path: Path) -> None:
    """A rerun fetches only what is missing (issue 16): files already there with the listed
    size and MD5 are skipped, without a request for them; one changed there (same size,
    other MD5) is kept, the run failing with its name, unless --overwrite."""
    out = tmp_path / "out"
    first = cli.json("download", "CLIP", str(out))
    total = first["files"]  # the seeded 4, and what earlier tests of the module uploaded
    assert total >= 4 and (first["downloaded"], first["skipped"]) == (total, 0)
    folder = out / "CLI project"
    before = _tree(folder)
    damaged = folder / "S1/E1/scans/1-T1/resources/DICOM/files" / next(iter(FILES))
    damaged.write_bytes(b"\0" * damaged.stat().st_size)  # same size, other MD5
    (folder / "S2/E2/scans/1-T1/resources/DICOM/files" / next(iter(FILES))).unlink()
    kept = cli.run("--format", "json", "download", "CLIP", str(out))
    assert kept.returncode == 1 and f"{damaged} exists and is not the server's" in kept.stderr
    assert "1 downloaded" in kept.stderr and "give --overwrite to replace them" in kept.stderr
    assert damaged.read_bytes() == b"\0" * damaged.stat().st_size
    second = cli.json("download", "CLIP", str(out), "--overwrite")
    assert (second["downloaded"], second["skipped"], second["files"]) == (1, total - 1, total)
    assert _tree(folder) == before
    faults = cli.server.faults
    faults.start_recording()
    try:
        third = cli.json("download", "CLIP", str(out))
        session = cli.json("download", "CLIP/S1/E1", str(tmp_path / "one"))
        again = cli.json("download", "CLIP/S1/E1", str(tmp_path / "one"))
        recorded = [r.path for r in faults.recorded()]
    finally:
        faults.clear()
    assert (third["downloaded"], third["skipped"]) == (0, total)
    assert session["downloaded"] >= 2 and again["downloaded"] == 0
    assert again["skipped"] == session["downloaded"]
    file_reads = [p for p in recorded if "/resources/" in p and "/files/" in p]
    assert len(file_reads) == session["downloaded"]  # the first download of CLIP/S1/E1 only


def test_download_verify_quick_reads_nothing_full_reads_every_file(
    cli: Cli, seeded: Seeded, tmp_path: Path
) -> None:
    """--verify: a quick rerun skips the files verified before without reading them; a
    full one reads every file there to check its MD5, at every level and with --flat."""
    for address, extra in (("CLIP", ()), ("CLIP/S1/E1", ()), ("CLIP/S1/E1", ("--flat",))):
        out = str(tmp_path / f"{address.replace('/', '_')}{len(extra)}")
        first = cli.json("download", address, out, *extra)
        assert first["downloaded"] >= 2 and first["hashed_bytes"] == 0
        quick = cli.json("download", address, out, *extra)
        assert (quick["skipped"], quick["hashed_bytes"]) == (first["downloaded"], 0)
        full = cli.json("download", address, out, "--verify", "full", *extra)
        assert full["skipped"] == first["downloaded"]
        assert full["hashed_bytes"] == full["bytes"] > 0, full
    bad = cli.run("download", "CLIP", str(tmp_path / "bad"), "--verify", "fast")
    assert bad.returncode == 2 and "'fast' is not one of 'quick', 'full'" in bad.stderr
    assert not (tmp_path / "bad").exists()


def test_upload_of_an_existing_file_names_the_cli_option(
    cli: Cli, seeded: Seeded, rest: requests.Session, tmp_path: Path
) -> None:
    note = tmp_path / "note.txt"
    note.write_text("first")
    cli.json("upload", str(note), "CLIP/S2/E2/NOTES")
    note.write_text("second")
    error = one_line_error(cli.run("upload", str(note), "CLIP/S2/E2/NOTES"))
    assert "the server already has note.txt and kept it" in error
    assert "--overwrite" in error and "overwrite=True" not in error
    url = f"{cli.server.url}/data/experiments/{seeded.sessions['E2']}/resources/NOTES/files"
    assert _files(rest, url) == {"note.txt": hashlib.md5(b"first").hexdigest()}  # kept


def test_short_address_reaches_an_experiment_resource(
    cli: Cli, seeded: Seeded, tmp_path: Path
) -> None:
    note = tmp_path / "read.me"
    note.write_text("session notes")
    cli.json("upload", str(note), "CLIP/S2/E2/DOCS")
    cli.json("upload", str(note), "CLIP/S2/E2/T1")  # a resource named as scan 1's type
    rest_path = "/data/projects/CLIP/subjects/S2/experiments/E2/resources/DOCS/files"
    for address in ("CLIP/S2/E2/DOCS", rest_path, "CLIP/S2/E2/DOCS/read.me"):
        rows = cli.json("ls", address)
        assert [(r["path"], r["collection"]) for r in rows] == [("read.me", "DOCS")], address
    assert [r["label"] for r in cli.json("ls", "CLIP/S2/E2/T1")] == ["DICOM"]  # a scan wins
    got = cli.json("download", "CLIP/S2/E2/DOCS", str(tmp_path / "out"))
    assert got["files"] == 1
    assert _tree(tmp_path / "out") == {"E2/resources/DOCS/files/read.me": b"session notes"}
    error = one_line_error(cli.run("ls", "CLIP/S2/E2/NOPE"))
    assert "no scan or resource 'NOPE'" in error and "DOCS" in error and "T1" in error
    eid = seeded.sessions["E2"]
    assert "no scan 'DOCS'" in one_line_error(cli.run("ls", f"/data/experiments/{eid}/scans/DOCS"))
    assert cli.run("ls", f"/data/experiments/{eid}/files").returncode == 1
    docs = cli.json("tree", "CLIP/S2/E2/DOCS")  # a resource's tree: its own files
    assert (docs["level"], docs["label"], docs["files"]) == ("resource", "DOCS", 1)
    for command in ("ls", "download"):
        assert "(a child wins" in " ".join(cli.run(command, "--help").stdout.split())


def test_short_address_reaches_project_and_subject_resources(
    cli: Cli, seeded: Seeded, tmp_path: Path
) -> None:
    note = tmp_path / "protocol.txt"
    note.write_text("the protocol")
    cli.json("upload", str(note), "CLIP/PROTOCOLS")
    cli.json("upload", str(note), "CLIP/S1/CONSENT", "--name", "forms/signed.txt")
    cli.json("upload", str(note), "CLIP/S2")  # a project resource named as a subject
    for address, path in (
        ("CLIP/PROTOCOLS", "protocol.txt"),
        ("CLIP/PROTOCOLS/protocol.txt", "protocol.txt"),
        ("CLIP/S1/CONSENT", "forms/signed.txt"),
        ("CLIP/S1/CONSENT/forms/signed.txt", "forms/signed.txt"),
    ):
        assert [r["path"] for r in cli.json("ls", address)] == [path], address
    assert [r["label"] for r in cli.json("ls", "CLIP/S2")] == ["E2"]  # a subject wins
    got = cli.json("download", "CLIP/S1/CONSENT", str(tmp_path / "out"))
    assert got["files"] == 1
    assert _tree(tmp_path / "out") == {
        "S1/resources/CONSENT/files/forms/signed.txt": b"the protocol"
    }
    error = one_line_error(cli.run("ls", "CLIP/S1/NOPE"))
    assert "no experiment or resource 'NOPE' in subject S1" in error and "CONSENT" in error


def test_flat_download_of_any_address_refuses_clashes(
    cli: Cli, seeded: Seeded, tmp_path: Path
) -> None:
    for address in ("CLIP/S1", "CLIP/S1/E1", "CLIP/S1/E1/1"):
        out = tmp_path / address.replace("/", "_")
        got = cli.json("download", address, str(out), "--flat")
        assert _tree(out) == FILES, address
        assert (got["path"], got["downloaded"], got["skipped"]) == (str(out), 2, 0)
    note = tmp_path / "n.txt"
    note.write_text("flat note")
    cli.json("upload", str(note), "CLIP/S1/E1/FLATDOC")
    cli.json("download", "CLIP/S1/E1/FLATDOC", str(tmp_path / "doc"), "--flat")
    assert _tree(tmp_path / "doc") == {"n.txt": b"flat note"}
    # scans 1 and 2 of E1 both get a DICOM a/1.dcm; E1 and E2 clash already
    clash = tmp_path / "clash.dcm"
    clash.write_bytes(b"other scan")
    cli.json("upload", str(clash), "CLIP/S1/E1/2/DICOM", "--name", "a/1.dcm")
    for args in (("CLIP",), ("CLIP/S1/E1",), ("CLIP/S1/E1", "--resource", "DICOM")):
        error = one_line_error(cli.run("download", *args, str(tmp_path / "x"), "--flat"))
        assert "two files would land at a/1.dcm" in error, args
        assert not (tmp_path / "x").exists() or _tree(tmp_path / "x") == {}
    narrowed = tmp_path / "t1"
    cli.json("download", "CLIP/S1/E1", str(narrowed), "--flat", "--scan-type", "T1")
    assert _tree(narrowed) == FILES


def test_download_refuses_a_folder_of_another_session_of_that_label(
    cli: Cli, seeded: Seeded, tmp_path: Path
) -> None:
    """E1 of CLIP and E1 of another project went to one ``DIR/E1``, taking turns there."""
    server = cli.server
    server.seed_project("CLIOTHER")
    server.seed_subject("CLIOTHER", "S9")
    eid = server.seed_session("CLIOTHER", "S9", "E1")
    resource = server.seed_resource("scan", server.seed_scan(eid, "1", type="T1"), "DICOM")
    server.seed_file(resource, "a/1.dcm", b"other project")
    cli.json("download", "CLIP/S1/E1", str(tmp_path))
    before = _tree(tmp_path)
    refused = one_line_error(cli.run("download", "CLIOTHER/S9/E1", str(tmp_path)))
    assert eid in refused and "CLIOTHER" in refused and "another TARGET_DIR" in refused
    assert _tree(tmp_path) == before
    done = cli.json("download", "CLIOTHER/S9/E1", str(tmp_path / "other"))
    assert done["downloaded"] == 1


def test_flat_download_refuses_paths_that_differ_only_in_case(cli: Cli, tmp_path: Path) -> None:
    """``--flat`` compared paths with ``os.path.normcase``, which folds case on Windows only:
    on macOS ``x.txt`` and ``X.txt`` of two resources went one over the other."""
    server = cli.server
    server.seed_project("CLICASE")
    server.seed_subject("CLICASE", "S1")
    eid = server.seed_session("CLICASE", "S1", "E1")
    scan = server.seed_scan(eid, "1", type="T1")
    for label, name in (("ONE", "x.txt"), ("TWO", "X.txt")):
        server.seed_file(server.seed_resource("scan", scan, label), name, label.encode())
    out = tmp_path / "flat"
    error = one_line_error(cli.run("download", "CLICASE/S1/E1/1", str(out), "--flat"))
    assert "differ only in case" in error and "x.txt" in error and "X.txt" in error
    assert "download without --flat" in error
    assert not out.exists() or _tree(out) == {}


def test_upload_refuses_a_link_leading_out_of_the_folder_before_making_anything(
    cli: Cli, seeded: Seeded, rest: requests.Session, tmp_path: Path
) -> None:
    (tmp_path / "id_rsa").write_bytes(b"PRIVATE KEY")
    folder = tmp_path / "outbox"
    folder.mkdir()
    (folder / "a.txt").write_text("one")
    (folder / "key").symlink_to(tmp_path / "id_rsa")
    error = one_line_error(cli.run("upload", str(folder), "CLIP/S1/E1/LINKED"))
    assert "a link leading outside the folder" in error and "--follow-symlinks" in error
    url = f"{cli.server.url}/data/experiments/{seeded.sessions['E1']}/resources/LINKED"
    assert rest.get(url, params={"format": "json"}).status_code == 404  # not even made
    made = cli.json("upload", str(folder), "CLIP/S1/E1/LINKED", "--follow-symlinks")
    assert made["files"] == 2 and made["bytes"] == len(b"PRIVATE KEY") + 3
    assert sorted(_files(rest, f"{url}/files")) == ["a.txt", "key"]


def test_upload_names_a_folder_swapped_for_a_link_after_the_walk_without_a_remedy(
    cli: Cli,
    seeded: Seeded,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A folder replaced by a link leading out after the upload's walk was told as a link
    found by the walk: 'nothing was sent (give --follow-symlinks ...)', though files read
    before it may have been, and following links would send what the link leads to."""
    from xnat_sdk import archives
    from xnat_sdk.cli import main

    data, home = tmp_path / "outbox", tmp_path / "home-dir"
    (data / "sub").mkdir(parents=True)
    home.mkdir()
    (data / "a.txt").write_text("one")
    (data / "sub" / "id_rsa").write_text("harmless")
    (home / "id_rsa").write_text("PRIVATE KEY")
    walks: list[int] = []
    real = archives.walk_files

    def walked(*args: Any, **kwargs: Any) -> Iterator[Any]:
        yield from real(*args, **kwargs)
        walks.append(1)
        if len(walks) == 2:  # the upload's own walk (the first counts the files)
            (data / "sub").rename(tmp_path / "moved")
            (data / "sub").symlink_to(home, target_is_directory=True)

    monkeypatch.setattr(archives, "walk_files", walked)
    for key, value in cli.base_env().items():
        monkeypatch.setenv(key, value)
    assert main(["upload", str(data), "CLIP/S1/E1/SWAPPED", "--method", "per_file"]) == 1
    error = capsys.readouterr().err
    assert "replaced, after the folder was checked" in error and "may have been sent" in error
    assert "--follow-symlinks" not in error and "nothing was sent" not in error


def test_upload_refuses_a_dangling_link_and_names_a_loop(
    cli: Cli, seeded: Seeded, rest: requests.Session, tmp_path: Path
) -> None:
    """A link to nothing was left out of the upload silently: refused before the resource
    is made; a link back to its folder is left out with a warning line naming it."""
    folder = tmp_path / "outbox2"
    folder.mkdir()
    (folder / "a.txt").write_text("one")
    (folder / "gone").symlink_to(tmp_path / "nowhere.txt")
    (folder / "again").symlink_to(".", target_is_directory=True)
    result = cli.run("upload", str(folder), "CLIP/S1/E1/DANGLING")
    error = one_line_error(result)
    assert "gone" in error and "does not exist" in error and "nothing was" in error
    url = f"{cli.server.url}/data/experiments/{seeded.sessions['E1']}/resources/DANGLING"
    assert rest.get(url, params={"format": "json"}).status_code == 404  # not even made
    (folder / "gone").unlink()
    os.mkfifo(folder / "pipe")  # a special file: left out, and said so once
    result = cli.run("upload", str(folder), "CLIP/S1/E1/DANGLING")
    assert result.returncode == 0, result.stderr
    assert "xnat-sdk: warning:" in result.stderr and result.stderr.count("again") == 1
    assert result.stderr.count("pipe (FIFO)") == 1
    assert sorted(_files(rest, f"{url}/files")) == ["a.txt"]


def test_download_fsync_syncs_each_file_as_the_api_does(
    cli: Cli, seeded: Seeded, tmp_path: Path
) -> None:
    """``--fsync`` is the API's ``fsync=True`` (download_files, sync_session, the flat
    download), which the command line had no option for: each file is synced once."""
    synced = tmp_path / "synced"
    code = (
        "import os, sys\n"
        "from xnat_sdk.transfers import _download\n"
        "def to_disk(fd):\n"
        f"    with open({str(synced)!r}, 'a') as log:\n"
        "        log.write('x')\n"
        "    os.fsync(fd)\n"
        "_download._to_disk = to_disk\n"
        "from xnat_sdk.cli._main import main\n"
        "sys.argv[0] = 'xnat-sdk'\n"
        "sys.exit(main())\n"
    )

    def download(*args: str) -> tuple[int, int]:
        """(files synced, files the JSON says this run downloaded)."""
        synced.unlink(missing_ok=True)
        done = subprocess.run(
            [sys.executable, "-c", code, "--format", "json", "download", *args],
            env=cli.base_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        got = len(synced.read_text()) if synced.exists() else 0
        return got, json.loads(done.stdout)["downloaded"]

    # (other tests may add files to the shared fixture's session: counted, not assumed)
    synced_count, downloaded = download("CLIP/S1/E1", str(tmp_path / "e"), "--fsync")
    assert synced_count == downloaded >= len(FILES)
    synced_count, downloaded = download("CLIP", str(tmp_path / "p"), "--fsync")
    assert synced_count == downloaded >= 2 * len(FILES)
    synced_count, downloaded = download("CLIP/S1/E1/1", str(tmp_path / "f"), "--flat", "--fsync")
    assert synced_count == downloaded >= len(FILES)


def test_download_keeps_a_local_file_that_differs_unless_overwrite(
    cli: Cli, seeded: Seeded, tmp_path: Path
) -> None:
    """A file, scan or resource download replaced a local file of the same name silently
    (a file edited there lost): it is kept now, the command failing with its name and the
    remedy, unless --overwrite; the same bytes again are no conflict."""
    name = next(iter(FILES))
    file_address, resource_address = f"CLIP/S1/E1/1/DICOM/{name}", "CLIP/S1/E1/1/DICOM"
    for address, folder, local in (
        (file_address, tmp_path / "f", tmp_path / "f" / name.rsplit("/", 1)[-1]),
        (
            resource_address,
            tmp_path / "r",
            tmp_path / "r/E1/scans/1-T1/resources/DICOM/files" / name,
        ),
    ):
        cli.json("download", address, str(folder))
        cli.json("download", address, str(folder))  # the same bytes again: no conflict
        local.write_bytes(b"edited here")
        done = cli.run("download", address, str(folder))
        assert done.returncode == 1, done.stderr
        assert f"{local} exists and is not the server's" in done.stderr
        assert done.stderr.rstrip().endswith("(give --overwrite to replace it)")
        assert local.read_bytes() == b"edited here"
    cli.json("download", resource_address, str(tmp_path / "r"), "--overwrite")
    assert local.read_bytes() == FILES[name]


def test_download_scan_type_picking_no_scan_is_an_error(
    cli: Cli, seeded: Seeded, tmp_path: Path
) -> None:
    """``--scan-type`` with a type or ID no scan has (a typo) downloaded nothing and exited
    0 ({"files": 0}), where ``--resource`` of no scan fails and the API's download_dir says
    404: it fails now, naming the scans there are, before anything is written."""
    out = tmp_path / "out"
    done = cli.run("download", "CLIP/S1/E1", str(out), "--scan-type", "T3")
    assert done.returncode == 1
    assert "no scan of ID or type 'T3' in experiment E1 (IDs: 1, 2; types: T1, T2)" in done.stderr
    assert not out.exists()
    done = cli.run("download", "CLIP", str(out), "--scan-type", "T3")
    assert done.returncode == 1 and "in any session of project" in done.stderr
