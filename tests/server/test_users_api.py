"""``/xapi/users`` over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from xnat_sdk.testing.local import LocalXNAT


@pytest.fixture(scope="module")
def server() -> Iterator[LocalXNAT]:
    with LocalXNAT() as xnat:
        xnat.seed_project("UP")
        yield xnat


def _session(login: str, password: str) -> requests.Session:
    s = requests.Session()
    s.auth = (login, password)
    return s


def test_listings_and_profiles(server: LocalXNAT) -> None:
    admin = _session("admin", "admin")
    logins = admin.get(server.url + "/xapi/users")
    assert logins.status_code == 200
    assert logins.headers["Content-Type"].startswith("application/json")
    assert {"admin", "user"} <= set(logins.json())
    profiles = admin.get(server.url + "/xapi/users/profiles").json()
    ids = [p["id"] for p in profiles]
    assert ids == sorted(ids) and all(isinstance(i, int) for i in ids)
    admin_profile = next(p for p in profiles if p["username"] == "admin")
    assert admin_profile["enabled"] is True and admin_profile["verified"] is True
    assert admin_profile["secured"] is True
    assert "password" not in admin_profile and "salt" not in admin_profile
    one = admin.get(server.url + "/xapi/users/admin").json()
    assert one == admin_profile
    assert admin.get(server.url + "/xapi/users/profile/user").json()["username"] == "user"
    user = _session("user", "user")
    assert user.get(server.url + "/xapi/users/profile").json()["username"] == "user"
    assert user.get(server.url + "/xapi/users/username").text == "user"
    assert user.get(server.url + "/xapi/users/profile/admin").status_code == 403


def test_unknown_user_and_guests(server: LocalXNAT) -> None:
    admin = _session("admin", "admin")
    resp = admin.get(server.url + "/xapi/users/nobody")
    assert resp.status_code == 404
    assert resp.headers["Content-Type"].startswith("text/plain")
    assert "nobody" in resp.text
    assert requests.get(server.url + "/xapi/users").status_code == 401


def test_create_update_flags_roles_groups(server: LocalXNAT) -> None:
    admin = _session("admin", "admin")
    body = {
        "username": "newbie",
        "password": "secret",
        "firstName": "New",
        "lastName": "Bie",
        "email": "newbie@example.org",
    }
    assert _session("user", "user").post(server.url + "/xapi/users", json=body).status_code == 403
    resp = admin.post(server.url + "/xapi/users", json=body)
    assert resp.status_code == 201, resp.text
    created = resp.json()
    assert (created["username"], created["firstName"], created["email"]) == (
        "newbie",
        "New",
        "newbie@example.org",
    )
    assert admin.post(server.url + "/xapi/users", json=body).status_code == 409
    assert admin.post(server.url + "/xapi/users", json={"password": "x"}).status_code == 400
    newbie = _session("newbie", "secret")
    assert newbie.get(server.url + "/data/auth").status_code == 200

    resp = admin.put(server.url + "/xapi/users/newbie", json={"lastName": "Changed"})
    assert resp.status_code == 200 and resp.json()["lastName"] == "Changed"
    assert (
        admin.put(server.url + "/xapi/users/newbie", json={"enabled": "maybe"}).status_code == 400
    )

    assert admin.put(server.url + "/xapi/users/newbie/enabled/false").status_code == 200
    assert admin.get(server.url + "/xapi/users/newbie/enabled").json() is False
    assert newbie.get(server.url + "/data/auth").status_code == 401
    assert admin.put(server.url + "/xapi/users/newbie/enabled/true").status_code == 200
    assert newbie.get(server.url + "/data/auth").status_code == 200

    assert admin.get(server.url + "/xapi/users/newbie/roles").json() == []
    assert admin.put(server.url + "/xapi/users/newbie/roles/Administrator").status_code == 200
    assert admin.get(server.url + "/xapi/users/newbie/roles").json() == ["Administrator"]
    assert admin.delete(server.url + "/xapi/users/newbie/roles/Administrator").status_code == 200
    assert admin.get(server.url + "/xapi/users/newbie/roles").json() == []

    assert admin.put(server.url + "/xapi/users/newbie/groups/UP_member").status_code == 200
    assert admin.get(server.url + "/xapi/users/newbie/groups").json() == ["UP_member"]
    members = admin.get(server.url + "/data/projects/UP/users", params={"format": "json"})
    assert "newbie" in {r["login"] for r in members.json()["ResultSet"]["Result"]}
    assert admin.delete(server.url + "/xapi/users/newbie/groups/UP_member").status_code == 200
    assert admin.get(server.url + "/xapi/users/newbie/groups").json() == []
    assert admin.put(server.url + "/xapi/users/newbie/groups/bogus").status_code == 400
    assert admin.put(server.url + "/xapi/users/newbie/groups/NOPE_owner").status_code == 404
