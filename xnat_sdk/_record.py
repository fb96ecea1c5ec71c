"""Small value classes written out by hand instead of with :mod:`dataclasses`.

``@dataclass`` generates and compiles each class's methods when the module is imported
(~0.6 ms a class here); the classes a first listing goes through (the HTTP layer's
origins and calls, answers, listing specs, field tables) were ~5 ms of every cold start.
A subclass names its fields in ``_compared`` (used by ``==``, ``hash`` and ``repr``, as
a dataclass's fields with ``compare=True``) and sets them in its own ``__init__``.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = ["FrozenRecord", "Record"]


class Record:
    """``==`` and ``repr`` over the fields named in ``_compared`` (a mutable record is not
    hashable, as a non-frozen dataclass)."""

    __slots__ = ()

    _compared: ClassVar[tuple[str, ...]] = ()

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._compared)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, Record)
        return self._values() == other._values()

    __hash__: ClassVar[None] = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._compared)
        return f"{type(self).__qualname__}({shown})"


class FrozenRecord(Record):
    """A :class:`Record` whose fields cannot be assigned after ``__init__`` (which sets them
    with ``object.__setattr__``); hashable over its compared fields."""

    __slots__ = ()

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(self._values())

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"cannot assign to field {name!r} of a frozen {type(self).__name__}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r} of a frozen {type(self).__name__}")

    def __setstate__(self, state: Any) -> None:
        """Unpickling and ``copy``: set the fields as ``__init__`` does (the default would
        assign them, which a frozen record refuses). ``state`` is the instance dict, or
        ``(dict or None, slots dict)`` for a class with ``__slots__``."""
        parts = state if isinstance(state, tuple) else (state, None)
        for part in parts:
            for name, value in (part or {}).items():
                object.__setattr__(self, name, value)
