"""A site's generated models package (xnat-sdk generate) gives typed objects for its types."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from xnat_sdk_codegen.cli import main as generate

import xnat_sdk
from xnat_sdk._objects import registry
from xnat_sdk.errors import XNATValueError
from xnat_sdk.generic import GenericAssessor
from xnat_sdk.testing.local import LocalXNAT

REPO = Path(__file__).resolve().parents[2]
SITE_XSD = REPO / "tests" / "fixtures" / "site_schema" / "siteqc.xsd"


@pytest.fixture
def site_models(tmp_path: Path) -> Iterator[str]:
    out = tmp_path / "siteqc_runtime_models"
    args = ["--schemas", str(SITE_XSD.parent), "--out", str(out)]
    assert generate([*args, "--core-schemas", str(REPO / "schemas")]) == 0
    sys.path.insert(0, str(tmp_path))
    try:
        yield "siteqc_runtime_models"
    finally:
        sys.path.remove(str(tmp_path))
        registry._SITE_PACKAGES[:] = [
            m for m in registry._SITE_PACKAGES if not m.__name__.startswith(out.name)
        ]
        registry._LOOKUP.clear()
        for name in [m for m in sys.modules if m.startswith(out.name)]:
            del sys.modules[name]


def test_site_type_becomes_its_generated_class(site_models: str) -> None:
    with LocalXNAT(extra_schemas=[SITE_XSD]) as server:
        server.seed_project("SITEP")
        with xnat_sdk.connect(server.url, user="admin", password="admin") as raw:
            from xnat_sdk.models import MrSessionData

            subject = raw.projects["SITEP"].subjects.create("S1")
            mr = subject.experiments.create("MR1", MrSessionData)
            raw.put(
                f"{mr.uri}/assessors/QC1",
                query={
                    "xsiType": "siteqc:qcAssessmentData",
                    "siteqc:qcAssessmentData/artifactCount": "3",
                    "siteqc:qcAssessmentData/snr": "21.5",
                },
                accepted_status=(200, 201),
            )
            mr_id = mr.id
        with xnat_sdk.connect(
            server.url, user="admin", password="admin", extension_types=[site_models]
        ) as session:
            site = sys.modules[site_models]
            qc = session.experiments[mr_id].assessors["QC1"]  # type: ignore[attr-defined]
            assert type(qc) is site.SiteqcQcAssessmentData
            assert (qc.artifact_count, qc.snr) == (3, 21.5)
        # extension_types=False (as in xnatpy): this session leaves the site package out
        registry._warned_types.discard("siteqc:qcAssessmentData")  # warned once per process
        with (
            pytest.warns(UserWarning, match="siteqc:qcAssessmentData"),
            xnat_sdk.connect(
                server.url, user="admin", password="admin", extension_types=False
            ) as plain,
        ):
            assert plain.extension_types is False
            qc = plain.experiments[mr_id].assessors["QC1"]  # type: ignore[attr-defined]
            assert type(qc) is GenericAssessor
            assert str(qc.raw["artifactCount"]) == "3"


def test_register_models_refuses_what_is_not_a_models_package() -> None:
    with pytest.raises(XNATValueError, match="not a generated models package"):
        xnat_sdk.register_models("json")
    with pytest.raises(XNATValueError, match="cannot import"):
        xnat_sdk.register_models("no_such_models_package_xyz")
