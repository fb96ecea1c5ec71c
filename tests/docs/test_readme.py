"""Every Python block of README.md runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)


def test_readme_has_python_examples() -> None:
    assert BLOCKS, "README.md lost its Python example"


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_block_runs(
    index: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    source = BLOCKS[index].replace("/tmp/", f"{tmp_path}/")
    monkeypatch.chdir(tmp_path)
    exec(compile(source, f"README.md block {index}", "exec"), {"__name__": "readme"})
    out = capsys.readouterr().out
    if "print(" in source:
        assert out.strip(), "the example printed nothing"
    if "/tmp/notes.txt" in BLOCKS[index]:
        assert (tmp_path / "notes.txt").read_bytes() == b"looks fine\n"
