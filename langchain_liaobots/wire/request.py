"""The sans-I/O request side of the Liaobots protocol: dicts in, request bytes out.

Nothing here touches a socket. The transports (:mod:`langchain_liaobots.transport`)
and the local server (:mod:`langchain_liaobots.emulator`) share these
definitions of the wire format:

* :func:`check_limits` checks a request's input against ``maxLength`` and
  ``tokenLimit`` and returns its estimated tokens (the usage's input count);
* :func:`build_request` turns a registry entry, a prompt and wire messages into
  a :class:`Request` (URL, headers, JSON body bytes); the body has the
  specified shape (``"2023"``) or the 2025 one (``models``/``search``);
* :func:`build_login_request`, :func:`build_user_request` and
  :func:`build_models_request` build the session login, the auth-code /
  account-state call and the model discovery call (the login and ``/api/user``
  bodies of the chosen era: ``{}`` and ``{"authcode"}`` in 2023, the last
  clients' ``{"token"}`` and ``{"authcode", "recommendUrl"}`` in 2025);
* :func:`normalize_base_url` reduces a user's ``base_url`` to the bare base;
* :func:`sign` adds the auth code and the session cookie to a request just
  before it is sent, so nothing else ever holds them in headers;
* :func:`follow_redirect` decides whether a redirect may be followed: only to
  the same origin, so the auth code never travels elsewhere;
* :func:`parse_payload` is the server's side of the chat format: body bytes in,
  a validated payload dict out, or a ``ValueError`` saying what is wrong;
  :func:`encode_sse` is the server's side of the SSE framing.

The response side (bytes in, text out) is :mod:`langchain_liaobots.wire.response`.
"""

from __future__ import annotations

import ipaddress
import json
import secrets
import string
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal
from urllib.parse import urljoin, urlsplit, urlunsplit

from langchain_core.exceptions import ContextOverflowError

from langchain_liaobots._version import __version__
from langchain_liaobots.errors import LiaobotsRedirectError
from langchain_liaobots.registry import ModelSpec
from langchain_liaobots.wire.tokens import count_input_tokens

__all__ = [
    "AUTH_HEADER",
    "CHAT_PATH",
    "DEFAULT_PROMPT",
    "LOGIN_PATH",
    "MODELS_PATH",
    "PROTOCOL_HEADERS",
    "SESSION_COOKIE",
    "USER_PATH",
    "BodyFormat",
    "Request",
    "build_headers",
    "build_login_request",
    "build_models_request",
    "build_payload",
    "build_request",
    "build_user_request",
    "check_limits",
    "encode_sse",
    "follow_redirect",
    "is_loopback",
    "normalize_base_url",
    "origin_of",
    "parse_payload",
    "same_origin",
    "sign",
]

CHAT_PATH: Final = "/api/chat"
"""The path of the streaming chat endpoint."""

USER_PATH: Final = "/api/user"
"""The path that hands out auth codes and reports an account's state."""

MODELS_PATH: Final = "/api/models"
"""The path of model discovery (a bare JSON array of registry entries)."""

LOGIN_PATH: Final = "/recaptcha/api/login"
"""The path of the session login, whose job is to set :data:`SESSION_COOKIE`."""

SESSION_COOKIE: Final = "gkp2"
"""The session cookie the login sets; without it the service sends a captcha."""

AUTH_HEADER: Final = "x-auth-code"
"""The header that carries the auth code."""

COOKIE_HEADER: Final = "cookie"
"""The header that carries the session cookies."""

PROTOCOL_HEADERS: Final = frozenset(
    {"x-auth-code", "content-type", "content-length", "cookie", "host"}
)
"""Headers the protocol owns: ``default_headers`` may not set them."""

USER_AGENT: Final = f"langchain-liaobots/{__version__}"
"""The ``user-agent`` sent with every request."""

DEFAULT_PROMPT: Final = (
    "You are ChatGPT, a large language model trained by OpenAI. Follow the "
    "user's instructions carefully. Respond using markdown."
)
"""The system prompt sent when the conversation has no system message."""

BodyFormat = Literal["2023", "2025"]
"""The request bodies of an era: the specified ones, and the last clients' (2025)."""

LOGIN_TOKEN_LENGTH: Final = 20
"""The length of the random ``token`` the 2025 login body carries."""

RECOMMEND_PATH: Final = "/zh"
"""The path of the 2025 ``/api/user`` body's ``recommendUrl`` (on the site's origin)."""

_API_SUFFIXES: Final = (CHAT_PATH, "/api")

PAYLOAD_FIELDS: Final = ("conversationId", "model", "messages", "key", "prompt")
"""The fields of a chat request body, in the order they are sent."""

PAYLOAD_FIELDS_2025: Final = (
    "conversationId",
    "models",
    "messages",
    "key",
    "prompt",
    "search",
)
"""The fields of a 2025 chat request body, in the order they are sent."""

MODEL_FIELDS: Final = ("id", "name", "maxLength", "tokenLimit")
"""The fields every ``model`` entry of a request body must carry."""

WIRE_ROLES: Final = ("user", "assistant", "system")
"""The roles a wire message may carry."""

ACCOUNT_FIELDS: Final = (
    "amount",
    "authCode",
    "balance",
    "gpt4FreeRemain",
    "link",
    "referral",
    "unlimitedEndTime",
    "unlimitedAdvancedEndTime",
)
"""The fields of an account state answered by ``/api/user``."""

TOO_MANY_REQUESTS: Final = "Too many requests"
"""The ``data`` of ``/api/user``'s rate-limit answer (sent with HTTP 200)."""

CAPTCHA_MARKERS: Final = ("人机验证", "coupert-item=")
"""Text that marks the service's captcha page."""

SSE_DATA: Final = b"data:"
"""The prefix of an SSE line that carries an event."""

SSE_DONE: Final = b"[DONE]"
"""An optional end-of-stream event."""

REDIRECT_STATUSES: Final = frozenset({301, 302, 303, 307, 308})
"""Statuses that redirect; only 307/308 to the same origin are followed."""

MAX_REDIRECTS: Final = 5
"""The most same-origin redirects followed for one request."""

HTML_CONTENT_TYPE: Final = "text/html"
SSE_CONTENT_TYPE: Final = "text/event-stream"
RAW_CONTENT_TYPE: Final = "text/plain; charset=utf-8"
JSON_CONTENT_TYPE: Final = "application/json"

_DEFAULT_PORTS: Final = {"http": 80, "https": 443}


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


def _shown_origin(url: str) -> str:
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


def check_limits(
    spec: ModelSpec, prompt: str, messages: Sequence[Mapping[str, str]]
) -> int:
    """Check a request's input against the model's ``maxLength`` and ``tokenLimit``.

    Characters are counted exactly over the prompt and every message's content;
    tokens are estimated offline by
    :func:`~langchain_liaobots.wire.tokens.count_input_tokens`, the counter that
    usage and ``get_num_tokens_from_messages`` use too. A limit that is unknown
    (``0`` in the registry entry) is not checked.

    Args:
        spec: The model's registry entry.
        prompt: The system prompt to send.
        messages: The wire messages to send.

    Returns:
        The estimated input tokens, as usage reports them.

    Raises:
        ContextOverflowError: If either budget is exceeded; nothing has been sent.
    """
    chars = len(prompt) + sum(len(m["content"]) for m in messages)
    if spec.char_limit is not None and chars > spec.char_limit:
        msg = (
            f"The request has {chars} characters of input; model {spec.id!r} accepts "
            f"at most {spec.max_length} (maxLength). Shorten the conversation."
        )
        raise ContextOverflowError(msg)
    tokens = count_input_tokens(prompt, messages)
    if spec.input_token_limit is not None and tokens > spec.input_token_limit:
        msg = (
            f"The request has about {tokens} tokens of input; model {spec.id!r} "
            f"accepts at most {spec.token_limit} (tokenLimit). Shorten the "
            "conversation."
        )
        raise ContextOverflowError(msg)
    return tokens


def build_payload(
    spec: ModelSpec,
    prompt: str,
    messages: Sequence[Mapping[str, str]],
    conversation_id: str | None = None,
    body_format: BodyFormat = "2023",
) -> dict[str, Any]:
    """Build the JSON body of ``POST /api/chat``.

    Args:
        spec: The model's registry entry, sent whole as ``model`` (``"2023"``),
            or as ``models: [{"modelId", "provider"}]`` (``"2025"``).
        prompt: The system prompt.
        messages: ``{"role", "content"}`` dicts, roles ``user``/``assistant``.
        conversation_id: Defaults to a fresh UUIDv4.
        body_format: The body shape.

    Returns:
        The body as a dict with the fields of :data:`PAYLOAD_FIELDS` (or
        :data:`PAYLOAD_FIELDS_2025`), in that order.

    Raises:
        ValueError: If the 2025 shape is asked for a model without a provider.
    """
    conversation = conversation_id or str(uuid.uuid4())
    wire_messages = [{"role": m["role"], "content": m["content"]} for m in messages]
    if body_format == "2025":
        if not spec.provider:
            msg = (
                f"Model {spec.id!r} has no provider, which the 2025 body needs "
                "(models: [{modelId, provider}]). Register the entry with a "
                "provider, discover the service's models, or use body_format='2023'."
            )
            raise ValueError(msg)
        return {
            "conversationId": conversation,
            "models": [{"modelId": spec.id, "provider": spec.provider}],
            "messages": wire_messages,
            "key": "",
            "prompt": prompt,
            "search": "false",
        }
    return {
        "conversationId": conversation,
        "model": spec.to_wire(),
        "messages": wire_messages,
        "key": "",
        "prompt": prompt,
    }


def build_headers(base_url: str) -> dict[str, str]:
    """Build the headers every request carries (auth is added by :func:`sign`).

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
) -> Request:
    """Build the complete chat request (not yet signed).

    The caller checks the input first with :func:`check_limits`.

    Args:
        base_url: The service's base URL.
        spec: The model's registry entry.
        prompt: The system prompt.
        messages: The wire messages.
        body_format: The body shape, ``"2023"`` (specified) or ``"2025"``.

    Returns:
        The request.

    Raises:
        ValueError: If the 2025 shape is asked for a model without a provider.
    """
    payload = build_payload(spec, prompt, messages, body_format=body_format)
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


def sign(request: Request, auth_code: str | None, cookie: str | None) -> Request:
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


def follow_redirect(
    request: Request, status: int, location: str | None, hops: int
) -> Request:
    """Decide a redirect: the request to send next, or an error.

    Only ``307``/``308`` (which keep the ``POST`` and its body) to the same
    origin are followed, at most :data:`MAX_REDIRECTS` times. A redirect to
    another scheme, host or port is refused, so the auth code never leaves the
    origin it was given for.

    Args:
        request: The (signed) request that was redirected.
        status: The redirect's status.
        location: Its ``Location`` header, if any (may be relative).
        hops: How many redirects this request has already followed.

    Returns:
        The same request aimed at the new URL.

    Raises:
        LiaobotsRedirectError: If the redirect is not followed; the message
            names the target's origin only.
    """
    if not location:
        msg = (
            f"Liaobots answered HTTP {status} without a Location header; check "
            "base_url."
        )
        raise LiaobotsRedirectError(msg, status_code=status)
    target = urljoin(request.url, location)
    if not same_origin(request.url, target):
        msg = (
            f"Liaobots answered HTTP {status}, redirecting to another origin "
            f"({_shown_origin(target)}). It was not followed, so the auth code was "
            "not sent there. If that is the service's new address, set base_url "
            "to it."
        )
        raise LiaobotsRedirectError(msg, status_code=status)
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


def encode_sse(event: Mapping[str, Any] | None) -> bytes:
    """Encode one server-sent event line: the server's side of the SSE framing.

    Args:
        event: The event's JSON object, or ``None`` for the ``[DONE]`` marker.

    Returns:
        ``data: {json}`` followed by a blank line.
    """
    if event is None:
        return SSE_DATA + b" " + SSE_DONE + b"\n\n"
    return SSE_DATA + b" " + json.dumps(event, ensure_ascii=False).encode() + b"\n\n"


def _fail(what: str) -> ValueError:
    return ValueError(f"Invalid Liaobots chat request: {what}.")


def _check_model(payload: Mapping[str, Any]) -> None:
    if "models" in payload and "model" not in payload:
        missing = [f for f in PAYLOAD_FIELDS_2025 if f not in payload]
        if missing:
            raise _fail(
                f"missing field(s) {', '.join(missing)}; a 2025 body needs "
                f"{', '.join(PAYLOAD_FIELDS_2025)}"
            )
        models = payload["models"]
        if (
            not isinstance(models, list)
            or not models
            or not all(
                isinstance(m, dict)
                and isinstance(m.get("modelId"), str)
                and m["modelId"]
                and isinstance(m.get("provider"), str)
                for m in models
            )
        ):
            raise _fail(
                "'models' must be a non-empty list of {'modelId': string, "
                "'provider': string}"
            )
        if not isinstance(payload["search"], str):
            raise _fail('\'search\' must be a string ("false" or "true")')
        return
    missing = [f for f in PAYLOAD_FIELDS if f not in payload]
    if missing:
        raise _fail(
            f"missing field(s) {', '.join(missing)}; "
            f"required: {', '.join(PAYLOAD_FIELDS)}"
        )
    model = payload["model"]
    if not isinstance(model, dict) or any(f not in model for f in MODEL_FIELDS):
        raise _fail(f"'model' must be an object with {', '.join(MODEL_FIELDS)}")
    if not all(
        isinstance(model[f], int) and not isinstance(model[f], bool) and model[f] >= 0
        for f in MODEL_FIELDS[2:]
    ):
        raise _fail(
            "'model.maxLength' and 'model.tokenLimit' must be integers >= 0 "
            "(0: unknown)"
        )


def parse_payload(body: bytes) -> dict[str, Any]:
    """Validate a ``POST /api/chat`` body: the server's side of :func:`build_payload`.

    Both shapes are accepted: the specified one (``model``) and the 2025 one
    (``models`` and ``search``).

    Args:
        body: The raw request body.

    Returns:
        The payload dict, with every field of its shape checked.

    Raises:
        ValueError: Naming the first thing that is wrong and what is accepted.
    """
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _fail(f"the body is not JSON ({exc})") from None
    if not isinstance(payload, dict):
        raise _fail(f"the body must be a JSON object, got {type(payload).__name__}")
    _check_model(payload)
    if not isinstance(payload["conversationId"], str) or not payload["conversationId"]:
        raise _fail("'conversationId' must be a non-empty string (a UUIDv4)")
    messages = payload["messages"]
    if not isinstance(messages, list) or not messages:
        raise _fail("'messages' must be a non-empty list")
    for i, m in enumerate(messages):
        if (
            not isinstance(m, dict)
            or m.get("role") not in WIRE_ROLES
            or not isinstance(m.get("content"), str)
        ):
            raise _fail(
                f"messages[{i}] must be {{'role': one of {', '.join(WIRE_ROLES)}, "
                "'content': string}"
            )
    if not isinstance(payload["key"], str):
        raise _fail("'key' must be a string (always \"\")")
    if not isinstance(payload["prompt"], str):
        raise _fail("'prompt' must be a string")
    return payload
