"""Issue 13 end to end: ``xnat-sdk serve --schemas DIR`` hosts site schemas, ``xnat-sdk
generate --server URL`` run from a folder outside the checkout turns them into a typed package,
and objects of the site types are created, read and searched through it."""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
import requests
from serve_process import MAIN, start_serve, stop

import xnat_sdk
from xnat_sdk._objects import registry
from xnat_sdk.models import MrSessionData
from xnat_sdk.search import col
from xnat_sdk.testing.local import LocalXNAT

REPO = Path(__file__).resolve().parents[2]
PLUGINS = REPO / "tests" / "fixtures" / "plugins"
PACKAGE = "served_site_models"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("served-data")
    proc, url = start_serve(data, (MAIN, "serve", "--schemas", str(PLUGINS)))
    try:
        yield url
    finally:
        stop(proc)


@pytest.fixture(scope="module")
def generated(
    served: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ModuleType, str]]:
    work = tmp_path_factory.mktemp("outside-checkout")
    assert not work.resolve().is_relative_to(REPO)
    argv = ["generate", "--server", served, "--user", "admin", "--password", "admin"]
    proc = subprocess.run(
        [sys.executable, "-c", MAIN, *argv, "--out", PACKAGE],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    sys.path.insert(0, str(work))
    try:
        yield importlib.import_module(PACKAGE), proc.stderr
    finally:
        sys.path.remove(str(work))
        registry._SITE_PACKAGES[:] = [
            m for m in registry._SITE_PACKAGES if not m.__name__.startswith(PACKAGE)
        ]
        registry._LOOKUP.clear()
        for name in [m for m in sys.modules if m.startswith(PACKAGE)]:
            del sys.modules[name]


def test_server_lists_core_and_site_schemas_as_xnat_names_them(served: str) -> None:
    names = requests.get(f"{served}/xapi/schemas", auth=("admin", "admin"), timeout=10).json()
    site = {"qcplug", "scanplug", "subjplug", "resplug", "shared/units", "visitplug"}
    assert {"xnat", "xdat", *site} <= set(names)
    text = requests.get(
        f"{served}/xapi/schemas/shared/units", auth=("admin", "admin"), timeout=10
    ).text
    assert 'name="scoreType"' in text


def test_generate_from_the_server_reports_the_core_and_the_site_schemas(
    generated: tuple[ModuleType, str],
) -> None:
    package, stderr = generated
    assert "core schema xnat/xnat.xsd: matches the pin" in stderr
    assert "core schema xdat/xdat.xsd: matches the pin" in stderr
    assert "site schemas: qcplug/qcplug.xsd, resplug/resplug.xsd" in stderr
    # the D1-D5 warnings name the server's file, not the temporary copy
    assert "/schemas/qcplug/qcplug.xsd:21: <xs:sequence>" in stderr
    assert sorted(package.XSI_TYPES) == [
        "prov:processStep",
        "qcp:reviewData",
        "qcp:reviewData_scan",
        "resplug:checkedCatalog",
        "scanplug:spectroScanData",
        "subjplug:cogTestData",
        "subjplug:cogTestData_item",
        "visitplug:VisitNote",
    ]
    assert "generate --server" in Path(str(package.__file__)).read_text("utf-8")


def test_site_types_are_created_read_and_searched(
    served: str, generated: tuple[ModuleType, str]
) -> None:
    site, _ = generated
    with xnat_sdk.connect(
        served, user="admin", password="admin", extension_types=[PACKAGE]
    ) as session:
        project = session.projects.create("SITE") if "SITE" not in session.projects else None
        subject = session.projects["SITE"].subjects.create("S1")
        assert project is None or project.id == "SITE"
        cog = subject.experiments.create(
            "COG1",
            site.SubjplugCogTestData,
            total=21.5,
            examiner="Dr Who",
            items=[site.SubjplugCogTestDataItem(code="A1", score=3)],
        )
        note = subject.experiments.create(
            "NOTE1", site.VisitplugVisitNote, summary="fine", follow_up=True, mood="calm"
        )
        mr = subject.experiments.create("MR1", MrSessionData)
        scan = mr.scans.create(
            "1",
            site.ScanplugSpectroScanData,
            coil="32ch",
            voxel=site.ScanplugSpectroScanDataVoxel(x=2.0, y=2.0, z=3.5),
        )
        scan.resources.create(
            "CAT", site.ResplugCheckedCatalog, origin="scanner", format="RAW", content="spectra"
        )
        session.clearcache()
        read = session.experiments[cog.id]
        assert type(read) is site.SubjplugCogTestData
        assert (read.total, read.examiner) == (21.5, "Dr Who")
        assert [(i.code, i.score) for i in read.items] == [("A1", 3)]
        session_read = session.experiments[mr.id]
        assert isinstance(session_read, MrSessionData)
        spectro = session_read.scans["1"]
        assert type(spectro) is site.ScanplugSpectroScanData
        assert (spectro.coil, spectro.voxel.z) == ("32ch", 3.5)
        catalog = spectro.resources["CAT"]
        assert type(catalog) is site.ResplugCheckedCatalog
        assert (catalog.origin, catalog.format, catalog.content) == ("scanner", "RAW", "spectra")
        query = session.query(site.SubjplugCogTestData)
        found = query.where(lambda c: col(c.examiner) == "Dr Who").objects()
        assert [type(f) for f in found] == [site.SubjplugCogTestData]
        assert [(f.label, f.total) for f in found] == [("COG1", 21.5)]
        assert query.where(lambda c: col(c.examiner) == "nobody").objects() == []
        read_note = session.experiments[note.id]
        assert type(read_note) is site.VisitplugVisitNote
        assert (read_note.summary, read_note.follow_up, read_note.mood) == ("fine", True, "calm")
        listed = session.projects["SITE"].experiments
        assert {e.label for e in listed.values()} == {"COG1", "MR1", "NOTE1"}


def test_unknown_types_stay_refused(served: str, generated: tuple[ModuleType, str]) -> None:
    with xnat_sdk.connect(served, user="admin", password="admin") as session:
        if "SITE2" not in session.projects:
            session.projects.create("SITE2")
        response = requests.put(
            f"{served}/data/projects/SITE2/subjects/S9/experiments/X1",
            params={"xsiType": "nope:unknownData"},
            auth=("admin", "admin"),
            timeout=10,
        )
    assert response.status_code == 400 and "Unknown data type" in response.text
    for xsi, said in (("nope:catalog", "Unknown data type"), ("qcp:reviewData", "not a resource")):
        response = requests.put(
            f"{served}/data/projects/SITE2/resources/R_{xsi.split(':')[0]}",
            params={"xsiType": xsi},
            auth=("admin", "admin"),
            timeout=10,
        )
        assert response.status_code == 400 and said in response.text, xsi


def test_a_missing_schemas_folder_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder"
    proc = subprocess.run(
        [sys.executable, "-c", MAIN, "serve", "--schemas", str(missing), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1
    assert f"site schema folder {missing} does not exist" in proc.stderr
    with pytest.raises(FileNotFoundError, match="no-such-folder"):
        LocalXNAT(schemas=missing)
