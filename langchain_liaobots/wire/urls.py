"""URL and origin policy: URLs in, bare bases, origins and verdicts out.

* `normalize_base_url` reduces a user's ``base_url`` to the bare base the
  endpoint paths are appended to, refusing credentials, queries and fragments;
* `origin_of` is a base URL's ``scheme://host[:port]`` (the ``origin`` and
  ``referer`` headers);
* `same_origin` and `canonical_origin` compare and show origins with
  the default ports filled in (the redirect policy's test);
* `is_loopback` tells whether a URL's host is this machine.

Nothing here touches a socket or resolves a name.
"""

from __future__ import annotations

import ipaddress
from typing import Final
from urllib.parse import urlsplit, urlunsplit

from langchain_liaobots.wire.protocol import CHAT_PATH

__all__ = [
    "canonical_origin",
    "is_loopback",
    "normalize_base_url",
    "origin_of",
    "same_origin",
]

_API_SUFFIXES: Final = (CHAT_PATH, "/api")

_DEFAULT_PORTS: Final = {"http": 80, "https": 443}


def origin_of(base_url: str) -> str:
    """Return ``scheme://host[:port]`` of a URL, without path or trailing slash.

    Args:
        base_url: An absolute ``http`` or ``https`` URL.

    Returns:
        The origin.

    Raises:
        ValueError: If the URL is not absolute ``http``/``https``.
    """
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        msg = (
            f"base_url must be an absolute http(s) URL such as "
            f"'https://liaobots.com'; got {base_url!r}."
        )
        raise ValueError(msg)
    return f"{parts.scheme}://{parts.netloc}"


def normalize_base_url(base_url: str) -> str:
    """Reduce a base URL to the bare base that the endpoint paths are appended to.

    A trailing slash and a trailing ``/api/chat`` or ``/api`` are removed
    (``https://liaobots.com/api/chat/`` becomes ``https://liaobots.com``);
    another path (a proxy's prefix) is kept.

    Args:
        base_url: An absolute ``http``/``https`` URL.

    Returns:
        The bare base URL.

    Raises:
        ValueError: If the URL carries credentials (``user:password@``), is not
            absolute ``http``/``https``, or has a query or a fragment (which the
            endpoint paths cannot follow). The credentials are never repeated.
    """
    parts = urlsplit(base_url)
    if "@" in parts.netloc:
        msg = (
            "base_url must not carry credentials (user:password@host): they would "
            "be sent in the origin and referer headers and shown in traces and "
            "repr. Pass the auth code as auth= (a gateway's credentials as "
            f"default_headers=) and base_url as {parts.scheme}://"
            f"{parts.netloc.rpartition('@')[2]}{parts.path}."
        )
        raise ValueError(msg)
    origin_of(base_url)
    if "?" in base_url or "#" in base_url:
        msg = (
            "base_url must be the service's address without a query or fragment, "
            f"such as 'https://liaobots.com'; got {base_url!r}."
        )
        raise ValueError(msg)
    path = parts.path.rstrip("/")
    for suffix in _API_SUFFIXES:
        if path.endswith(suffix):
            path = path[: -len(suffix)].rstrip("/")
            break
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def _origin_key(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    return (
        scheme,
        (parts.hostname or "").lower(),
        port if port is not None else _DEFAULT_PORTS.get(scheme),
    )


def canonical_origin(url: str) -> str:
    """Show a URL's origin as `same_origin` compares it.

    Args:
        url: An absolute URL.

    Returns:
        ``scheme://host:port``, lower-cased, the default port filled in, and
        never a path, a query or credentials (so it is safe to quote).
    """
    scheme, host, port = _origin_key(url)
    return f"{scheme}://{host}" + (f":{port}" if port is not None else "")


def same_origin(a: str, b: str) -> bool:
    """Whether two URLs share scheme, host and port (default ports filled in).

    Args:
        a: An absolute URL.
        b: Another absolute URL.

    Returns:
        True if both have the same origin.
    """
    key = _origin_key(a)
    return key == _origin_key(b) and bool(key[1])


def is_loopback(url: str) -> bool:
    """Whether a URL's host is this machine (``localhost``, 127.0.0.0/8, ``::1``).

    Args:
        url: An absolute URL.

    Returns:
        True for a loopback host.
    """
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
