"""LangChain chat-model integration for the Liaobots chat service.

``ChatLiaobots`` turns LangChain messages into Liaobots requests and streams the
answers back as ``AIMessageChunk``s. The local Liaobots-compatible server lives
in `langchain_liaobots.emulator` (imported on its own, so that plain users
never load the server).
"""

from langchain_liaobots._version import __version__
from langchain_liaobots.account import AccountState
from langchain_liaobots.chat_models import ChatLiaobots
from langchain_liaobots.errors import (
    LiaobotsAPIError,
    LiaobotsAuthenticationError,
    LiaobotsCaptchaError,
    LiaobotsConnectionError,
    LiaobotsContextOverflowError,
    LiaobotsError,
    LiaobotsHistoryDroppedWarning,
    LiaobotsHTMLPageError,
    LiaobotsInvalidRequestError,
    LiaobotsNotFoundError,
    LiaobotsOutOfCreditError,
    LiaobotsPermissionDeniedError,
    LiaobotsRateLimitError,
    LiaobotsRedirectError,
    LiaobotsReplyError,
    LiaobotsResponseTooLargeError,
    LiaobotsSecurityWarning,
    LiaobotsStreamCutError,
    LiaobotsTimeoutError,
    LiaobotsTLSError,
    LiaobotsTokenizerWarning,
    LiaobotsUnexpectedResponseError,
    LiaobotsUnsupportedParameterWarning,
    LiaobotsUpstreamKeyError,
)
from langchain_liaobots.registry import (
    ModelSpec,
    get_model,
    known_model_ids,
    register_model,
)

__all__ = [
    "AccountState",
    "ChatLiaobots",
    "LiaobotsAPIError",
    "LiaobotsAuthenticationError",
    "LiaobotsCaptchaError",
    "LiaobotsConnectionError",
    "LiaobotsContextOverflowError",
    "LiaobotsError",
    "LiaobotsHTMLPageError",
    "LiaobotsHistoryDroppedWarning",
    "LiaobotsInvalidRequestError",
    "LiaobotsNotFoundError",
    "LiaobotsOutOfCreditError",
    "LiaobotsPermissionDeniedError",
    "LiaobotsRateLimitError",
    "LiaobotsRedirectError",
    "LiaobotsReplyError",
    "LiaobotsResponseTooLargeError",
    "LiaobotsSecurityWarning",
    "LiaobotsStreamCutError",
    "LiaobotsTLSError",
    "LiaobotsTimeoutError",
    "LiaobotsTokenizerWarning",
    "LiaobotsUnexpectedResponseError",
    "LiaobotsUnsupportedParameterWarning",
    "LiaobotsUpstreamKeyError",
    "ModelSpec",
    "__version__",
    "get_model",
    "known_model_ids",
    "register_model",
]
