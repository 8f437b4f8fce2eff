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
(model discovery; the I/O is the transports') and keeps its entries **for the
base URL that listed them**: one server's listing never changes what another
base URL's models are. A lookup (`get_model` with ``base_url=``) reads, in
order: an entry the user registered (`register_model`) or a seed entry, whose
limits are the specified ones (a listing may only add the ``provider``,
``model`` family and ``context`` they lack); that base URL's listed entry; the
package's other built-in entries. Each base URL keeps at most
`MAX_LISTED_MODELS` entries, and listings of at most `MAX_LISTING_SERVERS`
base URLs are kept (the least recently listed is dropped first).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from langchain_liaobots.errors import LiaobotsUnexpectedResponseError

__all__ = [
    "MAX_LISTED_MODELS",
    "MAX_LISTING_SERVERS",
    "ModelSpec",
    "get_model",
    "known_model_ids",
    "register_discovered",
    "register_model",
]

logger = logging.getLogger("langchain_liaobots")

MAX_LISTED_MODELS: Final = 1000
"""The most entries kept from one base URL's model listing (the first ones)."""

MAX_LISTING_SERVERS: Final = 64
"""The most base URLs whose listings are kept (the least recently listed go)."""


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
"""The process-wide entries: the built-in ones and those `register_model` adds."""

_BUILT_IN: Final = dict(_REGISTRY)
"""The package's own entries (a listing stands in for them on its base URL)."""

_SEED_IDS: Final = frozenset(spec.id for spec in _SEED)

_LISTED: OrderedDict[str, dict[str, ModelSpec]] = OrderedDict()
"""Each base URL's listed entries, the most recently listed last."""

_LISTED_LOCK = threading.Lock()

_LABELS: Final = ("provider", "family", "context")
"""What a listing may add to a seed entry: labels, never limits."""


def register_model(spec: ModelSpec | Mapping[str, Any]) -> ModelSpec:
    """Add or replace a registry entry so ``ChatLiaobots(model=id)`` accepts it.

    The entry applies to every base URL, over any server's listing of the id.

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


def _merged(listed: ModelSpec) -> ModelSpec:
    """A listed entry as kept: a seed id keeps its limits, gaining only labels."""
    if listed.id not in _SEED_IDS:
        return listed
    seed = _BUILT_IN[listed.id]
    labels = {
        name: getattr(listed, name)
        for name in _LABELS
        if getattr(seed, name) is None and getattr(listed, name) is not None
    }
    return seed.model_copy(update=labels) if labels else seed


def _read_listing(entries: list[Any]) -> dict[str, ModelSpec]:
    """The valid entries of a listing, in order, at most `MAX_LISTED_MODELS`."""
    listed: dict[str, ModelSpec] = {}
    for i, entry in enumerate(entries):
        if len(listed) == MAX_LISTED_MODELS:
            logger.warning(
                "Kept the first %d of the %d /api/models entries (MAX_LISTED_MODELS).",
                MAX_LISTED_MODELS,
                len(entries),
            )
            break
        try:
            spec = ModelSpec.model_validate(entry)
        except ValidationError as exc:
            fields = ", ".join(
                ".".join(map(str, e["loc"])) or "entry" for e in exc.errors()
            )
            logger.warning("Skipped /api/models entry %d: invalid %s.", i, fields)
            continue
        listed[spec.id] = _merged(spec)
    return listed


def register_discovered(entries: Any, base_url: str) -> list[ModelSpec]:
    """Keep the entries of a model-discovery answer for the base URL that sent it.

    The listing replaces that base URL's earlier one and no other: for other
    base URLs nothing changes. The seed entries (``gpt-4``, ``gpt-3.5-turbo``)
    keep their specified limits, taking from the listing only a ``provider``,
    ``model`` family or ``context`` they lack (the 2025 body needs the
    provider); an entry with zero limits (``maxLength: 0, tokenLimit: 0,
    context: 0``, as 2025 lists sent) is a usable model whose limits are
    unknown; an entry that is not a valid registry entry is skipped with a
    warning, and entries past `MAX_LISTED_MODELS` are dropped with one.

    Args:
        entries: The parsed JSON answer: a bare array of registry entries.
        base_url: The (normalized) base URL whose ``/api/models`` answered.

    Returns:
        The entries that the listed ids now name for ``base_url``, in answer
        order.

    Raises:
        LiaobotsUnexpectedResponseError: If the answer is not an array.
    """
    if not isinstance(entries, list):
        msg = (
            "Liaobots answered /api/models with a JSON "
            f"{type(entries).__name__}, not an array of models; check base_url."
        )
        raise LiaobotsUnexpectedResponseError(msg, status_code=200)
    listed = _read_listing(entries)
    with _LISTED_LOCK:
        _LISTED.pop(base_url, None)
        _LISTED[base_url] = listed
        while len(_LISTED) > MAX_LISTING_SERVERS:
            _LISTED.popitem(last=False)
    return [get_model(model_id, base_url=base_url) for model_id in listed]


def known_model_ids(base_url: str | None = None) -> list[str]:
    """Return the registered model ids, sorted.

    Args:
        base_url: Also count the ids this base URL listed (`register_discovered`).

    Returns:
        The ids.
    """
    listed = _LISTED.get(base_url, {}) if base_url else {}
    return sorted({*_REGISTRY, *listed})


def get_model(model_id: str, base_url: str | None = None) -> ModelSpec:
    """Return the registry entry for ``model_id`` (as ``base_url`` knows it).

    Args:
        model_id: A registered id such as ``"gpt-4"``.
        base_url: The (normalized) base URL of the call: its listed entries
            apply, over the package's built-in entries other than the seeds;
            an entry of `register_model` wins over them.

    Returns:
        The entry.

    Raises:
        ValueError: If the id is unknown; the message lists the known ids.
    """
    entry = _REGISTRY.get(model_id)
    listed = _LISTED.get(base_url, {}).get(model_id) if base_url else None
    if listed is not None and (entry is None or _is_overridable(entry)):
        return listed
    if entry is not None:
        return entry
    msg = (
        f"Unknown Liaobots model {model_id!r}. Known models: "
        f"{', '.join(known_model_ids(base_url))}. Register another with "
        "langchain_liaobots.register_model({'id': ..., 'name': ..., "
        "'maxLength': ..., 'tokenLimit': ...}), or discover the service's with "
        "discover_models()."
    )
    raise ValueError(msg)


def _is_overridable(entry: ModelSpec) -> bool:
    """Whether a listing may stand in for a process-wide entry for its base URL.

    A built-in entry may (a seed's listed version keeps the specified limits);
    an entry of `register_model` is the user's and wins.
    """
    return _BUILT_IN.get(entry.id) is entry
