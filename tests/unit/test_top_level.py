"""What ``import xnat_sdk`` offers: every exception and warning of :mod:`xnat_sdk.errors`
(the page on errors says they are re-exported), for type checkers too."""

from __future__ import annotations

import ast
from pathlib import Path

import xnat_sdk
from xnat_sdk import errors


def _error_classes() -> list[str]:
    return [n for n in errors.__all__ if isinstance(getattr(errors, n), type)]


def test_every_exception_and_warning_is_re_exported() -> None:
    """XNATIncompleteDownloadError, XNATTokenWarning, XNATBadRequestError ... were not."""
    names = _error_classes()
    assert [n for n in names if n not in xnat_sdk.__all__] == []
    assert all(getattr(xnat_sdk, n) is getattr(errors, n) for n in names)


def test_type_checkers_see_them_at_the_top_level() -> None:
    """The ``TYPE_CHECKING`` imports of ``xnat_sdk/__init__.py`` name them all (a name only
    ``__getattr__`` gives is ``Any`` to mypy and an error to pyright)."""
    tree = ast.parse(Path(xnat_sdk.__file__).read_text(encoding="utf-8"))
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "xnat_sdk.errors"
        for alias in node.names
    }
    assert set(_error_classes()) <= imported
