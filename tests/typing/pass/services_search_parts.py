"""Typed search over a part's fields (a subject's demographics, a scan's parameters)."""

from __future__ import annotations

# ruff: noqa: F821
# (reveal_type is a checker builtin: this file is type-checked, never run)
import xnat_sdk
from xnat_sdk.models import MrScanData, SubjectData
from xnat_sdk.search import col


def parts(session: xnat_sdk.XNATSession) -> None:
    query = session.query(SubjectData).where(
        lambda s: (col(s.demographics.gender) == "female") & (col(s.demographics.yob) < 1990)
    )
    query = query.columns(lambda s: [col(s.label), col(s.demographics.handedness)])
    # R: list[int | None]
    reveal_type(query.values(lambda s: col(s.demographics.yob)))
    scans = session.query(MrScanData).where(lambda s: col(s.parameters.voxel_res.x) > 1.0)
    # R: list[float | None]
    reveal_type(scans.values(lambda s: col(s.parameters.tr)))
