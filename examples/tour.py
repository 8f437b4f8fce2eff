"""A guided tour of langchain-liaobots: what `make demo` runs.

Six short stops: the local emulator, streaming, an agent with a tool,
structured output, a cut stream's typed error, and the switch to the real
service. Without ``LIAOBOTS_AUTH_CODE`` everything runs against the bundled
emulator on 127.0.0.1; with it, the real Liaobots service answers the stops that
make sense there, and the scripted fault is skipped.
"""

from __future__ import annotations

import os
import time

from langchain.agents import create_agent
from langchain_core.tools import tool
from pydantic import BaseModel

from langchain_liaobots import ChatLiaobots, LiaobotsStreamCutError
from langchain_liaobots.emulator import Cut, LiaobotsEmulator


def heading(number: int, title: str) -> None:
    """Print a plain heading."""
    print(f"\n{number}. {title}\n{'-' * (len(title) + 3)}")


@tool
def get_weather(city: str) -> str:
    """Get the current weather in a city."""
    return f"Sunny, 21 °C in {city}"


class City(BaseModel):
    """A city and its population."""

    name: str
    population: int


def tour(llm: ChatLiaobots, server: LiaobotsEmulator | None) -> None:
    """Walk through the six stops with one model."""
    heading(1, "Who is answering")
    if server is None:
        print(f"The real Liaobots service at {llm.base_url} (LIAOBOTS_AUTH_CODE set).")
    else:
        print(
            "The local emulator, in this process. It answers by fixed rules;\n"
            "it is NOT a language model. It repeats your message, and follows the\n"
            "tool-calling and JSON instructions ChatLiaobots sends, so everything\n"
            "below runs offline and gives the same answer every time."
        )
    print("> " + llm.invoke("Hello!").text)

    heading(2, "Streaming: the answer arrives piece by piece")
    started = time.perf_counter()
    pieces = 0
    for chunk in llm.stream("Tell me, in a few words, what streaming is."):
        if chunk.text:
            pieces += 1
            print(chunk.text, end="|", flush=True)
    print(f"\n({pieces} pieces in {time.perf_counter() - started:.2f} s)")

    heading(3, "An agent calls a tool and uses its result")
    agent = create_agent(llm, tools=[get_weather])
    state = agent.invoke({"messages": [("user", "What is the weather in Paris?")]})
    for message in state["messages"][1:]:
        if message.type == "ai" and message.tool_calls:
            for call in message.tool_calls:
                print(f"[model] calls {call['name']}({call['args']})")
        elif message.type == "tool":
            print(f"[tool]  {message.name} -> {message.text}")
        else:
            print(f"[model] {message.text}")

    heading(4, "Structured output: a validated Pydantic object")
    city = llm.with_structured_output(City).invoke(
        "The city of 'Paris' has 2102650 inhabitants."
    )
    print(repr(city))
    print(f"type: {type(city).__name__}, population: {type(city.population).__name__}")

    heading(5, "A cut stream raises a typed error that keeps the partial text")
    if server is None:
        print("Skipped: the fault is scripted on the local emulator.")
    else:
        server.script(Cut(after=3))  # the next answer: three pieces, then it drops
        try:
            llm.invoke("This answer will be cut off.")
        except LiaobotsStreamCutError as err:
            print(f"{type(err).__name__}: the connection dropped mid-answer.")
            print(f"partial_text = {err.partial_text!r}")

    heading(6, "Switching to the real service")
    print("One line switches all of the above to the real Liaobots service:\n")
    print('    export LIAOBOTS_AUTH_CODE="your-code"\n')
    print("then run `make demo` again; in your code, ChatLiaobots() reads it.")
    print("More: docs/index.md, or `make docs` for the site at http://127.0.0.1:8000")


def main() -> None:
    """Run the tour on the real service or the emulator."""
    if os.environ.get("LIAOBOTS_AUTH_CODE"):
        tour(ChatLiaobots(), None)
        return
    with LiaobotsEmulator(pace=0.03, piece_bytes=4) as server:
        print(
            "LIAOBOTS_AUTH_CODE is not set: using the local emulator at "
            f"{server.base_url}"
        )
        tour(ChatLiaobots(base_url=server.base_url, auth="local-demo"), server)


if __name__ == "__main__":
    main()
