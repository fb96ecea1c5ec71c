"""Type-level acceptance tests, run with mypy (the project's pyproject settings).

* ``pass/*.py`` must type-check cleanly under ``mypy --strict``.
* in ``pass/*.py`` every ``reveal_type(...)`` line has a comment line just above it,
  ``# R: <the exact type mypy must reveal>``; a type widened to ``Any`` or a different class
  fails the test (assignments alone cannot catch ``Any``).
* ``fail/*.py`` must be rejected exactly where marked: every line that must error ends with
  ``# E: <fragment of the expected mypy message>`` (several markers on a line are allowed:
  ``# E: first # E: second``). Each fragment must occur in an error mypy reports on that line,
  and no unmarked line may error.

mypy runs once per folder (it is slow) with a cache in a temporary folder. Add cases by
dropping files in: ``models_*.py`` exercise the generated models, ``runtime_*.py`` the runtime.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
MARKER = "# E:"
REVEAL = "# R:"
REVEALED = re.compile(r'^Revealed type is "(?P<type>.*)"$')
LINE = re.compile(r"^(?P<path>.+?):(?P<line>\d+): (?P<severity>error|note): (?P<message>.*)$")


def _files(folder: str) -> list[Path]:
    return sorted((HERE / folder).glob("*.py"))


def _mypy(files: list[Path], cache: Path) -> tuple[int, str]:
    cmd = [
        sys.executable, "-m", "mypy", "--config-file", str(REPO / "pyproject.toml"),
        "--strict", "--cache-dir", str(cache), "--no-error-summary", "--no-pretty",
        "--show-absolute-path", "--hide-error-context", *(str(f) for f in files),
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def _errors(output: str) -> dict[tuple[str, int], list[str]]:
    found: dict[tuple[str, int], list[str]] = {}
    for raw in output.splitlines():
        match = LINE.match(raw)
        if match and match["severity"] == "error":
            key = (str(Path(match["path"]).resolve()), int(match["line"]))
            found.setdefault(key, []).append(match["message"])
    return found


def _reveals(output: str) -> dict[tuple[str, int], str]:
    found: dict[tuple[str, int], str] = {}
    for raw in output.splitlines():
        match = LINE.match(raw)
        if match and match["severity"] == "note":
            revealed = REVEALED.match(match["message"])
            if revealed:
                found[(str(Path(match["path"]).resolve()), int(match["line"]))] = revealed["type"]
    return found


def _expected_reveals(files: list[Path]) -> dict[tuple[str, int], str]:
    expected: dict[tuple[str, int], str] = {}
    for path in files:
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, text in enumerate(lines, 1):
            if "reveal_type(" not in text:
                continue
            above = lines[number - 2].strip() if number > 1 else ""
            assert above.startswith(REVEAL), f"{path.name}:{number}: no '# R:' line above"
            expected[(str(path.resolve()), number)] = above[len(REVEAL) :].strip()
    return expected


def _expected(files: list[Path]) -> dict[tuple[str, int], list[str]]:
    expected: dict[tuple[str, int], list[str]] = {}
    for path in files:
        marked = 0
        for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if MARKER not in text:
                continue
            fragments = [f.strip() for f in text.split(MARKER)[1:] if f.strip()]
            assert fragments, f"{path.name}:{number}: empty '# E:' marker"
            expected[(str(path.resolve()), number)] = fragments
            marked += 1
        assert marked, f"{path.name} has no '# E:' marker; it belongs in pass/"
    return expected


@pytest.fixture(scope="module")
def mypy_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mypy-cache")


def test_pass_cases_type_check(mypy_cache: Path) -> None:
    files = _files("pass")
    assert files, "no pass cases"
    status, output = _mypy(files, mypy_cache)
    assert not _errors(output), output
    assert status == 0, output
    expected = _expected_reveals(files)
    assert expected, "no reveal_type cases in pass/"
    assert _reveals(output) == expected, output


def test_fail_cases_are_rejected_where_marked(mypy_cache: Path) -> None:
    files = _files("fail")
    assert files, "no fail cases"
    expected = _expected(files)
    status, output = _mypy(files, mypy_cache)
    actual = _errors(output)
    assert status == 1, output
    unexpected = sorted(set(actual) - set(expected))
    missing = sorted(set(expected) - set(actual))
    assert not unexpected, f"errors on unmarked lines: {unexpected}\n{output}"
    assert not missing, f"marked lines mypy accepted: {missing}\n{output}"
    for key, fragments in expected.items():
        for fragment in fragments:
            assert any(fragment in message for message in actual[key]), (
                f"{key}: expected an error containing {fragment!r}, got {actual[key]}"
            )
