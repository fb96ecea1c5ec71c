"""Byte counts as people read them, one way everywhere (progress logs, the CLI)."""

from __future__ import annotations

_UNITS = ("B", "kB", "MB", "GB", "TB", "PB")


def format_bytes(count: int) -> str:
    """``count`` bytes in decimal (SI) units: ``"512 B"``, ``"24.0 kB"``, ``"1.5 GB"``."""
    value = float(count)
    for unit in _UNITS[:-1]:
        if abs(value) < 1000:
            return f"{count} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} {_UNITS[-1]}"
