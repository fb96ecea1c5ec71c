"""Every Python block of README.md and of the guide (docs/**/*.md) runs as written.

A block fenced as ```python is a test: it runs against the local server it starts itself
(``LocalXNAT``), in a fresh folder (``/tmp/`` in a block means that folder), and a block that
prints must print something. A block that defines ``test_*`` functions is a user's test
module: it runs under pytest (in a child process, with the package's pytest plugin and its
fixtures) and must pass. tests/typing/test_typing.py type-checks the same blocks.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FENCE = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def example_blocks() -> list[tuple[str, int, str]]:
    """(file relative to the repository, index in that file, source) of every example."""
    found = []
    for path in [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]:
        text = path.read_text(encoding="utf-8")
        for index, block in enumerate(FENCE.findall(text)):
            found.append((path.relative_to(REPO).as_posix(), index, block))
    return found


BLOCKS = example_blocks()


@contextlib.contextmanager
def _isolated(tmp_path: Path) -> Iterator[None]:
    """Undo what an example changes in this process: site model packages it registered
    (``extension_types=``), folders it put on ``sys.path`` and the modules it imported from
    them."""
    from xnat_sdk._objects import registry

    packages, path = list(registry._SITE_PACKAGES), list(sys.path)
    try:
        yield
    finally:
        registry._SITE_PACKAGES[:] = packages
        registry._LOOKUP.clear()
        sys.path[:] = path
        for module in [m for m, v in sys.modules.items() if _under(v, tmp_path)]:
            del sys.modules[module]


def _under(module: object, folder: Path) -> bool:
    file = getattr(module, "__file__", None)
    return isinstance(file, str) and file.startswith(str(folder))


def test_readme_and_guide_have_python_examples() -> None:
    files = {name for name, _, _ in BLOCKS}
    assert "README.md" in files, "README.md lost its Python example"
    assert len([f for f in files if f.startswith("docs/guide/")]) >= 10, sorted(files)


@pytest.mark.parametrize(
    ("name", "index", "source"), BLOCKS, ids=[f"{n}#{i}" for n, i, _ in BLOCKS]
)
def test_example_runs(
    name: str,
    index: int,
    source: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = source.replace("/tmp/", f"{tmp_path}/")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))  # examples that write ~/.netrc write it here
    for variable in ("XNAT_HOST", "XNAT_USER", "XNAT_PASS", "XNATPY_HOST", "NETRC"):
        monkeypatch.delenv(variable, raising=False)
    if re.search(r"^def test_", code, re.MULTILINE):
        _run_as_pytest_module(code, tmp_path)
        return
    with _isolated(tmp_path):
        exec(compile(code, f"{name} block {index}", "exec"), {"__name__": "example"})
    out = capsys.readouterr().out
    if "print(" in source:
        assert out.strip(), "the example printed nothing"
    if "/tmp/notes.txt" in source:
        assert (tmp_path / "notes.txt").read_bytes() == b"looks fine\n"


def _run_as_pytest_module(code: str, tmp_path: Path) -> None:
    module = tmp_path / "test_user_example.py"
    module.write_text(code, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", module.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert re.search(r"\b\d+ passed\b", result.stdout), result.stdout


def test_dask_examples_take_no_fixed_port() -> None:
    """``LocalCluster(dashboard_address=None)`` still serves the scheduler's status page on
    port 8787 of every interface (and warns "Port 8787 is already in use" while another
    cluster runs): the examples ask for a free loopback port."""
    clusters = [
        (name, index, line)
        for name, index, source in BLOCKS
        for line in source.splitlines()
        if "LocalCluster(" in line and "import" not in line
    ]
    assert clusters, "no Dask example left"
    for name, index, line in clusters:
        assert 'dashboard_address="127.0.0.1:0"' in line, f"{name} block {index}: {line}"
