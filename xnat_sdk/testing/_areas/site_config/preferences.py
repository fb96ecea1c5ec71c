"""XNAT's site preferences (``SiteConfigPreferences``) as the local server keeps them.

Values live in the ``site_config`` table as text (what ``POST /xapi/siteConfig/{name}``
sends) and are answered typed as XNAT's preference declares them (``true``, ``4``, ``[...]``).
:data:`DEFAULTS` holds a fresh install's values of the common preferences (the
``@NrgPreference(defaultValue=...)`` of ``SiteConfigPreferences``); who may read which one
follows ``META-INF/xnat/security/site-config-access.yaml`` (:data:`PUBLIC`,
:data:`AUTHENTICATED`; everything else is for site admins only).

The site ID: ``IDGenerator`` (``org.nrg.xnat.turbine.utils``) reads ``siteId`` once, when the
generator is built at startup (``XnatServicesConfig``), drops spaces, ``"``, ``'`` and ``^``
and turns ``-`` into ``_`` (:func:`accession_prefix`). A changed ``siteId`` therefore shows in
new accession IDs after the next start, as in XNAT.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from xnat_sdk.testing._server.store import Store

__all__ = [
    "AUTHENTICATED",
    "DEFAULTS",
    "PUBLIC",
    "SCHEMA_SQL",
    "accession_prefix",
    "all_values",
    "get_value",
    "interval_seconds",
    "set_value",
    "typed",
]

SCHEMA_SQL = "CREATE TABLE IF NOT EXISTS site_config(name TEXT PRIMARY KEY, value TEXT NOT NULL);"

Value = bool | int | str | list[str]

#: a fresh XNAT's values (``SiteConfigPreferences``'s ``defaultValue``s), initialised as the
#: setup page leaves them (``initialized`` true)
DEFAULTS: dict[str, Value] = {
    "siteId": "XNAT",
    "siteUrl": "",
    "siteHome": "/screens/QuickSearch.vm",
    "siteLogoPath": "/images/logo.png",
    "siteDescriptionType": "Text",
    "initialized": True,
    "primaryAdminUsername": "admin",
    "adminEmail": "you@yoursite.org",
    "archivePath": "/data/xnat/archive",
    "prearchivePath": "/data/xnat/prearchive",
    "cachePath": "/data/xnat/cache",
    "ftpPath": "/data/xnat/ftp",
    "buildPath": "/data/xnat/build",
    "pipelinePath": "/data/xnat/pipeline",
    "inboxPath": "/data/xnat/inbox",
    "requireLogin": True,
    "userRegistration": False,
    "emailVerification": True,
    "restrictUserListAccessToAdmins": False,
    "securityAllowNonPrivateProjects": True,
    "uiAllowNonAdminProjectCreation": True,
    "enableDicomReceiver": True,
    "checksums": True,
    "scanTypeMapping": True,
    "preventCrossModalityMerge": True,
    "projectAllowAutoArchive": True,
    "defaultProjectAutoArchiveSetting": 4,
    "zipExtensions": "zip,jar,rar,ear,gar,mrb",
    "sessionTimeout": "15 minutes",
    "aliasTokenTimeout": "2 days",
    "sessionXmlRebuilderRepeat": 60000,
    "sessionXmlRebuilderInterval": 5,
    "defaultToSortedListings": True,
    "uiDateFormat": "yyyy-MM-dd",
    "uiTimeFormat": "HH:mm:ss",
    "uiDateTimeFormat": "yyyy-MM-dd HH:mm:ss",
    "dataPaths": ["/xapi/**", "/data/**", "/REST/**", "/fs/**"],
}

#: readable by anyone, guests included (``public:`` in site-config-access.yaml)
PUBLIC = frozenset({"buildInfo", "siteHome", "siteId", "siteLogoPath", "siteUrl"})
#: readable by any logged-in user (``authenticated:``), besides :data:`PUBLIC`
AUTHENTICATED = PUBLIC | frozenset(
    {
        "checksums",
        "defaultProjectAutoArchiveSetting",
        "enableDicomReceiver",
        "projectAllowAutoArchive",
        "scanTypeMapping",
        "siteDescriptionType",
        "uiAllowNonAdminProjectCreation",
        "uiDateFormat",
        "uiDateTimeFormat",
        "uiTimeFormat",
        "zipExtensions",
    }
)


def typed(name: str, text: str) -> Value:
    """``text`` as the type of preference ``name`` (text for preferences without a default)."""
    default = DEFAULTS.get(name)
    if isinstance(default, bool):
        return text.strip().lower() == "true"
    if isinstance(default, int):
        try:
            return int(text.strip())
        except ValueError:
            return text
    if isinstance(default, list):
        try:
            value = json.loads(text.replace("'", '"'))
        except ValueError:
            return [part.strip() for part in text.split(",") if part.strip()]
        return [str(v) for v in value] if isinstance(value, list) else [str(value)]
    return text


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return json.dumps([str(v) for v in value])
    return str(value)


def all_values(store: Store) -> dict[str, Value]:
    """Every preference: the stored ones over :data:`DEFAULTS`."""
    out: dict[str, Value] = dict(DEFAULTS)
    for row in store.query("SELECT name, value FROM site_config"):
        out[row["name"]] = typed(row["name"], row["value"])
    return out


def get_value(store: Store, name: str) -> Value | None:
    """Preference ``name`` (``None`` when it is neither stored nor one of :data:`DEFAULTS`)."""
    row = store.one("SELECT value FROM site_config WHERE name=?", (name,))
    if row is not None:
        return typed(name, row["value"])
    return DEFAULTS.get(name)


def set_value(store: Store, name: str, value: object) -> None:
    """Store preference ``name`` (any name: XNAT's site configuration is not strict)."""
    with store.tx() as db:
        db.execute(
            "INSERT INTO site_config(name, value) VALUES(?, ?) "
            "ON CONFLICT(name) DO UPDATE SET value=excluded.value",
            (name, _text(value)),
        )


_UNIT_SECONDS = {
    "second": 1.0,
    "sec": 1.0,
    "minute": 60.0,
    "min": 60.0,
    "hour": 3600.0,
    "day": 86400.0,
    "week": 604800.0,
}


def interval_seconds(text: object) -> float | None:
    """An interval preference (``"2 days"``, ``"1 hour 30 minutes"``: XNAT hands
    ``aliasTokenTimeout`` to the database as an SQL interval) in seconds; ``None`` for text
    that is not one."""
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*([a-z]+)", str(text).strip().lower())
    if not parts or re.sub(r"[\d.\sa-z]", "", str(text).lower()):
        return None
    total = 0.0
    for number, unit in parts:
        factor = _UNIT_SECONDS.get(unit.rstrip("s"))  # "days" and "day" alike
        if factor is None:
            return None
        total += float(number) * factor
    return total


def accession_prefix(site_id: str) -> str:
    """``IDGenerator``'s cleaning of the site ID: spaces, ``"``, ``'`` and ``^`` removed,
    ``-`` made ``_`` (``"My-Site 1"`` -> ``My_Site1``)."""
    return re.sub(r"[ \"'^]", "", site_id).replace("-", "_")
