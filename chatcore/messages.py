"""Messages and the stream request body, in OpenAI Chat Completions shapes.

A message is ``{"role": "system" | "user" | "assistant", "content": str}``
(https://platform.openai.com/docs/api-reference/chat/create#chat-create-messages).
Parameter ranges follow the same reference: temperature 0–2, top_p 0–1,
presence_penalty and frequency_penalty −2–2, max_tokens ≥ 1.
"""

from __future__ import annotations

from typing import Literal, TypedDict

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .settings_spec import NUMBERS, REASONING_EFFORTS, UPSTREAM_PARAMS, number_range

Role = Literal["system", "user", "assistant"]
# ``reasoning_effort`` of reasoning models (OpenAI Chat Completions
# https://platform.openai.com/docs/api-reference/chat/create#chat-create-reasoning_effort;
# also OpenRouter, Ollama's OpenAI endpoint, vLLM for gpt-oss): chatcore/settings_spec.py
ReasoningEffort = Literal[REASONING_EFFORTS]  # type: ignore[valid-type]

# A model name as the OpenAI-compatible APIs spell them (``gpt-4o-mini``,
# ``deepseek/deepseek-r1:free``, ``qwen2.5:7b``); one definition for requests and storage.
MODEL_NAME_PATTERN = r"^[A-Za-z0-9._:/@+\-]+$"
MODEL_NAME_MAX = 200

# Inclusive ranges of the sampling parameters (the settings spec, from the OpenAI Chat
# Completions reference, https://platform.openai.com/docs/api-reference/chat/create).
PARAM_RANGES: dict[str, tuple[float, float]] = {
    spec.key: number_range(spec.key) for spec in NUMBERS if spec.upstream
}


class Message(TypedDict):
    """One chat message, the OpenAI shape, stored as-is in the browser."""

    role: Role
    content: str


class Limits(BaseModel):
    """Size limits applied to a request (characters / counts)."""

    max_message_chars: int = 32000
    max_messages: int = 500


class ChatMessage(BaseModel):
    """A validated message; extra keys (ids, timestamps kept by the page) are ignored.

    That includes ``reasoning``, the thinking the page keeps with an assistant reply:
    it is never sent back upstream (DeepSeek answers 400 when ``reasoning_content`` is
    in the input messages, https://api-docs.deepseek.com/guides/reasoning_model).
    """

    model_config = ConfigDict(extra="ignore", strict=True)

    role: Role
    content: str


class ChatRequest(BaseModel):
    """Body of ``POST /api/chat/stream``.

    ``messages`` is the conversation so far, oldest first, ending with the user's
    newest message; the user's system prompt travels separately in ``system_prompt``
    (combined with the operator's by ``prepare_messages``). Optional sampling
    parameters (and ``reasoning_effort``) are forwarded to the upstream only when set.
    """

    model_config = ConfigDict(extra="forbid")

    messages: list[ChatMessage] = Field(min_length=1)
    model: str | None = Field(default=None, min_length=1, max_length=MODEL_NAME_MAX, pattern=MODEL_NAME_PATTERN)
    system_prompt: str | None = None
    temperature: float | None = Field(default=None, ge=PARAM_RANGES["temperature"][0], le=PARAM_RANGES["temperature"][1])
    top_p: float | None = Field(default=None, ge=PARAM_RANGES["top_p"][0], le=PARAM_RANGES["top_p"][1])
    presence_penalty: float | None = Field(
        default=None, ge=PARAM_RANGES["presence_penalty"][0], le=PARAM_RANGES["presence_penalty"][1]
    )
    frequency_penalty: float | None = Field(
        default=None, ge=PARAM_RANGES["frequency_penalty"][0], le=PARAM_RANGES["frequency_penalty"][1]
    )
    max_tokens: int | None = Field(default=None, ge=PARAM_RANGES["max_tokens"][0], le=PARAM_RANGES["max_tokens"][1])
    reasoning_effort: ReasoningEffort | None = Field(
        default=None, description="How hard a reasoning model thinks; sent upstream only when set."
    )
    api_key: str | None = Field(default=None, max_length=500)
    base_url: str | None = Field(default=None, max_length=500)
    locale: str | None = Field(default=None, max_length=20)
    continue_reply: bool = Field(
        default=False,
        description="Continue the last assistant message (it ended with finish_reason 'length' or was stopped).",
    )

    @field_validator("temperature", "top_p", "presence_penalty", "frequency_penalty", mode="before")
    @classmethod
    def _number(cls, value: object) -> object:
        """Reject booleans and strings where a number is expected."""
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise ValueError("must be a number")
        return value

    @field_validator("max_tokens", mode="before")
    @classmethod
    def _integer(cls, value: object) -> object:
        """Reject booleans, floats and strings where an integer is expected."""
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise ValueError("must be an integer")
        return value

    @model_validator(mode="after")
    def _last_is_user(self) -> "ChatRequest":
        """The newest message must be the user's (it is what the model answers); with
        ``continue_reply`` it must be the assistant's partial reply instead."""
        if self.continue_reply:
            if self.messages[-1].role != "assistant":
                raise ValueError("continue_reply needs the last message to have role 'assistant'")
        elif self.messages[-1].role != "user":
            raise ValueError("the last message must have role 'user'")
        return self

    def check_limits(self, limits: Limits) -> None:
        """Raise ``ValueError`` when a size limit is exceeded."""
        if len(self.messages) > limits.max_messages:
            raise ValueError(f"too many messages ({len(self.messages)} > {limits.max_messages})")
        for index, message in enumerate(self.messages):
            if len(message.content) > limits.max_message_chars:
                raise ValueError(f"message {index} is longer than {limits.max_message_chars} characters")
        if self.system_prompt is not None and len(self.system_prompt) > limits.max_message_chars:
            raise ValueError(f"system_prompt is longer than {limits.max_message_chars} characters")

    def sampling_params(self) -> dict:
        """The optional sampling parameters that are set, as SDK keyword arguments
        (``reasoning_effort`` included: the SDK's and the API's name for it)."""
        return {name: getattr(self, name) for name in UPSTREAM_PARAMS if getattr(self, name) is not None}


# With ``continue_reply`` the history ends with a partial assistant message; this short
# user instruction is appended so any Chat Completions model answers with the
# continuation only, which the page appends to that message (prepare_upstream).
CONTINUE_INSTRUCTION = (
    "Continue exactly where your previous message stopped. Do not repeat anything, "
    "do not add an introduction; output only the continuation."
)


def build_messages(system_prompt: str | None, history: list[ChatMessage] | list[Message]) -> list[Message]:
    """The system prompt (if non-empty) then ``history`` as plain ``{role, content}``
    dicts. Returns new dicts; the input is not mutated. (The whole preparation of a
    request — both system prompts, trimming, continue — is
    ``chatcore.context.prepare_upstream``.)"""
    out: list[Message] = []
    if system_prompt and system_prompt.strip():
        out.append({"role": "system", "content": system_prompt})
    for message in history:
        if isinstance(message, ChatMessage):
            out.append({"role": message.role, "content": message.content})
        else:
            out.append({"role": message["role"], "content": message["content"]})
    return out


def prepare_messages(
    operator_prompt: str | None,
    user_prompt: str | None,
    history: list[ChatMessage] | list[Message],
    *,
    editable: bool = False,
) -> list[Message]:
    """The ``messages`` array sent upstream, with the system prompts resolved.

    Default (``SYSTEM_PROMPT_EDITABLE=false``): the operator's ``SYSTEM_PROMPT`` always
    comes first and the page cannot remove it. The user's per-conversation
    ``user_prompt`` and the content of any ``system`` message in ``history`` (from
    the page, so the user's too) follow it in the *same* single system message, joined
    with a blank line (some chat templates reject a second system message); empty
    parts are left out, and there is no system message when all are empty. The other
    messages follow in their order.

    ``editable=True``: the behaviour before this rule: ``user_prompt`` (``None`` = the
    operator's) replaces the operator's prompt and ``history`` is kept as it is
    (see ``build_messages``).

    Returns new dicts; the input is not mutated.
    """
    if editable:
        return build_messages(operator_prompt if user_prompt is None else user_prompt, history)
    rest = build_messages(None, history)
    parts = [operator_prompt, user_prompt] + [m["content"] for m in rest if m["role"] == "system"]
    system = "\n\n".join(part for part in parts if part and part.strip())
    out: list[Message] = [{"role": "system", "content": system}] if system else []
    return out + [m for m in rest if m["role"] != "system"]


def describe_validation_error(exc: ValidationError) -> str:
    """A short, value-free description: ``messages.0.role: Input should be 'system', …``."""
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err["loc"])
        parts.append(f"{loc}: {err['msg']}" if loc else err["msg"])
    return "; ".join(parts)
