"""What an IDE offers along the README chain: jedi (the completion engine of many editors and
of IPython) is asked for the completions after each step, as a user typing it would be."""

from __future__ import annotations

import sys
from pathlib import Path

import jedi
import pytest

REPO = Path(__file__).resolve().parents[2]
HEAD = (
    "import xnat_sdk\n"
    "from xnat_sdk.models import MrScanData, MrSessionData\n"
    'session = xnat_sdk.connect("http://localhost")\n'
)
SUBJECT = 'session.projects["P"].subjects["S"]'
MR = f'{SUBJECT}.experiments[MrSessionData]["E"]'
SCAN = f'{MR}.scans[MrScanData]["1"]'


@pytest.fixture(scope="module")
def project() -> jedi.Project:
    return jedi.Project(path=str(REPO), environment_path=sys.prefix)


def _offered(project: jedi.Project, prefix: str) -> set[str]:
    code = HEAD + prefix
    lines = code.splitlines()
    script = jedi.Script(
        code, path=str(REPO / "tests" / "typing" / "user_script.py"), project=project
    )
    return {c.name for c in script.complete(len(lines), len(lines[-1]))}


@pytest.mark.parametrize(
    ("prefix", "wanted"),
    [
        ('session.projects["P"].', {"subjects", "experiments", "download_dir", "name"}),
        (f"{SUBJECT}.", {"experiments", "demographics", "fields", "label", "files"}),
        (f"{SUBJECT}.demographics.", {"gender", "yob", "handedness"}),
        (f"{MR}.", {"scans", "download_dir", "field_strength", "subject", "assessors"}),
        (f"{SCAN}.", {"parameters", "download_dir", "type", "fields", "files"}),
        (f"{SCAN}.parameters.", {"tr", "te", "voxel_res"}),
        (f"{SCAN}.parameters.voxel_res.", {"x", "y", "z"}),
        (f"{SUBJECT}.experiments.tabulate()[0].", {"get", "to_dict", "columns"}),
        ("for row in session.projects.tabulate():\n    row.", {"get", "to_dict", "columns"}),
    ],
)
def test_the_concrete_class_is_completed_at_every_step(
    project: jedi.Project, prefix: str, wanted: set[str]
) -> None:
    offered = _offered(project, prefix)
    missing = wanted - offered
    assert not missing, (
        f"after {prefix!r} jedi offers no {sorted(missing)}; it offers {sorted(offered)}"
    )


def test_without_narrowing_the_listing_type_is_all_an_ide_can_know(project: jedi.Project) -> None:
    # an experiment may be any modality: scans are not offered until it is narrowed
    offered = _offered(project, f'{SUBJECT}.experiments["E"].')
    assert "label" in offered
    assert "scans" not in offered and "field_strength" not in offered
