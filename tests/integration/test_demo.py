"""``make demo`` runs end to end on the embedded local server."""

from __future__ import annotations

import pytest

from xnat_sdk.testing import demo


def test_demo_runs_end_to_end(capsys: pytest.CaptureFixture[str]) -> None:
    assert demo.main([]) == 0
    out = capsys.readouterr().out
    assert "MrSessionData XNAT_E" in out
    assert "12 DICOM files" in out
    assert "matches" in out
    assert "gender=female yob=1980" in out
    assert "DEMO01_MR1  2024-01-15  (XNAT_E" in out
