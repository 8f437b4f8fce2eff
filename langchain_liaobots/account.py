"""The account state: ``/api/user``'s JSON answer in, an `AccountState` out.

``ChatLiaobots.account()`` returns the `AccountState` the service reports
for a code (its credit, free messages left, referral); the acquisition of a code
(`Credentials`) reads the new code from the
same answer. `parse_account` validates it: a "Too many requests" answer
is a rate-limit error, an answer without a code or with fields of the wrong
type an unexpected-response error, never an account. Like
`ModelSpec`, the state is a public response
model; nothing here touches a socket.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from langchain_liaobots.errors import (
    LiaobotsRateLimitError,
    LiaobotsUnexpectedResponseError,
)
from langchain_liaobots.wire.protocol import TOO_MANY_REQUESTS, USER_PATH

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
    if isinstance(value, dict) and not value.get("authCode"):
        data = value.get("data")
        if isinstance(data, str) and TOO_MANY_REQUESTS.lower() in data.lower():
            msg = (
                f"Liaobots answered {USER_PATH} with {TOO_MANY_REQUESTS!r} (HTTP "
                "200): it is rate limiting auth-code requests. Wait and retry, "
                "or pass your own auth code."
            )
            raise LiaobotsRateLimitError(msg, status_code=200)
    if (
        not isinstance(value, dict)
        or not isinstance(value.get("authCode"), str)
        or not value["authCode"]
    ):
        got = (
            f"fields {sorted(value)[:10]}"
            if isinstance(value, dict)
            else f"a JSON {type(value).__name__}"
        )
        msg = (
            f"Liaobots answered {USER_PATH} without an authCode (got {got}); "
            "check base_url."
        )
        raise LiaobotsUnexpectedResponseError(msg, status_code=200)
    try:
        return AccountState.model_validate(value)
    except ValidationError as exc:
        fields = ", ".join(".".join(map(str, e["loc"])) for e in exc.errors())
        msg = (
            f"Liaobots answered {USER_PATH} with an account state whose field(s) "
            f"{fields} have an unexpected type."
        )
        raise LiaobotsUnexpectedResponseError(msg, status_code=200) from None
