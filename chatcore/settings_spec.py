"""The conversation settings, defined once: what each is, its range, and where it goes.

One ``SettingSpec`` per field of a conversation's settings (and of the browser's
defaults). From this table come

* the settings drawer (``components/settings.py``: one field each, in this order),
* the component ids (``components/ids.py``: ``chat-setting-<key>`` with ``-``),
* the bounds of ``ChatRequest`` and of the stored settings (``PARAM_RANGES``,
  ``chatcore/messages.py``, ``chatcore/schema.py``),
* the page config (``settings``: the page script validates, fills and sends the
  fields from it, ``assets/js/settings.mjs``, ``assets/js/payload.mjs``).

Ranges of the sampling parameters are those of the OpenAI Chat Completions reference
(https://platform.openai.com/docs/api-reference/chat/create): temperature 0–2, top_p
0–1, presence_penalty and frequency_penalty −2–2, max_tokens ≥ 1; ``reasoning_effort``
is low/medium/high (OpenAI reasoning models; DeepSeek, Qwen, OpenRouter, Ollama and
vLLM accept it too).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

REASONING_EFFORTS = ("low", "medium", "high")
SettingKind = Literal["model", "text", "number", "choice"]


@dataclass(frozen=True)
class SettingSpec:
    """One setting.

    Attributes:
        key: the field name in the stored settings, the request body and the page.
        label: the UI text key (``components/texts.py``).
        kind: ``model`` (a select of the offered models), ``text`` (a text area),
            ``number`` (with ``minimum``/``maximum``, inclusive; ``integer`` for whole
            numbers) or ``choice`` (one of ``choices``).
        request: the page sends it in the ``POST /api/chat/stream`` body when set.
        upstream: the Chat Completions parameter it becomes (``None``: used by the app
            itself, e.g. ``history`` = how many newest messages the page sends).
    """

    key: str
    label: str
    kind: SettingKind
    minimum: float | None = None
    maximum: float | None = None
    integer: bool = False
    choices: tuple[str, ...] = ()
    request: bool = True
    upstream: str | None = None

    @property
    def component_id(self) -> str:
        """The drawer field's id: ``chat-setting-top-p`` for ``top_p``."""
        return "chat-setting-" + self.key.replace("_", "-")

    def page(self) -> dict:
        """The spec as the page config carries it (JSON)."""
        return {
            "key": self.key,
            "id": self.component_id,
            "label": self.label,
            "kind": self.kind,
            "min": self.minimum,
            "max": self.maximum,
            "integer": self.integer,
            "choices": list(self.choices),
            "request": self.request,
            "upstream": self.upstream,
        }


SETTINGS: tuple[SettingSpec, ...] = (
    SettingSpec("model", "model", "model"),
    SettingSpec("system_prompt", "system_prompt", "text"),
    SettingSpec("temperature", "temperature", "number", 0, 2, upstream="temperature"),
    SettingSpec("top_p", "top_p", "number", 0, 1, upstream="top_p"),
    SettingSpec("presence_penalty", "presence_penalty", "number", -2, 2, upstream="presence_penalty"),
    SettingSpec("frequency_penalty", "frequency_penalty", "number", -2, 2, upstream="frequency_penalty"),
    SettingSpec("max_tokens", "max_tokens", "number", 1, 1_000_000, integer=True, upstream="max_tokens"),
    # how many of the newest messages are sent (0 = all); the page applies it
    SettingSpec("history", "history_count", "number", 0, 10_000, integer=True, request=False),
    SettingSpec("reasoning_effort", "reasoning_effort", "choice", choices=REASONING_EFFORTS, upstream="reasoning_effort"),
)
BY_KEY: dict[str, SettingSpec] = {spec.key: spec for spec in SETTINGS}
NUMBERS: tuple[SettingSpec, ...] = tuple(spec for spec in SETTINGS if spec.kind == "number")
# the Chat Completions parameters the settings may set, in order (ChatRequest.sampling_params)
UPSTREAM_PARAMS: tuple[str, ...] = tuple(spec.upstream for spec in SETTINGS if spec.upstream)


def number_range(key: str) -> tuple[float, float]:
    """``(minimum, maximum)`` of numeric setting ``key``; ``KeyError`` for another key."""
    spec = BY_KEY[key]
    if spec.kind != "number":
        raise KeyError(key)
    return spec.minimum, spec.maximum  # type: ignore[return-value]
