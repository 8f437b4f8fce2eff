"""The sans-I/O response side of the Liaobots protocol: body bytes in, answer text out.

:class:`AnswerReader` takes a response's content type and the stop sequences, is
fed the body's bytes piece by piece, and returns the text to hand to the caller
for each piece. It decodes UTF-8 incrementally (a character split across pieces
comes out whole; invalid bytes become U+FFFD, nothing is dropped), detects the
framing per response (raw text, or ``data: {json}`` server-sent events), refuses
HTML pages, and, through :class:`StopScanner`, ends the answer before the first
stop sequence even when it spans pieces. Nothing here touches a socket.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Sequence
from typing import Final

from langchain_liaobots.errors import LiaobotsHTMLPageError, error_for_status, excerpt
from langchain_liaobots.protocol import HTML_CONTENT_TYPE, SSE_CONTENT_TYPE

__all__ = ["AnswerReader", "StopScanner"]


class StopScanner:
    """Cut a stream of text before the first stop sequence, across piece borders.

    Feed it text with :meth:`feed`; it returns what is safe to emit now and holds
    back a tail that could be the start of a stop sequence. Once a stop sequence
    is found, :attr:`stopped` is true and nothing more is emitted.
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
        cut = min((i for i in (buf.find(s) for s in self._stops) if i >= 0), default=-1)
        if cut >= 0:
            self.stopped = True
            self._pending = ""
            return buf[:cut]
        hold = 0
        for stop in self._stops:
            for n in range(min(len(stop) - 1, len(buf)), hold, -1):
                if buf.endswith(stop[:n]):
                    hold = n
                    break
        self._pending = buf[len(buf) - hold :]
        return buf[: len(buf) - hold]

    def flush(self) -> str:
        """Return the held-back tail at the end of the answer (no stop followed)."""
        tail, self._pending = ("" if self.stopped else self._pending), ""
        return tail


_HTML_MARKERS: Final = (b"<!doctype html", b"<html")
_SSE_MARKER: Final = b"data:"
_SNIFF_LIMIT: Final = max(len(m) for m in (*_HTML_MARKERS, _SSE_MARKER))
_HTML_EXCERPT_BYTES: Final = 4096


class AnswerReader:
    """Turn the bytes of one chat response body into answer text.

    The framing is decided per response: ``text/event-stream`` (or a body that
    starts with ``data:``) is read as server-sent events whose ``content``
    carries the text; ``text/html`` (or a body that starts like an HTML
    document) is an error, never an answer; anything else is raw UTF-8 text.

    Attributes:
        stopped: True once a stop sequence ended the answer; the caller should
            close the response.
        received_bytes: How many body bytes have been fed.
    """

    def __init__(self, content_type: str | None, stop: Sequence[str] = ()) -> None:
        """Create a reader for one response.

        Args:
            content_type: The response's ``content-type`` header, if any.
            stop: Stop sequences to apply to the text.
        """
        ctype = (content_type or "").split(";", 1)[0].strip().lower()
        self._mode = {HTML_CONTENT_TYPE: "html", SSE_CONTENT_TYPE: "sse"}.get(ctype, "")
        self._head = b""
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._lines = b""
        self._scanner = StopScanner(stop)
        self._parts: list[str] = []
        self.received_bytes = 0

    @property
    def stopped(self) -> bool:
        """Whether a stop sequence has ended the answer."""
        return self._scanner.stopped

    @property
    def text(self) -> str:
        """All answer text emitted so far."""
        return "".join(self._parts)

    def feed(self, data: bytes) -> str:
        """Take the next piece of the body and return the text to emit now.

        Args:
            data: The next bytes of the body, as they arrived.

        Returns:
            The text that may be handed to the caller (possibly empty).

        Raises:
            LiaobotsHTMLPageError: If the body is an HTML page.
            LiaobotsError: If an SSE error event arrives.
        """
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
            LiaobotsError: If an SSE error event was the last line.
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
        start = head.lstrip()[:_SNIFF_LIMIT]
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
        else:
            self._mode = "raw"
            self._head = b""
            return head
        self._head = head
        return b""

    def _sse(self, data: bytes, *, final: bool) -> str:
        """Parse complete ``data:`` lines; return the answer text they carry."""
        buf = self._lines + data
        lines = buf.split(b"\n")
        self._lines = b"" if final else lines.pop()
        out: list[str] = []
        for raw in lines:
            line = raw.strip()
            if not line.startswith(_SSE_MARKER):
                continue
            value = line[len(_SSE_MARKER) :].strip()
            if not value or value == b"[DONE]":
                continue
            out.append(self._sse_event(value))
        return "".join(out)

    def _sse_event(self, value: bytes) -> str:
        try:
            event = json.loads(value)
        except ValueError:
            return ""
        if not isinstance(event, dict):
            return ""
        if event.get("error"):
            status = event.get("res_status")
            raise error_for_status(
                status if isinstance(status, int) else 500,
                str(event.get("message", "")),
                partial_text=self.text,
            )
        content = event.get("content")
        if event.get("role", "assistant") != "assistant" or not isinstance(
            content, str
        ):
            return ""
        return content

    def _html_error(self) -> LiaobotsHTMLPageError:
        page = self._head.decode("utf-8", "replace")
        if "人机验证" in page or "coupert-item=" in page:
            what = (
                "the captcha page: the session cookie is missing. Enable the "
                "session login, or retry later"
            )
        else:
            what = "an HTML page: the service is down or base_url is wrong"
        msg = f"Liaobots answered HTTP 200 with {what}. Page starts: {excerpt(page)!r}."
        return LiaobotsHTMLPageError(msg, status_code=200, partial_text="")
