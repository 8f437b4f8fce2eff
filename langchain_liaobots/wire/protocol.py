"""The constants of the Liaobots wire format: nothing in, names and values out.

One definition of the format, shared by the client's request and response sides
(`request`, `response`,
`auth`), the account state
(`langchain_liaobots.account`) and the local server
(`langchain_liaobots.emulator`):

* the endpoints' paths, the session cookie and the header names, and the
  headers the protocol owns;
* the defaults every request carries (the ``user-agent``, the system prompt);
* the bodies of each era (`BodyFormat`): the chat body's fields and their
  order, a model entry's fields, the roles, the account state's fields;
* the answers' markers: the content types, the SSE framing, the captcha page
  and the rate-limit answer of ``/api/user``.

Nothing here computes anything.
"""

from __future__ import annotations

from typing import Final, Literal

from langchain_liaobots._version import __version__

__all__ = [
    "ACCOUNT_FIELDS",
    "AUTH_HEADER",
    "CAPTCHA_MARKERS",
    "CHAT_PATH",
    "COOKIE_HEADER",
    "DEFAULT_PROMPT",
    "HTML_CONTENT_TYPE",
    "JSON_CONTENT_TYPE",
    "LOGIN_PATH",
    "LOGIN_TOKEN_LENGTH",
    "MODELS_PATH",
    "MODEL_FIELDS",
    "PAYLOAD_FIELDS",
    "PAYLOAD_FIELDS_2025",
    "PROTOCOL_HEADERS",
    "RAW_CONTENT_TYPE",
    "RECOMMEND_PATH",
    "SESSION_COOKIE",
    "SSE_CONTENT_TYPE",
    "SSE_DATA",
    "SSE_DONE",
    "TEMPERATURE_FIELD",
    "TOO_MANY_REQUESTS",
    "USER_AGENT",
    "USER_PATH",
    "WIRE_ROLES",
    "BodyFormat",
]

CHAT_PATH: Final = "/api/chat"
"""The path of the streaming chat endpoint."""

USER_PATH: Final = "/api/user"
"""The path that hands out auth codes and reports an account's state."""

MODELS_PATH: Final = "/api/models"
"""The path of model discovery (a bare JSON array of registry entries)."""

LOGIN_PATH: Final = "/recaptcha/api/login"
"""The path of the session login, whose job is to set `SESSION_COOKIE`."""

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

TEMPERATURE_FIELD: Final = "temperature"
"""The optional last field of either body: the sampling temperature, sent only
when set. chatbot-ui's server read it from later 2023 (its default when
absent); a deployment older than that ignores it (shared protocol notes, §1a)."""

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

HTML_CONTENT_TYPE: Final = "text/html"
SSE_CONTENT_TYPE: Final = "text/event-stream"
RAW_CONTENT_TYPE: Final = "text/plain; charset=utf-8"
JSON_CONTENT_TYPE: Final = "application/json"
