"""``/xapi/users`` over HTTP."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from serve_process import MAIN, start_serve, stop

from xnat_sdk.testing._server.state import ServerConfig
from xnat_sdk.testing.local import LocalXNAT


@pytest.fixture(scope="module")
def server() -> Iterator[LocalXNAT]:
    """A server with XNAT's default preferences (restrictUserListAccessToAdmins off)."""
    with LocalXNAT() as xnat:
        xnat.seed_project("UP")
        yield xnat


@pytest.fixture(scope="module")
def restricted() -> Iterator[LocalXNAT]:
    """A server with restrictUserListAccessToAdmins switched on."""
    with LocalXNAT(restrict_user_list=True) as xnat:
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


def test_restricted_non_admin_is_refused_listings_and_other_users(restricted: LocalXNAT) -> None:
    user = _session("user", "user")
    for path in (*_LISTINGS, "/xapi/users/profile/admin", "/xapi/users/admin"):
        resp = user.get(restricted.url + path)
        assert resp.status_code == 403, (path, resp.status_code, resp.text[:200])
        assert resp.text == "", path
    # the access check runs before the lookup: unknown logins do not leak either
    assert user.get(restricted.url + "/xapi/users/nobody").status_code == 403
    assert user.get(restricted.url + "/xapi/users/profile/nobody").status_code == 403
    refused = user.get(restricted.url + "/data/users", params={"format": "json"})
    assert refused.status_code == 403 and "Only site managers" in refused.text
    for path in _LISTINGS:
        assert requests.get(restricted.url + path).status_code == 401, path


@pytest.mark.parametrize("which", ["default", "restricted"])
def test_admin_sees_every_user(which: str, server: LocalXNAT, restricted: LocalXNAT) -> None:
    url = (server if which == "default" else restricted).url
    admin = _session("admin", "admin")
    assert {"admin", "user"} <= set(admin.get(url + "/xapi/users").json())
    profiles = admin.get(url + "/xapi/users/profiles").json()
    assert {"admin", "user"} <= {p["username"] for p in profiles}
    assert admin.get(url + "/xapi/users/current").status_code == 200
    assert admin.get(url + "/xapi/users/user").json()["username"] == "user"
    assert admin.get(url + "/xapi/users/profile/user").json()["username"] == "user"
    assert admin.get(url + "/data/users", params={"format": "json"}).status_code == 200


@pytest.mark.parametrize("which", ["default", "restricted"])
def test_user_reads_own_record(which: str, server: LocalXNAT, restricted: LocalXNAT) -> None:
    url = (server if which == "default" else restricted).url
    user = _session("user", "user")
    for path in ("/xapi/users/user", "/xapi/users/profile/user", "/xapi/users/profile"):
        resp = user.get(url + path)
        assert resp.status_code == 200, (path, resp.status_code)
        assert resp.json()["username"] == "user"
    assert user.get(url + "/xapi/users/user/roles").json() == []


def test_default_user_list_is_open_as_in_xnat(server: LocalXNAT, tmp_path: Path) -> None:
    # XNAT's restrictUserListAccessToAdmins defaults to false (SiteConfigPreferences)
    assert ServerConfig(data_dir=tmp_path).restrict_user_list is False
    assert LocalXNAT(data_dir=tmp_path).restrict_user_list is False
    assert server.restrict_user_list is False
    user = _session("user", "user")
    url = server.url
    listed = user.get(url + "/data/users", params={"format": "json"})
    assert listed.status_code == 200, (listed.status_code, listed.text[:200])
    assert {"admin", "user"} <= {r["login"] for r in listed.json()["ResultSet"]["Result"]}
    assert {"admin", "user"} <= set(user.get(url + "/xapi/users").json())
    profiles = user.get(url + "/xapi/users/profiles").json()
    assert {"admin", "user"} <= {p["username"] for p in profiles}
    assert user.get(url + "/xapi/users/current").status_code == 200
    assert user.get(url + "/xapi/users/profile/admin").json()["username"] == "admin"
    assert user.get(url + "/xapi/users/profile/nobody").status_code == 404
    # AccessLevel.User does not look at the preference
    assert user.get(url + "/xapi/users/admin").status_code == 403
    assert user.get(url + "/xapi/users/admin/roles").status_code == 403
    # guests are refused whatever the preference
    assert requests.get(url + "/xapi/users").status_code == 401
    assert requests.get(url + "/data/users", params={"format": "json"}).status_code == 401


# -- ``xnat-sdk serve --restrict-user-list`` --------------------------------------------------


def _assert_user_list_restricted(url: str) -> None:
    assert requests.get(url + "/data/users", auth=("admin", "admin")).status_code == 200
    refused = requests.get(url + "/data/users", auth=("user", "user"))
    assert refused.status_code == 403 and "Only site managers" in refused.text
    assert requests.get(url + "/xapi/users", auth=("user", "user")).status_code == 403
    assert requests.get(url + "/xapi/users", auth=("admin", "admin")).status_code == 200


# the serve() handler alone, fed the Namespace argparse gives for --restrict-user-list
_HANDLER = (
    "import argparse, sys; from xnat_sdk.testing.cli import serve; "
    "a = dict(zip(sys.argv[1::2], sys.argv[2::2])); "
    "sys.exit(serve(argparse.Namespace(data_dir=a['--data-dir'], host=a['--host'], "
    "port=int(a['--port']), user='admin', password='admin', restrict_user_list=True)))"
)


def test_serve_handler_restricts_user_list(tmp_path: Path) -> None:
    proc, url = start_serve(tmp_path, [_HANDLER])
    try:
        _assert_user_list_restricted(url)
    finally:
        stop(proc)


def test_cli_serve_restrict_user_list(tmp_path: Path) -> None:
    proc, url = start_serve(tmp_path / "on", [MAIN, "serve", "--restrict-user-list"])
    try:
        _assert_user_list_restricted(url)
    finally:
        stop(proc)
    # without the flag the list is open, as in XNAT
    proc, url = start_serve(tmp_path / "off", [MAIN, "serve"])
    try:
        assert requests.get(url + "/data/users", auth=("user", "user")).status_code == 200
        assert requests.get(url + "/xapi/users", auth=("user", "user")).status_code == 200
    finally:
        stop(proc)
    helped = subprocess.run(
        [sys.executable, "-c", MAIN, "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "--restrict-user-list" in helped.stdout
