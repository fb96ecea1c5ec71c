"""Walking the archive tree and applying a function at one level: xnatpy 0.8's ``map``,
``mapping_iter``, ``search`` and ``batch_download``.

``session.map(func, level="experiment")`` calls ``func(experiment, *args, **kwargs)`` for
every experiment the user can see (projects -> subjects -> experiments -> scans, resources
at each level; a subject or experiment shared into other projects once, through its
primary project when the walk goes through it, else through the first project it is seen
in: :mod:`xnat_sdk._sitewalk`), and returns ``{object uri: result}`` (below a session
reached through a project it is shared into without its subject, the path through that
project: its scans' own URIs have no project); a call that raises gives a
:class:`MappedFunctionFailed` holding the message instead of stopping the walk. Filters
(:func:`create_filter_funcs`) prune the walk: a pattern (``fnmatch``, or a regular expression
with ``use_regex=True``) matched against the level's key (project name, subject and
experiment label, scan type, resource label), or a function of the object.
``session.map_over(func, objects)`` (:func:`map_over`) makes the same calls over objects the
caller chose (a search result, a listing, files) instead of a walk.

The walk (:func:`mapping_iter`) and the calls (:func:`apply_all`) are separate steps, so an
executor can run the calls later without changing the walk; here they run one after the
other in the calling thread. With ``logfile`` the results are kept in a JSON file and a new
run with the same file skips the objects that succeeded before (xnatpy keeps YAML; the file
formats differ).
"""

from __future__ import annotations

import datetime
import enum
import fnmatch
import functools
import itertools
import json
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from urllib.parse import unquote

from xnat_sdk._record import Record
from xnat_sdk.errors import (
    XNATForbiddenError,
    XNATLocalFileError,
    XNATMapError,
    XNATServerError,
    XNATValidationError,
)

if TYPE_CHECKING:
    from concurrent.futures import Executor, ThreadPoolExecutor

    from xnat_sdk._maprun import RunOptions
    from xnat_sdk._objects.walks import Walks
    from xnat_sdk._sitewalk import SiteOnce
    from xnat_sdk.session import XNATSession

__all__ = [
    "FilterFunctions",
    "MappedFunctionFailed",
    "MappingLevel",
    "apply_all",
    "create_filter_funcs",
    "map_objects",
    "map_over",
    "mapping_iter",
]


class MappingLevel(str, enum.Enum):
    """The level a map or search works on (xnatpy's names and values)."""

    CONNECTION = "connection"
    PROJECT = "project"
    PROJECT_RESOURCE = "project_resource"
    SUBJECT = "subject"
    SUBJECT_RESOURCE = "subject_resource"
    EXPERIMENT = "experiment"
    EXPERIMENT_RESOURCE = "experiment_resource"
    SCAN = "scan"
    SCAN_RESOURCE = "scan_resource"


_ORDER = ("connection", "project", "subject", "experiment", "scan")

# The levels by what they hand out (the overloads of ``mapping_iter`` and ``search`` type
# their items by level: a scan level gives ImageScanData, a resource level AbstractResource).
ProjectLevel = Literal["project", MappingLevel.PROJECT]
SubjectLevel = Literal["subject", MappingLevel.SUBJECT]
ExperimentLevel = Literal["experiment", MappingLevel.EXPERIMENT]
ScanLevel = Literal["scan", MappingLevel.SCAN]
ResourceLevel = Literal[
    "project_resource",
    "subject_resource",
    "experiment_resource",
    "scan_resource",
    MappingLevel.PROJECT_RESOURCE,
    MappingLevel.SUBJECT_RESOURCE,
    MappingLevel.EXPERIMENT_RESOURCE,
    MappingLevel.SCAN_RESOURCE,
]


class MappedFunctionFailed:
    """The result of a mapped call that raised: its message in :attr:`message`, the object
    in :attr:`uri`, the exception's class name in :attr:`exception_type` and the traceback
    (text, from whichever thread, process or worker ran the call) in :attr:`details`."""

    def __init__(
        self, message: str, uri: str | None = None, exception_type: str = "", details: str = ""
    ) -> None:
        self.message = message
        self.uri = uri
        self.exception_type = exception_type
        self.details = details

    def __repr__(self) -> str:
        kind = f"{self.exception_type}: " if self.exception_type else ""
        return f"<MappedFunctionFailed {kind}{self.message!r}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MappedFunctionFailed) and other.message == self.message

    __hash__ = None  # type: ignore[assignment]


def _accept_all(obj: Any) -> bool:
    return True


class FilterFunctions(Record):
    """One predicate per level; an object failing its level's predicate is skipped with
    everything under it. (Compared and shown by its five predicates, as a dataclass; not
    one, to keep ``import xnat_sdk.mapping`` cheap: see :mod:`xnat_sdk._record`.)"""

    _compared = ("project", "subject", "experiment", "scan", "resource")

    project: Callable[[Any], bool]
    subject: Callable[[Any], bool]
    experiment: Callable[[Any], bool]
    scan: Callable[[Any], bool]
    resource: Callable[[Any], bool]

    def __init__(
        self,
        project: Callable[[Any], bool] = _accept_all,
        subject: Callable[[Any], bool] = _accept_all,
        experiment: Callable[[Any], bool] = _accept_all,
        scan: Callable[[Any], bool] = _accept_all,
        resource: Callable[[Any], bool] = _accept_all,
    ) -> None:
        self.project = project
        self.subject = subject
        self.experiment = experiment
        self.scan = scan
        self.resource = resource


_KEYS = {"project": "name", "subject": "label", "experiment": "label", "scan": "type"}

Pattern = str | Callable[[Any], bool] | None


def _pattern_func(level: str, pattern: str, use_regex: bool) -> Callable[[Any], bool]:
    key = _KEYS.get(level, "label")
    if use_regex:
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            raise XNATValidationError(level, f"bad regular expression {pattern!r}: {exc}") from exc
        return lambda obj: bool(compiled.fullmatch(str(getattr(obj, key, None) or "")))
    return lambda obj: fnmatch.fnmatchcase(str(getattr(obj, key, None) or ""), pattern)


def create_filter_funcs(
    project: Pattern = None,
    subject: Pattern = None,
    experiment: Pattern = None,
    scan: Pattern = None,
    resource: Pattern = None,
    use_regex: bool = False,
) -> FilterFunctions:
    """Filters from patterns or predicates (xnatpy's function of the same name).

    A pattern (``fnmatch``, case-sensitive; a regular expression matching the whole key with
    ``use_regex``) is matched, as xnatpy matches it, against ``project``: the project's
    *name* (its title, not its ID: ``project=lambda p: p.id == "P1"`` picks one by ID);
    ``subject`` and ``experiment``: the label; ``scan``: the type; ``resource``: the label.
    A function of the object (``experiment=lambda e: e.date is not None``) is used as is.
    An object its level's filter refuses is skipped with everything below it."""
    filters = FilterFunctions()
    given = {
        "project": project,
        "subject": subject,
        "experiment": experiment,
        "scan": scan,
        "resource": resource,
    }
    for level, value in given.items():
        if value is None or value == "":
            continue
        if isinstance(value, type):  # the typed builder's spelling: session.search(Cls)
            raise XNATValidationError(
                level,
                f"a pattern or a predicate, got the class {value.__name__}; the typed search "
                f"is session.query({value.__name__})",
            )
        if callable(value):
            setattr(filters, level, value)
        elif isinstance(value, str):
            setattr(filters, level, _pattern_func(level, value, use_regex))
        else:
            raise XNATValidationError(
                level, f"a filter is a pattern (str) or a function, got {type(value).__name__}"
            )
    return filters


def _level(level: MappingLevel | str) -> MappingLevel:
    try:
        return MappingLevel(level)
    except ValueError:
        names = ", ".join(m.value for m in MappingLevel)
        raise XNATValidationError("level", f"{level!r} is not a level ({names})") from None


def _kind(root: Any) -> str:
    from xnat_sdk._objects.navigation import ExperimentBase, ProjectBase, ScanBase, SubjectBase
    from xnat_sdk.session import XNATSession

    for cls, name in (
        (XNATSession, "connection"),
        (ProjectBase, "project"),
        (SubjectBase, "subject"),
        (ExperimentBase, "experiment"),
        (ScanBase, "scan"),
    ):
        if isinstance(root, cls):
            return name
    raise XNATValidationError("root", f"cannot map over a {type(root).__name__}")


_T = TypeVar("_T")
_RELIST_AFTER = 1.0
"""Seconds before a walk lists again what the server failed (5xx) to list."""


def _children(obj: Any, kind: str, target: str) -> tuple[str, Sequence[Any]]:
    """The objects one level below ``obj``: a listing the server fails (a 5xx, once) is
    asked again after :data:`_RELIST_AFTER` seconds, so that a server's bad moment does not
    end a walk of hours (a listing is a read; a second failure raises)."""
    return _twice(obj, lambda: _children_once(obj, kind, target))


def _twice(obj: Any, listed: Callable[[], _T]) -> _T:
    """``listed()``, called again once after a 5xx (see :func:`_children`)."""
    try:
        return listed()
    except XNATServerError as exc:
        session = obj if _kind(obj) == "connection" else obj.xnat_session
        session.logger.warning("%s; listing it again in %.0f s", exc, _RELIST_AFTER)
        time.sleep(_RELIST_AFTER)
    return listed()


class _Unfiled:
    """The walk's stand-in, among a project's subjects, for its experiments that none of
    them holds: those shared into the project without their subject (XNAT lists them
    among the project's experiments only). A subject filter, having no subject of the
    project to judge, leaves them out."""

    __slots__ = ("project",)

    def __init__(self, project: Any) -> None:
        self.project = project

    @property
    def xnat_session(self) -> Any:
        return self.project.xnat_session


def _children_once(obj: Any, kind: str, target: str) -> tuple[str, Sequence[Any]]:
    if kind == "connection":
        from xnat_sdk.search import readable_projects

        # the projects whose data the user reads: the projects listing also shows the
        # protected ones to everyone, whose subjects and experiments a non-member is refused
        readable = readable_projects(obj)
        return "project", [p for p in obj.projects.values() if p.id in readable]
    if kind == "project":
        if target not in ("experiment", "scan"):
            return "subject", obj.subjects.values()
        subjects = obj.subjects
        if obj.xnat_session.caching:
            from xnat_sdk._objects.tree import loaded_tree

            # the tree the user loaded (with the columns they chose), else the whole tree
            # below in three listing requests (see ProjectBase.load_tree)
            tree = loaded_tree(obj)
            subjects = tree if tree is not None else obj.load_tree()
        return "subject", [*subjects.values(), _Unfiled(obj)]
    if kind == "subject":
        if isinstance(obj, _Unfiled):
            from xnat_sdk._objects.tree import unfiled_experiments

            return "experiment", unfiled_experiments(obj.project)
        return "experiment", obj.experiments.values()
    if kind == "experiment":
        from xnat_sdk._objects.navigation import ImageSessionBase

        # only image sessions list scans (an assessor's ``scans`` are its own child items)
        return "scan", obj.scans.values() if isinstance(obj, ImageSessionBase) else []
    return "", []


def mapping_iter(
    root: Walks,
    level: MappingLevel | str,
    filter_function: FilterFunctions | None = None,
    skip: Callable[[str], bool] | None = None,
    *,
    executor: ThreadPoolExecutor | None = None,
    max_workers: int | None = None,
) -> Iterator[Any]:
    """The objects at ``level`` under ``root`` (a session or an archive object), in server
    order, pruned by ``filter_function``; ``skip(key)`` leaves out objects (done before),
    by the key a map gives their results (:func:`walk_key`).

    By default the walk is lazy and serial, as xnatpy's. With ``max_workers`` (threads) or a
    ``ThreadPoolExecutor`` the listings of the objects of one level are fetched side by side
    (a resource level lists every object's resources, one request each); the order stays the
    walk's and the last level is handed out as its listings arrive."""
    wanted = _level(level)
    filters = _check_filters(filter_function)
    target, _, resources = wanted.value.partition("_")
    kind = _kind(root)
    if _ORDER.index(target) < _ORDER.index(kind):
        raise XNATValidationError(
            "level", f"level {wanted.value!r} is above this {kind}; map from higher up"
        )
    walk = _Walk(target, bool(resources), filters, skip, site=kind == "connection")
    pool = _walk_pool(executor, max_workers)
    if pool is None:
        return walk.serial(root, kind)
    return walk.threaded(root, kind, pool, own=executor is None)


def check_max_workers(max_workers: object) -> None:
    """Refuse a ``max_workers`` that is not a whole number >= 1 (``None``: the default)."""
    if max_workers is None:
        return
    if not isinstance(max_workers, int) or isinstance(max_workers, bool) or max_workers < 1:
        raise XNATValidationError("max_workers", f"expected an int >= 1, got {max_workers!r}")


def _run_options(
    function: Callable[..., Any],
    args: Sequence[Any] | None,
    kwargs: Mapping[str, Any] | None,
    logfile: str | os.PathLike[str] | None,
    executor: Any,
    max_workers: int | None,
    stop_on_error: bool,
    verbose: bool,
    timeout: float | None,
) -> RunOptions:
    """A map's options in one record, which goes whole to its calls, its bad arguments
    refused first: before the walk and before any call (a run of hours must not find them
    at its first call, or its end)."""
    from xnat_sdk._maprun import RunOptions, check_executor

    if not callable(function):
        raise XNATValidationError(
            "function", f"expected a function to call, got {type(function).__name__}"
        )
    check_call_arguments(args, kwargs)
    check_max_workers(max_workers)
    _check_timeout(timeout)
    check_executor(executor)
    check_not_inside(executor)
    if logfile is not None:
        _check_logfile(Path(logfile))
    return RunOptions(
        function,
        tuple(args or ()),
        dict(kwargs or {}),
        executor,
        max_workers,
        stop_on_error,
        verbose,
        timeout,
    )


def _check_timeout(timeout: object) -> None:
    """Refuse a call ``timeout`` that is not a number of seconds > 0 (``None``: no limit)."""
    if timeout is not None and (
        isinstance(timeout, bool)
        or not isinstance(timeout, (int, float))
        or not 0 < timeout < float("inf")
    ):
        raise XNATValidationError(
            "timeout", f"seconds per call, a number > 0 (None: no limit), got {timeout!r}"
        )


def _check_logfile(path: Path) -> None:
    """Refuse a map's log file that is a folder or cannot be written."""
    if path.is_dir():
        raise XNATValidationError("logfile", f"{path} is a folder, not a log file")
    _check_writable(path)


def _check_filters(filter_function: object) -> FilterFunctions:
    """``filter_function`` (``None``: no filter), refused unless it holds the five
    predicates (a :class:`FilterFunctions`, or xnatpy's)."""
    if filter_function is None:
        return FilterFunctions()
    if isinstance(filter_function, FilterFunctions) or all(
        callable(getattr(filter_function, name, None)) for name in FilterFunctions._compared
    ):
        return filter_function  # type: ignore[return-value]
    raise XNATValidationError(
        "filter_function",
        f"expected FilterFunctions, got {type(filter_function).__name__} (make one with "
        "create_filter_funcs(subject=..., experiment=..., scan=...), which takes patterns "
        "or functions)",
    )


def check_not_inside(executor: object) -> None:
    """Refuse a ``ThreadPoolExecutor`` whose worker thread this is: a map (or a walk) inside
    a call that runs on that pool, on the same pool, would wait for calls queued behind its
    own, forever (a nested map given its caller's pool hung)."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    if isinstance(executor, ThreadPoolExecutor) and threading.current_thread() in getattr(
        executor, "_threads", ()
    ):
        raise XNATValidationError(
            "executor",
            "this code runs on that ThreadPoolExecutor: a map or walk on the same pool would "
            "wait for itself forever; give it another pool, or none (its own threads)",
        )


def _walk_pool(executor: Executor | None, max_workers: int | None) -> Executor | None:
    """The thread pool a walk lists on (``None``: serial). A walk lists objects bound to
    this process's session, so it runs on threads here, whatever runs the mapped calls."""
    check_max_workers(max_workers)
    check_not_inside(executor)
    if executor is None and (max_workers is None or max_workers == 1):
        return None
    from concurrent.futures import ThreadPoolExecutor

    if executor is None:
        return ThreadPoolExecutor(max_workers, thread_name_prefix="xnat-sdk-walk")
    if not isinstance(executor, ThreadPoolExecutor):
        raise XNATValidationError(
            "executor",
            "a walk lists this session's objects, so it runs on threads in this process: "
            f"expected a ThreadPoolExecutor, got {type(executor).__name__} (to run work in "
            "other processes or on Dask, use map(..., executor=...))",
        )
    return executor


_NEXT = dict(itertools.pairwise(_ORDER))


class _Walk:
    """One walk down to ``target`` (then its resources, with ``resources``)."""

    def __init__(
        self,
        target: str,
        resources: bool,
        filters: FilterFunctions,
        skip: Callable[[str], bool] | None,
        *,
        site: bool = False,
    ) -> None:
        self.target = target
        self.resources = resources
        self.filters = filters
        self.skip = skip
        self.site = site  # a walk from the session, through every project the user sees
        self.once: SiteOnce | None = None  # a walk from the session: shared objects once
        self.refused: set[str] = set()  # the projects whose data the user may not read

    def _keep(self, obj: Any, kind: str) -> bool:
        if isinstance(obj, _Unfiled):
            return self.filters.subject is _accept_all
        once = self.once
        if once is not None and not once.visits(obj, kind):
            return False  # a shared object, visited through another project
        check: Callable[[Any], bool] = getattr(self.filters, kind)
        try:
            kept = check(obj)
        except Exception as exc:  # which object, of thousands, and that it was the filter
            raise XNATValidationError(
                "filter_function",
                f"the {kind} filter raised {type(exc).__name__} on {obj.uri}: {exc}",
            ) from exc
        if not kept:
            return False
        if once is not None:  # before the log's skip: done here, it is done for the walk
            once.visited(obj, kind)
        last = "resource" if self.resources else self.target
        # an object of the level only (a log of another level prunes none)
        return not (kind == last and self.skip is not None and self.skip(_walk_key(obj)))

    def _through(self, session: Any, projects: list[Any]) -> list[Any]:
        """``projects``, the projects a walk from ``session`` goes through: below them it
        visits each shared subject (at the subject levels) or experiment (at the levels
        below) once (:class:`~xnat_sdk._sitewalk.SiteOnce`); through one project, it sees
        each once anyway."""
        if len(projects) > 1 and self.target in ("subject", "experiment", "scan"):
            from xnat_sdk._sitewalk import SiteOnce

            by_id = {unquote(str(p.uri).rstrip("/").rsplit("/", 1)[-1]): p for p in projects}
            kind = "subject" if self.target == "subject" else "experiment"
            self.once = SiteOnce(
                session,
                kind,
                by_id,
                lambda listed: _twice(session, listed),
                lambda project: self._readable(by_id[project]),
            )
        return projects

    def _readable(self, project: Any) -> bool:
        """Whether the user reads ``project``'s data: its listing, as the walk lists it (with
        caching, the walk's own listing: no request more), is not refused (403)."""
        try:
            _children(project, "project", self.target)
        except XNATForbiddenError as exc:
            self._denied(project, "project", exc)
            return False
        return True

    def _children(self, obj: Any, kind: str) -> tuple[str, Sequence[Any]]:
        """The objects one level below ``obj`` (:func:`_children`); in a walk from the
        session, none below a project whose data the user may not read (:meth:`_denied`)."""
        if kind == "project" and obj.uri in self.refused:  # asked once: 403 is not cached
            return _NEXT[kind], []
        try:
            return _children(obj, kind, self.target)
        except XNATForbiddenError as exc:
            self._denied(obj, kind, exc)
            return _NEXT[kind], []

    def _listed(self, kind: str, obj: Any) -> list[Any]:
        return list(self._children(obj, kind)[1])

    def _resources(self, kind: str, obj: Any) -> list[Any]:
        """``obj``'s resources (none of a project the user may not read: :meth:`_denied`)."""
        try:
            return _listed_resources(obj)
        except XNATForbiddenError as exc:
            self._denied(obj, kind, exc)
            return []

    def _denied(self, obj: Any, kind: str, exc: XNATForbiddenError) -> None:
        """A 403 to a listing of a project's data: XNAT lists a protected project to every
        user and refuses its data to those not in it, so a walk from the session, through
        the objects the user can see, sees none there (a walk of the project itself raises).
        """
        if not (self.site and kind == "project"):
            raise exc
        self.refused.add(obj.uri)
        obj.xnat_session.logger.info("%s: left out of the walk (%s)", obj.uri, exc)

    def serial(self, obj: Any, kind: str) -> Iterator[Any]:
        """Depth first, one listing at a time, nothing fetched before it is needed."""
        if kind == self.target:
            if self.resources:
                for resource in self._resources(kind, obj):
                    if self._keep(resource, "resource"):
                        yield resource
            else:
                yield obj
            return
        child_kind, children = self._children(obj, kind)
        kept: Iterable[Any] = (c for c in children if self._keep(c, child_kind))
        if kind == "connection":
            kept = self._through(obj, list(kept))
        for child in kept:
            yield from self.serial(child, child_kind)

    def threaded(self, root: Any, kind: str, pool: Executor, *, own: bool) -> Iterator[Any]:
        """Level by level, the listings of one level side by side: concatenating each
        level's children in their parents' order gives the depth-first order."""
        try:
            frontier = [root]
            while kind != self.target:
                child_kind = _NEXT[kind]
                listed = pool.map(functools.partial(self._listed, kind), frontier)
                kept = (c for children in listed for c in children if self._keep(c, child_kind))
                if child_kind == self.target and not self.resources:
                    yield from kept
                    return
                frontier = list(kept)
                if kind == "connection":
                    frontier = self._through(root, frontier)
                kind = child_kind
            if not self.resources:
                yield from frontier
                return
            for found in pool.map(functools.partial(self._resources, kind), frontier):
                yield from (r for r in found if self._keep(r, "resource"))
        finally:
            if own:
                pool.shutdown(wait=False, cancel_futures=True)


def _listed_resources(obj: Any) -> list[Any]:
    return _twice(obj, lambda: list(obj.resources.values()))


def check_batch_folders(items: Sequence[Any]) -> None:
    """Refuse (before anything is downloaded) a ``batch_download`` whose objects of different
    subjects or sessions would be unpacked into one folder: each object's ``download_dir``
    goes into the folder of its subject's or session's label (a scan, a resource below a
    session: the session's), and one label in two projects (``MR1`` in P1 and in P2) put the
    second's files over the first's, silently. Two labels that differ only in case
    (``MR1``, ``mr1``) are one folder on a case-insensitive file system."""
    from xnat_sdk._objects.navigation import ExperimentBase, SubjectBase
    from xnat_sdk.errors import XNATCaseCollisionError, XNATFileExistsError
    from xnat_sdk.transfers._paths import _safe_name, case_key

    seen: dict[str, tuple[str, str]] = {}  # case key -> (folder, owner's URI)
    for item in items:
        owner = item
        while owner is not None and not isinstance(owner, (SubjectBase, ExperimentBase)):
            owner = getattr(owner, "parent", None)  # a project's: named by its unique ID
        label = getattr(owner, "label", None)
        if owner is None or not label:
            continue
        folder, uri = _safe_name(str(label)), str(owner.uri)
        other = seen.setdefault(case_key(Path(folder)), (folder, uri))
        if other[1] == uri:
            continue
        if other[0] != folder:
            raise XNATCaseCollisionError(folder, other[0], uri, other[1])
        error = XNATFileExistsError(
            f"{other[1]} and {uri} would both be unpacked into the folder {folder}, one over "
            "the other; nothing was downloaded"
        )
        error.remedy = "download each project's into a folder of its own (project=...)"
        raise error


def apply_all(
    items: Iterator[Any],
    function: Callable[..., Any],
    args: Sequence[Any] = (),
    kwargs: Mapping[str, Any] | None = None,
    record: Callable[[str, bool, Any], None] | None = None,
) -> dict[str, Any]:
    """Call ``function(item, *args, **kwargs)`` for every item in this thread, one after the
    other: ``{key: result}`` (:func:`walk_key`), a failed call giving
    :class:`MappedFunctionFailed` (``record`` hears every outcome)."""
    from xnat_sdk._objects.travel import call_one

    results: dict[str, Any] = {}
    for item in items:
        found = call_one(function, item, args, kwargs or {})
        key = _walk_key(item)
        results[key] = _result(key, found)
        if record is not None:
            record(key, found.ok, found.value if found.ok else found.message)
    return results


def _object_session(root: Walks) -> XNATSession:
    from xnat_sdk._objects.core import XNATObject

    if not isinstance(root, XNATObject):
        raise XNATValidationError("root", f"cannot map over a {type(root).__name__}")
    return root._xnat_bound_session()


def _walk_key(obj: Any) -> str:
    """The key of ``obj``'s result in a map and its log: its URI, but the project's path
    below a session reached through a project it is shared into without its subject (whose
    scans XNAT serves at a path without the project): ``_objects.core.reached_uri``. A walk
    from the session reaches a shared object through one project only (see
    :mod:`xnat_sdk._sitewalk`), so its keys are distinct too."""
    from xnat_sdk._objects.core import reached_uri

    return reached_uri(obj)


def _result(uri: str, found: Any) -> Any:
    if found.ok:
        return found.value
    return MappedFunctionFailed(found.message, uri, found.exception_type, found.details)


def _load_log(path: Path) -> dict[str, dict[str, Any]]:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text() or "{}")
    except (OSError, ValueError) as exc:
        raise XNATLocalFileError(str(path), f"not a map log file: {exc}") from exc
    if not isinstance(data, dict):
        raise XNATLocalFileError(str(path), "not a map log file (expected a JSON object)")
    return data


def _check_writable(path: Path) -> None:
    """Refuse a log file that cannot be written, before anything runs (the first write
    failed, a second into the run or at its end, and the results went with it)."""
    folder = path.parent
    if not folder.is_dir():
        raise XNATLocalFileError(str(path), f"cannot keep the map log: no folder {folder}")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise XNATLocalFileError(str(path), "cannot keep the map log: not writable")


_LOG_INTERVAL = 1.0
"""Seconds between two writes of a map's log file during a run."""


def _save_log(path: Path, state: Mapping[str, Any]) -> None:
    """Write the log whole under a new temporary name, then rename: a run stopped mid-write
    leaves the previous log, never half of one. The name is new and made exclusively
    (``mkstemp``): a link planted under a fixed name (the log's folder may be shared, as
    ``/tmp`` is) would have the log written through it, outside that folder."""
    import tempfile

    text = json.dumps(state, indent=2)
    try:
        fd, part = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    except OSError as exc:
        raise XNATLocalFileError(str(path), f"cannot write the map log: {exc}") from exc
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.replace(part, path)
    except OSError as exc:
        Path(part).unlink(missing_ok=True)
        raise XNATLocalFileError(str(path), f"cannot write the map log: {exc}") from exc


def map_objects(
    root: Walks,
    function: Callable[..., Any],
    level: MappingLevel | str,
    args: Sequence[Any] | None = None,
    kwargs: Mapping[str, Any] | None = None,
    filter_function: FilterFunctions | None = None,
    logfile: str | os.PathLike[str] | None = None,
    *,
    executor: Any = None,
    max_workers: int | None = None,
    stop_on_error: bool = False,
    verbose: bool = False,
    timeout: float | None = None,
) -> dict[str, Any]:
    """``root.map(...)``: see the module's docstring."""
    from concurrent.futures import ThreadPoolExecutor

    from xnat_sdk.session import XNATSession

    options = _run_options(
        function, args, kwargs, logfile, executor, max_workers, stop_on_error, verbose, timeout
    )
    session = root if isinstance(root, XNATSession) else _object_session(root)
    run = _LoggedRun(logfile)
    # the walk lists on the calls' thread pool, else on max_workers (8) threads of its own
    threads = executor if isinstance(executor, ThreadPoolExecutor) else None
    walked = list(
        mapping_iter(
            root,
            level,
            filter_function,
            executor=threads,
            max_workers=None if threads is not None else options.threads,
        )
    )
    given: dict[str, Any] = {}
    for item in walked:  # (the walk reaches each object, by its key, once)
        given.setdefault(_walk_key(item), item)
    return run.results(session, given, options)


def map_over(
    session: XNATSession,
    function: Callable[..., Any],
    objects: Iterable[Any],
    args: Sequence[Any] | None = None,
    kwargs: Mapping[str, Any] | None = None,
    logfile: str | os.PathLike[str] | None = None,
    *,
    executor: Any = None,
    max_workers: int | None = None,
    stop_on_error: bool = False,
    verbose: bool = False,
    timeout: float | None = None,
) -> dict[str, Any]:
    """``session.map_over(...)``: ``function`` over objects the caller chose (a search
    result, a listing, a filtered list), run as :meth:`map` runs its calls; the result in
    the objects' order, each object once (by URI)."""
    options = _run_options(
        function, args, kwargs, logfile, executor, max_workers, stop_on_error, verbose, timeout
    )
    session._rest.check_connection()  # a closed session refuses, even with nothing to call
    given = _own_objects(session, objects)
    return _LoggedRun(logfile).results(session, given, options)


def _own_objects(session: XNATSession, objects: Iterable[Any]) -> dict[str, Any]:
    """``{uri: object}`` of ``objects`` (first of each URI), all objects or files of
    ``session`` (an object of another session would be sent to a server the run's token is
    not for)."""
    from xnat_sdk._objects.core import XNATObject
    from xnat_sdk.listings import Listing, RemoteFile

    # a listing is a Mapping whose iteration gives its objects; any other mapping gives keys
    if isinstance(objects, (str, bytes, Mapping)) and not isinstance(objects, Listing):
        hint = " (its .values())" if isinstance(objects, Mapping) else ""
        raise XNATValidationError(
            "objects",
            f"expected objects (a list, a listing, a search result), got "
            f"{type(objects).__name__}{hint}",
        )
    given: dict[str, Any] = {}
    for n, obj in enumerate(objects):
        if isinstance(obj, XNATObject):
            owner, uri = obj._xnat_session, obj._xnat_uri
        elif isinstance(obj, RemoteFile):
            owner, uri = obj._session, obj.uri
        else:
            raise XNATValidationError(
                "objects", f"item {n} is a {type(obj).__name__}, not an XNAT object or file"
            )
        if not uri:
            raise XNATValidationError(
                "objects", f"item {n} ({type(obj).__name__}) is not on the server (no REST path)"
            )
        if owner is not session:
            raise XNATValidationError(
                "objects", f"item {n} ({type(obj).__name__} {uri}) is of another session"
            )
        given.setdefault(uri, obj)
    return given


def check_call_arguments(args: object, kwargs: object) -> None:
    """Refuse ``args`` that are not a sequence of values (a string was split into its
    characters: ``args="T1"`` called ``f(obj, "T", "1")``) and ``kwargs`` that are not a
    mapping of names (a bare ValueError or TypeError came from ``dict()``)."""
    if args is not None and (
        not isinstance(args, Sequence) or isinstance(args, (str, bytes, bytearray))
    ):
        raise XNATValidationError(
            "args",
            f"the extra positional arguments as a tuple or list, got {type(args).__name__} "
            f"{args!r:.60} (one argument: args=(value,); the third positional argument of map "
            "is args: pass filter_function=... and logfile=... by name)",
        )
    if kwargs is not None and (
        not isinstance(kwargs, Mapping) or not all(isinstance(k, str) for k in kwargs)
    ):
        raise XNATValidationError(
            "kwargs",
            f"the keyword arguments as a dict of names: expected a dict of str keys, got "
            f"{kwargs!r:.60}",
        )


def _json_value(value: object) -> Any:
    """A date or time a result holds (a field such as ``experiment.date``), as the log keeps
    it: ISO text, which a later run gives back for that object; a NumPy number or array
    (``numpy.int64``, which ``json`` refuses, is what most image statistics give) as the
    number or the nested lists of numbers it holds (its ``tolist()``)."""
    if isinstance(value, (datetime.date, datetime.time)):  # a datetime is a date
        return value.isoformat()
    tolist = getattr(value, "tolist", None)
    if type(value).__module__ == "numpy" and callable(tolist):  # numpy is not imported here
        return tolist()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


class _LoggedRun:
    """A map run's log: the state read from ``logfile`` (what succeeded is skipped), kept
    up to date as calls finish and written whole at the end."""

    def __init__(self, logfile: str | os.PathLike[str] | None) -> None:
        self.path = Path(logfile) if logfile is not None else None  # checked by _run_options
        self.state = _load_log(self.path) if self.path is not None else {}
        self.done = {uri for uri, entry in self.state.items() if entry.get("success")}
        self._written = time.monotonic()

    def record(self, uri: str, found: Any) -> None:
        if self.path is None:
            return
        result = found.value if found.ok else found.message
        try:
            kept = json.loads(json.dumps(result, default=_json_value))
        except (TypeError, ValueError) as exc:
            raise XNATValidationError(
                "function", f"with a logfile the results must be JSON data: {exc}"
            ) from exc
        self.state[uri] = {"success": found.ok, "result": kept}
        # the whole log at most once a second (rewriting it per result is quadratic in the
        # number of objects), and once more when the run ends
        if time.monotonic() - self._written >= _LOG_INTERVAL:
            _save_log(self.path, self.state)
            self._written = time.monotonic()

    def results(
        self, session: XNATSession, given: Mapping[str, Any], options: RunOptions
    ) -> dict[str, Any]:
        """The result of each object of ``given`` (by its key), in its order: as this log
        kept it when it succeeded in an earlier run, else as its call now ends."""
        todo = [key for key in given if key not in self.done]
        outcomes = self.calls(session, [given[key] for key in todo], todo, options)
        found = {key: _result(key, o) for key, o in zip(todo, outcomes, strict=True)}
        return {key: found[key] if key in found else self.state[key]["result"] for key in given}

    def calls(
        self, session: XNATSession, items: list[Any], keys: list[str], options: RunOptions
    ) -> list[Any]:
        """The outcome of the run's call on each item, in the items' order, each logged by
        the item's key in ``keys`` (see ``_maprun.run_calls``)."""
        from xnat_sdk._maprun import run_calls

        if not items:  # nothing to call: no token issued, no pool started
            return []
        ended: dict[str, Any] = {}

        def heard(uri: str, found: Any) -> None:
            ended[uri] = found
            self.record(uri, found)

        try:
            return run_calls(session, items, keys, options, heard)
        except XNATMapError as exc:  # stop_on_error: what ended before the stop, in order
            exc.results = {key: _result(key, ended[key]) for key in keys if key in ended}
            raise
        finally:
            if self.path is not None:
                _save_log(self.path, self.state)
