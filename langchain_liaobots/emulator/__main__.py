"""Command line of the local server: options in, a running server until Ctrl-C.

Example::

    python -m langchain_liaobots.emulator --port 8765 --pace 0.02
    LIAOBOTS_BASE_URL=http://127.0.0.1:8765 LIAOBOTS_AUTH_CODE=dev python app.py
"""

from __future__ import annotations

import argparse
import threading
from collections.abc import Sequence

from langchain_liaobots.emulator.server import LiaobotsEmulator

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m langchain_liaobots.emulator",
        description="Serve a Liaobots-compatible chat endpoint on 127.0.0.1.",
    )
    parser.add_argument("--port", type=int, default=8765, help="port (0: any free one)")
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
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Run the server in the foreground until interrupted.

    Args:
        argv: Command-line arguments; defaults to ``sys.argv[1:]``.
    """
    args = _parser().parse_args(argv)
    server = LiaobotsEmulator(
        port=args.port,
        pace=args.pace,
        piece_bytes=args.piece_bytes,
        auth_codes=args.auth_codes,
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
