"""Field metadata of the generated classes, value conversion and input validation.

The generator records, per attrs field, its XSD name, its ``data_fields`` path, its kind and
whether it is a list (see the contract in :mod:`xnat_sdk.bases`). This module turns that into
a per-class table the runtime uses to fill objects from XNAT's JSON, and to check and encode
values before they are written (``xsi/path=value`` query parameters).
"""

from __future__ import annotations

import datetime
import functools
import math
import re
import sys
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from xnat_sdk._record import FrozenRecord, Record
from xnat_sdk.errors import XNATValidationError

__all__ = [
    "LABEL_PATTERN",
    "ClassFields",
    "FieldSpec",
    "class_fields",
    "encode_value",
    "validate_label",
]

# Compiled when first used (``re`` keeps them): importing costs nothing.
_LABEL = r"^[A-Za-z0-9_-]+\Z"
"""Characters XNAT accepts in IDs and labels of projects, subjects and experiments."""
_VARIABLE = r"^[A-Za-z][A-Za-z0-9_]*\Z"
"""Custom variable names (XNAT stores them lower-case)."""

if TYPE_CHECKING:
    LABEL_PATTERN: re.Pattern[str]
    """:data:`_LABEL`, compiled."""
    VARIABLE_PATTERN: re.Pattern[str]
    """:data:`_VARIABLE`, compiled."""


def __getattr__(name: str) -> re.Pattern[str]:
    if name == "LABEL_PATTERN":
        return re.compile(_LABEL)
    if name == "VARIABLE_PATTERN":
        return re.compile(_VARIABLE)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


DATA_KINDS = frozenset({"attribute", "element", "text"})
SCALARS = ("str", "int", "float", "bool", "date", "datetime", "time")

_JAVA_DATE = "%a %b %d %H:%M:%S %Z %Y"
_DATETIME = (
    r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?"
    r"(Z|[+-]\d{2}:?\d{2})?$"
)


class FieldSpec(FrozenRecord):
    """One attrs field of a generated class, as the runtime needs it (frozen; compared
    and hashed by all fields but ``target_source``)."""

    _compared = (
        *("name", "xsd", "path", "kind", "is_list", "scalar", "literals", "required", "xpath"),
        *("max_length", "single", "missing"),
    )

    name: str
    xsd: str
    path: str
    kind: str
    is_list: bool
    scalar: str
    """``str``, ``int``, ``float``, ``bool``, ``date``, ``datetime``, ``time``, ``object``
    (a nested model class) or ``any``."""
    literals: tuple[str, ...]
    required: bool
    """The schema requires it (``use="required"``, ``minOccurs="1"``); objects read from a
    server may still lack it, so it is typed optional, and ``create`` demands it."""
    xpath: str
    """Full XPath for writes (``xnat:mrSessionData/fieldStrength``); may be empty."""
    target_source: tuple[object, type, object] | None
    """Where :attr:`target` comes from: the field's annotation, its owner class and its xsi
    type. Resolved on first read: building a class's field table (a first listing does it)
    then imports no other model module."""
    max_length: int | None
    """The schema's ``maxLength`` facet of a text field (XNAT refuses longer values)."""
    single: bool
    """A single nested/child object of one concrete form (``subject.demographics``): never
    None; an empty, writable one stands in when the server has none."""
    missing: Any
    """The value of the field when the server has none: ``[]`` for lists, ``""`` for the
    fields XNAT always fills (typed ``str``), else None."""

    def __init__(
        self,
        name: str,
        xsd: str,
        path: str,
        kind: str,
        is_list: bool,
        scalar: str,
        literals: tuple[str, ...] = (),
        required: bool = False,
        xpath: str = "",
        target_source: tuple[object, type, object] | None = None,
        max_length: int | None = None,
        single: bool = False,
        missing: Any = None,
    ) -> None:
        self.__dict__.update(
            name=name,
            xsd=xsd,
            path=path,
            kind=kind,
            is_list=is_list,
            scalar=scalar,
            literals=literals,
            required=required,
            xpath=xpath,
            target_source=target_source,
            max_length=max_length,
            single=single,
            missing=missing,
        )

    @functools.cached_property
    def target(self) -> type | None:
        """The nested class of a ``nested`` or ``child`` field, when resolvable."""
        if self.target_source is None:
            return None
        annotation, owner, xsi = self.target_source
        return _resolve_target(annotation, owner) or _target_from_xsi(xsi)

    @property
    def is_data(self) -> bool:
        """True for fields read from ``data_fields`` (not from ``children``)."""
        return self.kind in DATA_KINDS

    def convert(self, value: Any) -> Any:
        """Turn a JSON value from the server into this field's Python type."""
        if self.is_list:
            values = value if isinstance(value, list) else [value]
            return [convert_scalar(self.scalar, v) for v in values if v not in ("", None)]
        return convert_scalar(self.scalar, value)


class ClassFields(Record):
    """The field table of one class: by Python name, by data path, by child path."""

    _compared = __slots__ = ("by_name", "by_path", "by_lower_path", "children", "nested", "data")

    def __init__(self) -> None:
        self.by_name: dict[str, FieldSpec] = {}
        self.by_path: dict[str, FieldSpec] = {}
        self.by_lower_path: dict[str, FieldSpec] = {}
        self.children: dict[str, FieldSpec] = {}
        self.nested: list[FieldSpec] = []
        self.data: list[FieldSpec] = []

    def lookup_path(self, key: str) -> FieldSpec | None:
        """The data field stored under ``data_fields[key]``."""
        spec = self.by_path.get(key)
        if spec is None:
            spec = self.by_lower_path.get(key.lower())
        return spec

    def suggest(self, name: str, parts: bool = False) -> str:
        """A 'did you mean' hint for an unknown field name; with ``parts``, the fields of
        single parts of that name first (``gender``: ``demographics.gender``), as a search
        names them."""
        import difflib  # only for error messages: not loaded on the way to a first listing

        close = [
            f"{spec.name}.{name}"
            for spec in (self.by_name.values() if parts else ())
            if spec.single and spec.target is not None
            if name in class_fields(spec.target).by_name
        ]
        close += difflib.get_close_matches(name, list(self.by_name), n=3)
        return f" (did you mean {', '.join(close[:3])}?)" if close else ""


_CACHE: dict[type, ClassFields] = {}


def class_fields(cls: type) -> ClassFields:
    """The (cached) :class:`ClassFields` of a generated class; empty for non-attrs classes."""
    found = _CACHE.get(cls)
    if found is not None:
        return found
    table = ClassFields()
    if attrs.has(cls):
        for attribute in attrs.fields(cls):
            meta = attribute.metadata
            if meta.get("runtime"):
                continue  # the runtime's own constructor argument (parent=), not a field
            kind = str(meta.get("kind", "attribute"))
            path = str(meta.get("path", attribute.name))
            scalar, literals, is_list = _describe(attribute.type, cls)
            spec = FieldSpec(
                name=attribute.name,
                xsd=str(meta.get("xsd", attribute.name)),
                path=path,
                kind=kind,
                is_list=bool(meta.get("list", is_list)),
                scalar=scalar,
                literals=literals,
                required=bool(meta.get("required", False)),
                single=(
                    kind in ("nested", "child")
                    and not is_list
                    and isinstance(attribute.default, attrs.Factory)  # type: ignore[arg-type]
                ),
                missing=[] if is_list else ("" if attribute.default == "" else None),
                xpath=str(meta.get("xpath", "")),
                max_length=_max_length(meta.get("facets")),
                target_source=(
                    (attribute.type, cls, meta.get("type")) if scalar == "object" else None
                ),
            )
            table.by_name[spec.name] = spec
            if spec.is_data:
                table.data.append(spec)
                table.by_path.setdefault(path, spec)
                table.by_lower_path.setdefault(path.lower(), spec)
            elif kind == "nested":
                table.nested.append(spec)
            else:
                table.children.setdefault(path, spec)
    _CACHE[cls] = table
    return table


def _target_from_xsi(xsi: object) -> type | None:
    """The generated class of an xsi type string from the field metadata, when known."""
    if not isinstance(xsi, str) or ":" not in xsi:
        return None
    from xnat_sdk.models import model_for

    return model_for(xsi)


def _resolve_target(annotation: object, owner: type) -> type | None:
    """The class named by a nested field's annotation (looked up along the owner's MRO)."""
    if isinstance(annotation, type):
        return annotation
    if not isinstance(annotation, str):
        args = [a for a in typing.get_args(annotation) if isinstance(a, type)]
        return args[0] if args else None
    names = re.findall(r"[A-Za-z_][A-Za-z0-9_]*", annotation)
    candidates = [
        n for n in names if n not in ("None", "list", "List", "Optional") and n[0].isupper()
    ]
    for klass in owner.__mro__:
        module = sys.modules.get(klass.__module__)
        for name in candidates:
            found = getattr(module, name, None) if module is not None else None
            if isinstance(found, type):
                return found
    return None


# -- type descriptions ---------------------------------------------------------------------------

_NAMES = {
    "str": "str",
    "int": "int",
    "float": "float",
    "decimal": "float",
    "Decimal": "float",
    "bool": "bool",
    "date": "date",
    "datetime.date": "date",
    "datetime": "datetime",
    "datetime.datetime": "datetime",
    "time": "time",
    "datetime.time": "time",
    "Any": "any",
    "object": "any",
    "typing.Any": "any",
}
_REAL_TYPES: dict[object, str] = {
    str: "str",
    int: "int",
    float: "float",
    bool: "bool",
    datetime.datetime: "datetime",
    datetime.date: "date",
    datetime.time: "time",
}


def _split_top(text: str, sep: str) -> list[str]:
    parts: list[str] = []
    depth = 0
    current = ""
    for char in text:
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
        if char == sep and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    parts.append(current.strip())
    return [p for p in parts if p]


def _describe(annotation: object, owner: type) -> tuple[str, tuple[str, ...], bool]:
    """(scalar kind, literal values, is list) of an attrs field annotation."""
    if annotation is None:
        return "any", (), False
    if not isinstance(annotation, str):
        return _describe_real(annotation)
    return _describe_text(annotation.strip())


def _describe_real(annotation: object) -> tuple[str, tuple[str, ...], bool]:
    if annotation in _REAL_TYPES:
        return _REAL_TYPES[annotation], (), False
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return "str", tuple(str(a) for a in args), False
    if origin is list:
        inner = _describe_real(args[0]) if args else ("any", (), False)
        return inner[0], inner[1], True
    if args and (origin is typing.Union or type(annotation).__name__ == "UnionType"):
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            return _describe_real(rest[0])
        return "any", (), False
    if isinstance(annotation, type):
        return "object", (), False
    return "any", (), False


def _describe_text(text: str) -> tuple[str, tuple[str, ...], bool]:
    text = text.strip().strip("'\"")
    if text.startswith("Optional[") and text.endswith("]"):
        text = text[len("Optional[") : -1]
    alternatives = [p for p in _split_top(text, "|") if p != "None"]
    if len(alternatives) != 1:
        return "any", (), False
    text = alternatives[0]
    for prefix in ("list[", "List[", "typing.List[", "Sequence[", "tuple["):
        if text.startswith(prefix) and text.endswith("]"):
            inner = _describe_text(text[len(prefix) : -1].split(",")[0])
            return inner[0], inner[1], True
    for prefix in ("Literal[", "typing.Literal["):
        if text.startswith(prefix) and text.endswith("]"):
            values = tuple(v.strip().strip("'\"") for v in _split_top(text[len(prefix) : -1], ","))
            return "str", values, False
    if text in _NAMES:
        return _NAMES[text], (), False
    if text[:1].isupper() or "." in text:
        return "object", (), False
    return "any", (), False


# -- conversion from the server ------------------------------------------------------------------


def parse_datetime(value: str) -> datetime.datetime:
    """Parse XNAT's date-time spellings (ISO, ``2019-03-05 16:46:37.103``, Java ``toString``)."""
    match = re.match(_DATETIME, value.strip())
    if match:
        year, month, day, hour, minute, second, fraction, zone = match.groups()
        micro = int((fraction or "0")[:6].ljust(6, "0"))
        result = datetime.datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            micro,
        )
        if zone:
            if zone == "Z":
                return result.replace(tzinfo=datetime.timezone.utc)
            sign = 1 if zone[0] == "+" else -1
            digits = zone[1:].replace(":", "")
            offset = datetime.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
            return result.replace(tzinfo=datetime.timezone(sign * offset))
        return result
    return datetime.datetime.strptime(value.strip(), _JAVA_DATE)


def parse_meta_date(value: object) -> datetime.datetime | None:
    """A document's ``meta`` date (Java's ``Date.toString()``, ``Thu Apr 08 19:28:45 UTC
    2021``, or ISO); aware when the zone is UTC or GMT, naive with another zone's name;
    None when there is none or it does not parse."""
    text = str(value or "").strip()
    if not text:
        return None
    parts = text.split()
    utc = len(parts) == 6 and parts[4] in ("UTC", "GMT")
    if len(parts) == 6:
        text = " ".join([*parts[:4], "UTC", parts[5]])  # any zone name: read the wall time
    try:
        found = parse_datetime(text)
    except ValueError:
        return None
    return found.replace(tzinfo=datetime.timezone.utc) if utc else found


def parse_date(value: str) -> datetime.date:
    """Parse ``YYYY-MM-DD`` (a time part is ignored) or ``MM/DD/YYYY``."""
    text = value.strip()
    if re.match(r"^\d{1,2}/\d{1,2}/\d{4}$", text):
        month, day, year = (int(p) for p in text.split("/"))
        return datetime.date(year, month, day)
    return parse_datetime(text[:10]).date()


def parse_time(value: str) -> datetime.time:
    """Parse ``HH:MM[:SS[.fff]]`` with an optional zone (``Z``, ``+02:00``), kept."""
    return parse_datetime("2000-01-01T" + value.strip()).timetz()


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "y"):
        return True
    if text in ("false", "0", "no", "n"):
        return False
    raise ValueError(f"not a boolean: {value!r}")


_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "str": lambda v: ("true" if v else "false") if isinstance(v, bool) else str(v),
    "int": lambda v: int(v) if not isinstance(v, str) else int(float(v)) if "." in v else int(v),
    "float": float,
    "bool": _to_bool,
    "date": lambda v: v if isinstance(v, datetime.date) else parse_date(str(v)),
    "datetime": lambda v: v if isinstance(v, datetime.datetime) else parse_datetime(str(v)),
    "time": lambda v: v if isinstance(v, datetime.time) else parse_time(str(v)),
}


def convert_scalar(scalar: str, value: Any) -> Any:
    """Convert one server value; ``""`` and ``None`` become ``None``.

    Raises ValueError when the value does not fit the type.
    """
    if value is None or value == "":
        return None
    converter = _CONVERTERS.get(scalar)
    if converter is None:
        return value
    return converter(value)


# -- validation and encoding of user input -------------------------------------------------------


def encode_value(value: Any) -> str:
    """The query-string spelling of a Python value (``NULL`` clears a field; the items of a
    list field are joined with commas)."""
    if value is None:
        return "NULL"
    if isinstance(value, (list, tuple)):
        return ",".join(encode_value(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):  # XML Schema's spellings
        return "NaN" if math.isnan(value) else "INF" if value > 0 else "-INF"
    return str(value)


def validate_label(value: object, what: str = "label") -> str:
    """Check an ID or label against the characters XNAT allows; return it."""
    if not isinstance(value, str):
        raise XNATValidationError(what, f"must be a string, got {type(value).__name__}")
    if not value:
        raise XNATValidationError(what, "must not be empty")
    if not re.match(_LABEL, value):
        bad = sorted({c for c in value if not re.match(r"[A-Za-z0-9_-]", c)})
        raise XNATValidationError(
            what,
            f"{value!r} contains characters XNAT does not allow ({''.join(bad)!r}); "
            "use letters, digits, '_' and '-'",
        )
    return value


def _max_length(facets: object) -> int | None:
    limit = facets.get("maxLength") if isinstance(facets, Mapping) else None
    return limit if isinstance(limit, int) and not isinstance(limit, bool) else None


_ZONE = r"(?:Z|[+-][0-9]{2}:[0-9]{2})"
_CLOCK = r"[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?"
_TEXT_FORMS: dict[str, tuple[str, str]] = {
    # scalar: (XML Schema's lexical form for it, the form named when text does not match);
    # ASCII digits only, as XML Schema spells them
    "int": (r"[+-]?[0-9]+", "a whole number such as '166'"),
    "float": (
        r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|-?INF|NaN",
        "a decimal number such as '84.9' (or 'INF', '-INF', 'NaN')",
    ),
    "bool": (r"true|false|1|0", "'true', 'false', '1' or '0' (XML Schema's spellings)"),
    "date": (
        r"[0-9]{4}-[0-9]{2}-[0-9]{2}",
        "an ISO date such as '2006-04-18' (with no time zone: a Python date holds none)",
    ),
    "datetime": (
        rf"[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}T{_CLOCK}{_ZONE}?",
        "an ISO date and time such as '2006-04-18T13:45:00' (a zone may follow: 'Z', '+02:00')",
    ),
    "time": (
        rf"{_CLOCK}{_ZONE}?",
        "an ISO time such as '13:45:00' (a zone may follow: 'Z', '+02:00')",
    ),
}


def from_text(spec: FieldSpec, value: Any) -> Any:
    """A value written to a typed field given as text (read from a CSV or XML file, as
    xnatpy sends it): converted to the field's type when it is in XML Schema's lexical
    space for it (``"2006-04-18"`` to ``date(2006, 4, 18)``, ``"84.9"`` to ``84.9``, ``"INF"``,
    ``"166"`` to 166, ``"true"``, ``"10:11:12+02:00"``; surrounding whitespace is dropped, as
    XML Schema collapses it for these types), else :class:`XNATValidationError` naming the
    field and the form expected. The int 0 or 1 for a boolean is ``False``/``True`` (xnatpy
    sends it as ``0``/``1``). Other values (and text for a text field) are returned as they
    are, for :func:`validate_fields` to check; a list field's items one by one."""
    if isinstance(value, (list, tuple)) and spec.is_list:
        return type(value)(from_text(spec, item) for item in value)
    if spec.scalar == "bool" and type(value) is int and value in (0, 1):
        return bool(value)
    form = _TEXT_FORMS.get(spec.scalar)
    if form is None or not isinstance(value, str):
        return value
    text = value.strip(" \t\r\n")  # XML Schema's whitespace, no other
    if not re.fullmatch(form[0], text):
        raise XNATValidationError(spec.name, f"expects {spec.scalar}: {form[1]}, got {value!r}")
    if spec.scalar == "float":
        return float(text)
    if spec.scalar == "bool":
        return text in ("true", "1")
    try:
        return convert_scalar(spec.scalar, text)
    except ValueError as exc:  # 2006-02-31, 25:00:00
        raise XNATValidationError(
            spec.name, f"{value!r} is no valid {spec.scalar}: {exc}"
        ) from None


def texts_converted(cls: type, values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` with the text given to typed data fields of ``cls`` converted by
    :func:`from_text`; names that are not data fields are left for the caller to refuse."""
    table = class_fields(cls)
    out: dict[str, Any] = {}
    for name, value in values.items():
        spec = table.by_name.get(name)
        out[name] = from_text(spec, value) if spec is not None and spec.is_data else value
    return out


def _check_scalar(spec: FieldSpec, value: Any) -> None:
    scalar = spec.scalar
    ok = True
    if scalar == "str":
        ok = isinstance(value, str)
    elif scalar == "int":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif scalar == "float":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif scalar == "bool":
        ok = isinstance(value, bool)
    elif scalar == "datetime":
        ok = isinstance(value, datetime.datetime)
    elif scalar == "date":
        ok = isinstance(value, datetime.date) and not isinstance(value, datetime.datetime)
    elif scalar == "time":
        ok = isinstance(value, datetime.time)
    if not ok:
        raise XNATValidationError(
            spec.name, f"expects {scalar}, got {type(value).__name__} {value!r}"
        )
    if spec.literals and str(value) not in spec.literals:
        allowed = ", ".join(repr(v) for v in spec.literals)
        raise XNATValidationError(spec.name, f"{value!r} is not one of {allowed}")
    if spec.max_length is not None and isinstance(value, str) and len(value) > spec.max_length:
        raise XNATValidationError(
            spec.name,
            f"is {len(value)} characters long; the schema allows at most {spec.max_length}",
        )


def validate_fields(
    cls: type,
    values: Mapping[str, Any],
    *,
    required: Iterable[str] = (),
    allow_none: bool = True,
) -> dict[str, FieldSpec]:
    """Check names, types and enumerations of ``values`` against ``cls``'s fields (text
    for a typed field is checked as what :func:`from_text` makes of it).

    Returns the specs of the given fields; raises :class:`XNATValidationError` naming the
    first bad field.
    """
    table = class_fields(cls)
    specs: dict[str, FieldSpec] = {}
    for name, value in values.items():
        spec = table.by_name.get(name)
        if spec is None:
            raise XNATValidationError(
                name, f"{cls.__name__} has no field {name!r}{table.suggest(name)}"
            )
        if not spec.is_data or spec.scalar in ("object",):
            raise XNATValidationError(
                name, f"{cls.__name__}.{name} is a nested element and cannot be set this way"
            )
        if value is None:
            if not allow_none:
                raise XNATValidationError(name, "must not be None")
        elif spec.is_list:
            if not isinstance(value, (list, tuple)):
                raise XNATValidationError(name, f"expects a list, got {type(value).__name__}")
            for item in value:
                _check_scalar(spec, from_text(spec, item))
        else:
            _check_scalar(spec, from_text(spec, value))
        specs[name] = spec
    for name in required:
        if values.get(name) is None:
            raise XNATValidationError(name, f"is required to create a {cls.__name__}")
    return specs
