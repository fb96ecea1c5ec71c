"""Parsing and evaluating ``xdat:bundle`` search documents (kept at this path for callers of
the old module): :mod:`xnat_sdk.testing._areas.search_service.bundle`."""

from __future__ import annotations

from xnat_sdk.testing._areas.search_service.bundle import (
    CriteriaSet,
    Criterion,
    SearchBundle,
    SearchBundleError,
    SearchField,
    compare,
    parse_bundle,
)

__all__ = [
    "CriteriaSet",
    "Criterion",
    "SearchBundle",
    "SearchBundleError",
    "SearchField",
    "compare",
    "parse_bundle",
]
