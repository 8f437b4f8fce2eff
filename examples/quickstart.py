"""Quickstart: stream an LCEL chain's answer through ChatLiaobots.

Runs against the real Liaobots service when ``LIAOBOTS_AUTH_CODE`` is set,
otherwise against an embedded local Liaobots-compatible server; it says which.
"""

from __future__ import annotations

import os
from contextlib import ExitStack

from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate

from langchain_liaobots import ChatLiaobots
from langchain_liaobots.emulator import LiaobotsEmulator


def main() -> None:
    """Build the chain and stream one answer to the terminal."""
    with ExitStack() as stack:
        if os.environ.get("LIAOBOTS_AUTH_CODE"):
            llm = ChatLiaobots()
            print(f"Using the real Liaobots service at {llm.base_url}")
        else:
            server = stack.enter_context(LiaobotsEmulator(pace=0.03, piece_bytes=4))
            llm = ChatLiaobots(base_url=server.base_url, auth="local-demo")
            print(
                f"LIAOBOTS_AUTH_CODE is not set: using the local emulator at "
                f"{server.base_url}"
            )
        prompt = ChatPromptTemplate.from_messages(
            [
                ("system", "You are a concise assistant."),
                ("human", "In one sentence, what is {topic}?"),
            ]
        )
        chain = prompt | llm | StrOutputParser()
        for piece in chain.stream({"topic": "LangChain"}):
            print(piece, end="", flush=True)
        print()


if __name__ == "__main__":
    main()
