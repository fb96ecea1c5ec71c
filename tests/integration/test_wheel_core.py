"""D10: an installed wheel carries the pinned core schemas, so ``xnat-sdk generate --schemas``
works outside any checkout without ``--core-schemas``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PLUGINS = REPO / "tests" / "fixtures" / "plugins"

pytestmark = pytest.mark.slow


def test_the_wheel_carries_the_verified_core_and_generates_outside_a_checkout(
    tmp_path: Path,
) -> None:
    wheels, site = tmp_path / "wheels", tmp_path / "site"
    build = [sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps", "-q"]
    subprocess.run([*build, "-w", str(wheels), str(REPO)], check=True, timeout=300)
    (wheel,) = wheels.glob("xnat_sdk-*.whl")
    install = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site)]
    subprocess.run([*install, str(wheel)], check=True, timeout=300)
    core = site / "xnat_sdk_codegen" / "core"
    pinned = (REPO / "schemas" / "xnat" / "xnat.xsd").read_bytes()
    assert (core / "xnat" / "xnat.xsd").read_bytes() == pinned
    assert (core / "pin.json").is_file()
    work = tmp_path / "work"
    work.mkdir()
    code = (
        "import sys, xnat_sdk_codegen; from xnat_sdk.cli import main; "
        f"assert xnat_sdk_codegen.__file__.startswith({str(site)!r}); "
        "sys.exit(main(sys.argv[1:]))"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    argv = ["generate", "--schemas", str(PLUGINS), "--out", "models"]
    proc = subprocess.run(
        [sys.executable, "-c", code, *argv],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert (work / "models" / "subjplug_cog_test_data.py").is_file()
