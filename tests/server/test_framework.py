"""The server framework without HTTP: router rules, truthiness, table rendering, store, the
list of route modules."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from werkzeug.wrappers import Response

from xnat_sdk.testing._server import app
from xnat_sdk.testing._server.context import RequestContext, is_true
from xnat_sdk.testing._server.render import render_table
from xnat_sdk.testing._server.routing import Router, normalise_path
from xnat_sdk.testing._server.store import Store


def _h(ctx: RequestContext) -> Response:
    return Response("")


def test_router_rules() -> None:
    r = Router()
    r.add("GET", "/data/projects/{project}", _h, archive=True, tail=True)
    r.add("PUT", "/data/projects/{project}", _h, archive=True, tail=True)
    r.add("GET", "/data/projects/{project}/subjects", _h, archive=True)
    r.add("GET", "/data/projects/{project}/resources/{res}/files", _h, tail=True)

    m = r.resolve("GET", "/data/archive/projects/P1")
    assert m.route is not None and m.params == {"project": "P1"} and m.tail == ""
    m = r.resolve("GET", "/data/projects/P1/subjects")
    assert m.route is not None and m.route.pattern.endswith("/subjects")
    m = r.resolve("PUT", "/data/projects/P1/subjects/S1/projects/P2")
    assert m.route is not None and m.tail == "subjects/S1/projects/P2"
    m = r.resolve("GET", "/data/projects/P/resources/R/files/a/b c.txt")
    assert m.params == {"project": "P", "res": "R"} and m.tail == "a/b c.txt"
    m = r.resolve("GET", "/data/projects/P/resources/R/files/sub/")
    assert m.tail == "sub/"
    m = r.resolve("DELETE", "/data/projects/P1/subjects")
    assert m.route is None and m.allowed == {"GET", "HEAD"}
    assert r.resolve("GET", "/data/nothing").route is None
    assert r.resolve("HEAD", "/data/projects/P1").route is not None
    assert normalise_path("/REST/projects") == "/data/projects"
    assert normalise_path("//data//projects/") == "/data/projects/"
    with pytest.raises(ValueError):
        r.add("GET", "/xapi/x", _h, archive=True)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, False),
        ("false", False),
        ("False", False),
        ("0", False),
        ("", True),  # XNAT: a parameter present without a value counts as true
        ("true", True),
        ("1", True),
        ("yes", True),
        ("00", True),
        ("no", True),  # only false/0 are false in XNAT's isQueryVariableTrue
    ],
)
def test_truthiness(value: str | None, expected: bool) -> None:
    assert is_true(value) is expected


def test_table_rendering() -> None:
    rows = [{"ID": "1", "v": None, "n": 3}, {"ID": "2", "v": "a,b\nc", "n": 4}]
    body, mime = render_table("json", ["ID", "v", "n"], rows, {"totalRecords": 2})
    assert mime == "application/json"
    assert body.endswith('], "totalRecords": "2"}}')
    doc = json.loads(body)
    assert doc["ResultSet"]["Result"][0] == {"ID": "1", "v": "", "n": "3"}
    body, mime = render_table("csv", ["ID", "v"], rows, {})
    assert body == 'ID,v\n1,\n2,"a,b c"\n'
    body, _ = render_table("xml", ["ID"], [{"ID": "<&>"}], {"totalRecords": 1})
    assert '<ResultSet totalRecords="1">' in body and "<cell>&lt;&amp;&gt;</cell>" in body


def test_store_transactions_and_accessions(tmp_path: Path) -> None:
    store = Store(tmp_path)
    with store.tx() as db:
        assert store.next_accession(db, "S") == "XNAT_S00001"
        assert store.next_accession(db, "S") == "XNAT_S00002"
        with pytest.raises(RuntimeError), store.tx() as inner:
            inner.execute("INSERT INTO counters VALUES('x', 1)")
            raise RuntimeError("roll back the inner part only")
        db.execute("INSERT INTO counters VALUES('y', 1)")
    names = {r[0] for r in store.query("SELECT name FROM counters")}
    assert "y" in names and "x" not in names
    with pytest.raises(RuntimeError), store.tx() as db:
        db.execute("INSERT INTO counters VALUES('z', 1)")
        raise RuntimeError("roll back everything")
    assert store.one("SELECT 1 FROM counters WHERE name='z'") is None
    store.close()
    again = Store(tmp_path)
    with again.tx() as db:
        assert again.next_accession(db, "S") == "XNAT_S00003"


@pytest.mark.parametrize(
    "name",
    [
        "xnat_sdk.testing._areas.archive.routs",  # no such module in a package that exists
        "xnat_sdk.testing._areas.archve.routes",  # no such package
    ],
)
def test_a_misspelled_route_module_is_an_error_naming_it(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app, "ROUTE_MODULES", [*app.ROUTE_MODULES, name])
    with pytest.raises(ImportError, match=name.replace(".", r"\.")) as err:
        app.build_app(app.ServerConfig(data_dir=tmp_path / "data"))
    assert err.value.name == name
    assert not (tmp_path / "data").exists()  # refused before the store is opened


def test_a_database_of_an_older_version_takes_shares_without_a_label(tmp_path: Path) -> None:
    """Its ``shares.label`` was NOT NULL (every share stored a label): the store rebuilds
    the table, keeping its shares and its index, so a share may have no label."""
    old = sqlite3.connect(str(tmp_path / "xnat.db"))
    old.executescript(
        "CREATE TABLE shares(kind TEXT NOT NULL, object_id TEXT NOT NULL, project TEXT NOT NULL,"
        " label TEXT NOT NULL, PRIMARY KEY(kind, object_id, project));"
        "CREATE INDEX shares_project ON shares(project, kind);"
        "INSERT INTO shares VALUES('subject', 'XNAT_S00001', 'B', 'S1');"
    )
    old.close()
    store = Store(tmp_path)
    with store.tx() as db:
        db.execute("INSERT INTO shares VALUES('experiment', 'XNAT_E00001', 'B', NULL)")
    kept = [tuple(r) for r in store.query("SELECT * FROM shares ORDER BY kind")]
    assert kept == [("experiment", "XNAT_E00001", "B", None), ("subject", "XNAT_S00001", "B", "S1")]
    indexes = {r[1] for r in store.query("PRAGMA index_list(shares)")}
    assert "shares_project" in indexes
    store.close()
