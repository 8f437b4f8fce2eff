"""The examples run, as a user would run them, against their embedded local server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

EXPECTED = {
    "quickstart.py": ["You said: In one sentence, what is LangChain?"],
    "agent.py": [
        '[model] calls get_weather({"city": "Paris"}), '
        'celsius_to_fahrenheit({"celsius": 21})',
        "[tools] get_weather -> Sunny, 21 °C in Paris",
        "[tools] celsius_to_fahrenheit -> 69.8",
        "[model] get_weather returned: Sunny, 21 °C in Paris",
        "        celsius_to_fahrenheit returned: 69.8",
    ],
    "structured_output.py": [
        "json_schema: City(name='Paris', population=2102650)",
        "function_calling: City(name='Paris', population=2102650)",
        "agent on gpt-4o-free: WeatherReport(city='Paris', "
        "summary='Sunny, 21 °C in Paris')",
        "agent on gpt-4: WeatherReport(city='Paris', summary='Sunny, 21 °C in Paris')",
    ],
    "tour.py": [
        "it is NOT a language model. It repeats your message, and follows the",
        "> You said: Hello!",
        "[model] calls get_weather({'city': 'Paris'})",
        "[tool]  get_weather -> Sunny, 21 °C in Paris",
        "[model] get_weather returned: Sunny, 21 °C in Paris",
        "City(name='Paris', population=2102650)",
        "type: City, population: int",
        "LiaobotsStreamCutError: the connection dropped mid-answer.",
        "partial_text = 'You said: Th'",
        '    export LIAOBOTS_AUTH_CODE="your-code"',
    ],
    "langgraph_graph.py": [
        '[model] calls multiply({"a": 6, "b": 7})',
        "[tools] multiply -> 42",
        "[model] multiply returned: 42",
    ],
}


def test_every_example_is_covered() -> None:
    assert sorted(p.name for p in (ROOT / "examples").glob("*.py")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_runs_offline(name: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIAOBOTS_")}
    env["PYTHONIOENCODING"] = "utf-8"
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / name)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith(
        "LIAOBOTS_AUTH_CODE is not set: using the local emulator"
    )
    for line in EXPECTED[name]:
        assert line in lines, f"{line!r} not in:\n{done.stdout}"
