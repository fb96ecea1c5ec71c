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
dropping files in: ``models_*.py`` exercise the generated models, ``runtime_*.py`` the runtime,
``user_*.py`` scripts as users write them.

pyright (strict, ``[tool.pyright]`` of pyproject.toml; installed by ``make install`` from
package-lock.json into ``node_modules``) checks the same files the same way: no error in
``pass/``, the same revealed types (compared without module qualifiers: mypy says
``xnat_sdk.listings.Listing[xnat_sdk.models.xnat_mr_session_data.MrSessionData]``, pyright
``Listing[MrSessionData]``; a ``# R-pyright: <type>`` line between the ``# R:`` line and the
call states pyright's where the two print a type differently), and an error on every marked
line of ``fail/`` and on no other. ``# P: <fragment>`` markers on a marked line name fragments
of pyright's message, as ``# E:`` ones do for mypy's.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
MARKER = "# E:"
PYRIGHT_MARKER = "# P:"
REVEAL = "# R:"
REVEAL_PYRIGHT = "# R-pyright:"
PYRIGHT = REPO / "node_modules" / ".bin" / "pyright"
QUALIFIED = re.compile(r"\b(?:[A-Za-z_][A-Za-z0-9_]*\.)+(?=[A-Za-z_])")
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


def _expected_reveals(files: list[Path], pyright: bool = False) -> dict[tuple[str, int], str]:
    expected: dict[tuple[str, int], str] = {}
    for path in files:
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, text in enumerate(lines, 1):
            if "reveal_type(" not in text:
                continue
            above = lines[number - 2].strip() if number > 1 else ""
            override = None
            if above.startswith(REVEAL_PYRIGHT):
                override = above[len(REVEAL_PYRIGHT) :].strip()
                above = lines[number - 3].strip() if number > 2 else ""
            assert above.startswith(REVEAL), f"{path.name}:{number}: no '# R:' line above"
            found = above[len(REVEAL) :].strip()
            if pyright:
                found = override if override is not None else _unqualified(found)
            expected[(str(path.resolve()), number)] = found
    return expected


def _unqualified(type_text: str) -> str:
    """A revealed type without module qualifiers (``builtins.str`` -> ``str``)."""
    return QUALIFIED.sub("", type_text)


def _expected(files: list[Path], marker: str = MARKER) -> dict[tuple[str, int], list[str]]:
    """Line -> the message fragments its ``marker`` comments name (every line with a ``# E:``
    marker is a key; the fragments are those of ``marker``, mypy's or pyright's)."""
    expected: dict[tuple[str, int], list[str]] = {}
    for path in files:
        marked = 0
        for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if MARKER not in text:
                assert PYRIGHT_MARKER not in text, (
                    f"{path.name}:{number}: a '# P:' marker on a line without '# E:'"
                )
                continue
            fragments: list[str] = []
            current = ""
            for part in re.split(r"(# [EP]:)", text)[1:]:
                if part in (MARKER, PYRIGHT_MARKER):
                    current = part
                elif current == marker and part.strip():
                    fragments.append(part.strip())
            if marker == MARKER:
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
    assert status == 1, output
    _check_marked("mypy", expected, _errors(output), output)


def _check_marked(
    checker: str,
    expected: dict[tuple[str, int], list[str]],
    actual: dict[tuple[str, int], list[str]],
    output: str,
) -> None:
    """Errors exactly on the marked lines, each containing its marker's fragments."""
    unexpected = sorted(set(actual) - set(expected))
    missing = sorted(set(expected) - set(actual))
    assert not unexpected, f"{checker} errors on unmarked lines: {unexpected}\n{output}"
    assert not missing, f"marked lines {checker} accepted: {missing}\n{output}"
    for key, fragments in expected.items():
        for fragment in fragments:
            assert any(fragment in message for message in actual[key]), (
                f"{key}: expected a {checker} error containing {fragment!r}, got {actual[key]}"
            )


# -- pyright -----------------------------------------------------------------------------------


def _pyright(files: list[Path]) -> list[dict[str, object]]:
    if not PYRIGHT.exists():
        if shutil.which("npm") is None:
            pytest.skip("pyright needs node and npm (make install runs npm ci)")
        pytest.fail(f"{PYRIGHT} is missing: run make install (npm ci)")
    cmd = [
        str(PYRIGHT), "--outputjson", "--pythonpath", sys.executable,
        "--project", str(REPO / "pyproject.toml"), *(str(f) for f in files),
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, check=False)
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"pyright gave no JSON report:\n{proc.stdout}\n{proc.stderr}")
    found: list[dict[str, object]] = report["generalDiagnostics"]
    return found


def _line(diagnostic: dict[str, object]) -> tuple[str, int]:
    where = diagnostic["range"]
    assert isinstance(where, dict)
    return (str(Path(str(diagnostic["file"])).resolve()), int(where["start"]["line"]) + 1)


def _pyright_errors(diagnostics: list[dict[str, object]]) -> dict[tuple[str, int], list[str]]:
    found: dict[tuple[str, int], list[str]] = {}
    for d in diagnostics:
        if d.get("severity") == "error":
            found.setdefault(_line(d), []).append(str(d.get("message", "")))
    return found


REVEALED_PYRIGHT = re.compile(r'^Type of ".*" is "(?P<type>.*)"$', re.DOTALL)


def _pyright_reveals(diagnostics: list[dict[str, object]]) -> dict[tuple[str, int], str]:
    found: dict[tuple[str, int], str] = {}
    for d in diagnostics:
        match = REVEALED_PYRIGHT.match(str(d.get("message", "")))
        if d.get("severity") == "information" and match:
            found[_line(d)] = match["type"]
    return found


def test_pass_cases_type_check_under_pyright_strict() -> None:
    files = _files("pass")
    diagnostics = _pyright(files)
    errors = _pyright_errors(diagnostics)
    assert not errors, "\n".join(f"{k}: {v}" for k, v in errors.items())
    expected = _expected_reveals(files, pyright=True)
    actual = {k: _unqualified(v) for k, v in _pyright_reveals(diagnostics).items()}
    wrong = {k: (expected.get(k), actual.get(k)) for k in expected.keys() | actual.keys()}
    wrong = {k: v for k, v in wrong.items() if v[0] != v[1]}
    assert not wrong, "\n".join(
        f"{k[0]}:{k[1]}: expected {v[0]!r}, pyright {v[1]!r}" for k, v in sorted(wrong.items())
    )


def test_fail_cases_are_rejected_where_marked_by_pyright() -> None:
    files = _files("fail")
    expected = _expected(files, marker=PYRIGHT_MARKER)
    actual = _pyright_errors(_pyright(files))
    _check_marked("pyright", expected, actual, "\n".join(f"{k}: {v}" for k, v in actual.items()))


# -- README ------------------------------------------------------------------------------------


def test_readme_and_guide_examples_type_check_under_both_checkers(tmp_path: Path) -> None:
    """What README and the guide (docs/**/*.md) show passes mypy --strict and pyright strict,
    as a user's script would."""
    sources = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
    files = []
    for source in sources:
        text = source.read_text(encoding="utf-8")
        blocks = re.findall(r"^```python\n(.*?)^```", text, re.DOTALL | re.MULTILINE)
        if source.name == "README.md":
            assert blocks, "README.md lost its Python examples"
        for index, block in enumerate(blocks):
            path = tmp_path / f"ex{len(files)}_{source.stem.replace('-', '_')}_{index}.py"
            path.write_text(block, encoding="utf-8")
            files.append(path)
    status, output = _mypy(files, tmp_path / "mypy-cache")
    assert status == 0 and not _errors(output), output
    errors = _pyright_errors(_pyright(files))
    assert not errors, "\n".join(f"{k}: {v}" for k, v in errors.items())
