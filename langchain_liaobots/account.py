"""The account state: ``/api/user``'s JSON answer in, an `AccountState` out.

``ChatLiaobots.account()`` returns the `AccountState` the service reports
for a code (its credit, free messages left, referral). `parse_account`
validates it: the code is read as the acquisition reads it
(`langchain_liaobots.wire.auth.auth_code_of`: a "Too many requests" answer is a
rate-limit error, an answer without a code an unexpected-response error), and
fields of the wrong type are an unexpected-response error, never an account. Like
`ModelSpec`, the state is a public response
model; nothing here touches a socket.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from langchain_liaobots.errors import LiaobotsUnexpectedResponseError
from langchain_liaobots.wire.auth import auth_code_of
from langchain_liaobots.wire.protocol import USER_PATH

__all__ = ["AccountState", "Referral", "parse_account"]


class Referral(BaseModel):
    """The referral part of an account state."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    amount: float | None = None
    balance: float | None = None


class AccountState(BaseModel):
    """An account's state as ``POST /api/user`` reports it.

    The code itself is a ``SecretStr``: it never shows in ``repr`` or ``str``.
    Fields the service did not send are ``None``.

    Attributes:
        auth_code: ``authCode``, the account's code.
        amount: ``amount``.
        balance: ``balance``, the remaining credit.
        gpt4_free_remain: ``gpt4FreeRemain``, free GPT-4 messages left.
        link: ``link``, the account's referral link.
        referral: ``referral`` (``amount``, ``balance``).
        unlimited_end_time: ``unlimitedEndTime``.
        unlimited_advanced_end_time: ``unlimitedAdvancedEndTime``.
    """

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    auth_code: SecretStr = Field(alias="authCode")
    amount: float | None = None
    balance: float | None = None
    gpt4_free_remain: int | None = Field(default=None, alias="gpt4FreeRemain")
    link: str | None = None
    referral: Referral | None = None
    unlimited_end_time: str | float | None = Field(
        default=None, alias="unlimitedEndTime"
    )
    unlimited_advanced_end_time: str | float | None = Field(
        default=None, alias="unlimitedAdvancedEndTime"
    )


def parse_account(value: Any) -> AccountState:
    """Read ``/api/user``'s JSON answer.

    Args:
        value: The parsed JSON body.

    Returns:
        The account state, its ``authCode`` non-empty.

    Raises:
        LiaobotsRateLimitError: For the service's ``"Too many requests"``
            answer (sent with HTTP 200).
        LiaobotsUnexpectedResponseError: For anything else without a code, or
            with fields of the wrong type (named, their values never shown).
    """
    auth_code_of(value)  # the rate-limit answer, or no code: never an account
    try:
        return AccountState.model_validate(value)
    except ValidationError as exc:
        fields = ", ".join(".".join(map(str, e["loc"])) for e in exc.errors())
        msg = (
            f"Liaobots answered {USER_PATH} with an account state whose field(s) "
            f"{fields} have an unexpected type."
        )
        raise LiaobotsUnexpectedResponseError(msg, status_code=200) from None
