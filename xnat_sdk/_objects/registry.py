"""The model registry: which generated class stands for an ``xsi:type``.

The core models (:mod:`xnat_sdk.models`) come first, then the site packages registered with
:func:`register_models` (made by ``xnat-sdk generate``), unless a session was opened with
``extension_types=False``. A type nobody knows is answered with the caller's generic class,
and a warning (once per type) suggests ``xnat-sdk generate``.
"""

from __future__ import annotations

import importlib
import warnings
import weakref
from types import ModuleType
from typing import TYPE_CHECKING, TypeVar

from xnat_sdk.errors import XNATNotConnectedError, XNATUnknownTypeWarning, XNATValueError

if TYPE_CHECKING:
    from xnat_sdk._objects.core import XNATObject
    from xnat_sdk.session import XNATSession

__all__ = ["class_for", "model_class", "register_models", "warn_unknown_type"]

_B = TypeVar("_B")
_LOOKUP: dict[tuple[str, bool], type[XNATObject] | None] = {}
_SITE_PACKAGES: list[ModuleType] = []
_warned_types: set[str] = set()


def warn_unknown_type(xsi: str) -> None:
    """Warn (once per type) that an ``xsi:type`` has no generated model."""
    if xsi in _warned_types:
        return
    _warned_types.add(xsi)
    warnings.warn(
        XNATUnknownTypeWarning(
            f"the server returned xsi:type {xsi!r}, which the generated models do not know; "
            "it is handed out as a generic object (raw fields and REST verbs only). Run "
            "`xnat-sdk generate --schemas <the site's XSDs> --out <package>` for typed classes."
        ),
        stacklevel=3,
    )


def register_models(package: str | ModuleType) -> ModuleType:
    """Use a site's generated models package (``xnat-sdk generate``) for its xsi types.

    After ``register_models("my_site_models")`` an object whose ``xsi:type`` the core models
    do not know, but the site package does, is an instance of the site's generated class
    (typed fields, the right runtime base) instead of a generic object. ``connect(...,
    extension_types=["my_site_models"])`` does the same. Returns the package.
    """
    try:
        module = importlib.import_module(package) if isinstance(package, str) else package
    except ImportError as exc:
        raise XNATValueError(f"cannot import the models package {package!r}: {exc}") from exc
    if not isinstance(module, ModuleType) or not callable(getattr(module, "model_for", None)):
        raise XNATValueError(
            f"{package!r} is not a generated models package (it has no model_for); "
            "make one with: xnat-sdk generate --schemas DIR --out PACKAGE_DIR"
        )
    if module not in _SITE_PACKAGES:
        _SITE_PACKAGES.append(module)
    _LOOKUP.clear()
    return module


def model_class(xsi: str, session: XNATSession | None = None) -> type[XNATObject] | None:
    """The generated class for an ``xsi:type``: the core models first, then the registered
    site packages unless ``session`` was opened with ``extension_types=False`` (None when
    none of them knows it)."""
    sites = session is None or session.extension_types
    key = (xsi, sites)
    if key in _LOOKUP:
        return _LOOKUP[key]
    found: type[XNATObject] | None
    try:
        from xnat_sdk.models import model_for

        found = model_for(xsi)
    except (ImportError, LookupError, ValueError, AttributeError):
        found = None
    for site in _SITE_PACKAGES if sites else ():
        if found is not None:
            break
        try:
            candidate = site.model_for(xsi)
        except (LookupError, ValueError, AttributeError):
            candidate = None
        # the site package's answer must be the class it generated for this very type
        if isinstance(candidate, type) and getattr(candidate, "__xsi_type__", None) == xsi:
            found = candidate
    _LOOKUP[key] = found
    return found


_CURRENT: list[weakref.ref[XNATSession]] = []


def use_session(session: XNATSession) -> None:
    """Remember ``session`` as the one ``Cls.query()`` searches when not told."""
    _CURRENT[:] = [weakref.ref(session)]


def current_session() -> XNATSession:
    """The session whose ``classes`` were used last (for ``Cls.query()``)."""
    found = _CURRENT[0]() if _CURRENT else None
    if found is None or not found.connected:
        raise XNATNotConnectedError(
            "no connected session to search: use session.classes.X.query() after connecting, "
            "or pass session=..."
        )
    return found


def class_named(name: str, session: XNATSession | None = None) -> type[XNATObject] | None:
    """The generated class called ``name`` (``MrSessionData``): the core models first, then
    the registered site packages (unless the session was opened with
    ``extension_types=False``); None when none of them has it."""
    import xnat_sdk.models as core
    from xnat_sdk._objects.core import XNATObject

    packages: list[ModuleType] = [core]
    if session is None or session.extension_types:
        packages.extend(_SITE_PACKAGES)
    for package in packages:
        try:
            found = getattr(package, name)
        except AttributeError:
            continue
        if isinstance(found, type) and issubclass(found, XNATObject):
            return found
    return None


def class_for(xsi: str, generic: type[_B], session: XNATSession | None = None) -> type[_B]:
    """The model class for ``xsi`` (see :func:`model_class`), else ``generic`` (with a
    one-time warning)."""
    found = model_class(xsi, session) if xsi else None
    if found is None:
        if xsi:
            warn_unknown_type(xsi)
        return generic
    return found  # type: ignore[return-value]
