"""``/xapi/users`` over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

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


# Access rules from XNAT's UsersApi: the listings and ``profile/{login}`` go through
# UserResourceXapiAuthorization (admins, the named user, or everyone when
# restrictUserListAccessToAdmins is off); ``{login}`` is AccessLevel.User (admins or the named
# user whatever the preference). Refusals are a bare 403 from XapiRequestMappingAspect.
_LISTINGS = ("/xapi/users", "/xapi/users/profiles", "/xapi/users/current")


def test_non_admin_is_refused_listings_and_other_users(server: LocalXNAT) -> None:
    user = _session("user", "user")
    for path in (*_LISTINGS, "/xapi/users/profile/admin", "/xapi/users/admin"):
        resp = user.get(server.url + path)
        assert resp.status_code == 403, (path, resp.status_code, resp.text[:200])
        assert resp.text == "", path
    # the access check runs before the lookup: unknown logins do not leak either
    assert user.get(server.url + "/xapi/users/nobody").status_code == 403
    assert user.get(server.url + "/xapi/users/profile/nobody").status_code == 403
    for path in _LISTINGS:
        assert requests.get(server.url + path).status_code == 401, path


def test_admin_sees_every_user(server: LocalXNAT) -> None:
    admin = _session("admin", "admin")
    assert {"admin", "user"} <= set(admin.get(server.url + "/xapi/users").json())
    profiles = admin.get(server.url + "/xapi/users/profiles").json()
    assert {"admin", "user"} <= {p["username"] for p in profiles}
    assert admin.get(server.url + "/xapi/users/current").status_code == 200
    assert admin.get(server.url + "/xapi/users/user").json()["username"] == "user"
    assert admin.get(server.url + "/xapi/users/profile/user").json()["username"] == "user"


def test_user_reads_own_record(server: LocalXNAT) -> None:
    user = _session("user", "user")
    for path in ("/xapi/users/user", "/xapi/users/profile/user", "/xapi/users/profile"):
        resp = user.get(server.url + path)
        assert resp.status_code == 200, (path, resp.status_code)
        assert resp.json()["username"] == "user"
    assert user.get(server.url + "/xapi/users/user/roles").json() == []


def test_unrestricted_user_list_opens_what_xnat_opens(tmp_path: Path) -> None:
    with LocalXNAT(data_dir=tmp_path, restrict_user_list=False) as open_server:
        user = _session("user", "user")
        url = open_server.url
        assert {"admin", "user"} <= set(user.get(url + "/xapi/users").json())
        profiles = user.get(url + "/xapi/users/profiles").json()
        assert {"admin", "user"} <= {p["username"] for p in profiles}
        assert user.get(url + "/xapi/users/current").status_code == 200
        assert user.get(url + "/xapi/users/profile/admin").json()["username"] == "admin"
        assert user.get(url + "/xapi/users/profile/nobody").status_code == 404
        assert user.get(url + "/data/users", params={"format": "json"}).status_code == 200
        # AccessLevel.User does not look at the preference
        assert user.get(url + "/xapi/users/admin").status_code == 403
        assert user.get(url + "/xapi/users/admin/roles").status_code == 403
        assert requests.get(url + "/xapi/users").status_code == 401
