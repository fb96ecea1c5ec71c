"""``xnat-sdk serve`` (kept at this path for ``xnat_sdk.cli``): see
:mod:`xnat_sdk.testing._server.cli`."""

from __future__ import annotations

from xnat_sdk.testing._server.cli import serve

__all__ = ["serve"]
