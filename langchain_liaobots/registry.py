"""The model registry: model ids in, Liaobots registry entries out.

Liaobots identifies a model by sending its whole registry entry
(``{"id", "name", "maxLength", "tokenLimit"}``, plus ``context``/``model``/
``provider`` on later entries) in every request. This module holds those
entries, lets users register their own, and answers "which entry is this id?"
with a clear error for an unknown id. ``tokenLimit`` is the model's context in
tokens, of which the service keeps 1,000 for the answer; its history rule
(`langchain_liaobots.wire.budget`) is applied before anything is sent.
``maxLength`` is one message's limit in characters, which only the service's
web UI enforces (its server does not check it), so it is sent but not
checked. A limit of ``0`` (as the 2025 model lists sent) means the limit is
unknown.

Each entry also declares what the model can do through this package (prompt-based
tool calling, ``tool_choice``, native structured output); ``ChatLiaobots.profile``
reports it. Those flags never travel on the wire.

`register_discovered` takes the JSON array ``POST /api/models`` answers
(model discovery; the I/O is the transports') and registers its entries.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from langchain_liaobots.errors import LiaobotsUnexpectedResponseError

__all__ = [
    "ModelSpec",
    "get_model",
    "known_model_ids",
    "register_discovered",
    "register_model",
]

logger = logging.getLogger("langchain_liaobots")


class ModelSpec(BaseModel):
    """One Liaobots registry entry, exactly as it travels on the wire.

    Attributes:
        id: The id sent to the service, e.g. ``"gpt-4"``.
        name: The display name, e.g. ``"GPT-4"``.
        max_length: ``maxLength``: one message's limit in characters in the
            service's UI (not checked by its server, nor here); ``0`` if
            unknown.
        token_limit: ``tokenLimit``: the model's context in tokens, 1,000 of
            them kept for the answer; ``0`` if unknown.
        context: Optional display of the context size (``"128K"``; ``0`` if
            unknown).
        family: Optional ``model`` family label (``"ChatGPT"``, ``"Claude"``).
        provider: Optional vendor (``"OpenAI"``, ``"Anthropic"``).
        tool_calling: Whether the model follows the prompt-based tool
            instructions (not sent; default ``True``).
        tool_choice: Whether it honours a forced ``tool_choice`` (not sent;
            default ``True``).
        structured_output: Whether it should be treated as having *native*
            structured output, e.g. by ``langchain.agents.create_agent`` (not
            sent; default ``False``: ``with_structured_output`` works through
            prompt instructions for every model either way).
    """

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    max_length: int = Field(alias="maxLength", ge=0)
    token_limit: int = Field(alias="tokenLimit", ge=0)
    context: str | int | None = None
    family: str | None = Field(default=None, alias="model")
    provider: str | None = None
    tool_calling: bool = Field(default=True, exclude=True)
    tool_choice: bool = Field(default=True, exclude=True)
    structured_output: bool = Field(default=False, exclude=True)

    @property
    def input_token_limit(self) -> int | None:
        """``tokenLimit``, or ``None`` when the service reports it unknown (0)."""
        return self.token_limit or None

    def to_wire(self) -> dict[str, Any]:
        """Return the entry as the ``model`` field of a request body.

        Returns:
            The camel-cased dict; optional fields appear only when set.
        """
        return self.model_dump(by_alias=True, exclude_none=True)


_SEED: tuple[ModelSpec, ...] = (
    ModelSpec(id="gpt-4", name="GPT-4", maxLength=24000, tokenLimit=8000),
    ModelSpec(id="gpt-3.5-turbo", name="GPT-3.5", maxLength=12000, tokenLimit=4000),
)
"""The entries of the specified design; their values win over later records."""

_LATER: tuple[ModelSpec, ...] = (
    ModelSpec(
        id="gpt-4-1106-preview",
        name="GPT-4-Turbo",
        maxLength=260000,
        tokenLimit=126000,
        context="128K",
    ),
    ModelSpec(
        id="claude-2",
        name="Claude-2-200k",
        maxLength=800000,
        tokenLimit=200000,
        context="200K",
    ),
    ModelSpec(
        id="gpt-4o-free",
        name="GPT-4o-free",
        maxLength=31200,
        tokenLimit=7800,
        context="8K",
        model="ChatGPT",
        provider="OpenAI",
    ),
)
"""Later entries whose limits the protocol reference records."""

_REGISTRY: dict[str, ModelSpec] = {spec.id: spec for spec in (*_SEED, *_LATER)}
_SEED_IDS = frozenset(spec.id for spec in _SEED)


def register_model(spec: ModelSpec | Mapping[str, Any]) -> ModelSpec:
    """Add or replace a registry entry so ``ChatLiaobots(model=id)`` accepts it.

    Args:
        spec: A `ModelSpec`, or a wire-shaped dict such as
            ``{"id": "my-model", "name": "Mine", "maxLength": 9000,
            "tokenLimit": 3000}`` (``0`` for a limit that is not known; the
            capability flags ``tool_calling``, ``tool_choice`` and
            ``structured_output`` may be added).

    Returns:
        The registered entry.

    Raises:
        pydantic.ValidationError: If a dict lacks a field or a limit is not
            an integer >= 0.
    """
    entry = spec if isinstance(spec, ModelSpec) else ModelSpec.model_validate(spec)
    _REGISTRY[entry.id] = entry
    return entry


def register_discovered(entries: Any) -> list[ModelSpec]:
    """Register the entries of a model-discovery answer (``POST /api/models``).

    The seed entries (``gpt-4``, ``gpt-3.5-turbo``) keep their specified values;
    an entry with zero limits (``maxLength: 0, tokenLimit: 0, context: 0``, as
    2025 lists sent) is a usable model whose limits are unknown; an entry that
    is not a valid registry entry is skipped with a warning.

    Args:
        entries: The parsed JSON answer: a bare array of registry entries.

    Returns:
        The entries now registered for the discovered ids, in answer order.

    Raises:
        LiaobotsUnexpectedResponseError: If the answer is not an array.
    """
    if not isinstance(entries, list):
        msg = (
            "Liaobots answered /api/models with a JSON "
            f"{type(entries).__name__}, not an array of models; check base_url."
        )
        raise LiaobotsUnexpectedResponseError(msg, status_code=200)
    found: list[ModelSpec] = []
    for i, entry in enumerate(entries):
        try:
            spec = ModelSpec.model_validate(entry)
        except ValidationError as exc:
            fields = ", ".join(
                ".".join(map(str, e["loc"])) or "entry" for e in exc.errors()
            )
            logger.warning("Skipped /api/models entry %d: invalid %s.", i, fields)
            continue
        if spec.id not in _SEED_IDS:
            _REGISTRY[spec.id] = spec
        found.append(_REGISTRY[spec.id])
    return found


def known_model_ids() -> list[str]:
    """Return the registered model ids, sorted."""
    return sorted(_REGISTRY)


def get_model(model_id: str) -> ModelSpec:
    """Return the registry entry for ``model_id``.

    Args:
        model_id: A registered id such as ``"gpt-4"``.

    Returns:
        The entry.

    Raises:
        ValueError: If the id is unknown; the message lists the known ids.
    """
    try:
        return _REGISTRY[model_id]
    except KeyError:
        msg = (
            f"Unknown Liaobots model {model_id!r}. Known models: "
            f"{', '.join(known_model_ids())}. Register another with "
            "langchain_liaobots.register_model({'id': ..., 'name': ..., "
            "'maxLength': ..., 'tokenLimit': ...})."
        )
        raise ValueError(msg) from None
