"""``xnat-sdk rest``, ``login``/``logout`` and the error paths as subprocesses: exit codes,
one-line errors, the request log with secrets hidden, the netrc file and the tokens on the
server."""

from __future__ import annotations

import json
import os
import stat
import tempfile
from pathlib import Path

import pytest
import requests
from cli_helpers import Cli, one_line_error, own_address, this_machine_only

from xnat_sdk.testing._server.server import BackgroundServer
from xnat_sdk.testing.local import LocalXNAT


def test_rest_verbs(cli: Cli, rest: requests.Session, tmp_path: Path) -> None:
    url = cli.server.url
    assert cli.run("rest", "put", "/data/projects/CLIR").returncode == 0
    assert rest.get(f"{url}/data/projects/CLIR").status_code == 200
    listed = cli.run("rest", "get", "/data/projects", "--query", "format=json")
    assert listed.returncode == 0
    rows = json.loads(listed.stdout)["ResultSet"]["Result"]
    assert "CLIR" in [r["ID"] for r in rows]
    head = cli.json("rest", "head", "/data/projects/CLIR")
    assert head["status"] == 200
    body = tmp_path / "v.txt"
    body.write_text("kept text")
    posted = cli.run(
        "rest", "put", "/data/projects/CLIR/resources/R/files/v.txt", "--data", str(body)
    )
    assert posted.returncode == 0, posted.stderr
    got = rest.get(f"{url}/data/projects/CLIR/resources/R/files/v.txt")
    assert got.content == b"kept text"
    posted = cli.run(
        "rest",
        "post",
        "/data/projects/CLIR/resources/R/files/w.txt",
        "--data",
        "-",
        input=b"from stdin",
    )
    assert posted.returncode == 0, posted.stderr
    assert rest.get(f"{url}/data/projects/CLIR/resources/R/files/w.txt").content == b"from stdin"
    assert cli.run("rest", "delete", "/data/projects/CLIR").returncode == 0
    assert rest.get(f"{url}/data/projects/CLIR").status_code == 404
    error = one_line_error(cli.run("rest", "get", "/data/projects/CLIR"))
    assert error.startswith("xnat-sdk: error: ") and "404" in error


def test_rest_data_that_is_no_file_is_a_usage_error(cli: Cli, tmp_path: Path) -> None:
    """``--data`` of a missing file or a folder said only "[Errno 2] No such file or
    directory" (exit 1), after logging in; and ``rest get --help`` offered a --data it has
    not. Now a usage error naming the option, before anything is sent."""
    for bad, says in ((tmp_path / "missing.txt", "does not exist"), (tmp_path, "is a directory")):
        done = cli.run("rest", "put", "/data/projects/CLIR/files/x.txt", "--data", str(bad))
        assert done.returncode == 2 and f"Invalid value for '--data': File '{bad}' {says}" in (
            done.stderr
        )
    assert "--data" not in cli.run("rest", "get", "--help").stdout


def test_login_whoami_logout(cli: Cli, tmp_path: Path) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine other.example.org login me password kept\n")
    done = cli.run("--netrc", str(netrc), "--format", "json", "login")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    text = netrc.read_text()
    assert stat.S_IMODE(netrc.stat().st_mode) == 0o600
    assert "machine other.example.org login me password kept" in text  # kept
    machine = cli.server.url.split("//", 1)[1]
    line = next(x for x in text.splitlines() if x.startswith(f"machine {machine} "))
    alias, secret = line.split()[3], line.split()[5]
    assert line.split()[2::2] == ["login", "password"] and "admin" not in line  # no password
    assert alias == answer["alias"] and secret not in done.stdout + done.stderr
    assert requests.get(f"{cli.server.url}/data/JSESSION", auth=(alias, secret)).ok

    me = cli.json("--netrc", str(netrc), "whoami", login=False)  # no user in the environment
    assert (me["user"], me["credentials"]) == ("admin", "netrc")

    # logging in again (here with the stored token) replaces and invalidates the first token
    second = cli.json("--netrc", str(netrc), "login", login=False)
    assert second["replaced"] == alias and second["alias"] != alias
    assert requests.get(f"{cli.server.url}/data/JSESSION", auth=(alias, secret)).status_code == 401
    line = next(x for x in netrc.read_text().splitlines() if x.startswith(f"machine {machine} "))
    alias, secret = line.split()[3], line.split()[5]
    assert alias == second["alias"]

    out = cli.json("--netrc", str(netrc), "logout", login=False)
    assert out["invalidated"] is True
    assert requests.get(f"{cli.server.url}/data/JSESSION", auth=(alias, secret)).status_code == 401
    assert netrc.read_text() == "machine other.example.org login me password kept\n"
    again = one_line_error(cli.run("--netrc", str(netrc), "logout", login=False))
    assert "not logged in" in again


def test_errors_are_one_line_and_verbose_hides_secrets(cli: Cli) -> None:
    wrong = cli.run("--password", "s3cret-wrong", "ls")
    assert "login failed for admin" in one_line_error(wrong)
    assert "s3cret-wrong" not in wrong.stderr
    loud = cli.run("--password", "s3cret-wrong", "--verbose", "ls")
    assert loud.returncode == 1
    assert "Traceback" in loud.stderr and "GET " in loud.stderr and "/data/JSESSION" in loud.stderr
    assert "s3cret-wrong" not in loud.stderr
    # no password and no terminal to ask on (stdin is /dev/null): no prompt, one line
    asked = one_line_error(cli.run("-u", "admin", "ls", login=False))
    assert "no password for user 'admin'" in asked and "no terminal" in asked
    nowhere = cli.run("--server", "http://127.0.0.1:9", "ls", login=False)
    assert "cannot reach the server" in one_line_error(nowhere)
    cli.env["XNAT_HOST"] = ""
    assert "no server" in one_line_error(cli.run("whoami"))
    usage = cli.run("ls", "--bogus")
    assert usage.returncode == 2 and "No such option" in usage.stderr
    assert cli.run("nonsense").returncode == 2


def test_login_and_logout_with_user_info_in_the_url_never_print_the_password(
    cli: Cli, tmp_path: Path
) -> None:
    netrc = tmp_path / "netrc"
    url = cli.server.url.replace("http://", "http://admin:admin@")
    done = cli.run("--server", url, "--netrc", str(netrc), "--format", "json", "login", login=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["server"] == cli.server.url
    assert "admin:admin" not in done.stdout + done.stderr
    gone = cli.run(
        "--server", url, "--netrc", str(netrc), "--format", "json", "logout", login=False
    )
    assert gone.returncode == 0, gone.stderr
    assert json.loads(gone.stdout)["invalidated"] is True
    assert "admin:admin" not in gone.stdout + gone.stderr


def test_a_login_whose_netrc_cannot_be_written_leaves_no_valid_token(
    cli: Cli, tmp_path: Path
) -> None:
    def enabled() -> int:
        rows = cli.server.store.query(
            "SELECT COUNT(*) AS n FROM alias_tokens WHERE login = 'admin' AND enabled"
        )
        return int(rows[0]["n"])

    # a folder no one may write to, not even root (read: no entry; write: refused)
    unwritable = Path("/sys/xnat-sdk-netrc")
    if not Path("/sys").is_dir() or (os.access("/sys", os.W_OK) and not _refuses("/sys")):
        pytest.skip("needs a folder even root cannot write to (Linux /sys)")
    before = enabled()
    done = cli.run("--netrc", str(unwritable), "login")
    assert done.returncode == 1, done.stdout + done.stderr
    assert enabled() == before


def _refuses(folder: str) -> bool:
    try:
        os.close(tempfile.mkstemp(dir=folder)[0])
    except OSError:
        return True
    return False


def test_rest_head_hides_cookie_values(cli: Cli) -> None:
    cli.server.faults.rotate_session_next(prefix="/data/projects")  # answers a Set-Cookie
    try:
        head = cli.json("rest", "head", "/data/projects")
    finally:
        cli.server.faults.clear()
    assert head["status"] == 200
    assert head["Set-Cookie"].startswith("JSESSIONID=***;") and "Path=/data" in head["Set-Cookie"]


def test_a_password_over_plain_http_to_another_address_is_warned_of(cli: Cli) -> None:
    address = own_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address")
    front = BackgroundServer(this_machine_only(cli.server.app, address), address, 0)  # type: ignore[arg-type]
    front.start()
    try:
        done = cli.run("--server", f"http://{address}:{front.port}", "whoami")
        quiet = cli.run("--server", f"http://{address}:{front.port}", "-q", "whoami")
    finally:
        front.stop()
    assert done.returncode == 0, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("xnat-sdk: warning: the password of user 'admin' is sent over ")
    assert f"plain http to http://{address}:{front.port}" in lines[0]
    assert quiet.returncode == 0 and quiet.stderr == ""
    local = cli.run("whoami")  # the loopback server: no warning
    assert local.returncode == 0 and local.stderr == ""


def test_whoami_without_credentials_says_whether_the_server_lets_the_guest_in(
    cli: Cli, tmp_path: Path
) -> None:
    """Anonymous, ``whoami`` said ``guest`` and exit 0 on a server requiring a login, as if
    the guest could work there: it now says whether the server lets the guest read
    (``anonymous_access``), and how to log in where it does not."""
    refused = cli.run("--format", "json", "whoami", login=False)
    assert refused.returncode == 0, refused.stderr
    assert json.loads(refused.stdout)["anonymous_access"] is False
    assert "requires a login" in refused.stderr and "--user" in refused.stderr
    with LocalXNAT(require_login=False) as open_site:
        welcomed = Cli(open_site, tmp_path).run("--format", "json", "whoami", login=False)
    assert json.loads(welcomed.stdout)["anonymous_access"] is True
    assert welcomed.stderr == ""
