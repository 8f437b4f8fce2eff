"""The Liaobots-compatible local server, for tests, demos and offline work.

``LiaobotsEmulator`` serves the chat protocol over real HTTP on 127.0.0.1;
``python -m langchain_liaobots.emulator --port N`` runs it from a shell.
"""

from langchain_liaobots.emulator.responder import Responder, default_responder
from langchain_liaobots.emulator.server import LiaobotsEmulator, ReceivedRequest

__all__ = ["LiaobotsEmulator", "ReceivedRequest", "Responder", "default_responder"]
