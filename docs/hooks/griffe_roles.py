"""Griffe extension for the reference: the docstrings of xnat-sdk are written with reST roles
(``:class:`~xnat_sdk.session.XNATSession```); Markdown has none, so each becomes a code span
(`XNATSession`, the last part when the target starts with ``~``). The reference pages the
``reference`` hook writes itself use the same rewrite (:func:`roles_to_code`)."""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?[a-z]+:`(~?)([^`]+)`")


def _code(match: re.Match[str]) -> str:
    short, target = match.group(1), match.group(2)
    return f"`{target.rsplit('.', 1)[-1] if short else target}`"


def roles_to_code(text: str) -> str:
    """Every reST role of ``text`` as a code span."""
    return _ROLE.sub(_code, text) if ":" in text else text


class RolesToCode(griffe.Extension):
    """Rewrites reST roles in every docstring as code spans."""

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = roles_to_code(obj.docstring.value)
