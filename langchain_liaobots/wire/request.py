"""The Liaobots requests: a model, a prompt and wire messages in, requests out.

Nothing here touches a socket. A `Request` (URL, headers, JSON body bytes)
is what the transports (`langchain_liaobots.transport`) send:

* `build_request` turns a registry entry, a prompt and wire messages into
  the chat request (its body from `build_payload`: the specified shape,
  ``"2023"``, or the 2025 one with ``models``/``search``; its headers from
  `build_headers`); the caller fits the messages to the service's budget
  first (`budget`);
* `build_login_request`, `build_user_request` and
  `build_models_request` build the session login, the auth-code /
  account-state call and the model discovery call (the login and ``/api/user``
  bodies of the chosen era: ``{}`` and ``{"authcode"}`` in 2023, the last
  clients' ``{"token"}`` and ``{"authcode", "recommendUrl"}`` in 2025);
* `with_auth_headers` adds the auth code and the session cookie to a
  request just before it is sent, so nothing else ever holds them in headers;
* `follow_redirect` decides whether a redirect may be followed: only to
  the same origin, read by the one origin policy of `urls` (a ``Location``
  that HTTP libraries could read differently is refused), so the auth code
  never travels elsewhere.

The format's constants are `langchain_liaobots.wire.protocol`; the response
side (bytes in, text out) is `langchain_liaobots.wire.response`.
"""

from __future__ import annotations

import json
import secrets
import string
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urljoin, urlsplit

from langchain_liaobots.errors import LiaobotsRedirectError
from langchain_liaobots.registry import ModelSpec
from langchain_liaobots.wire.protocol import (
    AUTH_HEADER,
    CHAT_PATH,
    COOKIE_HEADER,
    JSON_CONTENT_TYPE,
    LOGIN_PATH,
    LOGIN_TOKEN_LENGTH,
    MODELS_PATH,
    RECOMMEND_PATH,
    TEMPERATURE_FIELD,
    USER_AGENT,
    USER_PATH,
    BodyFormat,
)
from langchain_liaobots.wire.urls import (
    AmbiguousURLError,
    odd_character,
    origin_of,
    strict_origin,
)

__all__ = [
    "MAX_REDIRECTS",
    "REDIRECT_STATUSES",
    "Request",
    "build_headers",
    "build_login_request",
    "build_models_request",
    "build_payload",
    "build_request",
    "build_user_request",
    "check_provider",
    "follow_redirect",
    "with_auth_headers",
]

REDIRECT_STATUSES: Final = frozenset({301, 302, 303, 307, 308})
"""Statuses that redirect; only 307/308 to the same origin are followed."""

MAX_REDIRECTS: Final = 5
"""The most same-origin redirects followed for one request."""


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request, ready for any transport.

    Attributes:
        url: The absolute URL to POST to.
        headers: The request headers (the auth code among them once signed).
        body: The JSON body, UTF-8 encoded.
    """

    url: str
    headers: Mapping[str, str]
    body: bytes

    def __repr__(self) -> str:
        """Show the URL and size only: headers and body may hold the auth code."""
        return f"Request(url={self.url!r}, body=<{len(self.body)} bytes>)"


def check_provider(spec: ModelSpec, body_format: BodyFormat) -> None:
    """Check that the body format can name the model: 2025 bodies need a provider.

    Args:
        spec: The model's registry entry.
        body_format: The body shape.

    Raises:
        ValueError: If ``body_format`` is ``"2025"`` and the entry has no
            ``provider``; the message names the setting and what to do.
    """
    if body_format == "2025" and not spec.provider:
        msg = (
            f"body_format='2025' sends the model's provider (models: [{{modelId, "
            f"provider}}]), and model {spec.id!r} has no provider in the registry. "
            "Choose a model whose entry names one (such as 'gpt-4o-free'), "
            "register the entry with a provider (register_model({..., "
            "'provider': 'OpenAI'})), discover the server's models first "
            "(ChatLiaobots(base_url=...).discover_models(): a listing that names "
            "the provider supplies it for that base_url), or use "
            "body_format='2023'."
        )
        raise ValueError(msg)


def build_payload(
    spec: ModelSpec,
    prompt: str,
    messages: Sequence[Mapping[str, str]],
    conversation_id: str | None = None,
    body_format: BodyFormat = "2023",
    temperature: float | None = None,
) -> dict[str, Any]:
    """Build the JSON body of ``POST /api/chat``.

    Args:
        spec: The model's registry entry, sent whole as ``model`` (``"2023"``),
            or as ``models: [{"modelId", "provider"}]`` (``"2025"``).
        prompt: The system prompt.
        messages: ``{"role", "content"}`` dicts, roles ``user``/``assistant``.
        conversation_id: Defaults to a fresh UUIDv4.
        body_format: The body shape.
        temperature: Sent as `TEMPERATURE_FIELD` when not ``None``.

    Returns:
        The body as a dict with the fields of
        `PAYLOAD_FIELDS` (or
        `PAYLOAD_FIELDS_2025`), in that
        order, then ``temperature`` when set.

    Raises:
        ValueError: If the 2025 shape is asked for a model without a provider
            (`check_provider`).
    """
    conversation = conversation_id or str(uuid.uuid4())
    wire_messages = [{"role": m["role"], "content": m["content"]} for m in messages]
    check_provider(spec, body_format)
    if body_format == "2025":
        payload: dict[str, Any] = {
            "conversationId": conversation,
            "models": [{"modelId": spec.id, "provider": spec.provider}],
            "messages": wire_messages,
            "key": "",
            "prompt": prompt,
            "search": "false",
        }
    else:
        payload = {
            "conversationId": conversation,
            "model": spec.to_wire(),
            "messages": wire_messages,
            "key": "",
            "prompt": prompt,
        }
    if temperature is not None:
        payload[TEMPERATURE_FIELD] = temperature
    return payload


def build_headers(base_url: str) -> dict[str, str]:
    """Build the headers every request carries (auth: `with_auth_headers`).

    Args:
        base_url: The service's base URL; ``origin``/``referer`` derive from it.

    Returns:
        The headers.
    """
    origin = origin_of(base_url)
    return {
        "content-type": JSON_CONTENT_TYPE,
        "origin": origin,
        "referer": origin + "/",
        "user-agent": USER_AGENT,
    }


def _json_request(base_url: str, path: str, body: Mapping[str, Any]) -> Request:
    return Request(
        url=base_url.rstrip("/") + path,
        headers=build_headers(base_url),
        body=json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(),
    )


def build_request(
    base_url: str,
    spec: ModelSpec,
    prompt: str,
    messages: Sequence[Mapping[str, str]],
    *,
    body_format: BodyFormat = "2023",
    temperature: float | None = None,
) -> Request:
    """Build the complete chat request (not yet signed).

    The caller fits the messages to the service's budget first
    (`langchain_liaobots.wire.budget`).

    Args:
        base_url: The service's base URL.
        spec: The model's registry entry.
        prompt: The system prompt.
        messages: The wire messages.
        body_format: The body shape, ``"2023"`` (specified) or ``"2025"``.
        temperature: The sampling temperature, sent only when set.

    Returns:
        The request.

    Raises:
        ValueError: If the 2025 shape is asked for a model without a provider.
    """
    payload = build_payload(
        spec, prompt, messages, body_format=body_format, temperature=temperature
    )
    return _json_request(base_url, CHAT_PATH, payload)


def build_login_request(base_url: str, body_format: BodyFormat = "2023") -> Request:
    """Build ``POST /recaptcha/api/login``; its answer sets the session cookie.

    Args:
        base_url: The service's base URL.
        body_format: ``"2023"`` sends ``{}``; ``"2025"`` sends what the last
            clients sent, ``{"token": <20 random letters and digits>}``.

    Returns:
        The request (the service never checked its body).
    """
    body: dict[str, str] = {}
    if body_format == "2025":
        alphabet = string.ascii_letters + string.digits
        body["token"] = "".join(
            secrets.choice(alphabet) for _ in range(LOGIN_TOKEN_LENGTH)
        )
    return _json_request(base_url, LOGIN_PATH, body)


def build_user_request(
    base_url: str, auth_code: str, body_format: BodyFormat = "2023"
) -> Request:
    """Build ``POST /api/user``: ``""`` asks for a new code, a code for its state.

    Args:
        base_url: The service's base URL.
        auth_code: ``""`` for a new code, else the code whose state to fetch.
        body_format: ``"2023"`` sends ``{"authcode"}``; ``"2025"`` adds the
            last clients' ``"recommendUrl": "<site origin>/zh"``.

    Returns:
        The request; its body holds the code, so it is never logged or shown.
    """
    body = {"authcode": auth_code}
    if body_format == "2025":
        body["recommendUrl"] = origin_of(base_url) + RECOMMEND_PATH
    return _json_request(base_url, USER_PATH, body)


def build_models_request(base_url: str) -> Request:
    """Build ``POST /api/models`` with ``{"key": ""}``: the service's model list.

    Args:
        base_url: The service's base URL.

    Returns:
        The request.
    """
    return _json_request(base_url, MODELS_PATH, {"key": ""})


def with_auth_headers(
    request: Request, auth_code: str | None, cookie: str | None
) -> Request:
    """Return the request with the auth code and session cookie added.

    Args:
        request: A request built by this module.
        auth_code: The code for ``x-auth-code``, or ``None`` to send none.
        cookie: The ``cookie`` header value, or ``None`` to send none.

    Returns:
        A new request; the original is unchanged.
    """
    headers = dict(request.headers)
    if auth_code:
        headers[AUTH_HEADER] = auth_code
    if cookie:
        headers[COOKIE_HEADER] = cookie
    return Request(url=request.url, headers=headers, body=request.body)


def _refused(status: int, what: str) -> LiaobotsRedirectError:
    """The error of a redirect not followed, ``what`` saying where it led."""
    msg = (
        f"Liaobots answered HTTP {status}, redirecting {what}. It was not followed, "
        "so the auth code was not sent there. If the service has moved, set "
        "base_url to its new address."
    )
    return LiaobotsRedirectError(msg, status_code=status)


def _redirect_target(request: Request, status: int, location: str) -> str:
    """The URL a ``Location`` leads to, if it stays on the request's origin."""
    problem = odd_character(location)  # read before urljoin, which drops some
    try:
        if problem is not None:
            raise AmbiguousURLError(problem)
        target = urljoin(request.url, location)
        origin = strict_origin(target)
        same = origin == strict_origin(request.url)
    except AmbiguousURLError as exc:
        what = f"to a Location that {exc} (HTTP libraries may disagree on its origin)"
        raise _refused(status, what) from None
    if not same:
        raise _refused(status, f"to another origin ({origin})")
    return target


def follow_redirect(
    request: Request, status: int, location: str | None, hops: int
) -> Request:
    """Decide a redirect: the request to send next, or an error.

    Only ``307``/``308`` (which keep the ``POST`` and its body) to the same
    origin are followed, at most `MAX_REDIRECTS` times. A redirect to
    another scheme, host or port is refused, and so is a ``Location`` whose
    origin HTTP libraries could read differently (a backslash, a control
    character, credentials: `strict_origin`), so the auth code never leaves
    the origin it was given for, whichever library opens the connection.

    Args:
        request: The (signed) request that was redirected.
        status: The redirect's status.
        location: Its ``Location`` header, if any (may be relative).
        hops: How many redirects this request has already followed.

    Returns:
        The same request aimed at the new URL.

    Raises:
        LiaobotsRedirectError: If the redirect is not followed; the message
            names the target's origin or the shape refused, never the
            ``Location`` itself.
    """
    if not location:
        msg = (
            f"Liaobots answered HTTP {status} without a Location header; check "
            "base_url."
        )
        raise LiaobotsRedirectError(msg, status_code=status)
    target = _redirect_target(request, status, location)
    if status not in (307, 308):
        msg = (
            f"Liaobots answered HTTP {status}, redirecting to "
            f"{urlsplit(target).path!r}, which would turn the POST into a GET; "
            "it was not followed. Set base_url to the service's current address."
        )
        raise LiaobotsRedirectError(msg, status_code=status)
    if hops >= MAX_REDIRECTS:
        msg = (
            f"Liaobots redirected (HTTP {status}) more than {MAX_REDIRECTS} times; "
            "check base_url."
        )
        raise LiaobotsRedirectError(msg, status_code=status)
    return Request(url=target, headers=request.headers, body=request.body)
