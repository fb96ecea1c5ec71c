"""pytest plugin of the local XNAT server (fixtures arrive with the server itself)."""

from __future__ import annotations
