"""A model's settings checked: the names and values given in, errors and warnings out.

`ChatLiaobots` keeps its fields; what it says about them lives here, so every
message about a setting has one home:

* names: a constructor setting no field has is an error naming the one meant
  (`check_given`, over `setting_names` and `SAME_AS`), as is
  ``model_kwargs`` and a bad ``LIAOBOTS_BASE_URL``; a per-call argument
  nothing reads warns (`warn_unknown`);
* values: an auth code that cannot travel in a header (`clean_auth`),
  protocol headers in ``default_headers`` (`headers_error`);
* warnings of a new model (`warn_of_settings`): the sampling parameters the
  service has no field for (`warn_unsent`, also per call), a ``max_tokens``
  above its answer cap, insecure settings; a copy (`validated_copy`, behind
  ``model_copy``) warns only of what it changes;
* `warn`, which points every warning at the user's own line.
"""

from __future__ import annotations

import difflib
import functools
import os
import sys
import warnings
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, TypeVar, cast
from urllib.parse import urlsplit

import langchain_core
import pydantic
from pydantic import AliasChoices, BaseModel, SecretStr
from pydantic.fields import FieldInfo

from langchain_liaobots.errors import (
    LiaobotsSecurityWarning,
    LiaobotsUnsupportedParameterWarning,
)
from langchain_liaobots.prompt.prompting import PLAN_KWARGS
from langchain_liaobots.wire.auth import auth_code_problem
from langchain_liaobots.wire.budget import ANSWER_TOKENS
from langchain_liaobots.wire.protocol import PROTOCOL_HEADERS
from langchain_liaobots.wire.urls import is_loopback, normalize_base_url

if TYPE_CHECKING:
    from langchain_liaobots.chat_models import ChatLiaobots

M = TypeVar("M", bound="ChatLiaobots")

__all__ = [
    "BASE_URL_ENV",
    "CALL_KWARGS",
    "SAME_AS",
    "UNSENT_PARAMS",
    "check_given",
    "clean_auth",
    "headers_error",
    "setting_names",
    "validated_copy",
    "warn",
    "warn_of_settings",
    "warn_unknown",
    "warn_unsent",
]

BASE_URL_ENV = "LIAOBOTS_BASE_URL"
"""The environment variable ``base_url`` defaults to."""

_COPYING: ContextVar[ChatLiaobots | None] = ContextVar(
    "langchain_liaobots_copying", default=None
)
"""The model `validated_copy` is copying while it validates the copy.

A context variable, not pydantic's validation context: ``langchain_core``'s
``Serializable.__init__`` makes ``model_validate`` validate again without it."""

UNSENT_PARAMS = (
    "top_p",
    "top_k",
    "frequency_penalty",
    "presence_penalty",
    "seed",
    "n",
)
"""Fields other chat models have, accepted but not sent: the protocol has no slot.

Set on the model or passed per call, they warn with
`LiaobotsUnsupportedParameterWarning`."""


INTERNAL_PREFIXES = tuple(
    os.path.join(Path(module_file).parent, "")
    for module_file in (__file__, pydantic.__file__, langchain_core.__file__)
    if module_file is not None
)
"""The directories whose frames a warning skips to reach the user's line: this
package's, pydantic's (construction) and langchain-core's (calls)."""


def warn(message: str, category: type[Warning]) -> None:
    """Warn at the user's line: the first frame outside `INTERNAL_PREFIXES`.

    ``skip_file_prefixes`` on Python 3.12+; before, the same walk up the stack
    gives ``stacklevel``. A call run in a worker thread (``batch``) has no user
    frame above it: the warning points at the thread's entry.
    """
    if sys.version_info >= (3, 12):
        warnings.warn(
            message, category, stacklevel=2, skip_file_prefixes=INTERNAL_PREFIXES
        )
        return
    level, frame = 1, cast("FrameType | None", sys._getframe())
    while frame is not None and frame.f_code.co_filename.startswith(INTERNAL_PREFIXES):
        level, frame = level + 1, frame.f_back
    warnings.warn(message, category, stacklevel=level)


def warn_unsent(params: Mapping[str, Any]) -> None:
    """Warn that the sampling parameters among ``params`` that are set go unsent."""
    unsent = [name for name, value in params.items() if value is not None]
    if unsent:
        warn(
            f"ChatLiaobots accepts {', '.join(unsent)} but cannot send "
            f"{'it' if len(unsent) == 1 else 'them'}: the Liaobots protocol "
            "has no field for them, so the service uses its own settings. "
            "temperature is sent, and max_tokens is honoured (on the client).",
            LiaobotsUnsupportedParameterWarning,
        )


CALL_KWARGS = (
    "model",
    "max_tokens",
    "temperature",
    "stream_usage",
    *PLAN_KWARGS,
    *UNSENT_PARAMS,
)
"""The per-call arguments ``ChatLiaobots`` reads (``invoke(..., name=value)``)."""


SAME_AS = {
    "max_completion_tokens": "max_tokens",
    "request_timeout": "timeout",
    "model_name": "model",
    "stop_sequences": "stop",
    "api_key": "auth",
}
"""Other chat models' names of settings, and the name that means the same here.

All are aliases of the settings; per call, where only ``model``, ``stop`` and
``max_tokens`` are read, an unknown one's hint names its counterpart."""


def _unknown_names(given: Iterable[Any], known: Iterable[str]) -> list[str]:
    """Name each of ``given`` that is not ``known``, with the known name meant.

    That is its counterpart (`SAME_AS`), else the closest known name.
    """
    names = sorted(set(known))
    hints = []
    for name in sorted(str(k) for k in given if k not in names):
        close = [SAME_AS[name]] if SAME_AS.get(name) in names else []
        close = close or difflib.get_close_matches(name, names, n=1)
        hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    return hints


def warn_unknown(kwargs: Mapping[str, Any]) -> None:
    """Warn that per-call arguments no option reads are ignored."""
    hints = _unknown_names(kwargs, CALL_KWARGS)
    if hints:
        warn(
            f"ChatLiaobots ignores the per-call argument(s) {', '.join(hints)}; "
            f"it reads {', '.join(CALL_KWARGS)}.",
            LiaobotsUnsupportedParameterWarning,
        )


def _input_names(name: str, info: FieldInfo) -> list[str]:
    """The names a setting is accepted under: its own, its alias and aliases."""
    names = [name, *([info.alias] if info.alias else [])]
    aliases = info.validation_alias
    if isinstance(aliases, str):
        names.append(aliases)
    elif isinstance(aliases, AliasChoices):
        names.extend(a for a in aliases.choices if isinstance(a, str))
    return names


@functools.cache
def setting_names(model: type[BaseModel]) -> dict[str, str]:
    """Map every name a setting is accepted under to the setting's name.

    Names and aliases (``model_name``, ``api_key``, ``request_timeout``, ...)
    to field names (``model``, ``auth``, ``timeout``, ...); once per class.
    """
    return {
        given: name
        for name, info in model.model_fields.items()
        for given in _input_names(name, info)
    }


def _model_kwargs_error(model_kwargs: Any, settings: Iterable[str]) -> str:
    """Why ``model_kwargs`` is refused, and where each of its keys belongs."""
    known = set(settings)
    keys = sorted(map(str, model_kwargs)) if isinstance(model_kwargs, Mapping) else []
    where = [
        f"{key!r} is a setting: ChatLiaobots({key}=...)"
        if key in known
        else f"{key!r} is a per-call option: invoke(..., {key}=...) or bind()"
        if key in CALL_KWARGS
        else f"{key!r} is neither"
        for key in keys
    ]
    return (
        "ChatLiaobots has no setting 'model_kwargs': the Liaobots protocol "
        "sends no extra request fields, so nothing could carry them. Pass "
        "settings as keyword arguments and per-call options to invoke() or "
        "bind()" + (f" ({'; '.join(where)})" if where else "") + ". The settings "
        "are listed in docs/configuration.md."
    )


def _insecure_warnings(model: ChatLiaobots) -> list[str]:
    """The security warnings a model's settings call for."""
    found = []
    if not model.verify_tls:
        found.append(
            "ChatLiaobots(verify_tls=False): the service's TLS certificate is "
            "not verified, so anyone on the network path can read the auth "
            "code and the conversation."
        )
    sends_code = model.auth is not None or model.acquire_auth_code
    parts = urlsplit(model.base_url)
    if sends_code and parts.scheme == "http" and not is_loopback(model.base_url):
        found.append(
            f"ChatLiaobots sends the auth code over plain http to {parts.hostname}"
            ", where anyone on the network path can read it; use https."
        )
    return found


def warn_of_settings(model: ChatLiaobots) -> None:
    """Warn of a new model's unsent, capped and insecure settings.

    A copy (`validated_copy`) warns only of what its update changes.

    Args:
        model: The model just validated.
    """
    copied = _COPYING.get()
    changed = [
        name
        for name in (*UNSENT_PARAMS, "max_tokens")
        if copied is None or getattr(copied, name) != getattr(model, name)
    ]
    warn_unsent({n: getattr(model, n) for n in UNSENT_PARAMS if n in changed})
    limit = model.max_tokens
    if "max_tokens" in changed and limit is not None and limit > ANSWER_TOKENS:
        warn(
            f"ChatLiaobots(max_tokens={limit}): the service stops "
            f"every answer at {ANSWER_TOKENS} tokens (finish_reason "
            '"length"), so answers stay shorter than that.',
            LiaobotsUnsupportedParameterWarning,
        )
    known = [] if copied is None else _insecure_warnings(copied)
    for message in _insecure_warnings(model):
        if message not in known:
            warn(message, LiaobotsSecurityWarning)


def validated_copy(model: M, copied: M, update: Mapping[str, Any]) -> M:
    """``copied`` with ``update`` applied and validated as at creation.

    Aliases are read as in the constructor, an unknown name is refused, and
    warnings come only for what the update changes (`warn_of_settings`).

    Args:
        model: The model copied.
        copied: Its copy (shallow or deep), not yet updated.
        update: The settings to change, by name or alias.

    Returns:
        A new model: ``copied``'s settings, then ``update``'s.

    Raises:
        pydantic.ValidationError: A ``ValueError`` naming the setting.
    """
    names = setting_names(type(model))
    changes = {names.get(key, key) for key in update}  # by field name
    # a profile the model's id gave follows a new id (core derives it)
    derived = "model" in changes and model.profile == model._resolve_model_profile()
    kept = {
        name: getattr(copied, name)
        for name in type(model).model_fields
        if name not in changes and not (name == "profile" and derived)
    }
    token = _COPYING.set(model)
    try:
        validated = type(model)(**kept, **update)  # errors name what was given
    finally:
        _COPYING.reset(token)
    object.__setattr__(
        validated, "__pydantic_fields_set__", model.model_fields_set | changes
    )
    return validated


def check_given(model: type[BaseModel], values: Mapping[str, Any]) -> None:
    """Check the constructor's settings by name, before their values are read.

    Args:
        model: The model class, for its fields and aliases.
        values: The settings given, by name or alias.

    Raises:
        ValueError: For a name no setting has (naming the one meant), for
            ``model_kwargs`` (saying where each of its keys belongs), or for
            a bad ``LIAOBOTS_BASE_URL`` when ``base_url`` is not given.
    """
    known = setting_names(model)
    if "model_kwargs" in values:
        raise ValueError(_model_kwargs_error(values["model_kwargs"], known))
    hints = _unknown_names(values, known)
    if hints:
        msg = (
            f"ChatLiaobots has no setting {', '.join(hints)}. The settings are "
            "listed in docs/configuration.md; per-call options go to invoke() "
            "or bind()."
        )
        raise ValueError(msg)
    from_env = os.environ.get(BASE_URL_ENV)
    if "base_url" not in values and from_env is not None:
        normalize_base_url(from_env, f"the environment variable {BASE_URL_ENV}")


def clean_auth(code: SecretStr) -> str:
    """The auth code to send: stripped, and checked for a header.

    Args:
        code: The ``auth`` setting (or ``LIAOBOTS_AUTH_CODE``).

    Returns:
        The code without surrounding whitespace (e.g. a file's last newline).

    Raises:
        ValueError: If it cannot travel in a header; the code is never quoted.
    """
    text = code.get_secret_value().strip()
    problem = auth_code_problem(text)
    if problem:
        msg = (
            f"auth (or LIAOBOTS_AUTH_CODE) holds {problem}; an auth code is "
            "printable ASCII (surrounding whitespace is stripped)."
        )
        raise ValueError(msg)
    return text


def headers_error(headers: Mapping[str, str]) -> str:
    """Why ``default_headers`` are refused: they set a header the protocol owns.

    Args:
        headers: The ``default_headers`` given.

    Returns:
        The error's message; ``""`` when the headers are the application's own.
    """
    owned = sorted(k for k in headers if k.lower() in PROTOCOL_HEADERS)
    if not owned:
        return ""
    return (
        f"default_headers may not set {', '.join(owned)}: the protocol owns "
        f"{', '.join(sorted(PROTOCOL_HEADERS))} (pass the auth code as "
        "auth=). Other headers are accepted."
    )
