"""Where the pinned core schemas (``xnat/xnat.xsd``, ``xdat/xdat.xsd``) and their pin come
from, for a checkout and for an installed wheel.

The XSD files are never committed. A checkout materialises them with ``make schemas``
(``schemas/``, verified against ``schemas/pin.json``). A wheel carries them: its build
(``hatch_build.py``) verifies them against the same pin and puts them, with ``pin.json``, in
``xnat_sdk_codegen/core/``. ``--core-schemas DIR`` overrides both; ``--server`` also checks the
server's own copies against the pin (:mod:`xnat_sdk_codegen.remote`).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["CORE_FILES", "checkout_schemas", "default_core_schemas", "packaged_core", "pin_file"]

CORE_FILES = ("xnat/xnat.xsd", "xdat/xdat.xsd")
"""The pinned core schema files, relative to a core schema folder."""


def packaged_core() -> Path | None:
    """The core schemas built into the installed wheel, if it has them."""
    here = Path(__file__).resolve().parent / "core"
    return here if all((here / f).is_file() for f in CORE_FILES) else None


def checkout_schemas() -> Path | None:
    """The ``schemas/`` folder of a checkout this package runs from, if any."""
    candidate = Path(__file__).resolve().parents[2] / "schemas"
    return candidate if (candidate / "pin.json").is_file() else None


def default_core_schemas() -> Path | None:
    """The core schema folder: the wheel's, else a checkout's materialised ``schemas/``."""
    packaged = packaged_core()
    if packaged is not None:
        return packaged
    checkout = checkout_schemas()
    if checkout is not None and all((checkout / f).is_file() for f in CORE_FILES):
        return checkout
    return None


def pin_file() -> Path | None:
    """The pin (``pin.json``: sha256 of every core file) of the wheel or the checkout."""
    packaged = Path(__file__).resolve().parent / "core" / "pin.json"
    if packaged.is_file():
        return packaged
    checkout = checkout_schemas()
    return checkout / "pin.json" if checkout is not None else None
