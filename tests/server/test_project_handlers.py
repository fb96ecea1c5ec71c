"""``/data/projects``' other handlers (xnat-web ``ProjectListResource``: ``FilteredProjects``,
``PermissionsProjectHandler``, ``restrict=`` of the default one) and
``/data/projects/{P}/accessibility`` (``ProjectAccessibilityResource``), checked against the
answers NrgXnat's own REST tests expect (xnat-rest-tests ``TestDynamicSearchProjects``);
and the 403s of ``ProjectResource.handlePut`` for a project the user may not edit."""

from __future__ import annotations

import pytest
import requests

from xnat_sdk.testing.local import LocalXNAT

USER = ("user", "user")
LEVELS = {"OWN": "private", "MEM": "private", "COL": "private"}
LEVELS.update({"PROT": "protected", "PUB": "public", "PRIV": "private"})


@pytest.fixture
def projects(xnat_server: LocalXNAT, xnat_project: str) -> dict[str, str]:
    """Six projects: ``user`` owns one, is a member of one, a collaborator of one; of the
    others one is protected, one public, one private."""
    ids = {}
    for name, level in LEVELS.items():
        pid = f"{xnat_project}_{name}"
        xnat_server.seed_project(pid, accessibility=level)
        ids[name] = pid
    for name, role in (("OWN", "owner"), ("MEM", "member"), ("COL", "collaborator")):
        xnat_server.add_member(ids[name], "user", role)
    return ids


def _listed(
    server: LocalXNAT, ids: dict[str, str], params: dict[str, str]
) -> tuple[int, list[str], dict[str, str]]:
    """(status, the fixture's projects listed by short name, meta) of a project listing."""
    resp = requests.get(
        f"{server.url}/data/projects", params={"format": "json", **params}, auth=USER
    )
    if resp.status_code != 200:
        return resp.status_code, [], {}
    result_set = resp.json()["ResultSet"]
    names = {pid: name for name, pid in ids.items()}
    found = [names[r["id"]] for r in result_set["Result"] if r["id"] in names]
    return 200, sorted(found), {k: v for k, v in result_set.items() if k != "Result"}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"accessible": "true"}, ["COL", "MEM", "OWN", "PROT", "PUB"]),
        ({"accessible": "false"}, ["PROT", "PUB"]),
        ({"data": "writable"}, ["MEM", "OWN"]),
        ({"data": "readable"}, ["COL", "MEM", "OWN", "PUB"]),
        ({"permissions": "read", "dataType": "xnat:subjectData"}, ["COL", "MEM", "OWN", "PUB"]),
        ({"permissions": "edit", "dataType": "xnat:mrSessionData"}, ["MEM", "OWN"]),
        ({"permissions": "delete", "dataType": "xnat:subjectData"}, ["OWN"]),
    ],
)
def test_the_filtered_and_permissions_handlers_list_by_the_users_roles(
    xnat_server: LocalXNAT, projects: dict[str, str], params: dict[str, str], expected: list[str]
) -> None:
    assert _listed(xnat_server, projects, params)[:2] == (200, expected)


def test_the_filtered_handlers_columns_and_meta(
    xnat_server: LocalXNAT, projects: dict[str, str]
) -> None:
    """A ``DisplaySearch``'s columns (``user_role_{id}``: ``DisplayFieldWrapper.getRowID``),
    ``title``/``xdat_user_id``/``totalRecords``; the permissions handler's ``id`` and
    ``secondary_id`` only, no meta; a bad ``data`` or ``permissions`` value fails (500)."""
    uid = next(u.xdat_user_id for u in xnat_server.store.list_users() if u.login == "user")
    resp = requests.get(
        f"{xnat_server.url}/data/projects",
        params={"format": "json", "accessible": "true"},
        auth=USER,
    )
    result_set = resp.json()["ResultSet"]
    row = next(r for r in result_set["Result"] if r["id"] == projects["COL"])
    assert row[f"user_role_{uid}"] == "Collaborators"
    assert row["project_access_img"] == "/@WEBAPPimages/key.gif"
    assert {"secondary_id", "project_invs", f"last_accessed_{uid}", "quarantine_status"} <= set(row)
    assert "URI" not in row and "ID" not in row
    assert result_set["title"] == "Projects" and result_set["xdat_user_id"] == str(uid)
    status, _, meta = _listed(
        xnat_server, projects, {"permissions": "read", "dataType": "xnat:subjectData"}
    )
    assert (status, meta) == (200, {})
    assert _listed(xnat_server, projects, {"data": "both"})[0] == 500
    assert _listed(xnat_server, projects, {"permissions": "write", "dataType": "x"})[0] == 500


def test_restrict_lists_the_projects_the_user_owns(
    xnat_server: LocalXNAT, projects: dict[str, str]
) -> None:
    """The default handler's ``restrict=edit|delete``: the project element's edit and delete
    belong to the owners' group only."""
    for action in ("edit", "delete"):
        resp = requests.get(
            f"{xnat_server.url}/data/projects",
            params={"format": "json", "restrict": action},
            auth=USER,
        )
        listed = {r["ID"] for r in resp.json()["ResultSet"]["Result"]}
        assert listed & set(projects.values()) == {projects["OWN"]}


def test_the_accessibility_resource(xnat_server: LocalXNAT, projects: dict[str, str]) -> None:
    """``ProjectAccessibilityResource``: a project hidden from the user is 404 with its
    message; only an owner may change the level (a member: 403); a level other than public
    or protected makes the project private; the answer is the level now in force."""
    url = f"{xnat_server.url}/data/projects/{{}}/accessibility"
    hidden = requests.get(url.format(projects["PRIV"]), auth=USER)
    assert hidden.status_code == 404
    assert f"Could not find the project with ID '{projects['PRIV']}'" in hidden.text
    assert requests.get(url.format(projects["PROT"]), auth=USER).text == "protected"
    refused = requests.put(url.format(projects["MEM"]) + "/public", auth=USER)
    assert refused.status_code == 403
    assert requests.get(url.format(projects["MEM"]), auth=USER).text == "private"
    made = requests.put(url.format(projects["OWN"]) + "/public", auth=USER)
    assert (made.status_code, made.text) == (200, "public")
    other = requests.put(url.format(projects["OWN"]) + "/Protected", auth=USER)
    assert (other.status_code, other.text) == (200, "private")


def test_a_project_put_the_user_may_not_make(xnat_server: LocalXNAT, xnat_project: str) -> None:
    """``ProjectResource.handlePut``: a project hidden from the user (private, not theirs) is
    not found, taken for a new one and refused as an existing item they may not edit; a
    protected one they see is refused by ``canEditProject``. Both 403, nothing changed."""
    shown = f"{xnat_project}_SHOWN"
    xnat_server.seed_project(shown, accessibility="protected")
    answers = {}
    for project in (xnat_project, shown):
        resp = requests.put(
            f"{xnat_server.url}/data/projects/{project}",
            params={"description": "changed"},
            auth=("user", "user"),
        )
        answers[project] = (resp.status_code, resp.text)
        got = requests.get(
            f"{xnat_server.url}/data/projects/{project}",
            params={"format": "json"},
            auth=("admin", "admin"),
        )
        assert "changed" not in got.text
    assert answers[xnat_project][0] == answers[shown][0] == 403
    assert "doesn't have permission to edit this project." in answers[xnat_project][1]
    assert f"User user doesn't have permission to edit the project {shown}" in answers[shown][1]
