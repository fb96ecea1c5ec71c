"""``connect()``: log in to an XNAT server with ONE request and return an :class:`XNATSession`.

The login is ``GET /data/JSESSION`` (with basic auth when there are credentials): its answer
is the session id and sets the ``JSESSIONID`` cookie every later request uses. Nothing else is
requested until used (no schema download, no version query). A redirect on that request
(``http`` to ``https``, or to a sub-path) is followed on the same host and, with
``detect_redirect``, the final base URL is used from then on.
"""

from __future__ import annotations

import logging
import os
import platform
import time
import warnings
from collections.abc import Iterable
from types import ModuleType
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from xnat_sdk import __version__
from xnat_sdk.auth import Credentials, resolve_credentials, server_from_env
from xnat_sdk.errors import (
    XNATAuthError,
    XNATConnectionError,
    XNATInsecureWarning,
    XNATSSLError,
    XNATValueError,
    error_for_response,
)
from xnat_sdk.session import DEFAULT_TIMEOUT, Timeout, XNATSession, redact_url

__all__ = ["connect"]

LOGIN_PATH = "/data/JSESSION"
_MAX_REDIRECTS = 5
_RETRY_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


def _retry(total: int) -> Retry:
    return Retry(
        total=total,
        connect=total,
        read=total,
        status=total,
        backoff_factor=0.2,
        status_forcelist=(429, 502, 503, 504),
        allowed_methods=_RETRY_METHODS,
        respect_retry_after_header=True,
        raise_on_status=False,
        redirect=False,
    )


def _environment_settings(base: str, verify: bool | str) -> tuple[dict[str, str], bool | str]:
    """Proxies and CA bundle from the environment, read once (requests would re-read them,
    and the netrc file, on every request)."""
    proxies = requests.utils.get_environ_proxies(base)
    if verify is True:
        for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"):
            bundle = os.environ.get(name)
            if bundle:
                return proxies, bundle
    return proxies, verify


def _make_interface(base: str, verify: bool | str, retries: int) -> requests.Session:
    interface = requests.Session()
    interface.trust_env = False
    proxies, verify = _environment_settings(base, verify)
    interface.proxies.update(proxies)
    interface.headers["User-Agent"] = (
        f"xnat-sdk/{__version__} (python/{platform.python_version()}; "
        f"requests/{requests.__version__})"
    )
    interface.verify = verify
    adapter = HTTPAdapter(max_retries=_retry(retries))
    interface.mount("http://", adapter)
    interface.mount("https://", adapter)
    return interface


def _no_retry_clone(interface: requests.Session) -> requests.Session:
    """A second requests session sharing cookies and headers, without retries (for bodies
    that cannot be rewound, which a retry would re-send empty)."""
    clone = requests.Session()
    clone.headers = interface.headers
    clone.cookies = interface.cookies
    clone.verify = interface.verify
    clone.trust_env = False
    clone.proxies = interface.proxies
    clone.hooks = interface.hooks
    adapter = HTTPAdapter(max_retries=Retry(total=0, read=False, redirect=False))
    clone.mount("http://", adapter)
    clone.mount("https://", adapter)
    return clone


def _same_site(a: str, b: str) -> bool:
    first, second = urlsplit(a), urlsplit(b)
    return first.hostname == second.hostname


def _login(
    interface: requests.Session,
    base: str,
    credentials: Credentials,
    timeout: Timeout,
    logger: logging.Logger,
) -> tuple[str, str | None]:
    """Log in; returns (base URL after redirects, JSESSION id)."""
    url = base + LOGIN_PATH
    auth = (credentials.user, credentials.password or "") if credentials.user is not None else None
    response: requests.Response | None = None
    for _ in range(_MAX_REDIRECTS + 1):
        started = time.perf_counter()
        try:
            response = interface.get(url, auth=auth, timeout=timeout, allow_redirects=False)
        except requests.exceptions.SSLError as exc:
            raise XNATSSLError(f"GET {redact_url(url)}: TLS failure: {exc}") from exc
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise XNATConnectionError(
                f"cannot reach {redact_url(base)} ({type(exc).__name__}: {exc})"
            ) from exc
        logger.debug(
            "GET %s -> %d (%.1f ms, login)",
            redact_url(url),
            response.status_code,
            (time.perf_counter() - started) * 1000,
        )
        if not response.is_redirect:
            break
        target = urljoin(url, response.headers["Location"])
        if auth is not None and not _same_site(url, target):
            raise XNATValueError(
                f"the server redirects the login to another host ({redact_url(target)}); "
                "connect to that server directly"
            )
        url = target
    else:
        raise XNATValueError(f"too many redirects logging in to {redact_url(base)}")
    assert response is not None
    final_base = url[: -len(LOGIN_PATH)] if url.endswith(LOGIN_PATH) else base
    if response.status_code == 401 and credentials.source == "anonymous":
        # Sites that let guests read data may still refuse them a session: go on without one.
        logger.debug("no session for anonymous access; continuing as guest")
        return final_base.rstrip("/"), None
    if response.status_code == 401:
        who = credentials.user or credentials.source
        raise XNATAuthError(
            "GET",
            redact_url(url),
            401,
            f"login failed for {who} (credentials from {credentials.source})",
            response,
        )
    if response.status_code != 200:
        raise error_for_response("GET", redact_url(url), response.status_code, response.text)
    text = response.text.strip()
    token = interface.cookies.get("JSESSIONID") or (text if text and "<" not in text else None)
    return final_base.rstrip("/"), token


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
    timeout: Timeout = None,
    *,
    default_timeout: Timeout = DEFAULT_TIMEOUT,
    jsession: str | None = None,
    auth_provider: str | None = None,
    cli: bool = False,
    pilot_timeout: Timeout = None,
    keepalive: bool | float | None = None,
    retries: int = 3,
) -> XNATSession:
    """Log in to ``server`` and return an :class:`XNATSession` (also a context manager).

    Credentials: ``user``/``password`` (an alias token's alias/secret work too); else the
    ``XNATPY_USER``/``XNAT_USER`` and ``XNATPY_PASS``/``XNAT_PASS`` environment variables;
    else the netrc entry for the host (``netrc_file``, ``$NETRC``, ``~/.netrc``); a user
    without a password is prompted for one; nobody at all means anonymous (guest) access.
    ``server`` defaults to ``XNATPY_HOST``/``XNAT_HOST``.

    ``timeout`` bounds the login request (and, unless ``default_timeout`` is given, every
    request); ``verify=False`` skips TLS certificate checks (warned once).
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
    global _insecure_warned
    if not isinstance(extension_types, bool):
        from xnat_sdk.generic import register_models

        for package in extension_types:
            register_models(package)
        extension_types = True
    log = _logger(logger, loglevel, debug)
    if not server:
        server = server_from_env()
    if not server:
        raise XNATValueError("no server given and neither XNATPY_HOST nor XNAT_HOST is set")
    if "://" not in server:
        raise XNATValueError(f"the server URL needs a scheme (https://...), got {server!r}")
    if server.split("://", 1)[0].lower() not in ("http", "https"):
        raise XNATValueError(f"the server URL must start with http:// or https://, got {server!r}")
    base = server.rstrip("/")
    if verify is False:
        import urllib3

        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        if not _insecure_warned:
            _insecure_warned = True
            warnings.warn(
                XNATInsecureWarning(
                    "verify=False: TLS certificates are NOT checked; the connection can be "
                    "intercepted. Use it only for servers you trust (e.g. self-signed, local)."
                ),
                stacklevel=2,
            )
    interface = _make_interface(base, verify, retries)
    request_timeout = timeout if timeout is not None else default_timeout
    try:
        if jsession is not None:
            credentials = Credentials(None, None, "jsession")
            interface.cookies.set("JSESSIONID", jsession)
        else:
            credentials = resolve_credentials(base, user, password, netrc_file)
            if auth_provider and credentials.user is not None:
                credentials = Credentials(
                    f"{auth_provider}/{credentials.user}", credentials.password, credentials.source
                )
        login_timeout = pilot_timeout if pilot_timeout is not None else request_timeout
        final_base, token = _login(interface, base, credentials, login_timeout, log)
        if jsession is not None:
            token = jsession
    except BaseException:
        interface.close()
        raise
    if final_base != base:
        if detect_redirect:
            log.info("the server redirected %s to %s; using the latter", base, final_base)
        else:
            final_base = base
    creds = credentials

    def relogin() -> str | None:
        if creds.user is None:
            return None
        _, new_token = _login(interface, final_base, creds, request_timeout, log)
        return new_token

    return XNATSession(
        final_base,
        interface,
        logger=log,
        credentials=credentials,
        jsession=token,
        original_uri=base,
        debug=debug,
        default_timeout=request_timeout,
        no_parse_model=no_parse_model,
        extension_types=extension_types,
        keepalive=keepalive if keepalive is not None or token else False,
        relogin=relogin if credentials.user is not None else None,
        no_retry_interface=_no_retry_clone(interface),
        logout_on_disconnect=not cli,
    )
