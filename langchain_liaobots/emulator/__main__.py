"""Command line of the local server: options in, a running server until Ctrl-C.

Example:
```bash
python -m langchain_liaobots.emulator --port 8765 --pace 0.02
LIAOBOTS_BASE_URL=http://127.0.0.1:8765 LIAOBOTS_AUTH_CODE=dev python app.py

# the first chat request gets 429, the second is cut after 3 pieces
python -m langchain_liaobots.emulator --fault rate-limit=1 --fault cut=3

# an imperfect model: fenced or single-quoted JSON, drawn with seed 1
python -m langchain_liaobots.emulator --mistakes single_quotes,fenced --seed 1
```

"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
import threading
from collections.abc import Sequence

from langchain_liaobots.emulator.background import BODY_TIMEOUT, HEAD_TIMEOUT
from langchain_liaobots.emulator.faults import FAULT_SPECS, Behaviour, parse_fault
from langchain_liaobots.emulator.mistakes import MISTAKES, mistake_names
from langchain_liaobots.emulator.server import (
    MAX_MINTED,
    REQUEST_LOG_BYTES,
    REQUEST_LOG_SIZE,
    LiaobotsEmulator,
)

__all__ = ["main"]

MODULE_PROG = "python -m langchain_liaobots.emulator"
"""The program's name in messages when run with ``python -m``."""


def _prog(argv0: str) -> str:
    """The program's name as the user typed it: the script, or ``python -m ...``."""
    name = os.path.basename(argv0)
    return MODULE_PROG if name in ("__main__.py", "") else name


def _port(spec: str) -> int:
    try:
        port = int(spec)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        msg = f"{spec!r}: expected a port number from 0 to 65535 (0: any free one)."
        raise argparse.ArgumentTypeError(msg)
    return port


class _HelpFormatter(
    argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter
):
    """Keeps the epilog's layout; shows each option's default, when it has one."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False or action.default == []:
            return action.help
        return super()._get_help_string(action)


def _account(spec: str) -> tuple[str, dict[str, float]]:
    code, _, balance = spec.partition("=")
    try:
        return code, ({"balance": float(balance)} if balance else {})
    except ValueError:
        msg = f"{spec!r}: expected CODE or CODE=BALANCE (a number)."
        raise argparse.ArgumentTypeError(msg) from None


def _fault(spec: str) -> Behaviour:
    try:
        return parse_fault(spec)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _mistakes(spec: str) -> list[str]:
    try:
        return mistake_names("all" if spec == "all" else spec.split(","))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _parser(prog: str = MODULE_PROG) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Serve a Liaobots-compatible chat endpoint on 127.0.0.1.",
        epilog=(
            f"Fault specs (--fault, used in order, one per request):\n{FAULT_SPECS}"
            "\n\n"
            + textwrap.fill(f"Mistakes (--mistakes): {', '.join(MISTAKES)}, or all.")
        ),
        formatter_class=_HelpFormatter,
    )
    parser.add_argument(
        "--port", type=_port, default=8765, help="port (0: any free one)"
    )
    parser.add_argument(
        "--pace", type=float, default=0.0, help="seconds between answer pieces"
    )
    parser.add_argument(
        "--piece-bytes", type=int, default=16, help="bytes per answer piece"
    )
    parser.add_argument(
        "--auth-code",
        action="append",
        dest="auth_codes",
        metavar="CODE",
        help="accept only this auth code (repeatable; default: any non-empty code)",
    )
    parser.add_argument(
        "--framing",
        choices=("raw", "sse"),
        default="raw",
        help="answer framing: raw text (specified) or SSE events (2025)",
    )
    parser.add_argument(
        "--require-cookie",
        action="store_true",
        help="answer the captcha page without the session cookie of the login",
    )
    parser.add_argument(
        "--account",
        action="append",
        type=_account,
        default=[],
        metavar="CODE[=BALANCE]",
        help="a known account for /api/user (repeatable)",
    )
    parser.add_argument(
        "--fault",
        action="append",
        type=_fault,
        default=[],
        metavar="SPEC",
        help="script the next request's failure (repeatable; see below)",
    )
    parser.add_argument(
        "--mistakes",
        type=_mistakes,
        metavar="NAMES",
        help="answer as an imperfect model: comma-separated mistakes, or all",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the draw among the mistakes"
    )
    parser.add_argument(
        "--persist",
        action="store_true",
        help="keep making the mistakes after a repair request",
    )
    parser.add_argument(
        "--no-trim-history",
        dest="trim_history",
        action="store_false",
        help="show the responder every message, not only those the service keeps",
    )
    parser.add_argument(
        "--no-answer-cap",
        dest="answer_cap",
        action="store_false",
        help="send answers whole, not cut at 1,000 tokens as the service does",
    )
    parser.add_argument(
        "--request-log-size",
        type=int,
        default=REQUEST_LOG_SIZE,
        metavar="N",
        help=f"requests kept in the log (default {REQUEST_LOG_SIZE})",
    )
    parser.add_argument(
        "--request-log-bytes",
        type=int,
        default=REQUEST_LOG_BYTES,
        metavar="BYTES",
        help=f"request-body bytes kept in the log (default {REQUEST_LOG_BYTES})",
    )
    parser.add_argument(
        "--max-minted",
        type=int,
        default=MAX_MINTED,
        metavar="N",
        help=f"minted codes and session cookies kept (default {MAX_MINTED})",
    )
    parser.add_argument(
        "--head-timeout",
        type=float,
        default=HEAD_TIMEOUT,
        metavar="SECONDS",
        help=f"seconds to send a request head (default {HEAD_TIMEOUT:g})",
    )
    parser.add_argument(
        "--body-timeout",
        type=float,
        default=BODY_TIMEOUT,
        metavar="SECONDS",
        help=f"seconds to send a request body (default {BODY_TIMEOUT:g})",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Run the server in the foreground until interrupted.

    A bad option, or a port that cannot be bound (in use, or not allowed),
    ends the program with a one-line error naming it, and exit code 2.

    Args:
        argv: Command-line arguments; defaults to ``sys.argv[1:]``.
    """
    parser = _parser(_prog(sys.argv[0]))
    args = parser.parse_args(argv)
    try:
        server = LiaobotsEmulator(
            port=args.port,
            pace=args.pace,
            piece_bytes=args.piece_bytes,
            auth_codes=args.auth_codes,
            framing=args.framing,
            require_cookie=args.require_cookie,
            accounts=dict(args.account),
            mistakes=args.mistakes,
            seed=args.seed,
            persist=args.persist,
            trim_history=args.trim_history,
            answer_cap=args.answer_cap,
            request_log_size=args.request_log_size,
            request_log_bytes=args.request_log_bytes,
            max_minted=args.max_minted,
            head_timeout=args.head_timeout,
            body_timeout=args.body_timeout,
        )
    except ValueError as exc:
        parser.error(str(exc))
    server.script(*args.fault)
    try:
        server.start()
    except OSError as exc:
        parser.exit(
            2,
            f"{parser.prog}: error: cannot listen on 127.0.0.1:{args.port}: "
            f"{exc.strerror or exc} (try another --port, or 0 for any free one)\n",
        )
    with server:
        print(
            f"Liaobots emulator serving at {server.base_url} (Ctrl-C to stop)",
            flush=True,
        )
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            print("stopped", flush=True)


if __name__ == "__main__":
    main()
