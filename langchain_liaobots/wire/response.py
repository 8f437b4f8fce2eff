"""The sans-I/O response side of the Liaobots protocol: body bytes in, answer text out.

`AnswerReader` takes a response's content type and the stop sequences, is
fed the body's bytes piece by piece, and returns the text to hand to the caller
for each piece. It decodes UTF-8 incrementally (a character split across pieces
comes out whole; invalid bytes become U+FFFD, nothing is dropped), detects the
framing per response (raw text, or ``data: {json}`` server-sent events), refuses
HTML pages, and, through `StopScanner`, ends the answer before the first
stop sequence even when it spans pieces. It also tells the transports whether
the answer has `started` (after that a failure is never
retried) and what `partial_text` a failure must carry. An answer's body
may hold at most `ANSWER_LIMIT` bytes: past it the reader raises a
`LiaobotsResponseTooLargeError` carrying the text up to the limit.

`decode_json` reads the small JSON answers (``/api/user``,
``/api/models``) whatever their content type, refusing HTML pages the same way.
JSON that cannot be read (not JSON, or nested too deeply for the parser) is a
typed error wherever it arrives, never a bare ``RecursionError``.
Nothing here touches a socket.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable, Sequence
from typing import Any, Final

from langchain_liaobots.errors import (
    LiaobotsCaptchaError,
    LiaobotsHTMLPageError,
    LiaobotsResponseTooLargeError,
    LiaobotsUnexpectedResponseError,
    error_for_status,
    excerpt,
)
from langchain_liaobots.wire.protocol import (
    CAPTCHA_MARKERS,
    HTML_CONTENT_TYPE,
    SSE_CONTENT_TYPE,
    SSE_DATA,
    SSE_DONE,
)

__all__ = [
    "ANSWER_LIMIT",
    "AnswerReader",
    "StopScanner",
    "decode_json",
    "html_page_error",
]

ANSWER_LIMIT: Final = 8 * 1024 * 1024
"""The most body bytes (after content decoding) one chat answer may have.

8 MiB: about 2,000 times a 1,000-token answer of the service, framing
included, so only a broken or hostile server reaches it."""


class StopScanner:
    """Cut a stream of text before the first stop sequence, across piece borders.

    Feed it text with `feed`; it returns what is safe to emit now and holds
    back a tail that could be the start of a stop sequence. Once a stop sequence
    is found, `stopped` is true and nothing more is emitted.
    """

    __slots__ = ("_pending", "_stops", "stopped")

    def __init__(self, stops: Sequence[str]) -> None:
        """Create a scanner.

        Args:
            stops: The stop sequences; empty strings are ignored.
        """
        self._stops = tuple(s for s in stops if s)
        self._pending = ""
        self.stopped = False

    def feed(self, text: str) -> str:
        """Take the next text and return what can be emitted now.

        Args:
            text: The next piece of decoded answer text.

        Returns:
            Text that is certainly before any stop sequence.
        """
        if self.stopped:
            return ""
        if not self._stops:
            return text
        buf = self._pending + text
        # A stop may still be completing at the end: nothing from its start on
        # is safe, and a complete stop after that start may not be the first.
        hold = 0
        for stop in self._stops:
            for n in range(min(len(stop) - 1, len(buf)), hold, -1):
                if buf.endswith(stop[:n]):
                    hold = n
                    break
        safe = len(buf) - hold
        cut = self._first_stop(buf)
        if 0 <= cut <= safe:
            self.stopped = True
            self._pending = ""
            return buf[:cut]
        self._pending = buf[safe:]
        return buf[:safe]

    def _first_stop(self, text: str) -> int:
        return min(
            (i for i in (text.find(s) for s in self._stops) if i >= 0), default=-1
        )

    @property
    def held(self) -> str:
        """The tail held back because it could start a stop sequence."""
        cut = self._first_stop(self._pending)
        return self._pending if cut < 0 else self._pending[:cut]

    def flush(self) -> str:
        """Return the held-back tail at the end of the answer, up to a stop in it."""
        if self.stopped:
            return ""
        pending, self._pending = self._pending, ""
        cut = self._first_stop(pending)
        if cut < 0:
            return pending
        self.stopped = True
        return pending[:cut]


_HTML_MARKERS: Final = (b"<!doctype html", b"<html")
_SSE_MARKER: Final = SSE_DATA
_BOM: Final = codecs.BOM_UTF8
_SNIFF_LIMIT: Final = max(len(m) for m in (*_HTML_MARKERS, _SSE_MARKER))
_HTML_EXCERPT_BYTES: Final = 4096
_DONE: Final = SSE_DONE.decode()
_LINE_END: Final = re.compile(r"\r\n|\r|\n")
"""SSE line endings: CRLF, CR or LF (WHATWG event-stream)."""
_NOT_JSON: Final = object()
"""What `AnswerReader._json` returns for data that is not JSON."""


def _keep(text: str) -> str:
    return text


def _is_html(body: bytes) -> bool:
    start = body.lstrip()[:_SNIFF_LIMIT].lower()
    return any(start.startswith(m) for m in _HTML_MARKERS)


def html_page_error(
    page: bytes, clean: Callable[[str], str] = _keep
) -> LiaobotsHTMLPageError:
    """Return the error for an HTML page that arrived where an answer belongs.

    Args:
        page: The start of the page.
        clean: Scrubs secrets from the page's text before it is quoted.

    Returns:
        A `LiaobotsCaptchaError` for the
        service's captcha page, else a
        `LiaobotsHTMLPageError`; the message
        quotes the start of the page and says what to do.
    """
    text = page.decode("utf-8", "replace")
    if any(marker in text for marker in CAPTCHA_MARKERS):
        msg = (
            "Liaobots answered HTTP 200 with its captcha page: the session "
            "cookie is missing or expired. Enable ChatLiaobots(session_login=True), "
            f"or retry later. Page starts: {excerpt(clean(text))}."
        )
        return LiaobotsCaptchaError(msg, status_code=200)
    msg = (
        "Liaobots answered HTTP 200 with an HTML page instead of an answer: the "
        f"service is down or base_url is wrong. Page starts: {excerpt(clean(text))}."
    )
    return LiaobotsHTMLPageError(msg, status_code=200)


def decode_json(
    body: bytes, status: int, what: str, clean: Callable[[str], str] = _keep
) -> Any:
    """Parse a small JSON answer whatever its content type.

    Args:
        body: The whole response body.
        status: The response's HTTP status, for errors.
        what: Names the endpoint in error messages, e.g. ``"/api/user"``.
        clean: Scrubs secrets from the body's text before it is quoted.

    Returns:
        The parsed JSON value.

    Raises:
        LiaobotsHTMLPageError: If the body is an HTML page (the captcha page is
            a `LiaobotsCaptchaError`).
        LiaobotsUnexpectedResponseError: If the body is not JSON.
    """
    if _is_html(body):
        raise html_page_error(body[:_HTML_EXCERPT_BYTES], clean)
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as err:
        said = (
            "JSON nested too deeply to read"
            if isinstance(err, RecursionError)
            else "a body that is not JSON"
        )
        shown = excerpt(clean(body.decode("utf-8", "replace")))
        msg = (
            f"Liaobots answered {what} with HTTP {status} and {said}: {shown}; "
            "check base_url."
        )
        raise LiaobotsUnexpectedResponseError(msg, status_code=status) from None


class AnswerReader:
    """Turn the bytes of one chat response body into answer text.

    The framing is decided per response: ``text/event-stream`` (or a body that
    starts with ``data:``) is read as server-sent events whose ``content``
    carries the text; ``text/html`` (or a body that starts like an HTML
    document) is an error, never an answer; anything else is raw UTF-8 text.

    Server-sent events follow the WHATWG event-stream rules: CR, LF and CRLF
    line endings, a leading BOM, comment lines (``:``), ``event:``/``id:``/
    ``retry:`` fields, and ``data:`` lines joined with a line feed into one event,
    dispatched at a blank line (and, leniently, at the end of the body). An
    event's data is one JSON object, or ``[DONE]``. A ``data:`` line that is a
    whole JSON value by itself is read at once, so a server that sends one
    line per event with no blank lines streams as it goes. Anything else raises
    a typed error carrying the text received so far: nothing is dropped
    silently, and so does a body longer than ``limit`` bytes.

    Attributes:
        received_bytes: How many body bytes have been fed.
    """

    def __init__(
        self,
        content_type: str | None,
        stop: Sequence[str] = (),
        *,
        clean: Callable[[str], str] = _keep,
        limit: int = ANSWER_LIMIT,
    ) -> None:
        """Create a reader for one response.

        Args:
            content_type: The response's ``content-type`` header, if any.
            stop: Stop sequences to apply to the text.
            clean: Scrubs secrets from text of the service quoted in errors
                (pages, error events).
            limit: The most body bytes to read (`ANSWER_LIMIT`).
        """
        ctype = (content_type or "").split(";", 1)[0].strip().lower()
        self._mode = {HTML_CONTENT_TYPE: "html", SSE_CONTENT_TYPE: "sse"}.get(ctype, "")
        self._clean = clean
        self._head = b""
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
        self._line: list[str] = []  # the pieces of the line under way
        self._skip_lf = False
        self._data: list[str] = []
        self._content_seen = False
        self._scanner = StopScanner(stop)
        self._parts: list[str] = []
        self._limit = limit
        self.received_bytes = 0

    @property
    def stopped(self) -> bool:
        """Whether a stop sequence has ended the answer."""
        return self._scanner.stopped

    @property
    def text(self) -> str:
        """All answer text emitted so far."""
        return "".join(self._parts)

    @property
    def started(self) -> bool:
        """Whether any of the answer has arrived; from then on nothing is retried.

        Decided on what arrived, not on what was handed on: raw text counts
        from its first byte (even an incomplete character, or text held back
        for a stop sequence); in SSE framing an event that carries text counts
        (a role-only event or an error event does not); an HTML page never
        counts.
        """
        if self._mode == "raw":
            return self.received_bytes > 0
        if self._mode == "sse":
            return self._content_seen
        return not self._mode and bool(self._head.strip())

    @property
    def partial_text(self) -> str:
        """All answer text received so far, for an error raised mid-answer.

        The emitted text, plus what was held back: a tail that could start a
        stop sequence, and undecided leading bytes (read as raw text, as
        `finish` would). An incomplete UTF-8 character is not text yet.
        """
        head = "" if self._mode else self._head.decode("utf-8-sig", "replace")
        return self.text + self._scanner.held + head

    def feed(self, data: bytes) -> str:
        """Take the next piece of the body and return the text to emit now.

        Args:
            data: The next bytes of the body, as they arrived.

        Returns:
            The text that may be handed to the caller (possibly empty).

        Raises:
            LiaobotsHTMLPageError: If the body is an HTML page.
            LiaobotsResponseTooLargeError: If the body passes ``limit`` bytes;
                the bytes up to the limit are read first.
            LiaobotsError: If an SSE error event, or an event that is not
                JSON, arrives.
        """
        if len(data) > self._limit - self.received_bytes:
            raise self._too_large(data)
        self.received_bytes += len(data)
        if not self._mode:
            data = self._sniff(data)
            if not self._mode:
                return ""
        if self._mode == "raw":
            text = self._decoder.decode(data)
        elif self._mode == "sse":
            text = self._sse(data, final=False)
        else:
            self._head += data
            if len(self._head) >= _HTML_EXCERPT_BYTES:
                raise self._html_error()
            return ""
        return self._emit(text)

    def finish(self) -> str:
        """Signal the end of the body and return the last text to emit.

        Returns:
            Text held back until the end (an incomplete character becomes
            U+FFFD; a tail that was a possible stop-sequence start is released).

        Raises:
            LiaobotsHTMLPageError: If the body was an HTML page.
            LiaobotsError: If an SSE error event was the last event.
        """
        if not self._mode:
            self._mode = "raw"
            data, self._head = self._head, b""
            return self._finish_text(self._decoder.decode(data, final=True))
        if self._mode == "html":
            raise self._html_error()
        if self._mode == "raw":
            return self._finish_text(self._decoder.decode(b"", final=True))
        return self._finish_text(self._sse(b"", final=True))

    def _finish_text(self, text: str) -> str:
        out = self._emit(text)
        tail = self._scanner.flush()
        if tail:
            self._parts.append(tail)
        return out + tail

    def _emit(self, text: str) -> str:
        out = self._scanner.feed(text) if text else ""
        if out:
            self._parts.append(out)
        return out

    def _sniff(self, data: bytes) -> bytes:
        """Decide the framing from the first non-blank bytes; hold them until then."""
        head = self._head + data
        start = head.removeprefix(_BOM).lstrip()[:_SNIFF_LIMIT]
        lowered = start.lower()
        if any(m.startswith(lowered) or lowered.startswith(m) for m in _HTML_MARKERS):
            if any(lowered.startswith(m) for m in _HTML_MARKERS):
                self._mode = "html"
                self._head = b""
                return head
        elif _SSE_MARKER.startswith(start) or start.startswith(_SSE_MARKER):
            if start.startswith(_SSE_MARKER):
                self._mode = "sse"
                self._head = b""
                return head
        elif _BOM.startswith(head):
            pass  # only (part of) a BOM so far
        else:
            self._mode = "raw"
            self._head = b""
            return head
        self._head = head
        return b""

    def _sse(self, data: bytes, *, final: bool) -> str:
        """Split decoded text into lines; return the answer text of whole events."""
        text = self._decoder.decode(data, final=final)
        if self._skip_lf and text:
            self._skip_lf = False
            text = text.removeprefix("\n")  # the LF of a CRLF split across pieces
        # Only the new text is split: a long line costs its length, once.
        lines = _LINE_END.split(text)
        self._line.append(lines[0])
        if len(lines) > 1:
            lines[0] = "".join(self._line)
            self._line = [lines.pop()]
        else:
            lines = []
        if text.endswith("\r"):
            self._skip_lf = True
        out: list[str] = []
        if final:
            rest, self._line = "".join(self._line), []
            if rest:
                lines.append(rest)
        for line in lines:
            if not line:
                self._dispatch(out)
            elif not line.startswith(":"):
                field, _, value = line.partition(":")
                if field == "data":
                    self._data_line(value.removeprefix(" "), out)
        if final:
            self._dispatch(out)
        return "".join(out)

    def _data_line(self, value: str, out: list[str]) -> None:
        """Gather a ``data:`` line; one that is a whole event is read at once."""
        if not self._data:
            if value.strip() == _DONE:
                return
            event = self._json(value, out)
            if event is not _NOT_JSON:
                self._event(event, value, out)
                return
        self._data.append(value)

    def _dispatch(self, out: list[str]) -> None:
        """Read the event whose ``data:`` lines were gathered; add its text."""
        if not self._data:
            return
        data, self._data = "\n".join(self._data), []
        event = self._json(data, out)
        self._event(data if event is _NOT_JSON else event, data, out)

    def _json(self, data: str, before: list[str]) -> Any:
        """Parse an event's data; `_NOT_JSON` if it is not JSON.

        Raises:
            LiaobotsUnexpectedResponseError: If the JSON is nested too deeply
                for the parser.
        """
        try:
            return json.loads(data)
        except ValueError:
            return _NOT_JSON
        except RecursionError:
            self._emit("".join(before))  # received, so part of partial_text
            before.clear()
            msg = (
                "Liaobots sent an event whose JSON is nested too deeply to read: "
                f"{excerpt(self._clean(data))}. The text received so far is in "
                ".partial_text."
            )
            raise LiaobotsUnexpectedResponseError(
                msg, status_code=200, partial_text=self.partial_text
            ) from None

    def _event(self, event: Any, data: str, out: list[str]) -> None:
        text = self._sse_event(event, data, out)
        if text:
            self._content_seen = True
            out.append(text)

    def _sse_event(self, event: Any, data: str, before: list[str]) -> str:
        """Return one event's answer text; ``before``: this piece's text so far."""
        if not isinstance(event, dict):
            self._emit("".join(before))  # received, so part of partial_text
            before.clear()
            msg = (
                "Liaobots sent an event that is not a JSON object: "
                f"{excerpt(self._clean(data))}. The text received so far is in "
                ".partial_text."
            )
            raise LiaobotsUnexpectedResponseError(
                msg, status_code=200, partial_text=self.partial_text
            )
        if event.get("error"):
            self._emit("".join(before))  # received, so part of partial_text
            before.clear()
            status = event.get("res_status")
            message = event.get("message", "")
            raise error_for_status(
                status if isinstance(status, int) and 100 <= status <= 599 else 500,
                # Not str() of any JSON value: a deeply nested one would recurse.
                self._clean(message if isinstance(message, str) else data),
                partial_text=self.partial_text,
                in_stream=True,
            )
        content = event.get("content")
        if event.get("role", "assistant") != "assistant" or not isinstance(
            content, str
        ):
            return ""
        return content

    def _html_error(self) -> LiaobotsHTMLPageError:
        return html_page_error(self._head, self._clean)

    def _too_large(self, data: bytes) -> LiaobotsResponseTooLargeError:
        """Read the bytes of ``data`` within the limit; return the error."""
        self.feed(data[: self._limit - self.received_bytes])  # part of partial_text
        msg = (
            f"Liaobots sent an answer of more than {self._limit} bytes, far more "
            "than the service's answers, so reading stopped there: a broken or "
            "hostile server, or a wrong base_url. The text received so far is in "
            ".partial_text."
        )
        return LiaobotsResponseTooLargeError(
            msg, status_code=200, partial_text=self.partial_text
        )
