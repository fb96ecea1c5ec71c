"""URLs fit for messages and logs: user info and secret-looking query values hidden."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = ["redact_url"]

_SECRET_KEYS = ("pass", "secret", "token", "jsession", "alias", "auth")


def redact_url(url: str) -> str:
    """``url`` with user info and secret-looking query values replaced by ``***``."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rsplit("@", 1)[1]
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(_secret_key(key) for key, _ in pairs):
            query = urlencode([(k, "***" if _secret_key(k) else v) for k, v in pairs], safe="/:,*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _secret_key(key: str) -> bool:
    lowered = key.lower()
    return any(word in lowered for word in _SECRET_KEYS)
