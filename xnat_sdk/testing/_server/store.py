"""The embedded store of the local XNAT server: one SQLite database plus files on disk.

Layout of a data folder::

    {data_dir}/xnat.db            the SQLite database (WAL journal)
    {data_dir}/files/{res_id}/... the files of resource ``res_id`` at their relative paths
    {data_dir}/...                other modules may keep their own folders here
                                  (e.g. ``prearchive/``), see :attr:`Store.data_dir`

Concurrency: a single connection guarded by a re-entrant lock. Use ``with store.tx() as db:``
for writes (one ``BEGIN IMMEDIATE`` transaction, committed on success, rolled back on an
exception) and ``with store.read() as db:`` for reads; ``db`` is the ``sqlite3.Connection``
whose rows are ``sqlite3.Row``. Never hold the lock while streaming a file body.

Tables (all created at open, ``CREATE TABLE IF NOT EXISTS``):

* ``users(xdat_user_id, login, password, firstname, lastname, email, admin, enabled, ...)``
* ``http_sessions(id, login, created, last_access)``: JSESSIONID values
* ``alias_tokens(id, alias, secret, login, created, expires, enabled)``
* ``counters(name, value)``: accession numbers (:meth:`Store.next_accession`) and events
* ``projects(id, secondary_id, name, description, accessibility, data, insert_date, ...)``
* ``project_users(project, login, level)``: level is ``owner``/``member``/``collaborator``
* ``subjects(id, project, label, data, insert_date, insert_user, last_modified)``:
  ``last_modified`` is ``''`` until a change (then the change's time; listings fall back
  to ``insert_date``), as for experiments and scans
* ``experiments(id, project, label, xsi_type, subject_id, session_id, date, status, data, ...)``
  (sessions and other subject assessors have ``subject_id``; image assessors also have
  ``session_id`` = the image session they assess)
* ``scans(pk, experiment_id, id, xsi_type, type, data, ...)``: ``pk`` is
  ``xnat_imagescandata_id``
* ``reconstructions(pk, experiment_id, id, type, base_scan_type, data, ...)``
* ``resources(id, parent_kind, parent_id, label, format, content, description, tags, inout,
  xsi_type, data)``:
  ``parent_kind`` in ``project|subject|experiment|scan|reconstruction|assessor``;
  ``parent_id`` is the project ID, subject/experiment/assessor accession ID, or the scan /
  reconstruction ``pk`` (as text). ``id`` is ``xnat_abstractresource_id``.
* ``files(id, resource_id, path, size, md5, format, content, tags, mtime)``
* ``custom_fields(kind, owner_id, name, value)``: custom variables (``fields/field``)
* ``shares(kind, object_id, project, label)``: subjects/experiments shared into a project
  (``label`` NULL for a share made without one)

``data`` columns hold a JSON object of the remaining XNAT fields, keyed by their
``data_fields`` path relative to the object's type (``"scanner/manufacturer"``,
``"demographics/gender"`` for subjects). Values are strings.

Extra tables for other modules: a route module may define a module-level ``SCHEMA_SQL: str``
(DDL using ``CREATE TABLE IF NOT EXISTS``); :mod:`xnat_sdk.testing._server.app` runs it through
:meth:`Store.ensure_schema` at startup. Table names must be prefixed by the module's concern
(``prearchive_sessions``) so they never collide with these.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

__all__ = ["GUEST", "Store", "User", "dumps_data", "loads_data", "now_timestamp"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS users(
    xdat_user_id INTEGER PRIMARY KEY AUTOINCREMENT,
    login TEXT UNIQUE NOT NULL,
    password TEXT NOT NULL,
    firstname TEXT NOT NULL DEFAULT '',
    lastname TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL DEFAULT '',
    admin INTEGER NOT NULL DEFAULT 0,
    enabled INTEGER NOT NULL DEFAULT 1,
    verified INTEGER NOT NULL DEFAULT 1,
    created REAL NOT NULL DEFAULT 0,
    last_login REAL
);
CREATE TABLE IF NOT EXISTS http_sessions(
    id TEXT PRIMARY KEY,
    login TEXT NOT NULL,
    created REAL NOT NULL,
    last_access REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS alias_tokens(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    alias TEXT UNIQUE NOT NULL,
    secret TEXT NOT NULL,
    login TEXT NOT NULL,
    created REAL NOT NULL,
    expires REAL NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS counters(name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS projects(
    id TEXT PRIMARY KEY,
    secondary_id TEXT NOT NULL DEFAULT '',
    name TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    accessibility TEXT NOT NULL DEFAULT 'private',
    data TEXT NOT NULL DEFAULT '{}',
    insert_date TEXT NOT NULL,
    insert_user TEXT NOT NULL DEFAULT '',
    event_id INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS project_users(
    project TEXT NOT NULL,
    login TEXT NOT NULL,
    level TEXT NOT NULL,
    PRIMARY KEY(project, login)
);
CREATE TABLE IF NOT EXISTS subjects(
    id TEXT PRIMARY KEY,
    project TEXT NOT NULL,
    label TEXT NOT NULL,
    data TEXT NOT NULL DEFAULT '{}',
    insert_date TEXT NOT NULL,
    insert_user TEXT NOT NULL DEFAULT '',
    last_modified TEXT NOT NULL DEFAULT '',
    event_id INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS subjects_project ON subjects(project, label);
CREATE TABLE IF NOT EXISTS experiments(
    id TEXT PRIMARY KEY,
    project TEXT NOT NULL,
    label TEXT NOT NULL,
    xsi_type TEXT NOT NULL,
    subject_id TEXT,
    session_id TEXT,
    date TEXT,
    status TEXT NOT NULL DEFAULT 'active',
    data TEXT NOT NULL DEFAULT '{}',
    insert_date TEXT NOT NULL,
    insert_user TEXT NOT NULL DEFAULT '',
    last_modified TEXT NOT NULL DEFAULT '',
    event_id INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS experiments_project ON experiments(project, label);
CREATE INDEX IF NOT EXISTS experiments_subject ON experiments(subject_id);
CREATE INDEX IF NOT EXISTS experiments_session ON experiments(session_id);
CREATE TABLE IF NOT EXISTS scans(
    pk INTEGER PRIMARY KEY AUTOINCREMENT,
    experiment_id TEXT NOT NULL,
    id TEXT NOT NULL,
    xsi_type TEXT NOT NULL,
    type TEXT NOT NULL DEFAULT '',
    data TEXT NOT NULL DEFAULT '{}',
    insert_date TEXT NOT NULL,
    insert_user TEXT NOT NULL DEFAULT '',
    last_modified TEXT NOT NULL DEFAULT '',
    event_id INTEGER NOT NULL DEFAULT 0,
    UNIQUE(experiment_id, id)
);
CREATE TABLE IF NOT EXISTS reconstructions(
    pk INTEGER PRIMARY KEY AUTOINCREMENT,
    experiment_id TEXT NOT NULL,
    id TEXT NOT NULL,
    xsi_type TEXT NOT NULL DEFAULT 'xnat:reconstructedImageData',
    type TEXT NOT NULL DEFAULT '',
    base_scan_type TEXT NOT NULL DEFAULT '',
    data TEXT NOT NULL DEFAULT '{}',
    insert_date TEXT NOT NULL,
    event_id INTEGER NOT NULL DEFAULT 0,
    UNIQUE(experiment_id, id)
);
CREATE TABLE IF NOT EXISTS resources(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    parent_kind TEXT NOT NULL,
    parent_id TEXT NOT NULL,
    label TEXT NOT NULL DEFAULT '',
    format TEXT NOT NULL DEFAULT '',
    content TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    tags TEXT NOT NULL DEFAULT '',
    inout TEXT NOT NULL DEFAULT '',
    insert_date TEXT NOT NULL,
    event_id INTEGER NOT NULL DEFAULT 0,
    xsi_type TEXT NOT NULL DEFAULT 'xnat:resourceCatalog',
    data TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS resources_parent ON resources(parent_kind, parent_id);
CREATE TABLE IF NOT EXISTS files(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    resource_id INTEGER NOT NULL,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    md5 TEXT NOT NULL,
    format TEXT NOT NULL DEFAULT '',
    content TEXT NOT NULL DEFAULT '',
    tags TEXT NOT NULL DEFAULT '',
    mtime REAL NOT NULL,
    UNIQUE(resource_id, path)
);
CREATE TABLE IF NOT EXISTS custom_fields(
    kind TEXT NOT NULL,
    owner_id TEXT NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY(kind, owner_id, name)
);
"""

#: a share's label is NULL when it was made without one (XNAT stores none)
_SHARES_DDL = """
CREATE TABLE IF NOT EXISTS shares(
    kind TEXT NOT NULL,
    object_id TEXT NOT NULL,
    project TEXT NOT NULL,
    label TEXT,
    PRIMARY KEY(kind, object_id, project)
);
CREATE INDEX IF NOT EXISTS shares_project ON shares(project, kind);
"""
SCHEMA += _SHARES_DDL


@dataclass(frozen=True)
class User:
    """An XNAT user as the server sees it (``login == "guest"`` for anonymous requests)."""

    login: str
    admin: bool = False
    xdat_user_id: int = 0
    firstname: str = ""
    lastname: str = ""
    email: str = ""
    enabled: bool = True


#: the anonymous user: XNAT's ``guest`` (``init_security_000.sql``: first name ``XNAT``, last
#: name ``Guest``; the site admin it creates is ``admin``, ``Admin Admin``)
GUEST = User(login="guest", admin=False, xdat_user_id=0, firstname="XNAT", lastname="Guest")


def now_timestamp() -> str:
    """Now as ``java.sql.Timestamp.toString()`` (``2019-03-05 16:46:37.103``)."""
    t = datetime.now(timezone.utc)
    frac = f"{t.microsecond // 1000:03d}".rstrip("0") or "0"
    return t.strftime("%Y-%m-%d %H:%M:%S") + "." + frac


def loads_data(text: str | None) -> dict[str, str]:
    """Decode a ``data`` JSON column."""
    if not text:
        return {}
    value = json.loads(text)
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def dumps_data(data: Mapping[str, str]) -> str:
    """Encode a ``data`` JSON column (sorted keys, stable)."""
    return json.dumps(dict(data), sort_keys=True, separators=(",", ":"))


class Store:
    """The SQLite store and file area of one server (see the module docstring)."""

    def __init__(self, data_dir: Path, site_id: str = "XNAT") -> None:
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.files_root = self.data_dir / "files"
        self.files_root.mkdir(exist_ok=True)
        self.site_id = site_id
        self.lock = threading.RLock()
        self._depth = 0
        self._db = sqlite3.connect(
            str(self.data_dir / "xnat.db"), check_same_thread=False, isolation_level=None
        )
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=OFF")
        self._db.executescript(SCHEMA)
        self._add_missing_columns()
        self._allow_unlabelled_shares()

    # -- plumbing ---------------------------------------------------------------------------
    def _add_missing_columns(self) -> None:
        """Give a database made by an older version the columns added since
        (``last_modified`` of subjects, experiments and scans; the ``xsi_type`` and ``data``
        of resources, for resource subtypes of site schemas)."""
        added = [
            *(
                (t, "last_modified TEXT NOT NULL DEFAULT ''")
                for t in ("subjects", "experiments", "scans")
            ),
            ("resources", "xsi_type TEXT NOT NULL DEFAULT 'xnat:resourceCatalog'"),
            ("resources", "data TEXT NOT NULL DEFAULT '{}'"),
        ]
        for table, column in added:
            have = {r[1] for r in self._db.execute(f"PRAGMA table_info({table})")}
            if column.split()[0] not in have:
                self._db.execute(f"ALTER TABLE {table} ADD COLUMN {column}")

    def _allow_unlabelled_shares(self) -> None:
        """Let ``shares.label`` of a database made by an older version be NULL (a share made
        without a label has none, as in XNAT); its shares keep the labels they had."""
        cols = {r[1]: r[3] for r in self._db.execute("PRAGMA table_info(shares)")}
        if not cols.get("label"):
            return
        self._db.executescript(
            "BEGIN; DROP INDEX IF EXISTS shares_project; "
            "ALTER TABLE shares RENAME TO shares_old; "
            + _SHARES_DDL
            + "INSERT INTO shares SELECT kind, object_id, project, label FROM shares_old; "
            "DROP TABLE shares_old; COMMIT;"
        )

    def close(self) -> None:
        """Close the database connection."""
        with self.lock:
            self._db.close()

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """A write transaction holding the store lock.

        Nested use on the same thread joins the outer transaction (a SAVEPOINT, so an
        exception inside rolls back only the inner part before propagating)."""
        with self.lock:
            if self._db.in_transaction:
                self._depth += 1
                name = f"sp{self._depth}"
                self._db.execute(f"SAVEPOINT {name}")
                try:
                    yield self._db
                except BaseException:
                    self._db.execute(f"ROLLBACK TO {name}")
                    self._db.execute(f"RELEASE {name}")
                    raise
                else:
                    self._db.execute(f"RELEASE {name}")
                finally:
                    self._depth -= 1
                return
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            else:
                self._db.execute("COMMIT")

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """Read access holding the store lock (no transaction)."""
        with self.lock:
            yield self._db

    def query(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> list[sqlite3.Row]:
        """Run a read query and return all rows."""
        with self.lock:
            return list(self._db.execute(sql, params).fetchall())

    def one(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> sqlite3.Row | None:
        """Run a read query and return the first row or ``None``."""
        with self.lock:
            row: sqlite3.Row | None = self._db.execute(sql, params).fetchone()
            return row

    def ensure_schema(self, ddl: str) -> None:
        """Run extra DDL (another module's tables); must be idempotent."""
        with self.lock:
            self._db.executescript(ddl)

    # -- counters ---------------------------------------------------------------------------
    def next_counter(self, db: sqlite3.Connection, name: str) -> int:
        """Increment and return counter ``name`` (inside a transaction)."""
        db.execute(
            "INSERT INTO counters(name, value) VALUES(?, 1) "
            "ON CONFLICT(name) DO UPDATE SET value = value + 1",
            (name,),
        )
        row = db.execute("SELECT value FROM counters WHERE name=?", (name,)).fetchone()
        return int(row[0])

    def next_accession(self, db: sqlite3.Connection, kind: str) -> str:
        """A new accession ID ``{site}_{kind}{n:05d}``: ``kind`` ``"S"`` -> ``XNAT_S00001``,
        ``"E"`` -> ``XNAT_E00001`` (``IDGenerator``: template ``siteId + "_" + code``, format
        ``%s%05d``). The first number for a template follows the IDs that already have it
        (``IDGenerator`` starts at their count), and numbers are never handed out twice."""
        template = f"{self.site_id}_{kind}"
        name = "accession_" + template
        if db.execute("SELECT 1 FROM counters WHERE name=?", (name,)).fetchone() is None:
            table = "subjects" if kind == "S" else "experiments"
            like = template.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            (used,) = db.execute(
                f"SELECT COUNT(*) FROM {table} WHERE id LIKE ? ESCAPE '\\'", (like + "%",)
            ).fetchone()
            db.execute("INSERT INTO counters(name, value) VALUES(?, ?)", (name, int(used)))
        n = self.next_counter(db, name)
        return f"{template}{n:05d}"

    def next_event(self, db: sqlite3.Connection) -> int:
        """A new audit event id (``create_event_id`` in JSON meta)."""
        return self.next_counter(db, "event")

    # -- users ------------------------------------------------------------------------------
    def add_user(
        self,
        login: str,
        password: str,
        *,
        admin: bool = False,
        firstname: str = "",
        lastname: str = "",
        email: str = "",
    ) -> User:
        """Create (or update the password/flags of) a user."""
        with self.tx() as db:
            db.execute(
                "INSERT INTO users(login, password, firstname, lastname, email, admin, created) "
                "VALUES(?,?,?,?,?,?,?) ON CONFLICT(login) DO UPDATE SET password=excluded.password,"
                " admin=excluded.admin",
                (
                    login,
                    password,
                    firstname or login.capitalize(),
                    lastname or ("Admin" if login == "admin" else "User"),
                    email or f"{login}@example.com",
                    int(admin),
                    time.time(),
                ),
            )
        user = self.get_user(login)
        assert user is not None
        return user

    def get_user(self, login: str) -> User | None:
        """The user ``login`` or ``None``."""
        row = self.one("SELECT * FROM users WHERE login=?", (login,))
        return _user(row) if row is not None else None

    def check_password(self, login: str, password: str) -> User | None:
        """The enabled user when ``password`` is right, else ``None``."""
        row = self.one("SELECT * FROM users WHERE login=? AND enabled=1", (login,))
        if row is None or row["password"] != password:
            return None
        return _user(row)

    def list_users(self) -> list[User]:
        """Every user ordered by ``xdat_user_id``."""
        return [_user(r) for r in self.query("SELECT * FROM users ORDER BY xdat_user_id")]

    # -- projects access --------------------------------------------------------------------
    def project_role(self, project: str, login: str) -> str | None:
        """``owner``/``member``/``collaborator`` of ``login`` in ``project``, or ``None``."""
        row = self.one(
            "SELECT level FROM project_users WHERE project=? AND login=?", (project, login)
        )
        return str(row[0]) if row is not None else None


def _user(row: sqlite3.Row) -> User:
    return User(
        login=row["login"],
        admin=bool(row["admin"]),
        xdat_user_id=int(row["xdat_user_id"]),
        firstname=row["firstname"],
        lastname=row["lastname"],
        email=row["email"],
        enabled=bool(row["enabled"]),
    )
