"""The Liaobots-compatible local server: HTTP requests in, streamed answers out.

`LiaobotsEmulator` serves the Liaobots endpoints on 127.0.0.1 (or over
TLS with an ``ssl_context``) from a background thread with its own event loop
(aiohttp's server), using the client's own wire definitions
(`langchain_liaobots.wire.protocol`):

* ``POST /api/chat`` — checked with
  `parse_payload` (either body shape): a
  malformed body gets 400 with a JSON ``{"error": ...}`` saying what is wrong, a
  missing or refused auth code gets 401 ``{"message": "401 Unauthorized"}``. A
  valid request is answered by the responder (with ``mistakes``, wrapped by
  `with_mistakes` to answer as an
  imperfect model) and streamed with chunked transfer encoding, as raw UTF-8 in
  pieces of ``piece_bytes`` bytes (a multi-byte character may be split, as on a
  real network) or as SSE events (``framing="sse"``), every ``pace`` seconds;
* ``POST /api/user`` — ``{"authcode": ""}`` issues a new code with a small
  credit; an existing code gets its account state;
* ``POST /api/models`` — the registry entries, as a bare JSON array;
* ``POST /recaptcha/api/login`` — sets the ``gkp2`` session cookie; with
  ``require_cookie=True`` every other endpoint answers the captcha page (status
  200) to a request without it. Browsers' and aiohttp's default cookie jars keep
  no cookie set by an IP address, so `LiaobotsEmulator.localhost_url`
  offers the same server under the name ``localhost``.

It keeps the service's rules (chatbot-ui's server, docs/models.md), from the
client's own definitions (`langchain_liaobots.wire.budget`,
`langchain_liaobots.tokens`), each one switchable:

* **history** (``trim_history``) — the responder sees only the messages the
  service keeps: from the newest back while the prompt's and their contents'
  cl100k_base tokens plus 1,000 fit the ``tokenLimit`` the request's ``model``
  carries (a 2025 body, or ``tokenLimit`` 0, carries none: all are kept);
* **answer cap** (``answer_cap``) — an answer stops at 1,000 tokens, silently;
* **upstream errors** — scripted with `UpstreamError`: 500, body ``Error``,
  the upstream's message as the reason phrase.

Failures are scripted per request with `LiaobotsEmulator.script`, a queue
of the behaviours in `langchain_liaobots.emulator.faults`. Requests are
logged in `LiaobotsEmulator.requests`, a bounded log (the newest
``request_log_size`` requests, at most ``request_log_bytes`` of bodies);
minted codes and session cookies are bounded likewise (``max_minted``), and a
client that does not finish its request is dropped (`BackgroundServer`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import ssl
import threading
import zlib
from collections import deque
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from aiohttp import web

from langchain_liaobots.emulator.background import (
    BODY_TIMEOUT,
    HEAD_TIMEOUT,
    BackgroundServer,
)
from langchain_liaobots.emulator.codec import encode_sse, parse_payload
from langchain_liaobots.emulator.faults import (
    CAPTCHA_PAGE,
    Answer,
    Behaviour,
    Cut,
    Disconnect,
    Framing,
    HtmlPage,
    Redirect,
    SseError,
    Stall,
    Status,
    TooManyRequests,
    Transfer,
    UpstreamError,
)
from langchain_liaobots.emulator.mistakes import with_mistakes
from langchain_liaobots.emulator.responder import Responder, default_responder
from langchain_liaobots.registry import get_model, known_model_ids
from langchain_liaobots.tokens import TOKENIZER, TRUNCATE_HEAD_CHARS
from langchain_liaobots.wire.budget import ANSWER_TOKENS, keep_newest
from langchain_liaobots.wire.protocol import (
    ACCOUNT_FIELDS,
    AUTH_HEADER,
    CHAT_PATH,
    HTML_CONTENT_TYPE,
    LOGIN_PATH,
    MODELS_PATH,
    RAW_CONTENT_TYPE,
    SESSION_COOKIE,
    SSE_CONTENT_TYPE,
    TOO_MANY_REQUESTS,
    USER_PATH,
)

__all__ = ["LiaobotsEmulator", "ReceivedRequest"]

_NEW_ACCOUNT_BALANCE = 0.5
"""The small credit an anonymous code comes with."""
REQUEST_LOG_SIZE: Final = 1000
"""Requests `LiaobotsEmulator.requests` keeps by default (the newest)."""
REQUEST_LOG_BYTES: Final = 16 * 2**20
"""Request bodies `LiaobotsEmulator.requests` keeps by default: 16 MiB."""
MAX_MINTED: Final = 10_000
"""Codes minted by ``/api/user``, and session cookies, kept by default."""


@dataclass(frozen=True)
class ReceivedRequest:
    """One request as the emulator received it.

    Attributes:
        path: The request path.
        headers: The request headers (lower-cased names).
        payload: The parsed JSON body (for ``/api/chat``, only if valid), or
            ``None``: the whole payload as received, every message included.
        size: The body's length in bytes.
        dropped: How many of the oldest messages the service's history rule
            dropped (``/api/chat``; 0 with ``trim_history=False``).
    """

    path: str
    headers: dict[str, str]
    payload: dict[str, Any] | None = field(default=None)
    size: int = 0
    dropped: int = 0

    @property
    def kept_messages(self) -> list[dict[str, Any]]:
        """The messages the responder saw: the payload's, less those dropped."""
        if self.payload is None or not isinstance(self.payload.get("messages"), list):
            return []
        return list(self.payload["messages"][self.dropped :])


class LiaobotsEmulator(BackgroundServer):
    """A Liaobots-compatible server on 127.0.0.1, run in a background thread.

    Use it as a context manager:

    ```python
    with LiaobotsEmulator() as server:
        llm = ChatLiaobots(base_url=server.base_url, auth="any-code")
        llm.invoke("hi")  # AIMessage(content="You said: hi")
        server.script(Cut(after=2))  # the next chat request is cut
    ```

    Attributes:
        requests: The requests received, in order: the newest
            ``request_log_size``, and no more than ``request_log_bytes`` of
            bodies (the newest always kept); the oldest are dropped first.
        requests_received: How many requests were received in all.
        answers_completed: How many answers were streamed to their end.
        answers_abandoned: How many answers the client closed the connection
            of before their end (a stop sequence, ``max_tokens``, a consumer
            that stopped iterating).
        accounts: The account state of each known code (``/api/user``):
            those configured, and the newest ``max_minted`` minted.
    """

    thread_name = "liaobots-emulator"

    def __init__(
        self,
        *,
        port: int = 0,
        responder: Responder = default_responder,
        pace: float = 0.0,
        piece_bytes: int = 16,
        auth_codes: Collection[str] | None = None,
        framing: Framing = "raw",
        require_cookie: bool = False,
        accounts: Mapping[str, Mapping[str, Any]] | None = None,
        models: Sequence[Mapping[str, Any]] | None = None,
        ssl_context: ssl.SSLContext | None = None,
        mistakes: Collection[str] | str | None = None,
        seed: int = 0,
        persist: bool = False,
        trim_history: bool = True,
        answer_cap: bool = True,
        request_log_size: int = REQUEST_LOG_SIZE,
        request_log_bytes: int = REQUEST_LOG_BYTES,
        max_minted: int = MAX_MINTED,
        head_timeout: float = HEAD_TIMEOUT,
        body_timeout: float = BODY_TIMEOUT,
    ) -> None:
        """Configure the server; it starts on ``start()`` or ``with``.

        Args:
            port: The port to bind on 127.0.0.1; 0 picks a free one.
            responder: Maps a valid payload to the answer text.
            pace: Seconds to wait between pieces of an answer.
            piece_bytes: Bytes per piece of an answer (characters per SSE
                event; at least 1).
            auth_codes: The accepted auth codes (plus those of ``accounts`` and
                those ``/api/user`` issues); ``None`` accepts any non-empty code.
            framing: ``"raw"`` text (the specified protocol) or ``"sse"``.
            require_cookie: Answer the captcha page to requests without the
                session cookie set by ``/recaptcha/api/login``.
            accounts: Account states by code, e.g. ``{"paid": {"balance":
                12.5}}``; missing fields get defaults.
            models: What ``/api/models`` answers; defaults to the registry.
            ssl_context: Serve HTTPS with this context.
            mistakes: Answer as an imperfect model: the names of the mistakes of
                `MISTAKES` to make in
                the responder's tool calls and JSON answers, or ``"all"``.
            seed: Seeds the draw of a mistake per answer, among several.
            persist: Keep making the mistakes after a repair request or a
                failed tool call; by default the model, once told of its
                error, answers correctly.
            trim_history: Let the responder see only the messages the service
                keeps (the request's ``tokenLimit``); ``False`` shows it all.
            answer_cap: Stop answers at 1,000 cl100k_base tokens, as the
                service does, without a marker; ``False`` sends them whole.
            request_log_size: The most requests `requests` keeps.
            request_log_bytes: The most request-body bytes `requests` keeps.
            max_minted: The most minted codes (and session cookies) kept; the
                oldest are forgotten first, and a forgotten code is refused
                when ``auth_codes`` is set.
            head_timeout: Seconds a connection may take to send a complete
                request head (see `BackgroundServer`).
            body_timeout: Seconds a request may take to send its body.

        Raises:
            ValueError: If ``piece_bytes`` < 1, ``pace`` < 0, a bound is below
                1, a timeout is not above 0, or a mistake is not in the
                catalogue.
        """
        super().__init__(
            port=port,
            ssl_context=ssl_context,
            head_timeout=head_timeout,
            body_timeout=body_timeout,
        )
        if piece_bytes < 1:
            msg = f"piece_bytes must be at least 1, got {piece_bytes}."
            raise ValueError(msg)
        if pace < 0:
            msg = f"pace must be zero or more seconds, got {pace}."
            raise ValueError(msg)
        for name, bound in (
            ("request_log_size", request_log_size),
            ("request_log_bytes", request_log_bytes),
            ("max_minted", max_minted),
        ):
            if isinstance(bound, bool) or not isinstance(bound, int) or bound < 1:
                msg = f"{name} must be a whole number of 1 or more, got {bound!r}."
                raise ValueError(msg)
        self.trim_history = trim_history
        self.answer_cap = answer_cap
        self.request_log_size = request_log_size
        self.request_log_bytes = request_log_bytes
        self.max_minted = max_minted
        self.responder: Responder = (
            responder
            if mistakes is None
            else with_mistakes(responder, mistakes, seed=seed, persist=persist)
        )
        self.pace = pace
        self.piece_bytes = piece_bytes
        self.auth_codes = None if auth_codes is None else set(auth_codes)
        self.framing: Framing = framing
        self.require_cookie = require_cookie
        self.accounts: dict[str, dict[str, Any]] = {
            code: self._account(code, dict(state))
            for code, state in (accounts or {}).items()
        }
        self.models = (
            [dict(m) for m in models]
            if models is not None
            else [get_model(i).to_wire() for i in known_model_ids()]
        )
        self.requests: list[ReceivedRequest] = []
        self.requests_received = 0
        self.answers_completed = 0
        self.answers_abandoned = 0
        self._script: list[Behaviour] = []
        self._script_lock = threading.Lock()
        self._minted: deque[str] = deque()
        self._sessions: dict[str, None] = {}  # insertion-ordered, oldest first

    @property
    def localhost_url(self) -> str:
        """``http(s)://localhost:PORT``: the server under a name a cookie jar keeps.

        Raises:
            RuntimeError: If the server is not running.
        """
        return self.base_url.replace("://127.0.0.1:", "://localhost:", 1)

    # -- scripting -----------------------------------------------------------

    def script(self, *behaviours: Behaviour) -> LiaobotsEmulator:
        """Queue behaviours; each is used once, by the next request to its path.

        Args:
            *behaviours: From `langchain_liaobots.emulator.faults`, in the
                order they should happen.

        Returns:
            The emulator, for chaining.
        """
        with self._script_lock:
            self._script.extend(behaviours)
        return self

    @property
    def pending(self) -> list[Behaviour]:
        """The scripted behaviours not used yet, in order."""
        with self._script_lock:
            return list(self._script)

    def expire_sessions(self) -> None:
        """Forget every session cookie issued, as the service did on expiry."""
        self._sessions.clear()

    def _next_behaviour(self, path: str) -> Behaviour | None:
        with self._script_lock:
            for i, behaviour in enumerate(self._script):
                if behaviour.path == path:
                    return self._script.pop(i)
        return None

    # -- HTTP handlers -------------------------------------------------------

    def _accepts(self, code: str) -> bool:
        if not code:
            return False
        return (
            self.auth_codes is None or code in self.auth_codes or code in self.accounts
        )

    def _account(self, code: str, state: Mapping[str, Any]) -> dict[str, Any]:
        defaults: dict[str, Any] = {
            "amount": 0,
            "authCode": code,
            "balance": _NEW_ACCOUNT_BALANCE,
            "gpt4FreeRemain": 3,
            "link": f"https://liaobots.com/?ref={code[:4]}",
            "referral": {"amount": 0, "balance": 0},
            "unlimitedEndTime": 0,
            "unlimitedAdvancedEndTime": 0,
        }
        return {f: state.get(f, defaults[f]) for f in ACCOUNT_FIELDS}

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        headers = {k.lower(): v for k, v in request.headers.items()}
        path = request.path
        payload: dict[str, Any] | None = None
        error: str | None = None
        try:
            payload = parse_payload(body) if path == CHAT_PATH else json.loads(body)
        except ValueError as exc:
            error = str(exc)
        if not isinstance(payload, dict):
            payload = None
        dropped = self._dropped(payload) if path == CHAT_PATH and payload else 0
        self._log(ReceivedRequest(path, headers, payload, len(body), dropped))
        behaviour = self._next_behaviour(path)
        if behaviour is not None and not isinstance(behaviour, Answer):
            if isinstance(behaviour, Status) and behaviour.delay:
                await asyncio.sleep(behaviour.delay)
            return self._misbehave(request, behaviour)
        if (
            self.require_cookie
            and path != LOGIN_PATH
            and request.cookies.get(SESSION_COOKIE) not in self._sessions
        ):
            return self._html(CAPTCHA_PAGE)
        if path == LOGIN_PATH:
            return self._login()
        if path == MODELS_PATH:
            return web.json_response(self.models)
        if path == USER_PATH:
            return self._user(payload)
        if payload is None:
            return web.json_response({"error": error}, status=400)
        if not self._accepts(headers.get(AUTH_HEADER, "")):
            return web.json_response({"message": "401 Unauthorized"}, status=401)
        served = {**payload, "messages": payload["messages"][dropped:]}
        return await self._answer(request, served, behaviour)

    def _log(self, received: ReceivedRequest) -> None:
        """Log a request; drop the oldest beyond the log's bounds."""
        self.requests_received += 1
        log = self.requests
        log.append(received)
        excess = len(log) - self.request_log_size
        size = sum(r.size for r in log)
        while len(log) > 1 and (excess > 0 or size > self.request_log_bytes):
            size -= log[0].size
            excess -= 1
            del log[0]

    def _dropped(self, payload: Mapping[str, Any]) -> int:
        """How many of the oldest messages the service's history rule drops."""
        model = payload.get("model")
        limit = model.get("tokenLimit") if isinstance(model, dict) else None
        if not self.trim_history or not limit:
            return 0
        kept = keep_newest(
            payload["prompt"], payload["messages"], limit, _fit_counter(limit)
        )
        return kept.dropped

    def _login(self) -> web.Response:
        token = secrets.token_urlsafe(12)
        self._sessions[token] = None
        if len(self._sessions) > self.max_minted:
            del self._sessions[next(iter(self._sessions))]
        resp = web.json_response({"code": 200, "msg": "success"})
        resp.set_cookie(SESSION_COOKIE, token, httponly=True)
        return resp

    def _user(self, payload: dict[str, Any] | None) -> web.Response:
        code = payload.get("authcode") if payload is not None else None
        if not isinstance(code, str):
            msg = 'the body must be {"authcode": string}'
            return web.json_response({"error": msg}, status=400)
        if not code:
            code = secrets.token_hex(8)
            self.accounts[code] = self._account(code, {})
            self._minted.append(code)
            if len(self._minted) > self.max_minted:
                self.accounts.pop(self._minted.popleft(), None)
        elif not self._accepts(code):
            return web.json_response({"message": "401 Unauthorized"}, status=401)
        return web.json_response(self.accounts.get(code) or self._account(code, {}))

    @staticmethod
    def _html(page: str) -> web.Response:
        return web.Response(
            body=page.encode(), content_type=HTML_CONTENT_TYPE, charset="utf-8"
        )

    def _misbehave(
        self, request: web.Request, behaviour: Behaviour
    ) -> web.StreamResponse:
        if isinstance(behaviour, Status):
            body = behaviour.body
            return web.Response(
                status=behaviour.status,
                body=body.encode() if isinstance(body, str) else body,
                headers={"content-type": behaviour.content_type, **behaviour.headers},
            )
        if isinstance(behaviour, HtmlPage):
            return self._html(behaviour.page)
        if isinstance(behaviour, Redirect):
            return web.Response(
                status=behaviour.status, headers={"location": behaviour.location}
            )
        if isinstance(behaviour, UpstreamError):
            return web.Response(status=500, reason=behaviour.message, text="Error")
        if isinstance(behaviour, TooManyRequests):
            return web.json_response(
                {"code": 200, "msg": "success", "data": TOO_MANY_REQUESTS}
            )
        assert isinstance(behaviour, Disconnect)
        return self._drop(request)

    @staticmethod
    def _drop(
        request: web.Request, resp: web.StreamResponse | None = None
    ) -> web.StreamResponse:
        """Close the connection at once (mid-body if ``resp`` was prepared)."""
        if request.transport is not None:
            request.transport.close()
        return resp if resp is not None else web.Response()

    async def _stalled_out(self, stall: Stall | None, at: int | None) -> bool:
        """Stay silent if ``stall`` is due at ``at`` (``None``: before the headers).

        Returns:
            True if the server began stopping meanwhile.
        """
        if stall is None or stall.after != at:
            return False
        assert self.closing is not None
        try:
            await asyncio.wait_for(self.closing.wait(), stall.seconds)
        except asyncio.TimeoutError:
            return False
        return True

    def _pieces(
        self, payload: dict[str, Any], fault: Answer | None
    ) -> tuple[str, list[bytes]]:
        fault = fault or Answer()
        framing = fault.framing or ("sse" if isinstance(fault, SseError) else None)
        framing = framing or self.framing
        step = fault.piece_bytes or self.piece_bytes
        text = fault.text if fault.text is not None else self.responder(payload)
        if self.answer_cap:
            text = TOKENIZER.truncate(text, ANSWER_TOKENS)
        if framing == "sse":
            events = [
                encode_sse({"role": "assistant", "content": text[i : i + step]})
                for i in range(0, len(text), step)
            ]
            return SSE_CONTENT_TYPE, events
        data = fault.data if fault.data is not None else text.encode()
        return RAW_CONTENT_TYPE, [data[i : i + step] for i in range(0, len(data), step)]

    async def _answer(
        self, request: web.Request, payload: dict[str, Any], fault: Answer | None
    ) -> web.StreamResponse:
        content_type, pieces = self._pieces(payload, fault)
        pace = fault.pace if fault is not None and fault.pace is not None else self.pace
        stall = fault if isinstance(fault, Stall) else None
        end = len(pieces)
        if isinstance(fault, (Cut, SseError)):
            end = min(fault.after, end)
        if await self._stalled_out(stall, None):
            return self._drop(request)
        sse = content_type == SSE_CONTENT_TYPE
        role = encode_sse({"role": "assistant"}) if sse else b""  # an event sans text
        out = _Body(
            request,
            content_type,
            fault.transfer if fault is not None else "chunked",
            len(role) + sum(map(len, pieces)),
        )
        await out.start()
        try:
            if role:
                await out.write(role)
            for i in range(end + 1):
                if await self._stalled_out(stall, i):
                    return self._drop(request, out.response)
                if i == end:
                    break
                if i and pace:
                    await asyncio.sleep(pace)
                await out.write(pieces[i])
        except asyncio.CancelledError:
            self.answers_abandoned += 1  # the client closed the connection
            raise
        except ConnectionResetError:  # the client closed the connection: no error
            self.answers_abandoned += 1
            return out.response
        if isinstance(fault, Cut):
            return self._drop(request, out.response)
        if not isinstance(fault, SseError):
            # Counted before the end is sent, so a client that has seen the end
            # of the answer also sees the count.
            self.answers_completed += 1
        with contextlib.suppress(ConnectionResetError):  # gone after the answer
            if isinstance(fault, SseError):
                error = {
                    "error": True,
                    "res_status": fault.status,
                    "message": fault.message,
                }
                await out.write(encode_sse(error))
            elif fault is not None and fault.done and sse:
                await out.write(encode_sse(None))
            await out.finish()
        return out.response

    def _app(self) -> web.Application:
        if self.trim_history or self.answer_cap:
            # Load the tokenizer before serving, not in an answer: it reads a
            # file, which fails if a flood of clients has taken every descriptor.
            _ = TOKENIZER.exact
        app = web.Application()
        for path in (CHAT_PATH, USER_PATH, MODELS_PATH, LOGIN_PATH):
            app.router.add_post(path, self._handle)
        return app


def _fit_counter(limit: int) -> Callable[[str], int]:
    """A cl100k_base counter that reads a long text only as far as the rule needs.

    A text is counted by its first ``(limit + 1) * 8`` characters; only when
    those fit ``limit`` is the rest counted too. A text whose head is over
    ``limit`` is over any budget below it, so the rule drops it the same.
    """
    head = (limit + 1) * TRUNCATE_HEAD_CHARS

    def count(text: str) -> int:
        tokens = TOKENIZER.count(text[:head], remember=False)
        if tokens <= limit and len(text) > head:
            tokens = TOKENIZER.count(text, remember=False)
        return tokens

    return count


class _Body:
    """An answer's body on the wire, in one of the `Transfer` framings."""

    def __init__(
        self, request: web.Request, content_type: str, transfer: Transfer, size: int
    ) -> None:
        self._request = request
        self._transfer = transfer
        self._gzip = (
            zlib.compressobj(wbits=31) if transfer == "gzip" else None  # gzip header
        )
        headers = {"content-type": content_type}
        if transfer == "gzip":
            headers["content-encoding"] = "gzip"
        self.response = web.StreamResponse(headers=headers)
        if transfer == "length":
            self.response.content_length = size
        elif transfer != "close":
            self.response.enable_chunked_encoding()
        self._head = (
            "HTTP/1.1 200 OK\r\n"
            f"Content-Type: {content_type}\r\nConnection: close\r\n\r\n"
        ).encode()

    async def start(self) -> None:
        if self._transfer == "close":
            # aiohttp always frames an HTTP/1.1 body; write this one by hand.
            assert self._request.transport is not None
            self._request.transport.write(self._head)
        else:
            await self.response.prepare(self._request)

    async def write(self, piece: bytes) -> None:
        if self._gzip is not None:
            piece = self._gzip.compress(piece) + self._gzip.flush(zlib.Z_SYNC_FLUSH)
        if self._transfer == "close":
            assert self._request.transport is not None
            self._request.transport.write(piece)
            await asyncio.sleep(0)
        else:
            await self.response.write(piece)

    async def finish(self) -> None:
        if self._gzip is not None:
            await self.response.write(self._gzip.flush())
        if self._transfer == "close":
            assert self._request.transport is not None
            self._request.transport.close()
        else:
            await self.response.write_eof()
