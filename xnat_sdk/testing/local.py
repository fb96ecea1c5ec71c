"""``LocalXNAT``: start/stop a local XNAT server and seed it directly through its store."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import xnat_sdk.testing.seed as seed
from xnat_sdk.errors import XNATValueError

if TYPE_CHECKING:
    from xnat_sdk.testing._areas.archive.xsd import SchemaInfo
    from xnat_sdk.testing._server.app import XNATApp
    from xnat_sdk.testing._server.faults import Faults
    from xnat_sdk.testing._server.server import BackgroundServer
    from xnat_sdk.testing._server.store import Store

__all__ = ["LocalXNAT"]

DEFAULT_USERS: tuple[tuple[str, str, bool], ...] = (
    ("admin", "admin", True),
    ("user", "user", False),
)


def site_schema_files(schemas: str | Path | None) -> list[Path]:
    """The ``.xsd`` files of a site schema folder (or the one file given); ``[]`` for None.
    A missing folder is a :class:`FileNotFoundError` naming it."""
    if schemas is None:
        return []
    path = Path(schemas)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FileNotFoundError(f"site schema folder {path} does not exist")
    return sorted(path.rglob("*.xsd"))


class LocalXNAT:
    """A local XNAT server (SQLite store + files on disk) on a real HTTP port.

    ``data_dir=None`` uses a temporary folder removed by :meth:`stop`; given a folder, state
    survives restarts. ``users`` are ``(login, password, admin)`` triples created when missing
    (default ``admin``/``admin`` and the non-admin ``user``/``user``). ``schemas`` is a folder
    of site-plugin schemas (every ``.xsd`` below it; ``xnat-sdk serve --schemas DIR``) and
    ``extra_schemas`` single ``.xsd`` files: their types become creatable, listable and
    searchable, and they are served under ``/xapi/schemas`` next to the core ones, named as
    XNAT names them (``qc/qc.xsd`` -> ``qc``, ``qc/extra.xsd`` -> ``qc/extra``).
    ``restrict_user_list`` is XNAT's ``restrictUserListAccessToAdmins`` site preference, off by
    default as in XNAT: any logged-in user may list the site's users (``/data/users`` and the
    ``/xapi/users`` listings). Switched on, only site admins may: ``/data/users`` answers other
    users 403 "Access Denied: Only site managers can access site-level user resources.", the
    XAPI listings a bare 403 (a user still reads their own ``/xapi/users/profile/{login}``).
    Guests are refused either way (``/data/users`` 403, ``/xapi/users*`` 401).
    ``site_id`` sets XNAT's ``siteId`` site preference at start (``None`` keeps the one stored
    in ``data_dir``, ``XNAT`` for a new one): accession IDs are ``{siteId}_S00001`` and
    ``{siteId}_E00001``; ``/xapi/siteConfig/siteId`` reads and sets it (a change shows in new
    IDs after the next start, as XNAT's ID generator reads it once).
    ``require_login`` sets XNAT's ``requireLogin`` site preference (``None`` keeps the stored
    one; on for a new store, as on a fresh XNAT): on, anonymous requests get 401 except on
    XNAT's open URLs (``/data/JSESSION``, ``/data/services/auth``,
    ``/xapi/siteConfig/buildInfo``, ``/xapi/siteConfig/siteId`` ...); off, they run as the
    guest user, who reads public projects.
    ``session_timeout`` is how long (seconds) a server session lives without a request
    (XNAT's ``sessionTimeout``, 15 minutes by default): a short one lets a test see what a
    script does when its session expires. Alias tokens live as long as the
    ``aliasTokenTimeout`` site preference says (``"2 days"``, as in XNAT; set it with
    ``session.post("/xapi/siteConfig/aliasTokenTimeout", data="10 seconds")``).
    Connections stay open between requests, as on XNAT's Tomcat: ``keepalive_timeout`` is
    how long (seconds) an idle one stays open (Tomcat's ``keepAliveTimeout``, 20 s on
    XNAT's connector), and every connection closes after its 100th answer
    (``maxKeepAliveRequests``); a short timeout lets a test see what a client does when
    the server closes a pooled connection. :attr:`open_connections` counts them and
    :attr:`connections_accepted` counts every one since the start.
    """

    def __init__(
        self,
        data_dir: str | Path | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        users: Iterable[tuple[str, str, bool]] = DEFAULT_USERS,
        schemas_dir: str | Path | None = None,
        site_id: str | None = None,
        extra_schemas: Iterable[str | Path] = (),
        restrict_user_list: bool = False,
        require_login: bool | None = None,
        schemas: str | Path | None = None,
        session_timeout: float = 900.0,
        keepalive_timeout: float = 20.0,
    ) -> None:
        self._tmp: str | None = None
        if data_dir is None:
            self._tmp = tempfile.mkdtemp(prefix="xnat-local-")
            data_dir = self._tmp
        self.data_dir = Path(data_dir)
        if self.data_dir.exists() and not self.data_dir.is_dir():
            raise XNATValueError(f"data_dir {self.data_dir} is a file, not a folder")
        self.host = host
        self.port = _port(port)
        self.users = list(users)
        self.schemas_dir = Path(schemas_dir) if schemas_dir is not None else None
        self.site_id = site_id
        self.extra_schemas = [Path(p) for p in extra_schemas]
        self.schema_names = {p: p.stem for p in self.extra_schemas}
        for path in site_schema_files(schemas):
            # XNAT's name of classpath file schemas/{folder}/{file}.xsd (SchemaApi)
            folder = path.parent.name
            self.schema_names[path] = path.stem if folder == path.stem else f"{folder}/{path.stem}"
            self.extra_schemas.append(path)
        self.restrict_user_list = restrict_user_list
        self.require_login = require_login
        self.session_timeout = _seconds("session_timeout", session_timeout)
        self.keepalive_timeout = _seconds("keepalive_timeout", keepalive_timeout)
        self._app: XNATApp | None = None
        self._server: BackgroundServer | None = None

    # -- lifecycle ----------------------------------------------------------------------------
    def _ensure_app(self) -> XNATApp:
        if self._app is None:
            # the app and the HTTP server need Werkzeug: imported when first used
            from xnat_sdk.testing._server.app import ServerConfig, build_app

            config = ServerConfig(
                data_dir=self.data_dir,
                schemas_dir=self.schemas_dir,
                site_id=self.site_id,
                users=self.users,
                extra_schemas=self.extra_schemas,
                schema_names=self.schema_names,
                restrict_user_list=self.restrict_user_list,
                require_login=self.require_login,
                session_timeout_ms=int(self.session_timeout * 1000),
            )
            self._app = build_app(config)
        return self._app

    def start(self) -> str:
        """Start serving (in a background thread) and return the base URL."""
        if self._server is None:
            from xnat_sdk.testing._server.server import BackgroundServer

            self._server = BackgroundServer(
                self._ensure_app(), self.host, self.port, self.keepalive_timeout
            )
            self._server.start()
        return self.url

    def stop(self) -> None:
        """Stop serving, close the store; remove the data folder if it was temporary."""
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self._app is not None:
            self._app.state.store.close()
            self._app = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> LocalXNAT:
        try:
            self.start()
        except BaseException:  # a port in use ...: no temporary folder or store left open
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _running(self) -> BackgroundServer:
        if self._server is None:
            raise RuntimeError("The server is not running; call start() first.")
        return self._server

    @property
    def url(self) -> str:
        """``http://host:port`` of the running server."""
        server = self._running()
        return f"http://{server.host}:{server.port}"

    @property
    def open_connections(self) -> int:
        """How many client connections the running server holds open now."""
        return self._running().connections

    @property
    def connections_accepted(self) -> int:
        """How many client connections the running server has accepted since its start."""
        return self._running().accepted

    @property
    def app(self) -> XNATApp:
        """The WSGI application (created on first use)."""
        return self._ensure_app()

    @property
    def store(self) -> Store:
        """The SQLite store of the server."""
        return self._ensure_app().state.store

    @property
    def faults(self) -> Faults:
        """The fault-injection switches (see :mod:`xnat_sdk.testing._server.faults`)."""
        return self._ensure_app().state.faults

    # -- seeding ------------------------------------------------------------------------------
    # ``fields`` mappings: keys are ``data_fields`` paths of the object's type
    # (``"group"``, ``"demographics/gender"``, ``"scanner/manufacturer"``) or the shortcuts
    # a PUT takes (``"gender"``, ``"pi_lastname"``); a key ``"fields/<name>"`` sets the
    # custom variable ``<name>`` instead. A key the type lacks, a type the server does not
    # know (its core and site schemas) or a value XNAT's validator refuses is an
    # :class:`~xnat_sdk.testing.seed.XNATSeedError` (a ``ValueError``) naming what is allowed;
    # nothing is stored then.
    def _schema(self) -> SchemaInfo:
        from xnat_sdk.testing._areas.archive.xsd import load_schema_info

        config = self._ensure_app().state.config
        return load_schema_info(config.schemas_dir, tuple(config.extra_schemas))

    def add_user(self, login: str, password: str, *, admin: bool = False) -> None:
        """Create a user."""
        self.store.add_user(login, password, admin=admin)

    def add_plugin(
        self,
        plugin_id: str,
        name: str | None = None,
        version: str = "1.0.0",
        *,
        plugin_class: str | None = None,
        description: str | None = None,
        log_configuration_file: str | None = None,
        entity_packages: Sequence[str] = (),
        data_models: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        """Install a plugin as ``/xapi/plugins`` lists it (XNAT's ``XnatPluginBean`` fields;
        the bean name is the plugin class's simple name, uncapitalised, as XNAT makes it).
        Nothing else of the plugin exists: its data types come from site schemas
        (``schemas=``)."""
        from xnat_sdk.testing._areas.info.routes import add_plugin

        cls = plugin_class or f"org.example.{plugin_id[:1].upper()}{plugin_id[1:]}"
        simple = cls.rsplit(".", 1)[-1]
        add_plugin(
            self.store,
            {
                "id": plugin_id,
                "name": name or plugin_id,
                "version": version,
                "pluginClass": cls,
                "namespace": None,
                "description": description,
                "beanName": simple[:1].lower() + simple[1:],
                "logConfigurationFile": log_configuration_file,
                "entityPackages": list(entity_packages),
                "dataModelBeans": [dict(m) for m in data_models],
                "extendedAttributes": {},
            },
        )

    def add_member(self, project: str, login: str, level: str = "member") -> None:
        """Make ``login`` an ``owner``/``member``/``collaborator`` of ``project``."""
        seed.add_member(self.store, project, login, level)

    def seed_project(
        self,
        project_id: str,
        *,
        name: str | None = None,
        accessibility: str = "private",
        owner: str = "admin",
        fields: Mapping[str, str] | None = None,
    ) -> str:
        """Create a project directly in the store; returns its ID. ``fields``: data fields
        (``description``, ``secondary_ID``, ``pi_lastname`` ...; kept where a PUT keeps them,
        so the ``/data/projects`` listing shows them) and custom variables
        (``fields/<name>``)."""
        return seed.project(
            self.store,
            project_id,
            name=name,
            accessibility=accessibility,
            owner=owner,
            fields=fields,
            schema=self._schema(),
        )

    def seed_subject(
        self, project: str, label: str, *, fields: Mapping[str, str] | None = None
    ) -> str:
        """Create a subject; returns its accession ID."""
        return seed.subject(self.store, project, label, fields=fields, schema=self._schema())

    def seed_session(
        self,
        project: str,
        subject: str,
        label: str,
        *,
        xsi_type: str = "xnat:mrSessionData",
        fields: Mapping[str, str] | None = None,
    ) -> str:
        """Create an experiment under subject (ID or label); returns its accession ID."""
        return seed.session(
            self.store,
            project,
            subject,
            label,
            xsi_type=xsi_type,
            fields=fields,
            schema=self._schema(),
        )

    def seed_scan(
        self,
        session_id: str,
        scan_id: str,
        *,
        type: str = "",
        xsi_type: str = "xnat:mrScanData",
        fields: Mapping[str, str] | None = None,
    ) -> int:
        """Create a scan in experiment ``session_id``; returns ``xnat_imagescandata_id``."""
        return seed.scan(
            self.store,
            session_id,
            scan_id,
            type=type,
            xsi_type=xsi_type,
            fields=fields,
            schema=self._schema(),
        )

    def seed_resource(
        self,
        parent_kind: str,
        parent_id: str | int,
        label: str,
        *,
        format: str = "",
        content: str = "",
    ) -> int:
        """Create a resource under ``parent_kind`` (project/subject/experiment/scan/...)."""
        return seed.resource(
            self.store, parent_kind, str(parent_id), label, format=format, content=content
        )

    def seed_file(self, resource_id: int, path: str, data: bytes) -> None:
        """Store ``data`` as file ``path`` of resource ``resource_id``."""
        seed.file(self.store, resource_id, path, data)

    def seed_bulk(
        self,
        project: str,
        n_subjects: int,
        *,
        sessions_per_subject: int = 1,
        scans_per_session: int = 3,
        files_per_scan: int = 0,
        file_size: int = 0,
    ) -> None:
        """Create many subjects/sessions/scans (and optionally files) in one transaction."""
        seed.bulk(
            self.store,
            project,
            n_subjects,
            sessions_per_subject=sessions_per_subject,
            scans_per_session=scans_per_session,
            files_per_scan=files_per_scan,
            file_size=file_size,
        )


def _seconds(name: str, value: float) -> float:
    """``value`` as seconds, refused unless > 0."""
    if not value > 0:
        raise XNATValueError(f"{name} must be > 0 seconds, got {value!r}")
    return float(value)


def _port(value: int) -> int:
    """``value`` as a TCP port (0: a free one), refused outside 0-65535: the socket layer
    takes 99999 as 99999 % 65536 and would serve on 34463 without a word."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 65535:
        raise XNATValueError(f"port must be a whole number 0-65535 (0: a free one), got {value!r}")
    return value
