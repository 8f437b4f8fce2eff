"""Agent: ``create_agent`` with two tools, streaming the agent's steps.

Runs against the real Liaobots service when ``LIAOBOTS_AUTH_CODE`` is set,
otherwise against an embedded local Liaobots-compatible server whose
deterministic responder plays the model: it calls the tools the question asks
for, then answers with their results.
"""

from __future__ import annotations

import json

from langchain.agents import create_agent
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool

from langchain_liaobots import ChatLiaobots
from langchain_liaobots.emulator import real_or_emulated

QUESTION = "What is the weather in Paris, and what is 21 celsius in fahrenheit?"


@tool
def get_weather(city: str) -> str:
    """Get the current weather in a city."""
    return f"Sunny, 21 °C in {city}"


@tool
def celsius_to_fahrenheit(celsius: float) -> float:
    """Convert a temperature from degrees Celsius to degrees Fahrenheit."""
    return round(celsius * 9 / 5 + 32, 1)


def describe(node: str, message: BaseMessage) -> str:
    """Render one message of an agent step as a transcript line."""
    if isinstance(message, AIMessage) and message.tool_calls:
        calls = ", ".join(
            f"{c['name']}({json.dumps(c['args'], ensure_ascii=False)})"
            for c in message.tool_calls
        )
        return f"[{node}] calls {calls}"
    if isinstance(message, ToolMessage):
        return f"[{node}] {message.name} -> {message.content}"
    text = message.text.replace("\n", "\n" + " " * (len(node) + 3))
    return f"[{node}] {text}"


def main() -> None:
    """Run the agent on one question and print each step as it completes."""
    with real_or_emulated(pace=0.01, piece_bytes=8) as settings:
        llm = ChatLiaobots(**settings)
        agent = create_agent(
            llm,
            tools=[get_weather, celsius_to_fahrenheit],
            system_prompt="You are a concise weather assistant.",
        )
        print(f"[user] {QUESTION}")
        inputs = {"messages": [HumanMessage(QUESTION)]}
        for step in agent.stream(inputs, stream_mode="updates"):
            for node, update in step.items():
                for message in (update or {}).get("messages", []):
                    print(describe(node, message), flush=True)


if __name__ == "__main__":
    main()
