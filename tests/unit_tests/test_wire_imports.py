"""The wire layer's place in the package: it imports nothing from above it.

`langchain_liaobots.wire` is the sans-I/O core (its rules are in its package
docstring). It may use the leaf modules below it (the errors, the registry's
`ModelSpec`, the version) and itself; never the model, the transports, the
prompt layer, the emulator or the account model, and no I/O library.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import langchain_liaobots.wire

WIRE = Path(langchain_liaobots.wire.__file__).parent
BELOW = {"langchain_liaobots.errors", "langchain_liaobots.registry"}
BELOW_NAMES = {"langchain_liaobots._version"}
IO = {"socket", "ssl", "threading", "asyncio", "requests", "aiohttp", "urllib3"}
IO |= {"time", "random", "os", "selectors", "http.client", "pathlib"}


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append(node.module)
    return found


@pytest.mark.parametrize("path", sorted(WIRE.glob("*.py")), ids=lambda p: p.name)
def test_a_wire_module_imports_only_the_wire_and_the_leaves(path: Path) -> None:
    package = [m for m in _imports(path) if m.split(".")[0] == "langchain_liaobots"]
    upward = [
        m
        for m in package
        if not m.startswith("langchain_liaobots.wire") and m not in BELOW | BELOW_NAMES
    ]
    assert upward == [], f"{path.name} imports {upward} from above the wire layer"


@pytest.mark.parametrize("path", sorted(WIRE.glob("*.py")), ids=lambda p: p.name)
def test_a_wire_module_imports_no_io_library(path: Path) -> None:
    io = [m for m in _imports(path) if m in IO or m.split(".")[0] in IO]
    assert io == [], f"{path.name} imports {io}: the wire layer does no I/O"


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "from langchain_liaobots.account import parse_account\nimport socket\n",
        encoding="utf-8",
    )
    assert _imports(module) == ["langchain_liaobots.account", "socket"]
