"""Structured output: ``with_structured_output`` and agents' ``response_format``.

Shows ``with_structured_output`` with the schema sent (``json_schema``) and as a
forced tool (``function_calling``), then an agent returning a
``WeatherReport`` through both of ``create_agent``'s strategies: native JSON for
a model name it believes supports it (``gpt-4o-free``) and a forced
structured-output tool otherwise (``gpt-4``).

Runs against the real Liaobots service when ``LIAOBOTS_AUTH_CODE`` is set,
otherwise against an embedded local Liaobots-compatible server whose
deterministic responder fills the schema from the question and tool results.
"""

from __future__ import annotations

from langchain.agents import create_agent
from langchain_core.messages import HumanMessage
from langchain_core.tools import tool
from pydantic import BaseModel, Field

from langchain_liaobots import ChatLiaobots
from langchain_liaobots.emulator import real_or_emulated


class City(BaseModel):
    """A city and its population."""

    name: str = Field(description="The city's name")
    population: int = Field(description="How many people live there")


class WeatherReport(BaseModel):
    """A short weather report."""

    city: str = Field(description="The city")
    summary: str = Field(description="The weather, in a few words")


@tool
def get_weather(city: str) -> str:
    """Get the current weather in a city."""
    return f"Sunny, 21 °C in {city}"


def main() -> None:
    """Print structured results from each method and each agent strategy."""
    with real_or_emulated() as settings:
        llm = ChatLiaobots(**settings)

        question = "The city of 'Paris' has 2102650 inhabitants."
        for method in ("json_schema", "function_calling"):
            city = llm.with_structured_output(City, method=method).invoke(question)
            print(f"{method}: {city!r}")

        for model in ("gpt-4o-free", "gpt-4"):
            agent = create_agent(
                ChatLiaobots(model=model, **settings),
                tools=[get_weather],
                response_format=WeatherReport,
            )
            state = agent.invoke(
                {"messages": [HumanMessage("What is the weather in Paris?")]}
            )
            print(f"agent on {model}: {state['structured_response']!r}")


if __name__ == "__main__":
    main()
