"""An assessor's own ``scans`` (child items, a field like any other since issue 13) are data
where navigation names are reserved elsewhere: they travel in a pickle, and the
image-session-only calls refuse an assessor with a typed error."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from xnat_sdk.errors import XNATValidationError, XNATValueError
from xnat_sdk.models import MrSessionData, QcManualAssessorData, QcScanData
from xnat_sdk.session import XNATSession
from xnat_sdk.testing.local import LocalXNAT

if TYPE_CHECKING:
    from conftest import RequestLog, Seeded


def test_an_assessors_scan_items_survive_a_pickle() -> None:
    qc = QcManualAssessorData(label="Q1", scans=[QcScanData(image_scan_id="1", rater="x")])
    back = pickle.loads(pickle.dumps(qc))
    assert [(s.image_scan_id, s.rater) for s in back.scans] == [("1", "x")]


def test_session_download_files_refuses_an_assessor(
    server: LocalXNAT, seeded: Seeded, session: XNATSession, tmp_path: Path
) -> None:
    server.seed_session(seeded.project, "S2", "Q1", xsi_type="xnat:qcManualAssessorData")
    qc = session.projects[seeded.project].subjects["S2"].experiments["Q1"]
    with pytest.raises(XNATValidationError, match="expected image sessions"):
        session.download_files([qc], tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_the_typed_builders_spelling_in_search_points_to_query(session: XNATSession) -> None:
    with pytest.raises(XNATValidationError, match=r"session\.query\(MrSessionData\)"):
        session.search(MrSessionData)  # type: ignore[arg-type]


def test_bulk_downloads_check_workers_before_any_request(
    seeded: Seeded, session: XNATSession, tmp_path: Path, log: RequestLog
) -> None:
    project = session.projects[seeded.project]
    experiment = project.subjects["S1"].experiments["E1"]
    assert experiment.label == "E1"  # the object itself is read; no listing may follow
    log.clear()
    with pytest.raises(XNATValueError, match="workers"):
        session.download_files([experiment], tmp_path, workers=0)
    assert len(log) == 0, log.paths()
