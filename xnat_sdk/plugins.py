"""The plugins installed on the server: ``session.plugins`` (xnatpy's name), a read-only
mapping of plugin ID to :class:`PluginInfo`, from XNAT's ``GET /xapi/plugins`` (one
request, cached until :meth:`~xnat_sdk.session.XNATSession.clearcache`).

XNAT answers every installed plugin's ``XnatPluginBean`` in that one request, so (unlike
xnatpy, which reads each plugin again from ``/xapi/plugins/{id}``) nothing more is sent.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from xnat_sdk._answers import answer_of
from xnat_sdk.errors import XNATKeyError

if TYPE_CHECKING:
    from xnat_sdk.session import XNATSession

__all__ = ["PluginInfo", "Plugins"]


@dataclass(frozen=True)
class PluginInfo:
    """One installed plugin (XNAT's ``XnatPluginBean``; xnatpy's ``PluginConfiguration``
    names: ``id``, ``name``, ``label``, ``version``, ``plugin_class``, ``log_file``,
    ``bean_name``)."""

    id: str
    name: str
    version: str
    plugin_class: str
    bean_name: str
    log_file: str | None = None
    """The plugin's ``logConfigurationFile``."""
    description: str | None = None
    namespace: str | None = None
    entity_packages: tuple[str, ...] = ()
    data: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    """The whole bean as the server sent it (``dataModelBeans``, ``extendedAttributes`` ...)."""

    @property
    def label(self) -> str:
        """The plugin's name (xnatpy's ``label``)."""
        return self.name

    @property
    def uri(self) -> str:
        """The plugin's REST path (``/xapi/plugins/{id}``, as xnatpy's)."""
        return f"/xapi/plugins/{self.id}"

    @classmethod
    def from_bean(cls, bean: Mapping[str, Any]) -> PluginInfo:
        """The plugin a ``/xapi/plugins`` bean (its JSON object) describes."""

        def text(key: str) -> str | None:
            value = bean.get(key)
            return None if value is None else str(value)

        return cls(
            id=str(bean.get("id") or ""),
            name=str(bean.get("name") or bean.get("id") or ""),
            version=str(bean.get("version") or ""),
            plugin_class=str(bean.get("pluginClass") or ""),
            bean_name=str(bean.get("beanName") or ""),
            log_file=text("logConfigurationFile"),
            description=text("description"),
            namespace=text("namespace"),
            entity_packages=_texts(bean.get("entityPackages")),
            data=dict(bean),
        )


def _texts(value: object) -> tuple[str, ...]:
    """A bean's list of names (anything else the server sent there: none)."""
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


class Plugins(Mapping[str, PluginInfo]):
    """The installed plugins by ID (``session.plugins["batchLaunchPlugin"].version``)."""

    def __init__(
        self, plugins: Mapping[str, PluginInfo], session: XNATSession | None = None
    ) -> None:
        self._plugins = dict(plugins)
        self._session = session

    @property
    def xnat_session(self) -> XNATSession | None:
        """The session the list was read through (xnatpy's name)."""
        return self._session

    @property
    def caching(self) -> bool:
        """Always True: the list is read once, until :meth:`clearcache` (xnatpy's name)."""
        return True

    def clearcache(self) -> None:
        """Make the session's next ``session.plugins`` read the list again (xnatpy's
        ``session.plugins.clearcache()``; ``session.clearcache()`` does it too). This
        object keeps the list it holds."""
        if self._session is not None:
            self._session._forget("plugins")

    def __getitem__(self, plugin_id: str) -> PluginInfo:
        found = self._plugins.get(plugin_id)
        if found is None:
            installed = ", ".join(sorted(self._plugins)) or "none"
            raise XNATKeyError(
                plugin_id, f"no plugin {plugin_id!r} is installed (installed: {installed})"
            )
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self._plugins)

    def __len__(self) -> int:
        return len(self._plugins)

    def __repr__(self) -> str:
        return f"<Plugins: {', '.join(self._plugins) or 'none'}>"


def load_plugins(session: XNATSession) -> Plugins:
    """``GET /xapi/plugins``: a JSON object of plugin ID to bean."""
    answer = answer_of(session.get("/xapi/plugins"))
    beans = answer.document
    if not isinstance(beans, dict) or not all(isinstance(b, dict) for b in beans.values()):
        raise answer.error("expected a JSON object of plugin ID to plugin, got something else")
    return Plugins({str(k): PluginInfo.from_bean(v) for k, v in beans.items()}, session)
