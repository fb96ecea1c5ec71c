"""The hostile-server fault modes: redirects, canned answers, dropped answers, hangs,
session rotation and request recording, through the Python API and /xapi/testing/faults."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from xnat_sdk.testing.local import LocalXNAT

AUTH = ("admin", "admin")


def test_redirect_next_names_the_path_and_is_used_once(own_server: LocalXNAT) -> None:
    url = own_server.url
    own_server.faults.redirect_next("http://127.0.0.1:9{path}", prefix="/data/JSESSION")
    r = requests.get(f"{url}/data/JSESSION?x=1", auth=AUTH, allow_redirects=False)
    assert r.status_code == 302
    assert r.headers["Location"] == "http://127.0.0.1:9/data/JSESSION?x=1"
    assert requests.get(f"{url}/data/JSESSION", auth=AUTH).status_code == 200
    with pytest.raises(ValueError):
        own_server.faults.redirect_next("x", status=200)


def test_answer_next_replaces_the_answer_for_the_matching_method(own_server: LocalXNAT) -> None:
    url = own_server.url
    own_server.faults.answer_next(
        {"ResultSet": {"Result": {"not": "a list"}}}, prefix="/data/projects", method="GET"
    )
    assert requests.head(f"{url}/data/projects", auth=AUTH).status_code == 200
    r = requests.get(f"{url}/data/projects", auth=AUTH)
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.json() == {"ResultSet": {"Result": {"not": "a list"}}}
    assert isinstance(requests.get(f"{url}/data/projects", auth=AUTH).json()["ResultSet"], dict)
    assert (
        requests.get(f"{url}/data/projects?format=json", auth=AUTH).json()["ResultSet"]["Result"]
        == []
    )
    own_server.faults.answer_next(b"PK\x03\x04junk", status=200, prefix="/data/")
    assert requests.get(f"{url}/data/anything", auth=AUTH).content == b"PK\x03\x04junk"


def test_drop_answer_next_does_the_work_then_closes(own_server: LocalXNAT) -> None:
    own_server.seed_project("DROPA")
    own_server.seed_resource("project", "DROPA", "R")
    files = f"{own_server.url}/data/projects/DROPA/resources/R/files"
    own_server.faults.drop_answer_next(prefix="/data/projects/DROPA", method="PUT")
    session = requests.Session()
    session.mount("http://", requests.adapters.HTTPAdapter(max_retries=0))
    with pytest.raises(requests.ConnectionError):
        session.put(f"{files}/once.txt?inbody=true", data=b"stored anyway", auth=AUTH)
    assert requests.get(f"{files}/once.txt", auth=AUTH).content == b"stored anyway"


def test_hang_next_answers_nothing_until_cleared(own_server: LocalXNAT) -> None:
    own_server.faults.hang_next(prefix="/data/JSESSION", seconds=30)
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(f"{own_server.url}/data/JSESSION", auth=AUTH, timeout=(5, 0.3))
    own_server.faults.hang_next(prefix="/data/JSESSION", seconds=30)
    answers: list[int] = []
    waiter = threading.Thread(
        target=lambda: answers.append(
            requests.get(f"{own_server.url}/data/JSESSION", auth=AUTH, timeout=30).status_code
        )
    )
    waiter.start()
    deadline = time.monotonic() + 10
    while own_server.faults.state()["hang_next"]["count"] and time.monotonic() < deadline:
        time.sleep(0.01)
    own_server.faults.clear()
    waiter.join(10)
    assert answers == [200]


def test_rotate_session_next_sets_a_second_live_session_cookie(own_server: LocalXNAT) -> None:
    url = own_server.url
    own_server.faults.rotate_session_next(cookie_path="/data", prefix="/data/projects")
    r = requests.get(f"{url}/data/projects", auth=AUTH)
    cookies = [c for c in r.raw.headers.getlist("Set-Cookie") if c.startswith("JSESSIONID=")]
    assert len(cookies) == 2 and "Path=/data" in cookies[1]
    fresh = cookies[1].split(";", 1)[0].split("=", 1)[1]
    alive = requests.get(f"{url}/data/projects", cookies={"JSESSIONID": fresh})
    assert alive.status_code == 200


def test_recording_keeps_method_path_auth_and_cookies(own_server: LocalXNAT) -> None:
    url = own_server.url
    requests.get(f"{url}/data/projects", auth=AUTH)  # before recording: not kept
    own_server.faults.start_recording()
    requests.get(f"{url}/data/projects?format=json", auth=AUTH, cookies={"k": "v"})
    requests.get(f"{url}/xapi/testing/faults", auth=AUTH)  # the fault endpoint is not kept
    seen = own_server.faults.recorded()
    assert [(r.method, r.path, r.query) for r in seen] == [("GET", "/data/projects", "format=json")]
    assert seen[0].authorization is not None and seen[0].authorization.startswith("Basic ")
    assert seen[0].cookies == {"k": "v"}
    own_server.faults.clear()
    assert own_server.faults.recorded() == []


def test_new_fault_modes_over_http(own_server: LocalXNAT) -> None:
    api = f"{own_server.url}/xapi/testing/faults"
    r = requests.put(
        api,
        json={
            "redirect_next": {"location": "https://elsewhere{path}", "prefix": "/data/auth"},
            "answer_next": {"body": "[1, 2]", "prefix": "/data/version"},
            "recording": True,
        },
        auth=AUTH,
    )
    assert r.status_code == 200, r.text
    assert r.json()["redirect_next"]["location"] == "https://elsewhere{path}"
    assert r.json()["recording"] is True
    moved = requests.get(f"{own_server.url}/data/auth", auth=AUTH, allow_redirects=False)
    assert moved.headers["Location"] == "https://elsewhere/data/auth"
    assert requests.get(f"{own_server.url}/data/version", auth=AUTH).text == "[1, 2]"
    assert [r.path for r in own_server.faults.recorded()] == ["/data/auth", "/data/version"]
    bad = requests.put(api, json={"redirect_next": {"status": 302}}, auth=AUTH)
    assert bad.status_code == 400
