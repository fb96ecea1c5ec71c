"""The pure path pieces of transfers: remote paths quoted (:func:`quote_path`,
:func:`quote_uri`) and checked (:func:`check_remotepath`), and the temporary names of partial
files and staging folders (:func:`temp_name` / :func:`temp_owner`, the leftover sweep)."""

from __future__ import annotations

import os
import string
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xnat_sdk.archives import sweep_leftovers, temp_name, temp_owner
from xnat_sdk.errors import XNATValueError
from xnat_sdk.transfers import check_remotepath, quote_path, quote_uri
from xnat_sdk.transfers._paths import split_file_uri

_text = st.text(st.characters(codec="utf-8"))
_URL_PATH_CHARS = set(string.ascii_letters + string.digits + "-._~!$&'()*+,;=:@%/")

# -- quote_path / quote_uri -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "quoted"),
    [
        ("a/b.dcm", "a/b.dcm"),
        ("a b/c#d?e%f.dcm", "a%20b/c%23d%3Fe%25f.dcm"),
        ("caf\u00e9/\u6587", "caf%C3%A9/%E6%96%87"),
        ("x+y=z@h:1~2", "x%2By=z@h:1~2"),  # XNAT URL-decodes: "+" would be a space
        ("", ""),
    ],
)
def test_quote_path_examples(raw: str, quoted: str) -> None:
    assert quote_path(raw) == quoted


@given(_text)
def test_quote_path_round_trips_and_keeps_the_segments(raw: str) -> None:
    quoted = quote_path(raw)
    assert unquote(quoted) == raw
    assert quoted.split("/") == [quote_path(segment) for segment in raw.split("/")]
    assert set(quoted) <= _URL_PATH_CHARS


@pytest.mark.parametrize(
    ("uri", "sent"),
    [
        ("/data/projects/P 1/files", "/data/projects/P%201/files"),
        ("/data/a%20b/c#d", "/data/a%20b/c%23d"),
        ("/data/x?format=zip&label=a b", "/data/x?format=zip&label=a b"),
        ("/data/caf\u00e9", "/data/caf%C3%A9"),
    ],
)
def test_quote_uri_keeps_escapes_and_the_query(uri: str, sent: str) -> None:
    assert quote_uri(uri) == sent


@given(_text.filter(lambda text: "?" not in text))
def test_quote_uri_leaves_only_url_characters_in_the_path(path: str) -> None:
    assert set(quote_uri(path)) <= _URL_PATH_CHARS
    assert quote_uri(quote_path(path)) == quote_path(path)


# -- check_remotepath -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("remotepath", "relative"),
    [
        ("a/b.dcm", "a/b.dcm"),
        ("/a/b.dcm", "a/b.dcm"),
        ("//a", "a"),
        ("a/.hidden", "a/.hidden"),
        ("..data/x", "..data/x"),
        ("a b/#c", "a b/#c"),
    ],
)
def test_check_remotepath_accepts(remotepath: str, relative: str) -> None:
    assert check_remotepath(remotepath) == relative


@pytest.mark.parametrize(
    ("remotepath", "reason"),
    [
        ("", "no empty"),
        ("/", "no empty"),
        ("a//b", "no empty"),
        ("a/", "no empty"),
        ("a/./b", "'.'"),
        ("../x", "'..'"),
        ("a/..", "'..'"),
        ("a\\b", "backslash"),
        ("a\x00b", "NUL"),
    ],
)
def test_check_remotepath_refuses(remotepath: str, reason: str) -> None:
    with pytest.raises(XNATValueError, match=reason):
        check_remotepath(remotepath)


@pytest.mark.parametrize("value", [None, 5, b"a/b", Path("a/b")])
def test_check_remotepath_wants_a_str(value: Any) -> None:
    with pytest.raises(XNATValueError, match="must be a str"):
        check_remotepath(value)


def _reference(remotepath: str) -> str | None:
    """The rule spelled out plainly: None when the path must be refused."""
    relative = remotepath.lstrip("/")
    if "\x00" in remotepath or "\\" in remotepath:
        return None
    if any(part in ("", ".", "..") for part in relative.split("/")):
        return None
    return relative


@given(st.text(alphabet="ab./\\\x00", max_size=12))
def test_check_remotepath_matches_the_plain_rule(remotepath: str) -> None:
    expected = _reference(remotepath)
    if expected is None:
        with pytest.raises(XNATValueError):
            check_remotepath(remotepath)
    else:
        assert check_remotepath(remotepath) == expected


# -- temporary names --------------------------------------------------------------------------


def _this_host() -> str:
    owner = temp_owner(temp_name(None))
    assert owner is not None
    return owner[0]


@given(st.text(st.characters(codec="utf-8"), min_size=1))
def test_a_file_temp_name_says_whose_it_is(name: str) -> None:
    made = temp_name(name)
    assert made.startswith(".")
    assert made.endswith(".part")
    assert temp_owner(made) == (_this_host(), os.getpid(), False)
    assert len(os.fsencode(made)) <= 255  # fits a file name whatever ``name`` is


def test_a_folder_temp_name_says_whose_it_is() -> None:
    made = temp_name(None)
    host, pid, is_folder = temp_owner(made) or ("", 0, False)
    assert made.startswith(".xnat-sdk-")
    assert len(host) == 8 and set(host) <= set("0123456789abcdef")
    assert (pid, is_folder) == (os.getpid(), True)


def test_temp_names_are_new_each_time() -> None:
    assert len({temp_name("a.dcm") for _ in range(50)} | {temp_name(None)}) == 51


@given(_text.filter(lambda name: not name.startswith(".")))
def test_other_names_have_no_owner(name: str) -> None:
    assert temp_owner(name) is None


@pytest.mark.parametrize(
    "name",
    [
        ".a.xnat-0123456z-12-89abcdef.part",  # not a hex host
        ".a.xnat-01234567-0-89abcdef.part",  # no pid 0
        ".a.xnat-01234567-12-89abcdef",  # no .part
        "..xnat-01234567-12-89abcdef.part",  # no file name
        ".xnat-sdk-01234567-12-89abcde",  # short random part
        ".xnat-sdk-01234567-12345678901-89abcdef",  # pid too long
    ],
)
def test_near_misses_have_no_owner(name: str) -> None:
    assert temp_owner(name) is None


@pytest.mark.skipif(os.name != "posix", reason="leftovers are swept on POSIX only")
def test_sweep_removes_the_leftovers_of_dead_processes_only(tmp_path: Path) -> None:
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    gone = int(ended.stdout)  # a process that has ended
    host = _this_host()
    elsewhere = "0" * 8 if host != "0" * 8 else "1" * 8
    mine = temp_name("live.dcm")
    theirs = f".a.dcm.xnat-{host}-{gone}-0123abcd.part"
    their_folder = f".xnat-sdk-{host}-{gone}-0123abcd"
    other_host = f".a.dcm.xnat-{elsewhere}-{gone}-0123abcd.part"
    for name in (mine, theirs, other_host, ".plain", "file.txt"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / their_folder).mkdir()
    (tmp_path / their_folder / "inner").write_bytes(b"x")
    sweep_leftovers(tmp_path)
    assert sorted(os.listdir(tmp_path)) == sorted([mine, other_host, ".plain", "file.txt"])


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        (
            "/data/experiments/E1/scans/3/resources/12/files/a/b.dcm",
            ("3", "12", "a/b.dcm"),
        ),
        ("/data/projects/P/resources/7/files/notes.txt", ("", "7", "notes.txt")),
        # the first resources/{r}/files/ is the resource: a path may hold the same words
        (
            "/data/experiments/E1/scans/1/resources/DICOM/files/resources/x/files/y",
            ("1", "DICOM", "resources/x/files/y"),
        ),
        ("/data/experiments/E1/resources/12/files/", None),
        ("/data/experiments/E1/resources//files/x", None),
        ("/data/experiments/E1/scans/3", None),
    ],
)
def test_split_file_uri(uri: str, expected: tuple[str, str, str] | None) -> None:
    assert split_file_uri(uri) == expected


def test_file_request_path_names_a_scan_with_a_comma_through_all() -> None:
    """XNAT reads ``scans/a,b`` as scans ``a`` and ``b``: the file of scan ``a,b`` is asked
    for under ``scans/ALL`` (its resource, by numeric ID, picks it); other IDs are kept,
    encoded (``%`` and ``+`` too)."""
    from xnat_sdk.transfers._paths import file_request_path

    base = "/data/experiments/E1/scans"
    assert file_request_path(f"{base}/a,b/resources/7/files/x y.dcm") == (
        f"{base}/ALL/resources/7/files/x%20y.dcm"
    )
    assert file_request_path(f"{base}/%41/resources/7/files/a+b,c.dcm") == (
        f"{base}/%2541/resources/7/files/a%2Bb,c.dcm"
    )
    assert file_request_path("/data/projects/P/resources/3/files/scans/a,b/resources/x") == (
        "/data/projects/P/resources/3/files/scans/a,b/resources/x"
    )
