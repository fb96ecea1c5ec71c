"""``connect()``: log in to an XNAT server with ONE request and return an :class:`XNATSession`.

The login is ``GET /data/JSESSION`` (with basic auth when there are credentials): its answer
is the session id and sets the ``JSESSIONID`` cookie every later request uses. Nothing else is
requested until used (no schema download, no version query). A redirect on that request
is followed only within the origin named (a sub-path) or from ``http://host`` (port 80) to
``https://host`` (port 443), and, with ``detect_redirect``, the final base URL is used from
then on; a redirect anywhere else (another host or port, ``https`` on another port of the
same host too, ``https`` to ``http``) raises :class:`~xnat_sdk.errors.XNATRedirectError`
naming the target before the credentials go there. Credentials about to go over plain
``http`` to a host that is not this machine warn first
(:class:`~xnat_sdk.errors.XNATPlainHTTPWarning`).
"""

from __future__ import annotations

import logging
import os
import warnings
import weakref
from collections.abc import Iterable
from types import ModuleType
from urllib.parse import unquote, urlsplit, urlunsplit

from xnat_sdk._http import Body, Transport, redact_url, scrub
from xnat_sdk._objects.registry import register_models
from xnat_sdk._urls import is_loopback_host, plain_http_off_machine
from xnat_sdk.auth import Credentials, is_alias_token, resolve_credentials, server_from_env
from xnat_sdk.errors import (
    XNATAuthError,
    XNATConnectionError,
    XNATFileNotFoundError,
    XNATInsecureWarning,
    XNATPlainHTTPWarning,
    XNATValueError,
    error_for_response,
)
from xnat_sdk.session import DEFAULT_TIMEOUT, Timeout, XNATSession

__all__ = ["connect"]

LOGIN_PATH = "/data/JSESSION"


def _login(
    transport: Transport,
    base: str,
    credentials: Credentials,
    timeout: Timeout,
) -> tuple[str, str | None]:
    """Log in; returns (base URL after same-origin redirects, JSESSION id).

    Redirects are followed by the transport within the origin (and from http on port 80 to
    https on 443); a read timeout is not retried.
    """
    url = base + LOGIN_PATH
    auth = transport.basic_auth(credentials) if credentials.user is not None else None
    try:
        response = transport.send("GET", url, body=Body(), timeout=timeout, auth=auth)
    except XNATConnectionError as exc:
        scrub(exc)
        raise
    final = response.url or url
    final_base = final[: -len(LOGIN_PATH)] if final.endswith(LOGIN_PATH) else base
    if response.status_code == 401 and credentials.source == "anonymous":
        # Sites that let guests read data may still refuse them a session: go on without one.
        transport.logger.debug("no session for anonymous access; continuing as guest")
        return final_base.rstrip("/"), None
    if response.status_code == 401:
        who = credentials.user or credentials.source
        raise XNATAuthError(
            "GET",
            redact_url(final),
            401,
            f"login failed for {who} (credentials from {credentials.source})",
            response,
        )
    if response.status_code != 200:
        error = error_for_response("GET", redact_url(final), response.status_code, response.text)
        if response.status_code == 404:  # most often a wrong server URL, not a missing object
            hint = _no_xnat_hint(base)
            raise type(error)(error.method, error.url, 404, error.message, response, hint)
        raise error
    text = response.text.strip()
    token = transport.cookie("JSESSIONID") or (text if text and "<" not in text else None)
    return final_base.rstrip("/"), token


def _no_xnat_hint(base: str) -> str:
    """What a 404 on the login says: no XNAT answers at ``base`` (a wrong server URL)."""
    return (
        f"no XNAT answers at {redact_url(base)}: check the server URL, the address of XNAT's "
        "web pages without /app/...; a site may put XNAT under a path such as /xnat, or not"
    )


def _logger(
    logger: logging.Logger | None, loglevel: str | int | None, debug: bool
) -> logging.Logger:
    if logger is None:
        logger = logging.getLogger("xnat_sdk")
        if (debug or loglevel is not None) and not logger.handlers:
            handler = logging.StreamHandler()
            handler.setFormatter(logging.Formatter("[%(levelname)s] %(name)s: %(message)s"))
            logger.addHandler(handler)
    if loglevel is not None:
        logger.setLevel(loglevel)
    elif debug:
        logger.setLevel(logging.DEBUG)
    return logger


_insecure_warned = False


def _base_url(server: str | None) -> tuple[str, str | None, str | None]:
    """The server URL (argument, else ``XNATPY_HOST``/``XNAT_HOST``) without a trailing
    slash or user info, checked to be http(s), and the user and password its user info
    named (``https://user:password@host``), which never stay in the URL: it is the
    session's ``server``, shown in every message and carried by every pickled object."""
    if not server:
        server = server_from_env()
    if not server:
        raise XNATValueError("no server given and neither XNATPY_HOST nor XNAT_HOST is set")
    shown = redact_url(server)
    if "://" not in server:
        raise XNATValueError(f"the server URL needs a scheme (https://...), got {shown!r}")
    if server.split("://", 1)[0].lower() not in ("http", "https"):
        raise XNATValueError(f"the server URL must start with http:// or https://, got {shown!r}")
    parts = urlsplit(server)
    if "@" not in parts.netloc:
        return server.rstrip("/"), None, None
    userinfo, host = parts.netloc.rsplit("@", 1)
    user, colon, password = userinfo.partition(":")
    bare = urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    return bare.rstrip("/"), unquote(user) or None, unquote(password) if colon else None


def _credentials(
    base: str,
    user: str | None,
    password: str | None,
    netrc_file: str | os.PathLike[str] | None,
    auth_provider: str | None,
) -> Credentials:
    """Who logs in (see :func:`~xnat_sdk.auth.resolve_credentials`), through
    ``auth_provider`` when one is named."""
    credentials = resolve_credentials(base, user, password, netrc_file)
    if auth_provider and credentials.user is not None:
        return Credentials(
            f"{auth_provider}/{credentials.user}",
            credentials.reveal_password(),
            credentials.source,
        )
    return credentials


def _warn_insecure() -> None:
    """Silence urllib3's per-request warning; warn once per process ourselves."""
    global _insecure_warned
    import urllib3

    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    if not _insecure_warned:
        _insecure_warned = True
        warnings.warn(
            XNATInsecureWarning(
                "verify=False: TLS certificates are NOT checked; the connection can be "
                "intercepted. Use it only for servers you trust (e.g. self-signed, local)."
            ),
            stacklevel=3,
        )


def _warn_plain_http(base: str, credentials: Credentials, proxy: str | None) -> None:
    """Warn (:class:`XNATPlainHTTPWarning`) when the login sends a credential over plain
    http to a host that is not this machine, or through a proxy that is not on it (it has
    not been sent yet)."""
    if urlsplit(base).scheme.lower() != "http":
        return
    if plain_http_off_machine(base):
        where = base
    elif proxy is not None and not is_loopback_host(urlsplit(proxy).hostname or ""):
        where = f"{base} through the proxy {redact_url(proxy)}"
    else:
        return
    if credentials.source == "jsession":
        sent = "the session id (jsession)"
    elif credentials.user is None:
        return
    elif is_alias_token(credentials.user.rsplit("/", 1)[-1]):
        sent = "the secret of an alias token"  # one message: a map's workers warn once
    else:
        sent = f"the password of user {credentials.user!r}"
    warnings.warn(XNATPlainHTTPWarning(sent, where), stacklevel=3)


def connect(
    server: str | None = None,
    user: str | None = None,
    password: str | None = None,
    verify: bool | str = True,
    netrc_file: str | os.PathLike[str] | None = None,
    debug: bool = False,
    extension_types: bool | Iterable[str | ModuleType] = True,
    loglevel: str | int | None = None,
    logger: logging.Logger | None = None,
    detect_redirect: bool = True,
    no_parse_model: bool = False,
    default_timeout: Timeout = DEFAULT_TIMEOUT,
    auth_provider: str | None = None,
    jsession: str | None = None,
    cli: bool = False,
    pilot_timeout: Timeout = None,
    *,
    timeout: Timeout = None,
    keepalive: bool | float | None = None,
    retries: int = 3,
) -> XNATSession:
    """Log in to ``server`` and return an :class:`XNATSession` (also a context manager).

    Credentials: ``user``/``password`` (an alias token's alias/secret work too); else the
    ``XNATPY_USER``/``XNAT_USER`` and ``XNATPY_PASS``/``XNAT_PASS`` environment variables;
    else the netrc entry for the host (``netrc_file``, ``$NETRC``, ``~/.netrc``); a user
    without a password is prompted for one; nobody at all means anonymous (guest) access.
    ``server`` defaults to ``XNATPY_HOST``/``XNAT_HOST``.

    The parameters up to ``pilot_timeout`` are xnatpy 0.8's, in its order (a script passing
    them by position runs unchanged). ``default_timeout`` bounds every request that names
    none (300 s; :attr:`XNATSession.request_timeout`); ``timeout`` (keyword only) replaces
    it when given, the login's included; ``verify=False`` skips TLS certificate checks
    (warned once), a path names a CA bundle (a missing one is refused at once, over http
    too). A password, token secret or ``jsession`` about to go over plain
    ``http://`` to a host that is not this machine warns
    (:class:`~xnat_sdk.errors.XNATPlainHTTPWarning`).
    ``no_parse_model=True`` gives a session whose raw verbs work against any server while
    the typed object model is switched off. Exactly one request is sent.

    Also as in xnatpy: ``jsession`` reuses an existing server session (checked with that one
    request), ``auth_provider`` logs in through a named provider (``provider/user``), ``cli``
    keeps the server session alive on disconnect, ``pilot_timeout`` bounds only the login.
    Extra: ``keepalive`` (False, or seconds between heartbeats) and ``retries`` (idempotent
    requests only). ``extension_types`` may also name site models packages made with
    ``xnat-sdk generate`` (module names or modules): their classes are then used for their
    xsi types (see :func:`xnat_sdk.generic.register_models`); types no package knows become
    generic objects either way. ``False`` (as in xnatpy) leaves the site packages out for
    this session: their types come back as generic objects.
    """
    extension_types = _register_extensions(extension_types)
    log = _logger(logger, loglevel, debug)
    base, user, password = _server_and_user(server, user, password)
    if verify is False:
        _warn_insecure()
    elif isinstance(verify, (str, os.PathLike)) and not os.path.exists(verify):
        # requests reads a CA bundle path only for https: over http a typo went unseen
        raise XNATFileNotFoundError(
            "verify", os.fspath(verify), "no such CA bundle (file or folder of certificates)", 2
        )
    if retries < 0:
        raise XNATValueError(f"retries must be >= 0, got {retries}")
    transport = Transport(base, verify=verify, retries=retries, logger=log)
    request_timeout = timeout if timeout is not None else default_timeout
    try:
        credentials = _login_credentials(
            transport, base, user, password, netrc_file, auth_provider, jsession
        )
        password = None  # from here on only the credentials hold it (out of sight)
        _warn_plain_http(base, credentials, transport.proxy_for(base + LOGIN_PATH))
        login_timeout = pilot_timeout if pilot_timeout is not None else request_timeout
        final_base, token = _login(transport, base, credentials, login_timeout)
    except BaseException:
        transport.close()
        raise
    final_base = _redirected(transport, base, final_base, detect_redirect, log)
    relogin = _Relogin(transport, final_base, credentials, request_timeout)
    session = XNATSession(
        final_base,
        transport,
        logger=log,
        credentials=credentials,
        jsession=jsession if jsession is not None else token,
        original_uri=base,
        debug=debug,
        default_timeout=request_timeout,
        no_parse_model=no_parse_model,
        extension_types=extension_types,
        keepalive=keepalive if keepalive is not None or token or jsession else False,
        relogin=relogin if credentials.user is not None else None,
        logout_on_disconnect=not cli,
    )
    relogin.session = weakref.ref(session)
    return session


def _server_and_user(
    server: str | None, user: str | None, password: str | None
) -> tuple[str, str | None, str | None]:
    """The server's base URL (see :func:`_base_url`) and who logs in: ``user`` and
    ``password`` as given, else the user and password the URL's user info names (a password
    given with no user goes with the URL's user)."""
    base, url_user, url_password = _base_url(server)
    if url_user is not None and user is None:
        return base, url_user, password if password is not None else url_password
    return base, user, password


def _register_extensions(extension_types: bool | Iterable[str | ModuleType]) -> bool:
    """``connect``'s ``extension_types``: the site models packages it names registered
    (:func:`~xnat_sdk._objects.registry.register_models`), then True; a bool as given."""
    if isinstance(extension_types, bool):
        return extension_types
    for package in extension_types:
        register_models(package)
    return True


def _login_credentials(
    transport: Transport,
    base: str,
    user: str | None,
    password: str | None,
    netrc_file: str | os.PathLike[str] | None,
    auth_provider: str | None,
    jsession: str | None,
) -> Credentials:
    """Who logs in: with ``jsession``, nobody (the server session it names, whose cookie
    ``transport`` now sends), else as :func:`_credentials` finds."""
    if jsession is not None:
        transport.set_session_cookie(base, jsession)
        return Credentials(None, None, "jsession")
    return _credentials(base, user, password, netrc_file, auth_provider)


def _redirected(
    transport: Transport, base: str, final_base: str, detect_redirect: bool, log: logging.Logger
) -> str:
    """The session's base URL: ``final_base``, where the login was redirected (within the
    origin: see :func:`_login`), with ``detect_redirect`` (``transport`` rebased on it),
    else ``base``."""
    if final_base == base or not detect_redirect:
        return base
    log.info("the server redirected %s to %s; using the latter", base, final_base)
    transport.rebase(final_base)
    return final_base


class _Relogin:
    """A session's new login after its server session ended (``XNATSession``'s
    ``relogin``): with the session's credentials then (a map worker's session takes its
    run's newer tokens), those of the first login until :attr:`session` is set; the new
    JSESSION id, or None for nobody to log in."""

    def __init__(
        self, transport: Transport, base: str, credentials: Credentials, timeout: Timeout
    ) -> None:
        self._transport = transport
        self._base = base
        self._credentials = credentials
        self._timeout = timeout
        self.session: weakref.ref[XNATSession] | None = None
        """The session it logs in again (weakly: the session holds this)."""

    def __call__(self) -> str | None:
        found = self.session() if self.session is not None else None
        credentials = found._credentials if found is not None else self._credentials
        if credentials.user is None:
            return None
        return _login(self._transport, self._base, credentials, self._timeout)[1]
