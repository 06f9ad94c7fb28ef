"""One schema for everything that enters the browser's store: the stored history,
its conversations and messages, per-conversation settings, the browser's prefs, the
backup file, the model list and the stream's server events.

Why this exists: Dash renders any ``{"type", "namespace", "props"}`` object placed in
a children-like prop as a live component, so a restored backup or a tampered
IndexedDB value whose ``title`` or ``model`` is such a dict would run script
(``FefferyExecuteJs``, ``FefferyMarkdown.linkTransformFunc``, ``Iframe.srcDoc``).
Everything that comes from outside the page's own code is therefore checked against
these models at the edge, and text is drawn as strings only.

The models are pydantic (strict, unknown keys forbidden); ``page_schema()`` emits
their JSON Schema (draft 2020-12 subset: ``type``, ``properties``, ``required``,
``additionalProperties``, ``items``, ``anyOf``, ``enum``/``const``, ``$ref``,
``minimum``/``maximum``, ``minLength``/``maxLength``, ``pattern``). That document is
committed as ``chatcore/page_schema.json`` (``tests/test_schema.py`` fails when the
two drift; ``python -m chatcore.schema`` rewrites it) and reaches the page in its
config, where ``assets/schema_walk.js`` coerces values against it without ``eval``.

Coercion (in the page): a field whose value has the wrong type, is out of range or
is not a known key is dropped and counted; an object missing a required field (a
message without ``content``, a conversation without ``id``) is dropped from its list
and counted; numbers must be finite; nothing is converted from one type to another.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .messages import MODEL_NAME_MAX, MODEL_NAME_PATTERN, PARAM_RANGES, ReasoningEffort, Role
from .presets import Preset, PresetFile, PresetParameters, PresetStore  # prompt presets (issue 14)
from .settings_spec import number_range

SCHEMA_PATH = Path(__file__).with_name("page_schema.json")
BACKUP_FORMAT = "dash-chat-backup"
# 2: messages may carry `attachments` (images as data URLs, documents as text); files of
# version 1 still restore (BACKUP_VERSIONS), code that knows only 1 refuses a 2 rather than
# dropping the images.
# 3: messages and conversations may carry `branches` (the versions Edit & resend and
# Regenerate keep); code that knows only 2 refuses a 3 rather than dropping them.
BACKUP_VERSION = 3
BACKUP_VERSIONS = (1, 2, 3)  # the versions Restore reads
# the browser storage format; its plan and migrations: assets/storage.js, docs/storage.md.
# 3: StoredMessage.reasoning / reasoning_ms / ttft_reasoning_ms, Usage.reasoning_tokens,
# StoredSettings.reasoning_effort (code of version 2 must leave such data untouched).
# 4: StoredMessage.attachments; images kept as Blobs in their own IndexedDB table
# (code of version 3 would drop the attachments when it rewrites a message).
# 5: StoredMessage.branches and Conversation.branches (assets/js/branches.mjs); a record
# of code of version 4 would drop them when it rewrites a message.
STORE_VERSION = 5
# Where format 1 kept the whole history: one localforage value (FefferyLocalLargeStorage's
# database and key, as that release wrote them; fixed, whatever the ids are now).
# assets/storage.js reads it once, migrates it and deletes it (config: legacy_store).
LEGACY_STORE = {"db": "localforage", "key": "chat-history-store"}
BRANCHES_MAX = 100  # versions kept at one point of a conversation

ID_MAX = 200
TITLE_MAX = 500
SECRET_MAX = 500  # an API key or base URL typed by the user
HISTORY_MAX = int(number_range("history")[1])  # the "history" setting: newest messages sent, 0 = all
# attachments (issue 13): generous bounds of the stored shape; the real limits (IMAGE_MAX_BYTES,
# ATTACHMENT_MAX_BYTES, MAX_MESSAGE_CHARS) are the server's settings, enforced where they apply
ATTACHMENTS_MAX = 50  # per message
FILE_NAME_MAX = 255
FILE_BYTES_MAX = 1_000_000_000
IMAGE_SIDE_MAX = 100_000
IMAGE_DATA_MAX = 40_000_000  # characters of one image's data URL (≈ 30 MB decoded)
DOCUMENT_TEXT_MAX = 20_000_000  # characters of one document's extracted text
# an image as the page keeps it, sends it and exports it: base64 of png/jpeg/webp/gif, never svg
IMAGE_DATA_URL_PATTERN = r"^data:image/(png|jpeg|webp|gif);base64,[A-Za-z0-9+/]+=*$"
MIME_PATTERN = r"^[a-z0-9][a-z0-9.+-]*/[a-z0-9][a-z0-9.+-]*$"  # a document's type
_STRICT = ConfigDict(extra="forbid", strict=True)


def _range(name: str) -> dict:
    low, high = PARAM_RANGES[name]
    return {"ge": low, "le": high}


class Usage(BaseModel):
    """Token usage of one reply (OpenAI ``usage`` object, the counted fields only;
    ``reasoning_tokens`` is its ``completion_tokens_details.reasoning_tokens``, part of
    ``completion_tokens``). ``cost``: what the upstream says the reply cost, in USD
    (OpenRouter's ``usage.cost``); ``estimated``: the upstream reported no usage and
    the counts are the app's own estimate (``chatcore.context.estimate_tokens``)."""

    model_config = _STRICT
    prompt_tokens: int | None = Field(default=None, ge=0)
    completion_tokens: int | None = Field(default=None, ge=0)
    total_tokens: int | None = Field(default=None, ge=0)
    reasoning_tokens: int | None = Field(default=None, ge=0)
    cost: float | None = Field(default=None, ge=0)
    estimated: bool | None = None


class ErrorInfo(BaseModel):
    """A failure shown in the conversation (the stream's ``error`` event, a JSON error body)."""

    model_config = _STRICT
    status: int = Field(ge=0, le=999)
    code: str = Field(max_length=100)
    message: str = Field(max_length=4000)
    retry_after: float | None = Field(default=None, ge=0)


class StoredSettings(BaseModel):
    """Per-conversation settings (and the browser's defaults); every key optional."""

    model_config = _STRICT
    model: str | None = Field(default=None, min_length=1, max_length=MODEL_NAME_MAX, pattern=MODEL_NAME_PATTERN)
    system_prompt: str | None = None
    temperature: float | None = Field(default=None, **_range("temperature"))
    top_p: float | None = Field(default=None, **_range("top_p"))
    presence_penalty: float | None = Field(default=None, **_range("presence_penalty"))
    frequency_penalty: float | None = Field(default=None, **_range("frequency_penalty"))
    max_tokens: int | None = Field(default=None, **_range("max_tokens"))
    history: int | None = Field(default=None, ge=number_range("history")[0], le=HISTORY_MAX)
    reasoning_effort: ReasoningEffort | None = None


class ImageAttachment(BaseModel):
    """An image attached to a user message (issue 13): re-encoded in the browser
    (assets/js/attach.mjs), ``size`` its bytes, ``width``/``height`` px, ``data`` the data
    URL (png/jpeg/webp/gif, base64) — in memory, backups and exports; IndexedDB keeps it
    as a Blob in its own table (assets/storage.js)."""

    model_config = _STRICT
    id: str = Field(min_length=1, max_length=ID_MAX)
    kind: Literal["image"]
    name: str = Field(max_length=FILE_NAME_MAX)
    mime: Literal["image/png", "image/jpeg", "image/webp", "image/gif"]
    size: int = Field(ge=0, le=FILE_BYTES_MAX)
    width: int | None = Field(default=None, ge=0, le=IMAGE_SIDE_MAX)
    height: int | None = Field(default=None, ge=0, le=IMAGE_SIDE_MAX)
    data: str = Field(max_length=IMAGE_DATA_MAX, pattern=IMAGE_DATA_URL_PATTERN)


class DocumentAttachment(BaseModel):
    """A document attached to a user message: its name, type, ``size`` (bytes of the
    original file), the ``text`` the server extracted (``POST /api/attachments/extract``),
    the estimated ``tokens`` of it and ``truncated`` when the text was cut to
    MAX_MESSAGE_CHARS."""

    model_config = _STRICT
    id: str = Field(min_length=1, max_length=ID_MAX)
    kind: Literal["document"]
    name: str = Field(max_length=FILE_NAME_MAX)
    mime: str = Field(max_length=100, pattern=MIME_PATTERN)
    size: int = Field(ge=0, le=FILE_BYTES_MAX)
    text: str = Field(max_length=DOCUMENT_TEXT_MAX)
    tokens: int | None = Field(default=None, ge=0)
    truncated: bool | None = None


class StoredMessage(BaseModel):
    """One message as the page stores it: the OpenAI ``{role, content}`` plus what the
    page records about a reply (``finish_reason``, ``usage``, ``model``, TTFT in ms,
    ``trimmed`` = history messages left out, flags). ``reasoning`` is the model's
    thinking (the stream's ``reasoning`` events; shown folded, never sent back),
    ``reasoning_ms`` how long it thought, ``ttft_reasoning_ms`` the time to its first
    reasoning token (both ms)."""

    model_config = _STRICT
    id: str | None = Field(default=None, min_length=1, max_length=ID_MAX)  # the page gives one when missing
    role: Role
    content: str
    created_at: float | None = Field(default=None, ge=0)
    finish_reason: str | None = Field(default=None, max_length=50)
    usage: Usage | None = None
    model: str | None = Field(default=None, max_length=MODEL_NAME_MAX)
    incomplete: bool | None = None
    stopped: bool | None = None
    edited: bool | None = None
    ttft_ms: float | None = Field(default=None, ge=0)
    reasoning: str | None = None
    reasoning_ms: float | None = Field(default=None, ge=0)
    ttft_reasoning_ms: float | None = Field(default=None, ge=0)
    trimmed: int | None = Field(default=None, ge=0)
    seq: float | None = Field(default=None, ge=0)  # the turn's order key (assets/storage.js)
    # a user message's images and documents (issue 13); ``content`` is the typed text
    attachments: list[ImageAttachment | DocumentAttachment] | None = Field(default=None, max_length=ATTACHMENTS_MAX)
    # the versions of the messages after this one (Edit & resend, Regenerate keep them)
    branches: Branches | None = None


class Branches(BaseModel):
    """The versions of a conversation from one point on (``assets/js/branches.mjs``):
    ``tails[k]`` is version k's messages from that point to its end, ``tails[current]``
    is null — that version is the one on screen (the conversation's ``messages`` from
    there). Held by the message before the point, or by the conversation for its first
    message."""

    model_config = _STRICT
    current: int = Field(ge=0, le=BRANCHES_MAX - 1)
    tails: list[list[StoredMessage] | None] = Field(min_length=2, max_length=BRANCHES_MAX)


StoredMessage.model_rebuild()


class Conversation(BaseModel):
    """One conversation: ids and times (ms since the epoch), settings, the last error."""

    model_config = _STRICT
    id: str = Field(min_length=1, max_length=ID_MAX)
    title: str = Field(default="", max_length=TITLE_MAX)
    created_at: float | None = Field(default=None, ge=0)
    updated_at: float | None = Field(default=None, ge=0)
    pinned: bool | None = None
    settings: StoredSettings = Field(default_factory=StoredSettings)
    error: ErrorInfo | None = None
    messages: list[StoredMessage] = Field(default_factory=list)
    # the versions of the whole conversation from its first message (an edited first message)
    branches: Branches | None = None


class History(BaseModel):
    """The history the page holds (``chat-history-store``, a memory ``dcc.Store``); in
    IndexedDB each conversation and message is its own record (assets/storage.js).
    Version 1 was this whole value as one localforage record."""

    model_config = _STRICT
    version: int = Field(default=STORE_VERSION, ge=1)
    active_id: str | None = Field(default=None, max_length=ID_MAX)
    conversations: list[Conversation] = Field(default_factory=list)


class Prefs(BaseModel):
    """The browser's own prefs (``chat-prefs-store``, localStorage): default settings,
    the user's API key and base URL, the theme."""

    model_config = _STRICT
    defaults: StoredSettings = Field(default_factory=StoredSettings)
    api_key: str | None = Field(default=None, max_length=SECRET_MAX)
    base_url: str | None = Field(default=None, max_length=SECRET_MAX)
    theme: Literal["light", "dark"] | None = None


class Backup(BaseModel):
    """The backup file (``Back up all``): version 3 (every branch, ``branches``); version 2
    files (attachments, images as data URLs) and version 1 files restore as they are."""

    model_config = _STRICT
    format: Literal["dash-chat-backup"]
    version: Literal[1, 2, 3]
    exported_at: str | None = Field(default=None, max_length=100)
    conversations: list[Conversation]


class ModelGroupEntry(BaseModel):
    """One model of a connection: ``id`` (``connection/model``) and the upstream name."""

    model_config = _STRICT
    id: str = Field(min_length=1, max_length=MODEL_NAME_MAX, pattern=MODEL_NAME_PATTERN)
    model: str = Field(min_length=1, max_length=MODEL_NAME_MAX, pattern=MODEL_NAME_PATTERN)


class ModelGroup(BaseModel):
    """The models of one connection in the model select (its ``label`` as the group title)."""

    model_config = _STRICT
    connection: str = Field(max_length=40)
    label: str = Field(max_length=200)
    default: bool = False
    models: list[ModelGroupEntry] = Field(default_factory=list)


class ModelList(BaseModel):
    """``GET /api/models``: model ids for the model select."""

    model_config = _STRICT
    models: list[str] = Field(default_factory=list)
    default: str | None = None
    # with CONNECTIONS: the same ids grouped by connection (chatcore.connections.grouped_models)
    groups: list[ModelGroup] | None = None


# --- server events of POST /api/chat/stream (chatserver.stream_api) ------------------
class MetaNotice(BaseModel):
    """One notice of the ``meta`` event (``chatcore.context.prepare_upstream``):
    ``document_cut`` = the document ``name`` did not fit the context window, only about
    ``sent_tokens`` of its ``tokens`` were sent; ``images_left_out`` = ``count`` images of
    older turns were left out because the model does not accept images."""

    model_config = _STRICT
    code: Literal["document_cut", "images_left_out"]
    name: str | None = Field(default=None, max_length=FILE_NAME_MAX)
    sent_tokens: int | None = Field(default=None, ge=0)
    tokens: int | None = Field(default=None, ge=0)
    count: int | None = Field(default=None, ge=0, le=100_000)


class MetaEvent(BaseModel):
    """``meta``: the model used and how many history messages were left out;
    ``fallback``: the model id the request named belongs to a connection that no longer
    exists (CONNECTIONS), so the default connection's default model answers;
    ``notices``: what the page shows as toasts (``MetaNotice``)."""

    model_config = ConfigDict(extra="ignore", strict=True)
    model: str | None = Field(default=None, max_length=MODEL_NAME_MAX)
    trimmed: int | None = Field(default=None, ge=0)
    context_window: int | None = Field(default=None, ge=0)
    prompt_tokens_est: int | None = Field(default=None, ge=0)
    fallback: str | None = Field(default=None, max_length=MODEL_NAME_MAX)
    notices: list[MetaNotice] | None = Field(default=None, max_length=50)


class DeltaEvent(BaseModel):
    """``delta``: one piece of the reply's content."""

    model_config = ConfigDict(extra="ignore", strict=True)
    content: str


class ReasoningEvent(BaseModel):
    """``reasoning``: one piece of the model's thinking (never part of the content)."""

    model_config = ConfigDict(extra="ignore", strict=True)
    content: str


class FinishEvent(BaseModel):
    """``finish``: the upstream's ``finish_reason``; ``incomplete`` is true when the reply
    ended inside a ``<think>`` block that was never closed (no answer, or a cut one)."""

    model_config = ConfigDict(extra="ignore", strict=True)
    finish_reason: str | None = Field(default=None, max_length=50)
    incomplete: bool | None = None


class RetryEvent(BaseModel):
    """``retry``: an attempt failed before anything of the reply was sent, and the server
    tries again after ``wait_s`` seconds (``chatcore.client.RetryPolicy``). ``attempt``
    is this retry's number (1-based) of at most ``max_retries``; ``status``/``code``
    describe the failure (as in ``ErrorInfo``); ``message`` is the localized notice
    ("Retrying in N s…", N = ``wait_s`` rounded up). The next event clears it."""

    model_config = ConfigDict(extra="ignore", strict=True)
    attempt: int = Field(ge=1, le=100)
    max_retries: int | None = Field(default=None, ge=0, le=100)
    wait_s: float = Field(ge=0, le=3600)
    status: int | None = Field(default=None, ge=0, le=999)
    code: str | None = Field(default=None, max_length=100)
    message: str | None = Field(default=None, max_length=4000)


class DoneEvent(BaseModel):
    """``done``: the last event of a stream that was not aborted. ``ttft_ms`` is the time
    to the first answer token; with reasoning, ``ttft_reasoning_ms`` the time to its
    first token and ``reasoning_ms`` from then to the first answer token (or the end)."""

    model_config = ConfigDict(extra="ignore", strict=True)
    finish_reason: str | None = Field(default=None, max_length=50)
    ttft_ms: float | None = Field(default=None, ge=0)
    elapsed_ms: float | None = Field(default=None, ge=0)
    ttft_reasoning_ms: float | None = Field(default=None, ge=0)
    reasoning_ms: float | None = Field(default=None, ge=0)


# Name in the page schema → model. The page refers to them by these names.
PAGE_MODELS: dict[str, type[BaseModel]] = {
    "History": History,
    "Conversation": Conversation,
    "StoredMessage": StoredMessage,
    "Branches": Branches,
    "ImageAttachment": ImageAttachment,
    "DocumentAttachment": DocumentAttachment,
    "StoredSettings": StoredSettings,
    "Prefs": Prefs,
    "Backup": Backup,
    "ModelList": ModelList,
    "ErrorInfo": ErrorInfo,
    "Usage": Usage,
    "MetaEvent": MetaEvent,
    "DeltaEvent": DeltaEvent,
    "ReasoningEvent": ReasoningEvent,
    "FinishEvent": FinishEvent,
    "RetryEvent": RetryEvent,
    "DoneEvent": DoneEvent,
    # prompt presets (chatcore/presets.py): a preset file (Import) and the browser's own list
    "Preset": Preset,
    "PresetParameters": PresetParameters,
    "PresetFile": PresetFile,
    "PresetStore": PresetStore,
}

# SSE event name → its schema in the page schema (``usage`` and ``error`` reuse models).
EVENT_SCHEMAS = {
    "meta": "MetaEvent",
    "delta": "DeltaEvent",
    "reasoning": "ReasoningEvent",
    "finish": "FinishEvent",
    "usage": "Usage",
    "error": "ErrorInfo",
    "retry": "RetryEvent",
    "done": "DoneEvent",
}


def page_schema() -> dict:
    """The JSON Schema document the page validates against:
    ``{"$defs": {name: schema}, "events": {sse_event_name: def_name}, "backup_format",
    "backup_version", "backup_versions" (what Restore reads), "store_version"}``. Server events keep unknown keys out by
    ignoring them (forward compatible); stored shapes forbid them."""
    defs: dict[str, dict] = {}
    for name, model in PAGE_MODELS.items():
        schema = model.model_json_schema(ref_template="#/$defs/{model}", mode="validation")
        for sub_name, sub in schema.pop("$defs", {}).items():
            defs[sub_name] = sub
        defs[name] = schema
    # models with extra="ignore" emit no additionalProperties: mark them for the walker
    for name in ("MetaEvent", "DeltaEvent", "ReasoningEvent", "FinishEvent", "RetryEvent", "DoneEvent"):
        defs[name]["additionalProperties"] = False
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$defs": {name: defs[name] for name in sorted(defs)},
        "events": EVENT_SCHEMAS,
        "backup_format": BACKUP_FORMAT,
        "backup_version": BACKUP_VERSION,
        "backup_versions": list(BACKUP_VERSIONS),
        "store_version": STORE_VERSION,
    }


def render_schema() -> str:
    """``page_schema()`` as the committed file's text (sorted keys, 1-space indent)."""
    return json.dumps(page_schema(), indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def committed_schema() -> dict:
    """The committed ``chatcore/page_schema.json`` (what the page receives)."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


if __name__ == "__main__":  # python -m chatcore.schema: rewrite the committed file
    SCHEMA_PATH.write_text(render_schema(), encoding="utf-8")
    print(f"wrote {SCHEMA_PATH}")
