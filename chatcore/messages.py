"""Messages and the stream request body, in OpenAI Chat Completions shapes.

A message is ``{"role": "system" | "user" | "assistant", "content": str}``
(https://platform.openai.com/docs/api-reference/chat/create#chat-create-messages).
Parameter ranges follow the same reference: temperature 0–2, top_p 0–1,
presence_penalty and frequency_penalty −2–2, max_tokens ≥ 1.

A *user* message with attachments (issue 13) has a list of parts as its content, in
this order: ``{"type": "text", "text"}`` (the typed text), ``{"type": "document",
"name", "text"}`` (this app's own part: a file's extracted text, which
``chatcore.context.prepare_upstream`` turns into a fenced text block) and
``{"type": "image_url", "image_url": {"url": "data:image/...;base64,..."}}`` (OpenAI's
image part, https://platform.openai.com/docs/guides/images-vision; only data URLs of
PNG, JPEG, WebP or GIF: never SVG, never a remote URL the server would fetch).
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Literal, TypedDict, Union

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
    """One chat message, the OpenAI shape, stored as-is in the browser. ``content`` is a
    string, or (a user message with attachments) a list of part dicts (``ContentPart``)."""

    role: Role
    content: str | list[dict]


# --- content parts of a user message with attachments (issue 13) ---
# the image types a message may carry (the page re-encodes to them: assets/js/attach.mjs)
IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp", "image/gif")
# an image part's URL: a base64 data URL of one of IMAGE_TYPES (never SVG, never http)
IMAGE_DATA_URL_PATTERN = r"^data:image/(png|jpeg|webp|gif);base64,[A-Za-z0-9+/]+=*$"
IMAGE_URL_MAX = 40_000_000  # characters: a bound for validation; IMAGE_MAX_BYTES is the real limit
# the first bytes of each image type (PNG spec §5.2; JPEG SOI; RIFF....WEBP; GIF87a/89a)
IMAGE_SIGNATURES = {"png": (b"\x89PNG\r\n\x1a\n",), "jpeg": (b"\xff\xd8\xff",), "webp": (b"RIFF",), "gif": (b"GIF87a", b"GIF89a")}
FILE_NAME_MAX = 255
# a file name as shown and sent: no control characters (no line breaks in the block's heading)
FILE_NAME_PATTERN = r"^[^\x00-\x1f\x7f]+$"
PARTS_MAX = 64  # parts of one message (typed text, documents, images, "image left out" notes)
MAX_ATTACHMENTS = 10  # documents + images of one message


class TextPart(BaseModel):
    """``{"type": "text", "text"}``: the typed text (or a note the page wrote)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    type: Literal["text"]
    text: str


class DocumentPart(BaseModel):
    """``{"type": "document", "name", "text"}``: a document's extracted text
    (``POST /api/attachments/extract``); never sent upstream as such."""

    model_config = ConfigDict(extra="forbid", strict=True)
    type: Literal["document"]
    name: str = Field(min_length=1, max_length=FILE_NAME_MAX, pattern=FILE_NAME_PATTERN)
    text: str


class ImageURL(BaseModel):
    """OpenAI's ``image_url`` object: a data URL (``IMAGE_DATA_URL_PATTERN``) and the
    optional ``detail``."""

    model_config = ConfigDict(extra="forbid", strict=True)
    url: str = Field(max_length=IMAGE_URL_MAX, pattern=IMAGE_DATA_URL_PATTERN)
    detail: Literal["auto", "low", "high"] | None = None

    @field_validator("url")
    @classmethod
    def _really_that_type(cls, value: str) -> str:
        """The data decodes to an image of the named type (its first bytes), so an SVG or
        an HTML page cannot travel under an ``image/png`` label."""
        kind, _, data = value[len("data:image/"):].partition(";base64,")
        try:
            head = base64.b64decode(data[:24] + "=" * (-len(data[:24]) % 4))
        except (binascii.Error, ValueError):
            raise ValueError("the image data is not base64") from None
        if not head.startswith(IMAGE_SIGNATURES[kind]) or (kind == "webp" and head[8:12] != b"WEBP"):
            raise ValueError(f"the image data is not image/{kind}")
        return value

    @property
    def decoded_bytes(self) -> int:
        """Bytes of the image once decoded (from the base64 length, without decoding it)."""
        data = self.url.partition(",")[2]
        return len(data) * 3 // 4 - (len(data) - len(data.rstrip("=")))


class ImagePart(BaseModel):
    """``{"type": "image_url", "image_url": {"url": "data:image/...;base64,..."}}`` (OpenAI)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    type: Literal["image_url"]
    image_url: ImageURL


ContentPart = Annotated[Union[TextPart, DocumentPart, ImagePart], Field(discriminator="type")]


class ImageTooLarge(ValueError):
    """An image part is over ``Limits.image_max_bytes`` decoded (the endpoint answers 413
    ``image_too_large``). ``size`` and ``limit`` are bytes."""

    def __init__(self, size: int, limit: int):
        super().__init__(f"an image is {size} bytes, more than {limit}")
        self.size = size
        self.limit = limit


class Limits(BaseModel):
    """Size limits applied to a request (characters / counts / bytes)."""

    max_message_chars: int = 32000
    max_messages: int = 500
    image_max_bytes: int = 1_000_000


class ChatMessage(BaseModel):
    """A validated message; extra keys (ids, timestamps kept by the page) are ignored.

    That includes ``reasoning``, the thinking the page keeps with an assistant reply:
    it is never sent back upstream (DeepSeek answers 400 when ``reasoning_content`` is
    in the input messages, https://api-docs.deepseek.com/guides/reasoning_model).
    ``content`` is a string, or for a user message a list of parts (module docstring).
    """

    model_config = ConfigDict(extra="ignore", strict=True)

    role: Role
    content: str | list[ContentPart] = Field(union_mode="left_to_right")

    @field_validator("content")
    @classmethod
    def _parts_bounded(cls, value: str | list) -> str | list:
        """A list of parts has 1 to ``PARTS_MAX`` of them."""
        if isinstance(value, list) and not 1 <= len(value) <= PARTS_MAX:
            raise ValueError(f"a list content has 1 to {PARTS_MAX} parts")
        return value

    @model_validator(mode="after")
    def _parts_only_for_users(self) -> "ChatMessage":
        """Only a user message carries attachments (a list of parts)."""
        if isinstance(self.content, list) and self.role != "user":
            raise ValueError(f"only a user message may have a list of parts, not a {self.role} message")
        return self

    @property
    def images(self) -> list[ImagePart]:
        """The image parts of this message (none for a string content)."""
        return [p for p in self.content if isinstance(p, ImagePart)] if isinstance(self.content, list) else []

    def as_message(self) -> Message:
        """The plain ``{role, content}`` dict: the string, or a list of part dicts (new objects)."""
        if isinstance(self.content, str):
            return {"role": self.role, "content": self.content}
        return {"role": self.role, "content": [part.model_dump(exclude_none=True) for part in self.content]}


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
        """Raise ``ValueError`` when a size limit is exceeded: too many messages, a
        message (its text parts together) or a document's text longer than
        ``max_message_chars``, more than ``MAX_ATTACHMENTS`` documents and images in one
        message; ``ImageTooLarge`` (a ``ValueError``) for an image over ``image_max_bytes``."""
        if len(self.messages) > limits.max_messages:
            raise ValueError(f"too many messages ({len(self.messages)} > {limits.max_messages})")
        for index, message in enumerate(self.messages):
            if isinstance(message.content, str):
                if len(message.content) > limits.max_message_chars:
                    raise ValueError(f"message {index} is longer than {limits.max_message_chars} characters")
                continue
            typed = sum(len(p.text) for p in message.content if isinstance(p, TextPart))
            if typed > limits.max_message_chars:
                raise ValueError(f"message {index} is longer than {limits.max_message_chars} characters")
            attached = [p for p in message.content if not isinstance(p, TextPart)]
            if len(attached) > MAX_ATTACHMENTS:
                raise ValueError(f"message {index} has more than {MAX_ATTACHMENTS} attachments")
            for part in attached:
                if isinstance(part, DocumentPart) and len(part.text) > limits.max_message_chars:
                    raise ValueError(f"a document of message {index} is longer than {limits.max_message_chars} characters")
                if isinstance(part, ImagePart) and part.image_url.decoded_bytes > limits.image_max_bytes:
                    raise ImageTooLarge(part.image_url.decoded_bytes, limits.image_max_bytes)
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
            out.append(message.as_message())
        else:
            content = message["content"]
            out.append({"role": message["role"], "content": content if isinstance(content, str) else [dict(p) for p in content]})
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
