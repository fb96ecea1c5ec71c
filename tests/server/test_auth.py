"""Authentication, sessions, tokens, access control and project membership."""

from __future__ import annotations

import re
import time

import pytest
import requests

from tests.server.conftest import rows
from xnat_sdk.testing.local import LocalXNAT


def test_basic_auth_sets_session_cookie(xnat_url: str) -> None:
    r = requests.get(f"{xnat_url}/data/JSESSION", auth=("admin", "admin"))
    assert r.status_code == 200
    assert re.fullmatch(r"[0-9A-F]{32}", r.text)
    assert r.cookies["JSESSIONID"] == r.text
    cookie = r.headers["Set-Cookie"]
    assert re.search(r'SESSION_EXPIRATION_TIME="\d+,900000"', cookie)
    # the cookie alone authenticates
    r2 = requests.get(f"{xnat_url}/data/auth", cookies={"JSESSIONID": r.text})
    assert r2.status_code == 200
    assert r2.text == "User 'admin' is logged in"


def test_path_parameters_leave_the_path_and_a_jsessionid_one_names_the_session(
    xnat_url: str, xnat_project: str
) -> None:
    """Tomcat (``CoyoteAdapter.parsePathParameters``): every ``;name=value`` of the raw URI
    is cut out of the path before routing; ``jsessionid`` is URL session tracking."""
    sid = requests.get(f"{xnat_url}/data/JSESSION", auth=("admin", "admin")).text
    path = f"/data/projects/{xnat_project}"
    assert requests.get(f"{xnat_url}{path}?format=json").status_code == 401
    by_url = requests.get(f"{xnat_url}{path};jsessionid={sid}?format=json")
    assert by_url.status_code == 200, by_url.text[:200]
    assert by_url.json()["items"][0]["data_fields"]["ID"] == xnat_project
    assert "JSESSIONID" not in by_url.cookies  # the session exists: no new cookie
    other = requests.get(f"{xnat_url}/data;v=1/projects;x/{xnat_project}", auth=("admin", "admin"))
    assert other.status_code == 200
    # an encoded semicolon is part of the name, not a separator
    encoded = requests.get(f"{xnat_url}{path}%3Bjsessionid={sid}", auth=("admin", "admin"))
    assert encoded.status_code == 404
    assert requests.get(f"{xnat_url}{path}%3Bjsessionid={sid}").status_code == 401


def test_bad_credentials_are_401_with_challenge(xnat_url: str) -> None:
    r = requests.get(f"{xnat_url}/data/projects", auth=("admin", "wrong"))
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"].startswith("Basic realm=")
    assert "<h3>Authentication failed.</h3>" in r.text
    assert requests.get(f"{xnat_url}/data/auth").status_code == 401


def test_services_auth_login_and_logout(xnat_url: str) -> None:
    with requests.Session() as s:
        r = s.put(f"{xnat_url}/data/services/auth", data={"username": "user", "password": "user"})
        assert r.status_code == 200
        sid = r.text
        assert s.cookies["JSESSIONID"] == sid
        assert s.get(f"{xnat_url}/data/JSESSION").text == sid
        assert s.delete(f"{xnat_url}/data/JSESSION").status_code == 200
        # the dead cookie no longer works
        r = requests.get(f"{xnat_url}/data/auth", cookies={"JSESSIONID": sid})
        assert r.status_code == 401
    bad = requests.post(
        f"{xnat_url}/data/services/auth", data={"username": "user", "password": "x"}
    )
    assert bad.status_code == 401
    assert "<h3>Authentication failed.</h3>" in bad.text


def test_alias_token_works_as_basic_credentials(xnat_url: str) -> None:
    r = requests.get(f"{xnat_url}/data/services/tokens/issue", auth=("user", "user"))
    assert r.status_code == 200
    tok = r.json()
    assert re.fullmatch(r"[0-9a-f-]{36}", tok["alias"])
    assert len(tok["secret"]) == 64
    assert tok["estimatedExpirationTime"] - tok["created"] == 172_800_000
    r = requests.get(f"{xnat_url}/data/auth", auth=(tok["alias"], tok["secret"]))
    assert r.text == "User 'user' is logged in"
    # admin issues for another user, non-admin may not
    r = requests.get(f"{xnat_url}/data/services/tokens/issue/user/user", auth=("admin", "admin"))
    assert r.json()["xdatUserId"] == "user"
    r = requests.get(f"{xnat_url}/data/services/tokens/issue/user/admin", auth=("user", "user"))
    assert r.status_code == 403
    assert requests.get(f"{xnat_url}/data/services/tokens/issue").status_code == 401
    v = requests.get(
        f"{xnat_url}/data/services/tokens/validate/{tok['alias']}/{tok['secret']}",
        auth=("user", "user"),
    )
    assert v.json() == {"valid": "user"}
    r = requests.get(
        f"{xnat_url}/data/services/tokens/invalidate/{tok['alias']}", auth=("user", "user")
    )
    assert r.json() == {"result": "OK"}
    assert (
        requests.get(f"{xnat_url}/data/auth", auth=(tok["alias"], tok["secret"])).status_code == 401
    )


def test_non_member_cannot_read_private_project(
    xnat_server: LocalXNAT, xnat_project: str, user: requests.Session, admin: requests.Session
) -> None:
    url = xnat_server.url
    xnat_server.seed_subject(xnat_project, "S1")
    # XNAT 1.8's project lookup hides a project the user may not read: 404, as if missing
    # (DefaultUserProjectCache.get returns null; ProjectResource, ProjectSubjectList)
    assert user.get(f"{url}/data/projects/{xnat_project}?format=json").status_code == 404
    assert user.get(f"{url}/data/projects/{xnat_project}/subjects").status_code == 404
    assert user.get(f"{url}/data/projects/{xnat_project}/experiments").status_code == 404
    assert xnat_project not in [r["ID"] for r in rows(user.get(f"{url}/data/projects"))]
    # a write finds no project either: SubjectResource's PUT answers as for one not named
    put = user.put(f"{url}/data/projects/{xnat_project}/subjects/S2")
    assert put.status_code == 422 and "must include the project attribute" in put.text
    # membership grants access
    r = admin.put(f"{url}/data/projects/{xnat_project}/users/member/user")
    assert r.status_code == 200
    assert [r["label"] for r in rows(user.get(f"{url}/data/projects/{xnat_project}/subjects"))] == [
        "S1"
    ]
    assert user.put(f"{url}/data/projects/{xnat_project}/subjects/S2").status_code == 201
    members = rows(admin.get(f"{url}/data/projects/{xnat_project}/users"))
    assert {(m["login"], m["displayname"]) for m in members} == {
        ("admin", "Owners"),
        ("user", "Members"),
    }
    access = user.get(f"{url}/xapi/access/projects").json()
    assert {"ID": xnat_project, "role": "Members"}.items() <= next(
        a for a in access if a["ID"] == xnat_project
    ).items()
    assert admin.delete(f"{url}/data/projects/{xnat_project}/users/member/user").status_code == 200
    assert user.get(f"{url}/data/projects/{xnat_project}/subjects").status_code == 404


def test_guest_sees_public_projects_only(xnat_server: LocalXNAT) -> None:
    """On a fresh XNAT (``requireLogin`` on) an anonymous request is refused 401 before it
    reaches the archive (``UpdateSecurityFilterHandlerMethod``); with ``requireLogin`` off
    it runs as the guest, who sees public (and the listing of protected) projects."""
    assert requests.get(f"{xnat_server.url}/data/projects").status_code == 401
    with LocalXNAT(require_login=False) as open_site:
        _guest_reads(open_site)


def _guest_reads(xnat_server: LocalXNAT) -> None:
    url = xnat_server.url
    xnat_server.seed_project("PUBLIC_P", accessibility="public")
    xnat_server.seed_subject("PUBLIC_P", "G1")
    xnat_server.seed_project("PRIVATE_P")
    ids = [r["ID"] for r in rows(requests.get(f"{url}/data/projects"))]
    assert "PUBLIC_P" in ids
    assert "PRIVATE_P" not in ids
    assert rows(requests.get(f"{url}/data/projects/PUBLIC_P/subjects"))[0]["label"] == "G1"
    assert requests.get(f"{url}/data/projects/PRIVATE_P?format=json").status_code == 404
    xnat_server.seed_project("PROTECTED_P", accessibility="protected")
    xnat_server.seed_subject("PROTECTED_P", "H1")
    assert "PROTECTED_P" in [r["ID"] for r in rows(requests.get(f"{url}/data/projects"))]
    assert requests.get(f"{url}/data/projects/PROTECTED_P?format=json").status_code == 200
    assert requests.get(f"{url}/data/projects/PROTECTED_P/subjects").status_code == 404
    r = requests.get(f"{url}/data/projects/PROTECTED_P/subjects", auth=("user", "user"))
    assert r.status_code == 403
    assert "PROTECTED_P" not in [r["project"] for r in rows(requests.get(f"{url}/data/subjects"))]
    # guests never write
    assert requests.put(f"{url}/data/projects/PUBLIC_P/subjects/G2").status_code == 401
    guest = requests.get(f"{url}/data/users")
    assert guest.status_code == 403 and "Only site managers" in guest.text


def test_site_users_listing(xnat_url: str, admin: requests.Session, user: requests.Session) -> None:
    logins = {r["login"] for r in rows(admin.get(f"{xnat_url}/data/users"))}
    assert {"admin", "user"} <= logins
    # restrictUserListAccessToAdmins is off (XNAT's default): any logged-in user may list
    assert {"admin", "user"} <= {r["login"] for r in rows(user.get(f"{xnat_url}/data/users"))}
    # anonymous: refused by XNAT's security filter first (requireLogin, a fresh site's default)
    assert requests.get(f"{xnat_url}/data/users").status_code == 401


def test_restricted_site_users_listing() -> None:
    with LocalXNAT(restrict_user_list=True) as server:
        url = server.url
        logins = {
            r["login"] for r in rows(requests.get(f"{url}/data/users", auth=("admin", "admin")))
        }
        assert {"admin", "user"} <= logins
        # restrictUserListAccessToAdmins on: non-admins are refused
        refused = requests.get(f"{url}/data/users", auth=("user", "user"))
        assert refused.status_code == 403
        assert "Access Denied: Only site managers" in refused.text
        assert requests.get(f"{url}/data/users").status_code == 401


def test_expired_session_fault_gives_401(own_server: LocalXNAT) -> None:
    url = own_server.url
    with requests.Session() as s:
        sid = s.put(f"{url}/data/services/auth", data={"username": "admin", "password": "admin"})
        assert s.get(f"{url}/data/projects").status_code == 200
        own_server.faults.expire_sessions()
        r = s.get(f"{url}/data/projects")
        assert r.status_code == 401
        assert s.delete(f"{url}/data/JSESSION").status_code == 200  # logout stays harmless
        assert sid.text not in s.get(f"{url}/data/JSESSION", auth=("admin", "admin")).text


def test_the_user_list_restriction_is_the_site_preference() -> None:
    """``restrictUserListAccessToAdmins`` is one preference: the start option sets what
    ``/xapi/siteConfig`` answers, and an admin's POST there changes who may list users at
    once (XNAT reads the preference per request: ``UserListResource``)."""
    with LocalXNAT(restrict_user_list=True) as server:
        url, admin = server.url, ("admin", "admin")
        pref = f"{url}/xapi/siteConfig/restrictUserListAccessToAdmins"
        assert requests.get(pref, auth=admin).json() is True
        assert requests.get(f"{url}/data/users", auth=("user", "user")).status_code == 403
        assert requests.post(pref, data="false", auth=admin).status_code == 200
        assert requests.get(pref, auth=admin).json() is False
        assert requests.get(f"{url}/data/users", auth=("user", "user")).status_code == 200


def test_alias_tokens_live_as_long_as_the_site_preference_says() -> None:
    """``aliasTokenTimeout`` (XNAT: a site preference, "2 days" by default, an SQL interval
    that its token sweeper applies) sets how long a new token logs in."""
    with LocalXNAT() as server:
        url, admin = server.url, ("admin", "admin")
        pref = f"{url}/xapi/siteConfig/aliasTokenTimeout"
        token = requests.get(f"{url}/data/services/tokens/issue", auth=admin).json()
        assert token["estimatedExpirationTime"] - token["created"] == 2 * 86_400_000
        assert requests.post(pref, data="1 second", auth=admin).status_code == 200
        short = requests.get(f"{url}/data/services/tokens/issue", auth=admin).json()
        assert short["estimatedExpirationTime"] - short["created"] == 1000
        login = f"{url}/data/JSESSION"
        assert requests.get(login, auth=(short["alias"], short["secret"])).status_code == 200
        time.sleep(1.2)
        assert requests.get(login, auth=(short["alias"], short["secret"])).status_code == 401
        assert requests.get(login, auth=(token["alias"], token["secret"])).status_code == 200
        requests.post(pref, data="not an interval", auth=admin)  # the default again
        other = requests.get(f"{url}/data/services/tokens/issue", auth=admin).json()
        assert other["estimatedExpirationTime"] - other["created"] == 2 * 86_400_000


def test_a_session_lives_while_it_is_used() -> None:
    """Every request refreshes a server session; one left alone longer than the session
    timeout is gone (``LocalXNAT(session_timeout=...)``, XNAT's ``sessionTimeout``)."""
    with LocalXNAT(session_timeout=0.6) as server:
        login = requests.get(f"{server.url}/data/JSESSION", auth=("admin", "admin"))
        assert 'SESSION_EXPIRATION_TIME="' in login.headers["Set-Cookie"]
        assert ',600"' in login.headers["Set-Cookie"]
        cookies = {"JSESSIONID": login.text}
        for _ in range(6):  # 1.2 s in all, never 0.6 s without a request
            time.sleep(0.2)
            assert requests.get(f"{server.url}/data/auth", cookies=cookies).status_code == 200
        time.sleep(0.8)
        assert requests.get(f"{server.url}/data/auth", cookies=cookies).status_code == 401


def test_interval_preferences_read_as_sql_intervals() -> None:
    from xnat_sdk.testing._areas.site_config.preferences import interval_seconds

    assert interval_seconds("2 days") == 172_800
    assert interval_seconds("1 hour 30 minutes") == 5_400
    assert interval_seconds("15 minutes") == 900
    assert interval_seconds("1 week") == 604_800
    assert interval_seconds("2.5 secs") == 2.5
    for bad in ("", "5", "soon", "2 fortnights", "2 days; 1 hour", None):
        assert interval_seconds(bad) is None, bad


def test_serve_takes_a_session_timeout(capsys: pytest.CaptureFixture[str]) -> None:
    from xnat_sdk.cli._tools import serve_parser
    from xnat_sdk.testing._server.cli import _server

    args = serve_parser().parse_args(["--session-timeout", "2.5", "--port", "0"])
    with _server(args, [("admin", "admin", True)]) as server:
        login = requests.get(f"{server.url}/data/JSESSION", auth=("admin", "admin"))
        assert ',2500"' in login.headers["Set-Cookie"]
    for bad in ("0", "soon"):
        with pytest.raises(SystemExit):
            serve_parser().parse_args(["--session-timeout", bad])
        assert "expected a number of seconds" in capsys.readouterr().err
