"""xnatpy 0.8's tree walks as methods, for a session and the archive objects alike:
``mapping_iter`` (typed by level) and ``map`` (see :mod:`xnat_sdk.mapping`, loaded when a walk
first runs)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, overload

if TYPE_CHECKING:
    from concurrent.futures import Executor, ThreadPoolExecutor

    from xnat_sdk.mapping import (
        ExperimentLevel,
        FilterFunctions,
        MappedFunctionFailed,
        MappingLevel,
        ProjectLevel,
        ResourceLevel,
        ScanLevel,
        SubjectLevel,
    )
    from xnat_sdk.models import (
        AbstractResource,
        ExperimentData,
        ImageScanData,
        ProjectData,
        SubjectData,
    )

__all__ = ["Walks"]

R = TypeVar("R")


class Walks:
    """Mixin: ``mapping_iter`` and ``map`` from this object (or session) down."""

    __slots__ = ()

    def _walk_check(self, what: str) -> None:
        """Refuse a walk before it starts (a session without the typed model does)."""

    @overload
    def mapping_iter(
        self,
        level: ProjectLevel,
        filter_function: FilterFunctions | None = None,
        *,
        executor: ThreadPoolExecutor | None = None,
        max_workers: int | None = None,
    ) -> Iterator[ProjectData]: ...
    @overload
    def mapping_iter(
        self,
        level: SubjectLevel,
        filter_function: FilterFunctions | None = None,
        *,
        executor: ThreadPoolExecutor | None = None,
        max_workers: int | None = None,
    ) -> Iterator[SubjectData]: ...
    @overload
    def mapping_iter(
        self,
        level: ExperimentLevel,
        filter_function: FilterFunctions | None = None,
        *,
        executor: ThreadPoolExecutor | None = None,
        max_workers: int | None = None,
    ) -> Iterator[ExperimentData]: ...
    @overload
    def mapping_iter(
        self,
        level: ScanLevel,
        filter_function: FilterFunctions | None = None,
        *,
        executor: ThreadPoolExecutor | None = None,
        max_workers: int | None = None,
    ) -> Iterator[ImageScanData]: ...
    @overload
    def mapping_iter(
        self,
        level: ResourceLevel,
        filter_function: FilterFunctions | None = None,
        *,
        executor: ThreadPoolExecutor | None = None,
        max_workers: int | None = None,
    ) -> Iterator[AbstractResource]: ...
    @overload
    def mapping_iter(
        self,
        level: MappingLevel | str,
        filter_function: FilterFunctions | None = None,
        *,
        executor: ThreadPoolExecutor | None = None,
        max_workers: int | None = None,
    ) -> Iterator[Any]: ...
    def mapping_iter(
        self,
        level: MappingLevel | str,
        filter_function: FilterFunctions | None = None,
        *,
        executor: ThreadPoolExecutor | None = None,
        max_workers: int | None = None,
    ) -> Iterator[Any]:
        """The objects at ``level`` (``"experiment"``, ``MappingLevel.SCAN`` ...) below this
        object (from a session: all the user can see, a shared subject or session once),
        walking projects -> subjects -> experiments -> scans (filters prune it): lazily, one
        listing at a time, or with ``max_workers`` threads (or a ``ThreadPoolExecutor``)
        listing the objects of a level side by side, in the same order (see
        :func:`xnat_sdk.mapping.mapping_iter`). Typed by level: a scan level gives
        :class:`~xnat_sdk.models.ImageScanData`, a resource level
        :class:`~xnat_sdk.models.AbstractResource` ..."""
        self._walk_check("mapping_iter")
        from xnat_sdk.mapping import mapping_iter

        return mapping_iter(
            self, level, filter_function, executor=executor, max_workers=max_workers
        )

    @overload
    def map(
        self,
        function: Callable[..., R],
        level: MappingLevel | str,
        args: Sequence[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
        filter_function: FilterFunctions | None = None,
        logfile: None = None,
        *,
        executor: Executor | Any = None,
        max_workers: int | None = None,
        stop_on_error: bool = False,
        verbose: bool = False,
        timeout: float | None = None,
    ) -> dict[str, R | MappedFunctionFailed]: ...
    @overload
    def map(
        self,
        function: Callable[..., Any],
        level: MappingLevel | str,
        args: Sequence[Any] | None,
        kwargs: Mapping[str, Any] | None,
        filter_function: FilterFunctions | None,
        logfile: str | os.PathLike[str],
        *,
        executor: Executor | Any = None,
        max_workers: int | None = None,
        stop_on_error: bool = False,
        verbose: bool = False,
        timeout: float | None = None,
    ) -> dict[str, Any]: ...
    @overload
    def map(
        self,
        function: Callable[..., Any],
        level: MappingLevel | str,
        args: Sequence[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
        filter_function: FilterFunctions | None = None,
        *,
        logfile: str | os.PathLike[str],
        executor: Executor | Any = None,
        max_workers: int | None = None,
        stop_on_error: bool = False,
        verbose: bool = False,
        timeout: float | None = None,
    ) -> dict[str, Any]: ...
    def map(
        self,
        function: Callable[..., Any],
        level: MappingLevel | str,
        args: Sequence[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
        filter_function: FilterFunctions | None = None,
        logfile: str | os.PathLike[str] | None = None,
        *,
        executor: Executor | Any = None,
        max_workers: int | None = None,
        stop_on_error: bool = False,
        verbose: bool = False,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """``function(obj, *args, **kwargs)`` for every object at ``level`` below this object
        (from a session: all the user can see, a shared subject or session once, through
        its primary project when the walk goes through it, else the first project it is
        seen in): ``{uri: result}`` (the scans of a session shared into a project without
        its subject are keyed by the path through the project,
        ``/data/projects/P/experiments/E/scans/1``; typed ``dict[str, R |
        MappedFunctionFailed]`` for a function returning ``R``; with ``logfile``, whose
        earlier results come back as JSON data, dates as ISO text, ``dict[str, Any]``)
        in walk order (a call that raised gives a :class:`~xnat_sdk.mapping.MappedFunctionFailed`
        naming the object and the exception; the others go on unless ``stop_on_error``, which
        raises :class:`~xnat_sdk.errors.XNATMapError`); with ``logfile`` a new run skips what
        succeeded before (see :mod:`xnat_sdk.mapping`).

        The calls run on ``executor``: by default ``max_workers`` (8) threads sharing this session;
        any ``concurrent.futures.Executor`` (a ``ProcessPoolExecutor``...) or a Dask
        ``distributed.Client`` (``pip install xnat-sdk[dask]``). Outside this process the
        objects travel pickled without credentials and attach, in each worker process, to one
        session logged in with an alias token of this run (renewed while the run lasts, every
        one invalidated at its end), kept alive while a call runs; a call whose token died
        while it waited in the executor's queue is sent again with the current one.
        ``timeout`` (seconds per call; None: no limit) fails a call running longer with
        :class:`~xnat_sdk.errors.XNATMapTimeoutError` and the run does not wait for it (a
        thread or process cannot be stopped: it runs on, its result discarded).
        ``verbose`` shows one overall progress bar on a terminal, and elsewhere logs the
        calls done and failed on the ``xnat_sdk`` logger at INFO (at the start, every
        :data:`xnat_sdk.progress.PROGRESS_LOG_SECONDS` and at the end)."""
        self._walk_check("map")
        from xnat_sdk.mapping import map_objects

        return map_objects(
            self,
            function,
            level,
            args,
            kwargs,
            filter_function,
            logfile,
            executor=executor,
            max_workers=max_workers,
            stop_on_error=stop_on_error,
            verbose=verbose,
            timeout=timeout,
        )
