"""The transfer engine's defaults, on their own so that the signatures naming them (the
session's and the objects' transfer methods) do not load the engine (:mod:`xnat_sdk.transfers`)
before a transfer is made: importing the SDK and a first listing stay cheap.
"""

from __future__ import annotations

__all__ = ["CHUNK_SIZE", "RESUME_ATTEMPTS"]

CHUNK_SIZE = 524288
"""Default bytes per read and write (512 KiB, as xnatpy)."""
RESUME_ATTEMPTS = 3
"""How often a broken-off download goes on from where it stopped (when the server serves
byte ranges)."""
