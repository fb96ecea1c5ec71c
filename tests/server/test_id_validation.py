"""IDs and labels are checked to their last character (no trailing newline slips through)."""

from __future__ import annotations

import requests

from xnat_sdk.testing.local import LocalXNAT


def test_trailing_newline_in_project_id_is_refused(
    xnat_server: LocalXNAT, admin: requests.Session
) -> None:
    resp = admin.put(f"{xnat_server.url}/data/projects/NEWLINE%0A")
    assert resp.status_code == 417, resp.text
    assert "Invalid character" in resp.text
    assert admin.get(f"{xnat_server.url}/data/projects/NEWLINE").status_code == 404


def test_trailing_newline_in_experiment_label_is_refused(
    xnat_server: LocalXNAT, admin: requests.Session
) -> None:
    base = f"{xnat_server.url}/data/projects/NLP"
    assert admin.put(base).status_code in (200, 201)
    resp = admin.put(f"{base}/subjects/S1/experiments/E1%0A?xsiType=xnat:mrSessionData")
    assert resp.status_code == 417, resp.text
    listing = admin.get(f"{base}/experiments?format=json").json()["ResultSet"]["Result"]
    assert listing == []
