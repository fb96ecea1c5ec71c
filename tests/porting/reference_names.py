"""xnatpy 0.8.1's public names next to xnat_sdk's: same, renamed, or missing (with why).

The names are read from xnatpy's classes themselves (``dir()``), so the table is complete
for the version installed; ``test_reference_names.py`` fails when a name is neither present
in xnat_sdk nor listed below. ``python tests/porting/reference_names.py`` prints the table
(Markdown).
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import types
from typing import Any

_INTERNAL = "xnatpy's internal caching/creation machinery; no counterpart needed"
_SEARCH_META = "xnatpy's search plumbing on classes; here the query builder holds it"
_BASE_API = (
    "xnatpy's generic object API on prearchive rows; prearchive objects here are read-only "
    "rows with their own verbs (archive, move, delete, rebuild)"
)
_MUTABLE = (
    "xnatpy's mutable nested listings: repeated nested fields here are typed lists on the "
    "object, written with mset/update (validated)"
)

RENAMED: dict[str, dict[str, str]] = {
    "module": {
        "BaseXNATSession": "XNATSession (one session class)",
        "query_netrc": "xnat_sdk.auth.netrc_credentials (host:port, then host)",
        "detect_redirection": "connect(detect_redirect=True) does it inside connect",
    },
    "project": {"project": "project.id", "get_object": "the attribute (project.investigator)"},
    "objects": {"get_object": "the attribute itself (subject.demographics, scan.parameters)"},
    "resource": {"parent_obj": "parent (xnatpy deprecated parent_obj)"},
    "query": {},
}

MISSING: dict[str, dict[str, str]] = {
    "module": {
        "JSessionAuth": "login is one call inside connect (jsession= reuses a session)",
        "SchemaParser": "models are generated at build time (codegen/), not parsed at login",
        "StringLoader": "models are generated at build time (codegen/), not parsed at login",
        "build_model": "models are generated at build time (codegen/), not parsed at login",
        "build_parser": "models are generated at build time (codegen/), not parsed at login",
        "parse_schemas_16": "models are generated at build time (codegen/), not parsed at login",
        "parse_schemas_17": "models are generated at build time (codegen/), not parsed at login",
        "check_auth": "connect checks the login itself (XNATLoginFailedError)",
        "check_auth_guest": "connect checks the login itself (anonymous when no credentials)",
        "constants": "module of xnatpy's internal constants",
        "convert_xsd": "models are generated at build time (codegen/)",
        "core": "xnatpy's base classes; here xnat_sdk.bases",
        "datatypes": "value conversion lives in xnat_sdk.fields (typed per field)",
        "mixin": "xnatpy's hand-written object classes; here xnat_sdk.bases",
        "type_hints": "types are on the classes themselves (py.typed)",
        "utils": "xnatpy's helpers (mixed internal functions)",
        "version": "xnat_sdk.__version__",
    },
    "session": {
        "skip_response_check": "answers are always checked (status, and JSON/XML not HTML)",
        "skip_response_content_check": "answers are always checked (JSON/XML not HTML)",
        "connect": "reconnecting a session object in place; call xnat_sdk.connect again",
        "source_code": "models are generated at build time, not at login",
        "write_source_code": "models are generated at build time, not at login",
    },
    "listing": {
        "field_name": _INTERNAL,
        "secondary_lookup_field": _INTERNAL,
        "data_maps": _INTERNAL,
        "delete_item_from_cache": _INTERNAL,
        "delete_item_from_listings": _INTERNAL,
        "merge_filters": "filter() merges and checks the criteria itself",
        "sanitize_name": "Table rows apply xnatpy's column-name rule themselves",
    },
    "simple listing": {
        name: _MUTABLE
        for name in [
            "append",
            "clear",
            "extend",
            "insert",
            "pop",
            "popitem",
            "remove",
            "reverse",
            "setdefault",
            "update",
            "fulldata",
        ]
    },
    "objects": {
        "DEFAULT_SEARCH_FIELDS": _SEARCH_META,
        "FROM_SEARCH_URI": _SEARCH_META,
        "SECONDARY_LOOKUP_FIELD": _SEARCH_META,
        "cache_id": _INTERNAL,
        "create_cache_id": _INTERNAL,
        "fieldname": _INTERNAL,
        "rest_shortcuts": _INTERNAL,
        "cli_str": "xnatpy's command-line display string",
        "custom_variables": (
            "only where XNAT keeps custom variables (projects, subjects, experiments); "
            "scans' custom parameters are scan.fields"
        ),
    },
    "prearchive": {
        name: _BASE_API
        for name in [
            "DEFAULT_SEARCH_FIELDS",
            "FROM_SEARCH_URI",
            "SECONDARY_LOOKUP_FIELD",
            "cache_id",
            "caching",
            "custom_variables",
            "clearcache",
            "cli_str",
            "create_cache_id",
            "del_",
            "delete",
            "external_uri",
            "fieldname",
            "fulldata",
            "fulluri",
            "get",
            "get_object",
            "id",
            "logger",
            "mset",
            "parent",
            "rest_shortcuts",
            "set",
            "xnat_session",
            "xpath",
        ]
    },
    "users": {"caching": "the users listing follows session.caching and clearcache()"},
}


def _reference_pairs() -> list[tuple[str, str, type, Any]]:
    """(table section, group of MISSING/RENAMED, xnatpy class, our class or instance)."""
    import xnat.core
    import xnat.inspect
    import xnat.mixin
    import xnat.prearchive
    import xnat.search
    import xnat.services
    import xnat.session
    import xnat.users

    import xnat_sdk.inspection
    import xnat_sdk.listings
    import xnat_sdk.prearchive
    import xnat_sdk.search
    import xnat_sdk.services
    import xnat_sdk.session
    import xnat_sdk.users
    from xnat_sdk import models as m

    user = xnat_sdk.users.User(id=1, login="a", email="e", first_name="f", last_name="l")
    return [
        ("session", "session", xnat.session.XNATSession, xnat_sdk.session.XNATSession),
        ("listing", "listing", xnat.core.XNATListing, xnat_sdk.listings.Listing),
        (
            "simple listing",
            "simple listing",
            xnat.core.XNATSimpleListing,
            xnat_sdk.listings.Listing,
        ),
        ("project", "project", xnat.mixin.ProjectData, m.ProjectData),
        ("subject", "objects", xnat.mixin.SubjectData, m.SubjectData),
        ("experiment", "objects", xnat.mixin.ExperimentData, m.MrSessionData),
        ("image session", "objects", xnat.mixin.ImageSessionData, m.MrSessionData),
        ("assessor", "objects", xnat.mixin.DerivedData, m.QcAssessmentData),
        ("scan", "objects", xnat.mixin.ImageScanData, m.MrScanData),
        ("resource", "resource", xnat.mixin.AbstractResource, m.ResourceCatalog),
        ("services", "services", xnat.services.Services, xnat_sdk.services.Services),
        ("prearchive", "prearchive", xnat.prearchive.Prearchive, xnat_sdk.prearchive.Prearchive),
        (
            "prearchive session",
            "prearchive",
            xnat.prearchive.PrearchiveSession,
            xnat_sdk.prearchive.PrearchiveSession,
        ),
        (
            "prearchive scan",
            "prearchive",
            xnat.prearchive.PrearchiveScan,
            xnat_sdk.prearchive.PrearchiveScan,
        ),
        (
            "prearchive file",
            "prearchive",
            xnat.prearchive.PrearchiveFile,
            xnat_sdk.prearchive.PrearchiveFile,
        ),
        ("users", "users", xnat.users.Users, xnat_sdk.users.Users),
        ("user", "users", xnat.users.User, user),
        ("classes/query", "query", xnat.search.Query, xnat_sdk.search.ClassQuery),
        ("inspect", "inspect", xnat.inspect.Inspect, xnat_sdk.inspection.Inspect),
    ]


def _module_names() -> list[str]:
    import xnat

    names = []
    for name in dir(xnat):
        value = getattr(xnat, name)
        if name.startswith("_"):
            continue
        if isinstance(value, types.ModuleType):
            if value.__name__.startswith("xnat."):
                names.append(name)
        elif str(getattr(value, "__module__", "") or "").startswith("xnat"):
            names.append(name)
    return sorted(names)


def _has(ours: Any, name: str) -> bool:
    if hasattr(ours, name):
        return True
    if isinstance(ours, type) and name in _instance_names(ours):
        return True
    if isinstance(ours, type) and dataclasses.is_dataclass(ours):
        return name in {f.name for f in dataclasses.fields(ours)}
    return False


def rows() -> list[tuple[str, str, str, str]]:
    """``(section, xnatpy name, status, ours or why)`` for every public xnatpy name."""
    import xnat_sdk

    out: list[tuple[str, str, str, str]] = []
    for name in _module_names():
        out.append(_row("module", "module", name, xnat_sdk))
    for section, group, theirs, ours in _reference_pairs():
        names = {n for n in dir(theirs) if not n.startswith("_")} | _instance_names(theirs)
        for name in sorted(names):
            out.append(_row(section, group, name, ours))
    return out


def _instance_names(cls: type) -> set[str]:
    """Public attributes xnatpy's ``__init__`` methods set on instances (``self.classes``)."""
    found: set[str] = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None or not str(getattr(init, "__module__", "")).startswith("xnat"):
            continue
        source = inspect.getsource(init)
        found |= set(re.findall(r"self\.([a-z][A-Za-z0-9_]*)\s*(?::[^=\n]+)?=[^=]", source))
    return found


_FALLBACK = {"project": "objects", "resource": "objects", "simple listing": "listing"}


def _listed(table: dict[str, dict[str, str]], group: str, name: str) -> str | None:
    found = table.get(group, {}).get(name)
    if found is None and group in _FALLBACK:
        found = table.get(_FALLBACK[group], {}).get(name)
    return found


def _row(section: str, group: str, name: str, ours: Any) -> tuple[str, str, str, str]:
    renamed = _listed(RENAMED, group, name)
    if renamed is not None:
        return section, name, "renamed", renamed
    if _has(ours, name):
        return section, name, "same", ""
    return section, name, "missing", _listed(MISSING, group, name) or "UNLISTED"


def markdown() -> str:
    """The table, one line per name (same names folded into one line per section)."""
    lines = ["| section | xnatpy name | xnat_sdk |", "|---|---|---|"]
    same: dict[str, list[str]] = {}
    for section, name, status, note in rows():
        if status == "same":
            same.setdefault(section, []).append(name)
        else:
            lines.append(f"| {section} | `{name}` | {status}: {note} |")
    for section, names in same.items():
        lines.append(f"| {section} | {', '.join(f'`{n}`' for n in names)} | same |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown())
