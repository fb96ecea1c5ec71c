"""``search TYPE --where FIELD=VALUE ... [--columns ...]``: the typed query builder
(``session.query``) from the shell."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import click

from xnat_sdk.cli._app import Runtime, command, pass_runtime, root

__all__ = ["parse_condition"]

_CONDITION = re.compile(
    r"^\s*([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*(?:/[^\s!<>=~/]+)?)\s*(!=|<=|>=|=|<|>|~)\s*(.*)$",
    re.S | re.A,
)
_CUSTOM = "fields/"  # FIELD fields/NAME: the custom variable NAME
_DEFAULT_COLUMNS = ("label", "project", "date")
_FORMS = {
    "date": "as YYYY-MM-DD (2024-01-31)",
    "datetime": "as YYYY-MM-DD HH:MM:SS",
    "time": "as HH:MM:SS",
}

SEARCH_HELP = """Search for objects of TYPE (an xsi type such as xnat:mrSessionData, or a
model class name such as MrSessionData) with typed conditions.

\b
--where FIELD OP VALUE, repeatable (ANDed); OP is = != < <= > >= or ~ (SQL LIKE, % and _);
FIELD is a field of the model (label, project, date, ...) or of one of its parts
(demographics.gender, parameters.tr), VALUE is read as the field's type (2024-01-01 for a
date): a wrong field or value fails before the search is sent; FIELD fields/NAME is the
custom variable NAME (its VALUE is text).
--columns: fields to return (default: label, project, date when the type has them),
fields/NAME and part fields among them.
--in-project P: only the objects of project P and those shared into it (project=P finds
only those whose primary project is P).

\b
Example: xnat-sdk search xnat:mrSessionData --where project=P --where 'date>=2024-01-01'
"""


def _model(name: str) -> type[Any]:
    from xnat_sdk.generic import model_class

    cls = model_class(name) if ":" in name else None
    if cls is None:
        import xnat_sdk.models as models

        cls = getattr(models, name, None)
    if not isinstance(cls, type) or not getattr(cls, "__xsi_type__", ""):
        raise click.BadParameter(f"no model for {name!r}{_suggest(name)}", param_hint="TYPE")
    return cls


def _suggest(name: str) -> str:
    """`` (did you mean ...?)`` naming the core types or classes closest to ``name``."""
    import difflib

    from xnat_sdk.models import XSI_TYPES

    known = {
        **{xsi.lower(): xsi for xsi in XSI_TYPES},
        **{c.lower(): c for c in XSI_TYPES.values()},
    }
    close = difflib.get_close_matches(name.lower(), known, n=3)
    return f" (did you mean {', '.join(known[c] for c in close)}?)" if close else ""


def _selector(cls: type[Any], name: str, what: str) -> tuple[Callable[[Any], Any], str]:
    """What FIELD names in a query lambda (``s.label``, or ``s.fields["NAME"]`` for
    ``fields/NAME``) and the type its values are read as."""
    if name.startswith(_CUSTOM):
        variable = name[len(_CUSTOM) :]
        return (lambda s: s.fields[variable]), "str"
    steps = name.split(".")
    spec = _field(cls, steps, what)

    def field(s: Any) -> Any:
        for step in steps:
            s = getattr(s, step)
        return s

    return field, spec.scalar


def _field(cls: type[Any], steps: Sequence[str], what: str) -> Any:
    """The field ``steps`` names: the class's own (``label``), or a single part's
    (``demographics.gender``: ``s.demographics.gender`` in a query lambda)."""
    from xnat_sdk.fields import class_fields

    owner = cls
    for number, name in enumerate(steps, start=1):
        table = class_fields(owner)
        spec = table.by_name.get(name)
        last = number == len(steps)
        single = spec is not None and not spec.is_list
        target = spec.target if spec is not None and single and not spec.is_data else None
        if spec is not None and single and (spec.is_data if last else target is not None):
            if target is not None:
                owner = target
            continue
        if target is not None:
            hint = f" ({name} is a part: name one of its fields, {name}.FIELD)"
        elif spec is None:
            hint = table.suggest(name, parts=True)
        elif spec.is_list:
            hint = f" ({name} is a list: a search names one value per object)"
        else:
            hint = f" ({name} is a field, not a part)"
        raise click.BadParameter(
            f"{owner.__name__} has no searchable field {name!r}{hint}", param_hint=what
        )
    return spec


def parse_condition(cls: type[Any], text: str) -> Callable[[Any], Any]:
    """A ``where`` lambda for ``FIELD OP VALUE`` (the value converted to the field's type)."""
    from xnat_sdk.errors import XNATValidationError
    from xnat_sdk.fields import convert_scalar
    from xnat_sdk.search import _Recorder, col

    match = _CONDITION.match(text)
    if match is None:
        raise click.BadParameter(f"{text!r} is not FIELD OP VALUE", param_hint="--where")
    name, op, raw = match.groups()
    if raw.startswith("="):  # label==x would search for "=x"
        raise click.BadParameter(
            f"{text!r}: OP is one of = != < <= > >= ~ (one '=': {name}={raw[1:]})",
            param_hint="--where",
        )
    field, scalar = _selector(cls, name, "--where")
    try:
        value = raw if op == "~" else convert_scalar(scalar, raw)
    except ValueError as exc:
        form = _FORMS.get(scalar)
        why = f"write it {form}" if form else str(exc)
        raise click.BadParameter(
            f"{raw!r} is not a {scalar} for {name}: {why}", param_hint="--where"
        ) from None
    compare: dict[str, Callable[[Any, Any], Any]] = {
        "=": lambda c, v: c == v,
        "!=": lambda c, v: c != v,
        "<": lambda c, v: c < v,
        "<=": lambda c, v: c <= v,
        ">": lambda c, v: c > v,
        ">=": lambda c, v: c >= v,
        "~": lambda c, v: c.like(v),
    }

    def condition(s: Any) -> Any:
        return compare[op](col(field(s)), value)

    try:  # what the query refuses (a value none of an enumerated field's), as a usage error
        condition(_Recorder(cls))
    except XNATValidationError as exc:
        raise click.BadParameter(str(exc), param_hint="--where") from None
    return condition


def _columns(cls: type[Any], chosen: Sequence[str]) -> list[str]:
    from xnat_sdk.fields import class_fields

    if chosen:
        for name in chosen:
            _selector(cls, name, "--columns")
        return list(chosen)
    names = class_fields(cls).by_name
    return [c for c in _DEFAULT_COLUMNS if c in names]


@command(root, "search", help=SEARCH_HELP)
@click.argument("type_name", metavar="TYPE")
@click.option("--where", "-w", "conditions", multiple=True, metavar="FIELD OP VALUE")
@click.option("--columns", "-c", help="comma-separated fields to return")
@click.option(
    "--in-project",
    metavar="PROJECT",
    help="only the objects of PROJECT and those shared into it (Query.in_project)",
)
@pass_runtime
def search(
    runtime: Runtime,
    type_name: str,
    conditions: tuple[str, ...],
    columns: str | None,
    in_project: str | None,
) -> None:
    """``xnat-sdk search TYPE``."""
    from xnat_sdk.search import col

    cls = _model(type_name)
    wheres = [parse_condition(cls, text) for text in conditions]
    chosen = [c.strip() for c in (columns or "").split(",") if c.strip()]
    names = _columns(cls, chosen)
    query = runtime.session().query(cls)
    if wheres:
        query = query.where(*wheres)
    if in_project is not None:
        query = query.in_project(in_project)
    if names:
        fields = [_selector(cls, name, "--columns")[0] for name in names]
        query = query.columns(lambda s: [col(field(s)) for field in fields])
    table = query.all()
    # the chosen columns come first, in order, whatever XNAT names them (a custom variable's
    # by its name alone)
    rows = [{**row.to_dict(), **dict(zip(names, row, strict=False))} for row in table]
    shown = names or list(table.columns)
    runtime.output.rows(shown, rows, title=f"{cls.__xsi_type__} search")
