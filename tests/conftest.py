"""Shared fixtures: a Liaobots-compatible local server on 127.0.0.1."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from langchain_liaobots import ChatLiaobots
from langchain_liaobots.emulator import LiaobotsEmulator


@pytest.fixture(scope="session")
def emulator() -> Iterator[LiaobotsEmulator]:
    """One fast local server for the whole run (no pacing, 7-byte pieces)."""
    with LiaobotsEmulator(piece_bytes=7) as server:
        yield server


@pytest.fixture
def fresh_emulator() -> Iterator[LiaobotsEmulator]:
    """A local server of a test's own, so its request log starts empty."""
    with LiaobotsEmulator(piece_bytes=5) as server:
        yield server


@pytest.fixture
def llm(emulator: LiaobotsEmulator) -> ChatLiaobots:
    return ChatLiaobots(base_url=emulator.base_url, auth="test-code", timeout=10)


@pytest.fixture(scope="session")
def tls_context(tmp_path_factory: pytest.TempPathFactory) -> ssl.SSLContext:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is needed to make a self-signed certificate")
    folder: Path = tmp_path_factory.mktemp("tls")
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context
