"""The emulator's command line (``emulator/__main__.py``): errors and help."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from langchain_liaobots.emulator.__main__ import MODULE_PROG, _parser, _prog, main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _run_as_python_m(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process, the program runs as ``python -m`` would run it."""
    monkeypatch.setattr(sys, "argv", ["/x/langchain_liaobots/emulator/__main__.py"])


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
    )


@pytest.mark.parametrize("port", ["99999", "-1", "http"])
def test_a_port_out_of_range_is_a_one_line_error_with_exit_code_2(
    port: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--port", port])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.splitlines()[-1] == (
        f"{MODULE_PROG}: error: argument --port: {port!r}: expected a port "
        "number from 0 to 65535 (0: any free one)."
    )


def test_a_port_in_use_is_a_one_line_error_with_exit_code_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(SystemExit) as exited:
            main(["--port", str(port)])
    assert exited.value.code == 2
    assert capsys.readouterr().err == (
        f"{MODULE_PROG}: error: cannot listen on 127.0.0.1:{port}: Address "
        "already in use (try another --port, or 0 for any free one)\n"
    )


def test_a_bad_setting_of_the_server_is_a_one_line_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--pace", "-1"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.splitlines()[-1] == (
        f"{MODULE_PROG}: error: pace must be zero or more seconds, got -1.0."
    )


def test_run_with_python_m_the_errors_name_python_m() -> None:
    result = _run("-m", "langchain_liaobots.emulator", "--port", "99999")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1].startswith(
        "python -m langchain_liaobots.emulator: error: argument --port:"
    )


def test_run_as_the_installed_script_the_errors_name_the_script() -> None:
    script = (
        "import sys; sys.argv[0] = '/venv/bin/liaobots-emulator'; "
        "from langchain_liaobots.emulator.__main__ import main; main()"
    )
    result = _run("-c", script, "--port", "99999")
    assert result.returncode == 2
    assert result.stderr.startswith("usage: liaobots-emulator ")
    assert result.stderr.splitlines()[-1].startswith(
        "liaobots-emulator: error: argument --port:"
    )


def test_the_program_is_named_as_it_was_run() -> None:
    assert _prog("/x/langchain_liaobots/emulator/__main__.py") == MODULE_PROG
    assert _prog("/usr/local/bin/liaobots-emulator") == "liaobots-emulator"


def test_help_shows_the_defaults() -> None:
    text = " ".join(_parser().format_help().split())
    for shown in (
        "port (0: any free one) (default: 8765)",
        "seconds between answer pieces (default: 0.0)",
        "bytes per answer piece (default: 16)",
        "(default: raw)",
        "seed of the draw among the mistakes (default: 0)",
    ):
        assert shown in text
    assert "(default: None)" not in text
    assert "(default: False)" not in text
    assert "(default: [])" not in text
