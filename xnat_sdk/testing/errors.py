"""The exception the local server's seeding raises (:class:`XNATSeedError`); cheap to import."""

from __future__ import annotations

from collections.abc import Iterable

from xnat_sdk.errors import XNATValueError

__all__ = ["XNATSeedError"]


class XNATSeedError(XNATValueError):
    """A seed call of :class:`~xnat_sdk.testing.LocalXNAT` (or of
    :mod:`xnat_sdk.testing.seed`) was given something the local server cannot hold (an
    unknown data type or field key, a value XNAT's validator refuses, a missing parent, a
    duplicate label ...): nothing was stored. :attr:`what` names the argument (``xsi_type``,
    ``fields``, ``level``, ``project`` ...), :attr:`value` is the value given and
    :attr:`allowed` what would have been accepted (empty when that is no short list)."""

    def __init__(self, what: str, value: object, message: str, allowed: Iterable[str] = ()) -> None:
        self.what = what
        self.value = value
        self.allowed = tuple(allowed)
        super().__init__(message)
