"""Hatch build hook: the wheel carries the pinned core schemas (``xnat_sdk_codegen/core/``).

The XSD files are never committed: a wheel build takes them from the checkout's ``schemas/``
folder when ``make schemas`` materialised them there, else downloads and verifies them itself
(``xnat_sdk_codegen.pin``: the pinned source archive, every sha256 checked). ``pin.json`` goes
along, so that ``xnat-sdk generate --server`` can compare a server's copies with the pin. An
editable install adds nothing: it reads the checkout's ``schemas/``.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


def _pin_module(root: Path) -> ModuleType:
    """``codegen/xnat_sdk_codegen/pin.py`` (standard library only), loaded by path."""
    path = root / "codegen" / "xnat_sdk_codegen" / "pin.py"
    spec = importlib.util.spec_from_file_location("_xnat_sdk_build_pin", path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


class CoreSchemasHook(BuildHookInterface):  # type: ignore[misc]
    """Adds the verified core schemas and the pin to a (non-editable) wheel."""

    PLUGIN_NAME = "core-schemas"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or version == "editable":
            return
        root = Path(self.root)
        pin_path = root / "schemas" / "pin.json"
        pins = _pin_module(root)
        pin = pins.Pin.load(pin_path)
        folder = root / "schemas"
        if not pins.is_materialised(pin, folder):
            folder = Path(tempfile.mkdtemp(prefix="xnat-sdk-core-"))
            self._fetched = folder  # read by the build after this hook: removed in finalize
            pins.materialise(pin_path, folder, folder / ".download")
        force = build_data.setdefault("force_include", {})
        force[str(pin_path)] = "xnat_sdk_codegen/core/pin.json"
        for f in pin.files:
            force[str(folder / f.path)] = f"xnat_sdk_codegen/core/{f.path}"

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        fetched: Path | None = getattr(self, "_fetched", None)
        if fetched is not None:
            shutil.rmtree(fetched, ignore_errors=True)
