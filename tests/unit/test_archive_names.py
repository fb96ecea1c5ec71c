"""Archive entry names: what ``safe_relative`` accepts (normalised) and refuses (named)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xnat_sdk.archives import safe_relative
from xnat_sdk.errors import XNATUnsafeArchiveError


def _reference(name: str) -> str | None:
    """The rule spelled out plainly: None when the name must be refused."""
    if not name or "\x00" in name or "\\" in name or name[0] == "/" or name[1:2] == ":":
        return None
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        return None
    return "/".join(parts)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a/b.dcm", "a/b.dcm"),
        ("a//b", "a/b"),
        ("./a/./b/", "a/b"),
        ("a/.hidden", "a/.hidden"),
        ("..data/x", "..data/x"),
        ("dir/", "dir"),
    ],
)
def test_accepted_names_are_normalised(name: str, expected: str) -> None:
    assert safe_relative(name) == expected


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "empty"),
        ("/etc/passwd", "absolute"),
        ("a/../../b", "'..'"),
        ("..", "'..'"),
        ("C:/x", "drive letter"),
        ("a\\b", "backslash"),
        ("a\x00b", "NUL"),
        ("./", "names no file"),
    ],
)
def test_refused_names_say_why(name: str, reason: str) -> None:
    with pytest.raises(XNATUnsafeArchiveError, match=reason):
        safe_relative(name)


@given(st.text(alphabet="ab./\\:\x00", max_size=12))
def test_matches_the_plain_rule(name: str) -> None:
    expected = _reference(name)
    if expected is None:
        with pytest.raises(XNATUnsafeArchiveError):
            safe_relative(name)
    else:
        assert safe_relative(name) == expected
