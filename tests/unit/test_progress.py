"""Progress bars of :mod:`xnat_sdk.progress`: off unless verbose on a terminal, no-op tasks
when off, and bars whose totals follow the callbacks when on (on a fake terminal)."""

from __future__ import annotations

import io
import sys
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xnat_sdk import progress as progress_module
from xnat_sdk.progress import TransferProgress, wants_bars

STEP = progress_module._MIN_STEP
MIB = 1 << 20


class FakeTerminal(io.StringIO):
    """A standard output that says it is a terminal."""

    def isatty(self) -> bool:
        return True


class BrokenTerminal(io.StringIO):
    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    def isatty(self) -> bool:
        raise self.error


def on_stdout(monkeypatch: pytest.MonkeyPatch, out: io.StringIO) -> io.StringIO:
    """Make ``out`` the standard output (from within the test: pytest's capture resets
    sys.stdout between a fixture's setup and the test call)."""
    monkeypatch.setattr(sys, "stdout", out)
    return out


def tasks(bars: TransferProgress) -> dict[str, Any]:
    """The rich tasks of an active TransferProgress, by description."""
    assert bars._progress is not None
    return {task.description: task for task in bars._progress.tasks}


# -- wants_bars ---------------------------------------------------------------------------------


def test_no_bars_when_not_verbose(monkeypatch: pytest.MonkeyPatch) -> None:
    on_stdout(monkeypatch, FakeTerminal())
    assert sys.stdout.isatty()
    assert wants_bars(False) is False


def test_bars_when_verbose_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    on_stdout(monkeypatch, FakeTerminal())
    assert wants_bars(True) is True


def test_no_bars_when_stdout_is_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    on_stdout(monkeypatch, io.StringIO())
    assert wants_bars(True) is False


@pytest.mark.parametrize("stdout", [None, object()])
def test_no_bars_without_isatty(monkeypatch: pytest.MonkeyPatch, stdout: object) -> None:
    monkeypatch.setattr(sys, "stdout", stdout)
    assert wants_bars(True) is False


@pytest.mark.parametrize("error", [ValueError("closed"), OSError("bad fd")])
def test_no_bars_when_isatty_fails(monkeypatch: pytest.MonkeyPatch, error: Exception) -> None:
    monkeypatch.setattr(sys, "stdout", BrokenTerminal(error))
    assert wants_bars(True) is False


def test_no_bars_on_a_closed_stdout(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    out.close()
    monkeypatch.setattr(sys, "stdout", out)
    assert wants_bars(True) is False


# -- disabled -----------------------------------------------------------------------------------


@pytest.mark.parametrize("verbose", [False, True])
def test_disabled_progress_is_silent(monkeypatch: pytest.MonkeyPatch, verbose: bool) -> None:
    pipe = on_stdout(monkeypatch, io.StringIO())
    with TransferProgress(verbose, overall_label="all", overall_total=10 * MIB) as bars:
        assert bars.enabled is False
        update = bars.task("file.dcm", 5 * MIB)
        assert update is progress_module._silent
        assert update(0, 5 * MIB, False) is None
        assert update(5 * MIB, None, True) is None
        bars.advance_overall(MIB)
        assert bars._progress is None
    assert pipe.getvalue() == ""


def test_not_verbose_on_a_terminal_is_silent(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = on_stdout(monkeypatch, FakeTerminal())
    with TransferProgress(False) as bars:
        assert not bars.enabled
        bars.task("x", 1)(1, 1, True)
    assert terminal.getvalue() == ""


@given(st.lists(st.tuples(st.integers(), st.none() | st.integers(), st.booleans())))
def test_silent_callback_accepts_anything(calls: list[tuple[int, int | None, bool]]) -> None:
    bars = TransferProgress(False)
    with bars:
        update = bars.task("t", None)
        for done, total, finished in calls:
            assert update(done, total, finished) is None


# -- enabled on a (fake) terminal ---------------------------------------------------------------


def test_enabled_draws_bars(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = on_stdout(monkeypatch, FakeTerminal())
    with TransferProgress(True) as bars:
        assert bars.enabled
        update = bars.task("scan-1.zip", 2 * MIB)
        assert list(tasks(bars)) == ["scan-1.zip"]
        update(2 * MIB, 2 * MIB, True)
        assert tasks(bars)["scan-1.zip"].finished
    assert bars._progress is None
    output = terminal.getvalue()
    assert "scan-1.zip" in output
    assert "\x1b[" in output  # a terminal: rich wrote control codes


def test_task_updates_completed_and_total(monkeypatch: pytest.MonkeyPatch) -> None:
    on_stdout(monkeypatch, FakeTerminal())
    with TransferProgress(True) as bars:
        update = bars.task("f", None)
        task = tasks(bars)["f"]
        assert task.total is None and task.completed == 0

        update(STEP, None, False)
        assert task.completed == STEP
        assert task.total is None

        update(2 * STEP, 8 * STEP, False)
        assert task.completed == 2 * STEP
        assert task.total == 8 * STEP

        update(8 * STEP, 8 * STEP, True)
        assert task.completed == 8 * STEP
        assert task.total == 8 * STEP
        assert task.finished


def test_small_steps_are_skipped_until_they_add_up(monkeypatch: pytest.MonkeyPatch) -> None:
    on_stdout(monkeypatch, FakeTerminal())
    with TransferProgress(True, overall_label="all", overall_total=None) as bars:
        update = bars.task("f", 4 * STEP)
        task = tasks(bars)["f"]
        overall = tasks(bars)["all"]
        chunk = 16 * 1024
        done = 0
        while done + chunk < STEP:
            done += chunk
            update(done, 4 * STEP, False)
            assert task.completed == 0
            assert overall.completed == 0
        done += chunk
        update(done, 4 * STEP, False)
        assert task.completed == done
        assert overall.completed == done


def test_finished_always_updates(monkeypatch: pytest.MonkeyPatch) -> None:
    on_stdout(monkeypatch, FakeTerminal())
    with TransferProgress(True) as bars:
        update = bars.task("tiny", 10)
        task = tasks(bars)["tiny"]
        update(5, 10, False)
        assert task.completed == 0  # under the step size
        update(10, 10, True)
        assert task.completed == 10
        assert task.finished


def test_finished_without_total_takes_the_size_done(monkeypatch: pytest.MonkeyPatch) -> None:
    on_stdout(monkeypatch, FakeTerminal())
    with TransferProgress(True) as bars:
        update = bars.task("streamed", None)
        update(3 * STEP + 7, None, True)
        task = tasks(bars)["streamed"]
        assert task.total == 3 * STEP + 7
        assert task.completed == 3 * STEP + 7
        assert task.finished


def test_overall_bar_adds_up_every_task(monkeypatch: pytest.MonkeyPatch) -> None:
    on_stdout(monkeypatch, FakeTerminal())
    sizes = [3 * STEP, 5 * STEP + 11, 100]
    with TransferProgress(True, overall_label="download", overall_total=sum(sizes)) as bars:
        overall = tasks(bars)["download"]
        assert overall.total == sum(sizes)
        for index, size in enumerate(sizes):
            update = bars.task(f"file-{index}", size)
            for done in range(0, size, STEP // 2):
                update(done, size, False)
            update(size, size, True)
        assert overall.completed == sum(sizes)
        assert overall.finished
        assert all(tasks(bars)[f"file-{i}"].completed == s for i, s in enumerate(sizes))


def test_advance_overall(monkeypatch: pytest.MonkeyPatch) -> None:
    on_stdout(monkeypatch, FakeTerminal())
    with TransferProgress(True, overall_label="upload", overall_total=10 * MIB) as bars:
        bars.advance_overall(MIB)
        bars.advance_overall(2 * MIB)
        assert tasks(bars)["upload"].completed == 3 * MIB


def test_advance_overall_without_an_overall_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    on_stdout(monkeypatch, FakeTerminal())
    with TransferProgress(True) as bars:
        bars.advance_overall(MIB)  # no overall bar: nothing to move, and no error
        assert tasks(bars) == {}


def test_tasks_after_exit_are_silent(monkeypatch: pytest.MonkeyPatch) -> None:
    on_stdout(monkeypatch, FakeTerminal())
    bars = TransferProgress(True, overall_label="all", overall_total=1)
    with bars:
        pass
    assert bars._progress is None
    assert bars.task("late", 1) is progress_module._silent
    bars.advance_overall(1)  # no error once stopped


@given(st.lists(st.integers(min_value=0, max_value=4 * STEP), max_size=20))
def test_task_ends_at_its_final_size(increments: list[int]) -> None:
    out = FakeTerminal()
    saved = sys.stdout
    sys.stdout = out
    try:
        with TransferProgress(True, overall_label="all", overall_total=None) as bars:
            update = bars.task("f", None)
            done = 0
            for increment in increments:
                done += increment
                update(done, None, False)
            update(done, None, True)
            task = tasks(bars)["f"]
            assert task.completed == done
            assert task.total == done
            assert tasks(bars)["all"].completed == done
    finally:
        sys.stdout = saved


# -- CountProgress (session.map's one overall bar) -----------------------------------------------


def test_count_progress_counts_items_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    from xnat_sdk.progress import CountProgress

    out = on_stdout(monkeypatch, FakeTerminal())
    with CountProgress(True, "map", 3) as bar:
        assert bar._progress is not None
        (task,) = bar._progress.tasks
        bar.advance()
        bar.advance(2)
        assert (task.completed, task.total, task.description) == (3, 3, "map")
    assert "3/3" in out.getvalue()
    with CountProgress(False, "map", 3) as quiet:
        quiet.advance()
        assert quiet._progress is None
