"""Conformance: xnatpy and pyxnat, unchanged, run real workflows against the local server.

Each test module gets its own server (module-scoped ``server``) and, where it uses xnatpy,
one xnatpy session for the whole module (``xnatpy``), since connecting parses the schemas.
Every test creates the data it needs in a project of its own (``new_project``, IDs unique
per test), so any single test runs alone and the order of tests does not matter.
State is checked independently of the client under test through ``rest`` (plain requests
with basic auth) or the server's store.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from xnat_sdk.testing.local import LocalXNAT


class Rest:
    """Plain ``requests`` access to the server, the independent witness of its state."""

    def __init__(self, base: str, auth: tuple[str, str] = ("admin", "admin")) -> None:
        self.base = base
        self.http = requests.Session()
        self.http.auth = auth

    def get(self, path: str, **params: str) -> requests.Response:
        """GET ``path`` (relative to the server root)."""
        return self.http.get(self.base + path, params=params or None, timeout=30)

    def status(self, path: str, **params: str) -> int:
        """Status code of a GET."""
        return self.get(path, **params).status_code

    def rows(self, path: str, **params: str) -> list[dict[str, str]]:
        """``ResultSet.Result`` of a JSON listing (asserting a 200)."""
        params.setdefault("format", "json")
        resp = self.get(path, **params)
        assert resp.status_code == 200, (path, resp.status_code, resp.text[:300])
        result: list[dict[str, str]] = resp.json()["ResultSet"]["Result"]
        return result

    def item(self, path: str) -> dict[str, Any]:
        """The single-object JSON document ``items[0]`` (asserting a 200)."""
        resp = self.get(path, format="json")
        assert resp.status_code == 200, (path, resp.status_code, resp.text[:300])
        item: dict[str, Any] = resp.json()["items"][0]
        return item

    def fields(self, path: str) -> dict[str, Any]:
        """``data_fields`` of the object at ``path``."""
        data: dict[str, Any] = self.item(path)["data_fields"]
        return data

    def custom_fields(self, path: str) -> dict[str, str]:
        """The custom variables (``fields/field`` children) of the object at ``path``."""
        out: dict[str, str] = {}
        for child in self.item(path)["children"]:
            if child["field"] == "fields/field":
                for it in child["items"]:
                    out[it["data_fields"]["name"]] = it["data_fields"].get("field", "")
        return out

    def child(self, path: str, field: str) -> list[dict[str, Any]]:
        """``data_fields`` of the children of the object at ``path`` in collection ``field``."""
        for child in self.item(path)["children"]:
            if child["field"] == field:
                return [it["data_fields"] for it in child["items"]]
        return []

    def content(self, path: str, **params: str) -> bytes:
        """The body of a GET (asserting a 200)."""
        resp = self.get(path, **params)
        assert resp.status_code == 200, (path, resp.status_code, resp.text[:300])
        return resp.content


def sha256(data: bytes | Path) -> str:
    """Hex sha256 of bytes or of a file's content."""
    if isinstance(data, Path):
        data = data.read_bytes()
    return hashlib.sha256(data).hexdigest()


_SERIAL = itertools.count(1)


def unique(prefix: str) -> str:
    """A name never handed out before in this test run: ``prefix`` and a serial number."""
    return f"{prefix}{next(_SERIAL):04d}"


@pytest.fixture
def new_project(server: LocalXNAT) -> Callable[..., str]:
    """Factory: ``new_project(prefix, **seed_kw)`` seeds a project with a unique ID."""

    def make(prefix: str = "CP", **kw: Any) -> str:
        pid = unique(prefix)
        server.seed_project(pid, **kw)
        return pid

    return make


def xproject(xnatpy: Any, project_id: str) -> Any:
    """xnatpy's object for a project seeded behind its back (its listing cache is dropped)."""
    xnatpy.projects.clearcache()
    return xnatpy.projects[project_id]


@pytest.fixture(scope="module")
def server() -> Iterator[LocalXNAT]:
    """A fresh local XNAT server for the test module (admin/admin, user/user)."""
    logging.getLogger("xnat").setLevel(logging.WARNING)
    with LocalXNAT() as srv:
        yield srv


@pytest.fixture(scope="module")
def rest(server: LocalXNAT) -> Iterator[Rest]:
    """Plain requests as ``admin``."""
    r = Rest(server.url)
    yield r
    r.http.close()


@pytest.fixture(scope="module")
def xnatpy(server: LocalXNAT) -> Iterator[Any]:
    """One xnatpy session (as ``admin``) for the module."""
    import xnat

    session = xnat.connect(server.url, user="admin", password="admin", loglevel="WARNING")
    yield session
    session.disconnect()


@pytest.fixture(scope="module")
def pyx(server: LocalXNAT) -> Iterator[Any]:
    """One pyxnat ``Interface`` (as ``admin``) for the module."""
    import pyxnat

    intf = pyxnat.Interface(server=server.url, user="admin", password="admin")
    yield intf
    intf.disconnect()
