"""What one local XNAT server shares across its requests: its settings and its live parts.

:class:`ServerConfig` is what :class:`xnat_sdk.testing.LocalXNAT` (or ``xnat-sdk serve``)
asks for; :class:`ServerState` is what every handler reaches as ``ctx.state``. They live apart
from :mod:`xnat_sdk.testing._server.app`, so that the modules the app imports
(authentication, faults, the route modules) can name them without importing the app.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from xnat_sdk.testing._server.faults import Faults
    from xnat_sdk.testing._server.routing import Router
    from xnat_sdk.testing._server.store import Store

__all__ = ["ServerConfig", "ServerState"]


@dataclass
class ServerConfig:
    """Static settings of one server."""

    data_dir: Path
    schemas_dir: Path | None = None
    #: extra ``.xsd`` files (site plugins), served as ``/xapi/schemas/{stem}`` and known types
    extra_schemas: list[Path] = field(default_factory=list)
    #: the site ID to start with (stored as the ``siteId`` preference); ``None`` keeps the
    #: stored one (``XNAT`` on a new store). Set to the site ID in force once started.
    site_id: str | None = None
    #: the ``/xapi/schemas`` name of each extra file (default: its stem)
    schema_names: dict[Path, str] = field(default_factory=dict)
    version: str = "1.8.10"
    session_timeout_ms: int = 900_000
    #: XNAT's ``restrictUserListAccessToAdmins`` site preference; off by default, as in XNAT:
    #: every logged-in user may list the site's users (``/data/users``, ``/xapi/users``,
    #: ``/xapi/users/profiles``, ``/xapi/users/current``, ``/xapi/users/profile/{login}``).
    #: On, only site admins may: ``/data/users`` answers other users 403 "Access Denied: Only
    #: site managers can access site-level user resources." and the XAPI listings a bare 403
    #: (``/xapi/users/profile/{login}`` stays open to that user). Guests are refused either
    #: way (``/data/users`` 403, ``/xapi/users*`` 401).
    restrict_user_list: bool = False
    #: XNAT's ``requireLogin`` site preference to start with (``None`` keeps the stored one,
    #: on for a new store as on a fresh XNAT): on, anonymous requests get 401 everywhere but
    #: XNAT's open URLs; off, they run as the guest user (public projects are readable).
    require_login: bool | None = None
    #: ``(login, password, admin)`` users created at startup (when missing).
    users: list[tuple[str, str, bool]] = field(
        default_factory=lambda: [("admin", "admin", True), ("user", "user", False)]
    )


@dataclass
class ServerState:
    """The live state shared by every request of one server."""

    config: ServerConfig
    store: Store
    router: Router
    faults: Faults
    started_at: float = field(default_factory=time.time)
    #: Free slots for modules (keyed by module name) to keep their own in-memory state.
    extras: dict[str, Any] = field(default_factory=dict)
