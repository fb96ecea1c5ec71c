"""Build-time generator: XNAT XSD schemas -> typed attrs models for xnat_sdk."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
