"""Progress reporting for transfers: rich progress bars on a terminal, silence elsewhere.

A :class:`TransferProgress` shows one bar per transfer (bytes, speed, time left) and, for
work spanning many files, an overall bar. Bars appear only when ``verbose`` is true and
standard output is a terminal; otherwise every call is a no-op. ``rich`` is imported only
when a bar is really shown. A :class:`CountProgress` (``session.map``'s calls) logs its
progress instead where it draws no bar (a batch job's log), as bulk downloads do.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

__all__ = [
    "PROGRESS_LOG_SECONDS",
    "CountProgress",
    "ProgressCallback",
    "TransferProgress",
    "wants_bars",
]

PROGRESS_LOG_SECONDS = 60.0
"""Seconds between two lines of progress a ``map`` run with ``verbose=True`` logs (logger
``xnat_sdk``, INFO) where it draws no bar (standard output no terminal: a batch job's log).
"""

_log = logging.getLogger("xnat_sdk")

_MIN_STEP = 1 << 18
"""Bars move in steps of at least this many bytes (and at the end)."""

_OWN_BAR = 1 << 20
"""With ``drop_finished``, smaller transfers of a known size get no bar of their own."""

ProgressCallback = Callable[[int, "int | None", bool], None]
"""``update_func(bytes_so_far, total_or_None, finished)`` as in xnatpy."""


def wants_bars(verbose: bool) -> bool:
    """True when bars should be drawn: ``verbose`` and standard output is a terminal."""
    if not verbose:
        return False
    isatty = getattr(sys.stdout, "isatty", None)
    try:
        return bool(isatty()) if isatty is not None else False
    except (OSError, ValueError):
        return False


class TransferProgress:
    """Bars for one or many transfers; use as a context manager.

    ``overall_total`` (bytes) or ``overall_files`` adds an overall bar for multi-file work.
    ``drop_finished`` removes each transfer's bar once it is finished, and gives a transfer
    of less than :data:`_OWN_BAR` bytes no bar of its own (it moves the overall bar only):
    with thousands of small files, only the large ones under way and the overall bar are
    on screen (every bar kept is drawn again at each refresh, and each new bar draws them
    all at once).
    """

    def __init__(
        self,
        verbose: bool,
        *,
        overall_label: str | None = None,
        overall_total: int | None = None,
        drop_finished: bool = False,
    ) -> None:
        self.enabled = wants_bars(verbose)
        self._drop_finished = drop_finished
        self._progress: Any = None
        self._overall: Any = None
        self._overall_label = overall_label
        self._overall_total = overall_total

    def __enter__(self) -> TransferProgress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )

            console = Console(file=sys.stdout, force_terminal=True)
            self._progress = Progress(
                TextColumn("[bold]{task.description}", justify="left"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                console=console,
                transient=False,
            )
            self._progress.start()
            if self._overall_label is not None:
                self._overall = self._progress.add_task(
                    self._overall_label, total=self._overall_total
                )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def task(self, description: str, total: int | None) -> ProgressCallback:
        """A new bar; returns the xnatpy-style ``update_func`` that moves it."""
        progress = self._progress
        if progress is None:
            return _silent
        overall = self._overall
        if self._drop_finished and total is not None and total < _OWN_BAR:
            return _overall_only(progress, overall)
        task_id = progress.add_task(description, total=total)
        drop = self._drop_finished
        last = [0]

        def update(done: int, total_now: int | None, finished: bool) -> None:
            step = done - last[0]
            if not finished and 0 < step < _MIN_STEP:
                return  # keep per-read callbacks (16 KiB on uploads) cheap
            last[0] = done
            if total_now is not None:
                progress.update(task_id, completed=done, total=total_now)
            else:
                progress.update(task_id, completed=done)
            if overall is not None and step:
                progress.advance(overall, step)
            if finished:
                # a finished transfer shows its total as done: a zip's bytes (headers,
                # compression) differ from the listed sizes its bar and the overall bar
                # count against
                end = total_now or done
                progress.update(task_id, completed=end, total=end)
                if overall is not None and end != done:
                    progress.advance(overall, end - done)
                if drop:
                    progress.remove_task(task_id)

        return update

    def set_overall_total(self, total: int | None) -> None:
        """Give the overall bar its total (bytes), once it is known."""
        if self._progress is not None and self._overall is not None:
            self._progress.update(self._overall, total=total)

    def advance_overall(self, nbytes: int) -> None:
        """Move the overall bar by ``nbytes`` (work not reported through a task)."""
        if self._progress is not None and self._overall is not None:
            self._progress.advance(self._overall, nbytes)


def _overall_only(progress: Any, overall: Any) -> ProgressCallback:
    """An ``update_func`` that moves only the overall bar (if any), by the whole transfer
    when it is finished."""
    if overall is None:
        return _silent

    def update(done: int, total: int | None, finished: bool) -> None:
        if finished:
            progress.advance(overall, total or done)

    return update


def _silent(done: int, total: int | None, finished: bool) -> None:
    """The no-op progress callback."""


def default_update_func(total: int | None) -> ProgressCallback:
    """xnatpy's ``default_update_func``: a progress callback (``update_func``) that draws a
    bar on a terminal for a transfer of ``total`` bytes (None: unknown) and closes it when
    called with ``finished=True``; silent when stdout is no terminal."""
    bars = TransferProgress(True)
    if not bars.enabled:
        return _silent
    bars.__enter__()
    update = bars.task("transfer", total)

    def callback(done: int, total_now: int | None, finished: bool) -> None:
        update(done, total_now, finished)
        if finished:
            bars.__exit__(None, None, None)

    return callback


class CountProgress:
    """One bar counting finished items (``session.map``'s calls); a context manager. With
    ``verbose`` it draws the bar when standard output is a terminal and otherwise logs on
    the ``xnat_sdk`` logger at INFO: a line at the start, one every
    :data:`PROGRESS_LOG_SECONDS` with the items done and failed, one at the end."""

    def __init__(self, verbose: bool, label: str, total: int) -> None:
        self.enabled = wants_bars(verbose)
        self._logs = verbose and not self.enabled and _log.isEnabledFor(logging.INFO)
        self._label = label
        self._total = total
        self._progress: Any = None
        self._task: Any = None
        self._done = self._failed = 0
        self._started = self._logged = time.monotonic()

    def __enter__(self) -> CountProgress:
        if self._logs:
            _log.info("%s: %d calls to make", self._label, self._total)
        if self.enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=Console(file=sys.stdout, force_terminal=True),
            )
            self._progress.start()
            self._task = self._progress.add_task(self._label, total=self._total)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        if self._logs:
            self._line(" (finished)" if exc_type is None else f" (stopped: {exc_type.__name__})")

    def advance(self, count: int = 1, *, failed: int = 0) -> None:
        """``count`` more items are done, ``failed`` of them failed."""
        if self._progress is not None:
            self._progress.advance(self._task, count)
        self._done += count
        self._failed += failed
        if self._logs and time.monotonic() - self._logged >= PROGRESS_LOG_SECONDS:
            self._logged = time.monotonic()
            self._line("")

    def _line(self, end: str) -> None:
        _log.info(
            "%s: %d of %d calls done, %d failed, %.0f s%s",
            self._label,
            self._done,
            self._total,
            self._failed,
            time.monotonic() - self._started,
            end,
        )
