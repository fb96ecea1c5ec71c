"""xnat-sdk: a fully typed Python SDK for XNAT.

Importing this package is cheap: requests, rich, pydicom and the generated models load only
when first used.
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
