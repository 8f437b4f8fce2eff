"""Quickstart: stream an LCEL chain's answer through ChatLiaobots.

Runs against the real Liaobots service when ``LIAOBOTS_AUTH_CODE`` is set,
otherwise against an embedded local Liaobots-compatible server; it says which.
"""

from __future__ import annotations

from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate

from langchain_liaobots import ChatLiaobots
from langchain_liaobots.emulator import real_or_emulated


def main() -> None:
    """Build the chain and stream one answer to the terminal."""
    with real_or_emulated(pace=0.03, piece_bytes=4) as settings:
        llm = ChatLiaobots(**settings)
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
