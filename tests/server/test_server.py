"""Server-wide behaviour: info endpoints, routing, persistence, concurrency, faults, CLI."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from tests.server.conftest import rows
from xnat_sdk.errors import XNATValueError
from xnat_sdk.testing.local import LocalXNAT


def test_info_endpoints(xnat_url: str, admin: requests.Session) -> None:
    r = requests.get(f"{xnat_url}/")
    assert r.status_code == 200 and "<html" in r.text
    assert admin.get(f"{xnat_url}/data/version").status_code == 404
    info = requests.get(f"{xnat_url}/xapi/siteConfig/buildInfo").json()  # an open URL
    assert info["version"].startswith("1.8.")
    assert all(isinstance(v, str) for v in info.values())
    assert admin.get(f"{xnat_url}/xapi/siteConfig/buildInfo/version").text == info["version"]
    up = admin.get(f"{xnat_url}/xapi/siteConfig/uptime").json()
    assert "seconds" in up
    names = admin.get(f"{xnat_url}/xapi/schemas").json()
    assert "xnat" in names
    xsd = admin.get(f"{xnat_url}/xapi/schemas/xnat")
    assert xsd.status_code == 200 and b"<xs:schema" in xsd.content
    assert admin.get(f"{xnat_url}/schemas/xnat/xnat.xsd").content == xsd.content
    assert admin.get(f"{xnat_url}/xapi/schemas/nope").status_code == 404
    # anonymous (requireLogin on, a fresh site's default): only XNAT's open URLs answer
    for path in ("/data/version", "/xapi/siteConfig/uptime", "/xapi/schemas"):
        assert requests.get(f"{xnat_url}{path}").status_code == 401, path


def test_routing_aliases_404_405(
    xnat_server: LocalXNAT, xnat_project: str, admin: requests.Session
) -> None:
    url = xnat_server.url
    for prefix in ("/data", "/REST", "/data/archive", "/REST/archive"):
        r = admin.get(f"{url}{prefix}/projects/{xnat_project}?format=json")
        assert r.status_code == 200, prefix
    r = admin.get(f"{url}/data/unknown/path")
    assert r.status_code == 404
    assert "<h3>" in r.text
    r = admin.post(f"{url}/data/projects/{xnat_project}")
    assert r.status_code == 405
    assert "GET" in r.headers["Allow"]
    assert admin.get(f"{url}/xapi/no-such-api").status_code == 404


def test_restart_keeps_objects_and_files(tmp_path: Path) -> None:
    data = os.urandom(5000)
    with LocalXNAT(data_dir=tmp_path) as first:
        a = requests.Session()
        a.auth = ("admin", "admin")
        p = f"{first.url}/data/projects/PERSIST"
        assert a.put(p).status_code == 200
        eid = a.put(f"{p}/subjects/S1/experiments/E1?xsiType=xnat:mrSessionData").text
        a.put(f"{p}/subjects/S1/experiments/E1/resources/R/files/f.bin", data=data)
        a.put(f"{p}/subjects/S1?gender=male")
        tok = a.get(f"{first.url}/data/services/tokens/issue").json()
    with LocalXNAT(data_dir=tmp_path) as second:
        a = requests.Session()
        a.auth = ("admin", "admin")
        p = f"{second.url}/data/projects/PERSIST"
        (exp,) = rows(a.get(f"{p}/experiments"))
        assert exp["ID"] == eid
        assert a.get(f"{p}/subjects/S1/experiments/E1/resources/R/files/f.bin").content == data
        assert rows(a.get(f"{p}/subjects?columns=ID,gender"))[0]["gender"] == "male"
        # tokens survive as well; new accession IDs continue the sequence
        r = requests.get(f"{second.url}/data/auth", auth=(tok["alias"], tok["secret"]))
        assert r.status_code == 200
        e2 = a.put(f"{p}/subjects/S1/experiments/E2?xsiType=xnat:mrSessionData").text
        assert e2 > eid


def test_concurrent_uploads_and_listings(xnat_server: LocalXNAT, xnat_project: str) -> None:
    url = xnat_server.url
    base = f"{url}/data/projects/{xnat_project}/resources/CONC/files"
    requests.put(f"{url}/data/projects/{xnat_project}/resources/CONC", auth=("admin", "admin"))
    errors: list[str] = []
    payloads = {f"t{t}/f{i}.bin": os.urandom(2000 + i) for t in range(6) for i in range(8)}

    def worker(t: int) -> None:
        with requests.Session() as s:
            s.auth = ("admin", "admin")
            for i in range(8):
                name = f"t{t}/f{i}.bin"
                r = s.put(f"{base}/{name}", data=payloads[name])
                if r.status_code != 200 or r.text:
                    errors.append(f"{name}: {r.status_code} {r.text}")
                if s.get(base).status_code != 200:
                    errors.append("listing failed")

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    listed = {
        r["URI"].split("/files/", 1)[1]: r["digest"]
        for r in rows(requests.get(base, auth=("admin", "admin")))
    }
    assert listed == {k: hashlib.md5(v).hexdigest() for k, v in payloads.items()}


def test_fault_delay_and_forced_errors(own_server: LocalXNAT) -> None:
    url = own_server.url
    auth = ("admin", "admin")
    own_server.faults.fail_next(2, status=503, prefix="/data/projects")
    r = requests.get(f"{url}/data/projects", auth=auth)
    assert r.status_code == 503 and r.headers["Retry-After"] == "0"
    assert requests.get(f"{url}/data/experiments", auth=auth).status_code == 200  # other prefix
    assert requests.get(f"{url}/data/projects", auth=auth).status_code == 503
    assert requests.get(f"{url}/data/projects", auth=auth).status_code == 200
    own_server.faults.set_delay(0.3)
    t0 = time.monotonic()
    requests.get(f"{url}/data/projects", auth=auth)
    assert time.monotonic() - t0 >= 0.3
    own_server.faults.clear()
    with pytest.raises(ValueError):
        own_server.faults.fail_next(1, status=404)


def test_fault_drop_connection_mid_download(own_server: LocalXNAT) -> None:
    url = own_server.url
    own_server.seed_project("DROP")
    rid = own_server.seed_resource("project", "DROP", "R")
    data = os.urandom(300_000)
    own_server.seed_file(rid, "big.bin", data)
    f = f"{url}/data/projects/DROP/resources/R/files/big.bin"
    own_server.faults.drop_after(1000)
    with pytest.raises(requests.exceptions.RequestException):
        requests.get(f, auth=("admin", "admin")).content  # noqa: B018
    # the budget was one download: the next one is whole, and Range resumes work
    assert requests.get(f, auth=("admin", "admin")).content == data
    part = requests.get(f, auth=("admin", "admin"), headers={"Range": "bytes=1000-"})
    assert part.content == data[1000:]


def test_fault_corrupt_digest(own_server: LocalXNAT) -> None:
    own_server.seed_project("DIG")
    rid = own_server.seed_resource("project", "DIG", "R")
    own_server.seed_file(rid, "a.txt", b"abc")
    listing = f"{own_server.url}/data/projects/DIG/resources/R/files"
    good = hashlib.md5(b"abc").hexdigest()
    own_server.faults.corrupt_digests(1)
    assert rows(requests.get(listing, auth=("admin", "admin")))[0]["digest"] != good
    assert rows(requests.get(listing, auth=("admin", "admin")))[0]["digest"] == good


def test_fault_http_api_is_admin_only(own_server: LocalXNAT) -> None:
    url = f"{own_server.url}/xapi/testing/faults"
    assert requests.put(url, json={"delay": 1}, auth=("user", "user")).status_code == 403
    r = requests.put(
        url,
        json={"fail_next": {"count": 1, "status": 502, "prefix": "/data/users"}},
        auth=("admin", "admin"),
    )
    assert r.status_code == 200
    assert r.json()["fail_next"]["count"] == 1
    assert requests.get(f"{own_server.url}/data/users", auth=("admin", "admin")).status_code == 502
    r = requests.put(url, json={"expire_sessions": True}, auth=("admin", "admin"))
    assert r.status_code == 200
    assert requests.put(url, data="{bad json", auth=("admin", "admin")).status_code == 400
    assert requests.delete(url, auth=("admin", "admin")).json()["fail_next"] is None


def test_seeding_is_fast(tmp_path: Path) -> None:
    with LocalXNAT(data_dir=tmp_path) as server:
        t0 = time.monotonic()
        server.seed_bulk("BENCH", 2000, sessions_per_subject=1, scans_per_session=3)
        elapsed = time.monotonic() - t0
        assert elapsed < 10, elapsed
        r = requests.get(
            f"{server.url}/data/projects/BENCH/subjects?columns=ID,label", auth=("admin", "admin")
        )
        assert len(rows(r)) == 2000
        sess = rows(
            requests.get(f"{server.url}/data/projects/BENCH/experiments", auth=("admin", "admin"))
        )
        assert len(sess) == 2000
        scans = rows(
            requests.get(
                f"{server.url}/data/experiments/{sess[0]['ID']}/scans", auth=("admin", "admin")
            )
        )
        assert [s["ID"] for s in scans] == ["1", "2", "3"]


def test_cli_serve_starts_quickly(tmp_path: Path) -> None:
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from xnat_sdk.cli import main; sys.exit(main())",
            "serve",
            "--data-dir",
            str(tmp_path),
            "--port",
            "0",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        startup = time.monotonic() - t0
        assert "http://127.0.0.1:" in line
        url = line.split()[4]
        assert requests.get(f"{url}/data/JSESSION", auth=("admin", "admin")).status_code == 200
        assert startup < 2.0, startup
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
    assert (tmp_path / "xnat.db").exists()


def _peak_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
def test_big_transfers_use_constant_memory(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from xnat_sdk.cli import main; sys.exit(main())",
            "serve",
            "--data-dir",
            str(tmp_path),
            "--port",
            "0",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().split()[4]
        auth = ("admin", "admin")
        requests.put(f"{url}/data/projects/BIG", auth=auth)
        before = _peak_rss_kb(proc.pid)
        size = 96 << 20
        chunk = os.urandom(1 << 20)
        digest = hashlib.md5()

        def body() -> object:
            for _ in range(size >> 20):
                digest.update(chunk)
                yield chunk

        f = f"{url}/data/projects/BIG/resources/R/files/big.bin"
        assert requests.put(f, data=body(), auth=auth).status_code == 200
        got = hashlib.md5()
        with requests.get(f, auth=auth, stream=True) as r:
            for part in r.iter_content(1 << 20):
                got.update(part)
        assert got.hexdigest() == digest.hexdigest()
        with requests.get(
            f"{url}/data/projects/BIG/resources/R/files?format=zip", auth=auth, stream=True
        ) as r:
            n = sum(len(p) for p in r.iter_content(1 << 20))
        assert n > size
        growth_mb = (_peak_rss_kb(proc.pid) - before) / 1024
        assert growth_mb < 40, growth_mb
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_site_plugin_schema(tmp_path: Path) -> None:
    xsd = Path(__file__).resolve().parents[1] / "fixtures" / "site_schema" / "siteqc.xsd"
    with LocalXNAT(data_dir=tmp_path, extra_schemas=[xsd]) as server:
        url = server.url
        auth = ("admin", "admin")
        assert "siteqc" in requests.get(f"{url}/xapi/schemas", auth=auth).json()
        assert requests.get(f"{url}/xapi/schemas/siteqc", auth=auth).content == xsd.read_bytes()
        got = requests.get(f"{url}/schemas/siteqc/siteqc.xsd", auth=auth).content
        assert got == xsd.read_bytes()
        server.seed_project("SITE")
        server.seed_subject("SITE", "S1")
        eid = server.seed_session("SITE", "S1", "E1")
        r = requests.put(
            f"{url}/data/experiments/{eid}/assessors/QA1",
            params={
                "xsiType": "siteqc:qcAssessmentData",
                "siteqc:qcAssessmentData/artifactCount": "2",
            },
            auth=auth,
        )
        assert r.status_code == 201, r.text
        item = requests.get(f"{url}/data/experiments/{r.text}?format=json", auth=auth).json()
        assert item["items"][0]["data_fields"]["artifactCount"] == 2
        xml = requests.get(f"{url}/data/experiments/{r.text}?format=xml", auth=auth).text
        assert (
            "<siteqc:QCAssessment" in xml and 'xmlns:siteqc="http://example.org/xnat/siteqc"' in xml
        )
        bad = requests.put(
            f"{url}/data/experiments/{eid}/assessors/QA2?xsiType=nope:unknownData", auth=auth
        )
        assert bad.status_code == 400


def test_a_server_without_the_core_schemas_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    """A checkout where ``make schemas`` has not run has no core schemas: the server warns,
    naming the fix, instead of answering 'Unknown data type' later with no reason."""
    from xnat_sdk.testing._server import app

    monkeypatch.setattr(app, "_default_schemas_dir", lambda: None)
    with pytest.warns(RuntimeWarning, match="make schemas"), LocalXNAT() as server:
        answer = requests.put(
            f"{server.url}/data/projects/P",
            params={"xsiType": "xnat:projectData"},
            auth=("admin", "admin"),
        )
        assert answer.status_code in (200, 201)


def test_a_port_out_of_range_or_in_use_is_refused_with_its_address(
    xnat_server: LocalXNAT, tmp_path: Path
) -> None:
    """``LocalXNAT(port=99999)`` (and ``xnat-sdk serve --port 99999``) served on port 34463
    without a word (the socket layer takes the port modulo 65536); a port in use made
    ``start()`` raise SystemExit(1) after Werkzeug printed to stderr, and ``--data-dir`` a
    file said "cannot listen on"."""
    for bad in (99999, -1, True):
        with pytest.raises(XNATValueError, match="port must be a whole number 0-65535"):
            LocalXNAT(port=bad)
    port = int(xnat_server.url.rsplit(":", 1)[1])
    taken = LocalXNAT(port=port)
    with pytest.raises(OSError, match=f"in use \\(127.0.0.1:{port}\\)"), taken:
        pass
    assert taken._app is None and taken._tmp is None  # its store closed, its folder gone
    (tmp_path / "file").write_text("x")
    with pytest.raises(XNATValueError, match="is a file, not a folder"):
        LocalXNAT(data_dir=tmp_path / "file")
    done = subprocess.run(
        [sys.executable, "-m", "xnat_sdk.cli", "serve", "--port", "99999"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2 and "argument --port: expected a port 0-65535" in done.stderr
