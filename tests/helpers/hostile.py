"""A hostile HTTP server on 127.0.0.1 that writes whatever bytes it is told to.

`HostileServer` answers every request (any path, any method) with the bytes
of one `Answer`: a status line and headers written as given, then a body
written piece by piece from an iterator, so the framing can be anything a
broken or hostile peer might send (a huge chunk, an absurd chunk-size line, a
compression bomb, a body that never ends). It reads each request's head and
its ``Content-Length`` body first, writes until the answer runs out or the
client goes away, then closes the connection. Built on raw sockets, it shares
no code with the package (nor with the standard library's HTTP server), so
nothing of the package's own format shapes what it sends.

The answers below are the shapes the security tests send; each body is made
lazily, so only what a client reads is ever produced.
"""

from __future__ import annotations

import importlib.util
import json
import socket
import struct
import zlib
from collections.abc import Callable, Iterable, Iterator
from functools import cache

from tests.helpers.threads import AcceptLoop

_HAS_ZSTD = importlib.util.find_spec("zstandard") is not None

Answer = Callable[[], Iterable[bytes]]
"""Makes the bytes of one answer, head first (called once per request)."""

MIB = 1024 * 1024
_IO_TIMEOUT = 10.0
_HEAD_LIMIT = 64 * 1024


class HostileServer(AcceptLoop):
    """Serves one `Answer` to every request; a context manager.

    Attributes:
        heads: Each request's head (request line and headers, names in lower
            case), in the order they were read.
    """

    join_connections = True

    def __init__(self, answer: Answer) -> None:
        super().__init__()
        self._answer = answer
        self.heads: list[bytes] = []

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(_IO_TIMEOUT)
        with conn:
            try:
                self.heads.append(self._read_request(conn))
                for piece in self._answer():
                    if self._stop.is_set():
                        break
                    conn.sendall(piece)
            except OSError:
                pass  # the client went away: what a hostile server expects

    @staticmethod
    def _read_request(conn: socket.socket) -> bytes:
        """Read a request's head and body; return the head."""
        data = b""
        while b"\r\n\r\n" not in data and len(data) < _HEAD_LIMIT:
            piece = conn.recv(65536)
            if not piece:
                break
            data += piece
        raw, _, body = data.partition(b"\r\n\r\n")
        lines = [raw.split(b"\r\n")[0]]
        length = 0
        for line in raw.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            lines.append(name.strip().lower() + b": " + value.strip())
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(body) < length:
            piece = conn.recv(65536)
            if not piece:
                break
            body += piece
        return b"\r\n".join(lines) + b"\r\n"


def head(*headers: str, status: str = "200 OK") -> bytes:
    """The status line and headers, as given, and the blank line."""
    lines = [f"HTTP/1.1 {status}", *headers, "", ""]
    return "\r\n".join(lines).encode("latin-1")


def repeat(piece: bytes, total: int) -> Iterator[bytes]:
    """``piece`` again and again, ``total`` bytes in all."""
    sent = 0
    while sent < total:
        part = piece[: total - sent]
        sent += len(part)
        yield part


def chunked(pieces: Iterable[bytes]) -> Iterator[bytes]:
    """Each piece as one chunk, then the last chunk."""
    for piece in pieces:
        yield f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    yield b"0\r\n\r\n"


@cache
def gzip_bomb(decoded: int = 1024 * MIB) -> bytes:
    """``decoded`` bytes of ``a`` gzip-compressed: about 1 MiB per GiB.

    Made in a blink: after a full flush deflate starts afresh, so every MiB
    after the first compresses to the same bytes; the trailer is written by
    hand (an empty final block, the CRC and the size).
    """
    block = b"a" * MIB
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    first = packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)
    again = packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(decoded // MIB):
        crc = zlib.crc32(block, crc)
    trailer = b"\x03\x00" + struct.pack("<II", crc, decoded & 0xFFFFFFFF)
    return first + again * (decoded // MIB - 1) + trailer


@cache
def zstd_bomb(decoded: int = 1024 * MIB) -> bytes:
    """``decoded`` bytes of ``a`` zstd-compressed: about 32 KiB per GiB."""
    import zstandard

    packer = zstandard.ZstdCompressor(level=19).compressobj()
    block = b"a" * MIB
    parts = [packer.compress(block) for _ in range(decoded // MIB)]
    parts.append(packer.flush())
    return b"".join(parts)


def deep_json(depth: int = 5000) -> bytes:
    """A JSON array nested ``depth`` deep."""
    return b"[" * depth + b"]" * depth


def json_answer(body: bytes, *extra: str) -> Answer:
    """A JSON body with its ``Content-Length``."""
    return lambda: [
        head("content-type: application/json", f"content-length: {len(body)}", *extra),
        body,
    ]


def text(total: int, piece: bytes = b"a" * 65536) -> Iterator[bytes]:
    """``total`` bytes of raw answer text."""
    return repeat(piece, total)


_NO_TEXT = b'data: {"role": "assistant", "pad": "' + b"p" * 1000 + b'"}\n\n'
"""An SSE event that carries no answer text."""


def warm() -> None:
    """Make the bombs now, so no server makes a client wait for them."""
    gzip_bomb()
    if _HAS_ZSTD:
        zstd_bomb()


HOSTILE_CHATS: dict[str, Answer] = {
    "gzip bomb, one chunk": lambda: [
        head("transfer-encoding: chunked", "content-encoding: gzip"),
        *chunked([gzip_bomb()]),
    ],
    "gzip bomb, content-length": lambda: [
        head("content-encoding: gzip", f"content-length: {len(gzip_bomb())}"),
        gzip_bomb(),
    ],
    "gzip bomb, read until close": lambda: [
        head("content-encoding: gzip", "connection: close"),
        gzip_bomb(),
    ],
    "gzip twice": lambda: [
        head("content-encoding: gzip, gzip", "connection: close"),
        zlib.compress(gzip_bomb(), 9, 31),
    ],
    "one 256 MiB chunk": lambda: [
        head("transfer-encoding: chunked"),
        f"{256 * MIB:x}\r\n".encode(),
        *text(256 * MIB),
        b"\r\n0\r\n\r\n",
    ],
    "chunk-size line 10000000000": lambda: [
        head("transfer-encoding: chunked"),
        b"10000000000\r\n",
        *text(64 * MIB),
    ],
    "chunk-size line 7fffffffffffffff": lambda: [
        head("transfer-encoding: chunked"),
        b"7fffffffffffffff\r\n",
        *text(64 * MIB),
    ],
    "chunk-size line of 40 digits": lambda: [
        head("transfer-encoding: chunked"),
        b"f" * 40 + b"\r\n",
        *text(64 * MIB),
    ],
    "content-length 10**15, 300 MiB sent": lambda: [
        head(f"content-length: {10**15}"),
        *text(300 * MIB),
    ],
    "300 MiB, read until close": lambda: [
        head("connection: close"),
        *text(300 * MIB),
    ],
    "300 MiB of blank lines": lambda: [
        head("connection: close"),
        *text(300 * MIB, b"\r\n" * 32768),
    ],
    "SSE line that never ends": lambda: [
        head("content-type: text/event-stream", "connection: close"),
        b'data: {"content": "',
        *text(300 * MIB),
    ],
    "SSE events without text": lambda: [
        head("content-type: text/event-stream", "connection: close"),
        *repeat(_NO_TEXT * 64, 300 * MIB),
    ],
    "SSE data lines that never dispatch": lambda: [
        head("content-type: text/event-stream", "connection: close"),
        *repeat((b"data: " + b"x" * 1000 + b"\n") * 64, 300 * MIB),
    ],
    "SSE event nested 5000 deep": lambda: [
        head("content-type: text/event-stream", "connection: close"),
        b"data: " + deep_json() + b"\n\n",
    ],
    "SSE error event nested 900 deep": lambda: [
        head("content-type: text/event-stream", "connection: close"),
        b'data: {"error": true, "message": ' + deep_json(900) + b"}\n\n",
    ],
    "status line of 1 MiB": lambda: [b"HTTP/1.1 200 " + b"O" * MIB + b"\r\n\r\n"],
    "header line of 1 MiB": lambda: [head("x-junk: " + "j" * MIB)],
    "100,000 headers": lambda: [head(*(f"x-h{i}: v" for i in range(100_000)))],
}
"""Chat answers a hostile server might send, by what they are."""

if _HAS_ZSTD:  # urllib3 decodes zstd when it can, asked for or not
    HOSTILE_CHATS["zstd bomb, never asked for"] = lambda: [
        head("content-encoding: zstd", "connection: close"),
        zstd_bomb(),
    ]

HOSTILE_JSON: dict[str, Answer] = {
    "gzip bomb": lambda: [
        head(
            "content-type: application/json",
            "content-encoding: gzip",
            "transfer-encoding: chunked",
        ),
        *chunked([gzip_bomb()]),
    ],
    "300 MiB array": lambda: [
        head("content-type: application/json", "connection: close"),
        b"[",
        *repeat(b'"aaaaaaa",' * 6553, 300 * MIB),
    ],
    "nested 5000 deep": json_answer(deep_json()),
    "object nested 5000 deep": json_answer(b'{"a":' * 5000 + b"1" + b"}" * 5000),
    "authCode nested 900 deep": json_answer(
        b'{"authCode": ' + deep_json(900) + b', "amount": 1}'
    ),
    "model list nested 900 deep": json_answer(
        json.dumps([{"id": "m", "name": "M", "maxLength": 1, "tokenLimit": 1}])
        .encode()
        .replace(b'"M"', deep_json(900))
    ),
}
"""Answers of ``/api/user`` and ``/api/models`` a hostile server might send."""
