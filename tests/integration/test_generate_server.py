"""``xnat-sdk generate --server``: the core check against the pin, the fallback to the
server's own core copies when the installation has none, and bad command lines."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from xnat_sdk_codegen import remote
from xnat_sdk_codegen.cli import main

from xnat_sdk import connection
from xnat_sdk.testing.local import LocalXNAT

REPO = Path(__file__).resolve().parents[2]
QC = REPO / "tests" / "fixtures" / "plugins" / "qcplug"


def test_a_differing_core_is_reported_and_the_server_copy_used_without_a_pinned_core(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    core = tmp_path / "core"
    shutil.copytree(REPO / "schemas" / "xnat", core / "xnat")
    shutil.copytree(REPO / "schemas" / "xdat", core / "xdat")
    xnat_xsd = core / "xnat" / "xnat.xsd"
    xnat_xsd.write_bytes(xnat_xsd.read_bytes() + b"<!-- a site's patched copy -->\n")
    monkeypatch.setattr(remote, "default_core_schemas", lambda: None)
    out = tmp_path / "qc_models"
    with LocalXNAT(schemas_dir=core, schemas=QC) as server:
        argv = ["--server", server.url, "--user", "admin", "--password", "admin"]
        assert main([*argv, "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "core schema xnat/xnat.xsd: differs from the pin (served sha256 " in err
    assert "core schema xdat/xdat.xsd: matches the pin" in err
    assert "reading the site schemas against the server's core copies" in err
    text = (out / "qcp_review_data.py").read_text("utf-8")
    assert "class QcpReviewData(ImageAssessorData)" in text
    assert "from xnat_sdk.models.xnat_image_assessor_data import ImageAssessorData" in text


def test_schemas_and_server_are_exclusive(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--out", str(tmp_path / "x")]) == 2
    both = ["--schemas", str(QC), "--server", "http://127.0.0.1:9", "--out", str(tmp_path)]
    assert main(both) == 2
    assert "exactly one of --schemas DIR and --server URL" in capsys.readouterr().err


def test_an_unreachable_server_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--server", "http://127.0.0.1:9", "--user", "u", "--password", "p"]
    assert main([*argv, "--out", str(tmp_path / "x")]) == 2
    assert "cannot read the schemas of http://127.0.0.1:9" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_credentials_from_a_netrc_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NETRC", raising=False)
    for name in ("XNATPY_USER", "XNAT_USER", "XNATPY_PASS", "XNAT_PASS"):
        monkeypatch.delenv(name, raising=False)
    netrc = tmp_path / "site.netrc"
    out = tmp_path / "qc_models"
    with LocalXNAT(schemas=QC) as server:
        host = server.url.split("://", 1)[1]
        netrc.write_text(f"machine {host} login admin password admin\n")
        netrc.chmod(0o600)
        assert main(["--server", server.url, "--netrc", str(netrc), "--out", str(out)]) == 0
        assert (out / "qcp_review_data.py").is_file()
        monkeypatch.setattr(connection, "_insecure_warned", False)  # warned once a process
        argv = ["--server", server.url, "--netrc", str(netrc), "--insecure"]
        assert main([*argv, "--out", str(tmp_path / "again")]) == 0
        assert "verify=False: TLS certificates are NOT checked" in capsys.readouterr().err
        netrc.write_text(f"machine {host} login admin password wrong\n")
        assert main(["--server", server.url, "--netrc", str(netrc), "--out", str(out)]) == 2
    assert "login failed for admin (credentials from netrc" in capsys.readouterr().err
