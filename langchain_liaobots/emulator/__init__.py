"""The Liaobots-compatible local server, for tests, demos and offline work.

``LiaobotsEmulator`` serves the Liaobots endpoints over real HTTP on 127.0.0.1;
``python -m langchain_liaobots.emulator --port N`` runs it from a shell. The
behaviours of `faults` script its failures,
one request at a time; those of `mistakes`
(``LiaobotsEmulator(mistakes=...)``) make its answers those of an imperfect
model. It keeps the service's own rules: the history it keeps, answers cut at
1,000 tokens, upstream errors as a reason phrase (each can be switched off).
``real_or_emulated`` picks the real service when ``LIAOBOTS_AUTH_CODE`` is
set, else an embedded emulator.
"""

from langchain_liaobots.emulator.embedded import real_or_emulated
from langchain_liaobots.emulator.faults import (
    CAPTCHA_PAGE,
    NOT_FOUND_PAGE,
    UPSTREAM_MESSAGES,
    Answer,
    Behaviour,
    Cut,
    Disconnect,
    HtmlPage,
    Redirect,
    SseError,
    Stall,
    Status,
    TooManyRequests,
    UpstreamError,
    parse_fault,
)
from langchain_liaobots.emulator.mistakes import (
    MISTAKES,
    Mistake,
    MistakenResponder,
    Reply,
    with_mistakes,
)
from langchain_liaobots.emulator.responder import Responder, default_responder
from langchain_liaobots.emulator.server import LiaobotsEmulator, ReceivedRequest

__all__ = [
    "CAPTCHA_PAGE",
    "MISTAKES",
    "NOT_FOUND_PAGE",
    "UPSTREAM_MESSAGES",
    "Answer",
    "Behaviour",
    "Cut",
    "Disconnect",
    "HtmlPage",
    "LiaobotsEmulator",
    "Mistake",
    "MistakenResponder",
    "ReceivedRequest",
    "Redirect",
    "Reply",
    "Responder",
    "SseError",
    "Stall",
    "Status",
    "TooManyRequests",
    "UpstreamError",
    "default_responder",
    "parse_fault",
    "real_or_emulated",
    "with_mistakes",
]
