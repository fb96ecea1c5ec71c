"""Running ``session.map``'s calls on an executor: threads (default), any
``concurrent.futures.Executor`` or a Dask ``distributed.Client``.

Threads share the calling session. Anything else runs the calls elsewhere: each object goes
pickled (no credentials, :mod:`xnat_sdk._objects.travel`) with a :class:`RunTask` carrying
an alias token issued for this run and invalidated when it ends, whatever happens. Results
come back in walk order; a failed call is a :class:`~xnat_sdk.mapping.MappedFunctionFailed`
naming the object and the exception, and the others go on unless ``stop_on_error``.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import pickle
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from xnat_sdk._objects.travel import Outcome, RunTask, call_one, close_sessions
from xnat_sdk.errors import XNATMapError, XNATNotPicklableError, XNATValidationError
from xnat_sdk.progress import CountProgress

if TYPE_CHECKING:
    from xnat_sdk.session import XNATSession

__all__ = ["run_calls"]

Record = Callable[[str, Outcome], None]


def _is_dask(executor: object) -> bool:
    module = type(executor).__module__ or ""
    return module.split(".", 1)[0] == "distributed" and hasattr(executor, "submit")


def _check(executor: object) -> None:
    if executor is None or isinstance(executor, cf.Executor) or _is_dask(executor):
        return
    raise XNATValidationError(
        "executor",
        "expected a concurrent.futures.Executor or a dask distributed.Client, got "
        f"{type(executor).__name__}",
    )


def _as_completed(futures: list[Any], dask: bool) -> Iterator[Any]:
    if dask:
        from distributed import as_completed

        return iter(as_completed(futures))  # type: ignore[no-untyped-call]
    return cf.as_completed(futures)


def _outcome(future: Any) -> Outcome:
    try:
        found = future.result()
    except BaseException as exc:  # the worker itself failed (died, was cancelled)
        return Outcome(False, None, type(exc).__name__, str(exc) or repr(exc), "")
    if isinstance(found, Outcome):
        return found
    return Outcome(*found)  # a Dask worker may hand the named tuple back as a tuple


def _collect(
    items: list[Any],
    futures: list[Any],
    dask: bool,
    stop_on_error: bool,
    record: Record,
    verbose: bool,
) -> list[Outcome]:
    index = {id(f): n for n, f in enumerate(futures)}
    outcomes: list[Outcome | None] = [None] * len(futures)
    try:
        with CountProgress(verbose, "map", len(futures)) as bar:
            for future in _as_completed(futures, dask):
                n = index[id(future)]
                found = _outcome(future)
                outcomes[n] = found
                record(items[n].uri, found)
                bar.advance()
                if not found.ok and stop_on_error:
                    raise XNATMapError(
                        items[n].uri, found.exception_type, found.message, found.details
                    )
    except BaseException:
        # whatever stops the run (a failure with stop_on_error, a result the log cannot
        # keep, Ctrl-C) stops it now: the calls not started yet never start
        for other in futures:
            other.cancel()
        raise
    return [o if o is not None else Outcome(False, None, "CancelledError", "") for o in outcomes]


def _local_calls(
    pool: Any,
    items: list[Any],
    function: Callable[..., Any],
    args: Sequence[Any],
    kwargs: Mapping[str, Any],
) -> list[Any]:
    return [pool.submit(call_one, function, item, args, kwargs) for item in items]


def _remote_calls(
    executor: Any,
    items: list[Any],
    task: RunTask,
    dask: bool,
) -> list[Any]:
    payloads = [pickle.dumps(item) for item in items]
    if not dask:  # a process pool pickles with pickle: say so now, not once per object
        try:
            pickle.dumps(task)
        except Exception as exc:
            raise XNATNotPicklableError(
                f"the function or its arguments cannot be sent to {type(executor).__name__}: "
                f"{exc} (use a module-level function, or a dask Client, which pickles more)"
            ) from exc
        return [executor.submit(task, p) for p in payloads]
    return [executor.submit(task, p, pure=False) for p in payloads]


def run_calls(
    session: XNATSession,
    items: list[Any],
    function: Callable[..., Any],
    args: Sequence[Any],
    kwargs: Mapping[str, Any],
    *,
    executor: Any,
    max_workers: int | None,
    stop_on_error: bool,
    record: Record,
    verbose: bool,
) -> list[Outcome]:
    """The outcome of ``function(item, *args, **kwargs)`` for every item, in order."""
    _check(executor)
    if executor is None or isinstance(executor, cf.ThreadPoolExecutor):
        with contextlib.ExitStack() as stack:
            pool = executor
            if pool is None:
                pool = stack.enter_context(cf.ThreadPoolExecutor(max_workers or 8))
            futures = _local_calls(pool, items, function, args, kwargs)
            return _collect(items, futures, False, stop_on_error, record, verbose)
    dask = _is_dask(executor)
    token = session.services.issue_token()
    try:
        task = RunTask(
            session.server,
            token.alias,
            token.secret,
            True if session.interface.verify is None else session.interface.verify,
            function,
            tuple(args),
            dict(kwargs),
        )
        futures = _remote_calls(executor, items, task, dask)
        return _collect(items, futures, dask, stop_on_error, record, verbose)
    finally:
        try:
            if dask:  # the workers log their run sessions out (a process pool cannot be
                # reached worker by worker: its sessions go when the next run or the process
                # ends, and the token they logged in with is dead either way)
                with contextlib.suppress(Exception):
                    executor.run(close_sessions, session.server, token.alias)
        finally:
            session.services.invalidate_token(token)
