"""Seeding keeps XNAT's invariant that a project holds one subject and one experiment per
label: a second seed of a label used to add a twin the REST API then resolved to either."""

from __future__ import annotations

import pytest
import requests

from xnat_sdk.testing.local import LocalXNAT


def test_a_second_subject_session_or_bulk_of_one_label_is_refused() -> None:
    with LocalXNAT() as server:
        server.seed_project("TWINS")
        sid = server.seed_subject("TWINS", "S1")
        eid = server.seed_session("TWINS", "S1", "E1")
        with pytest.raises(ValueError, match=f"has a subject 'S1' already \\({sid}\\)"):
            server.seed_subject("TWINS", "S1")
        with pytest.raises(ValueError, match=f"has an experiment 'E1' already \\({eid}\\)"):
            server.seed_session("TWINS", "S1", "E1")
        server.seed_bulk("TWINS", 2)
        with pytest.raises(ValueError, match=r"SUBJ_00001, SUBJ_00002\.\.\. already"):
            server.seed_bulk("TWINS", 3)
        server.seed_subject("TWINS", "S2")  # another label: fine
        answer = requests.get(
            f"{server.url}/data/projects/TWINS/subjects",
            params={"format": "json"},
            auth=("admin", "admin"),
            timeout=10,
        )
        labels = sorted(r["label"] for r in answer.json()["ResultSet"]["Result"])
        assert labels == ["S1", "S2", "SUBJ_00001", "SUBJ_00002"]
