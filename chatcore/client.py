"""The model call: OpenAI SDK client construction and the streaming generator.

``stream_chat`` is the one function the UI side uses: messages in, events out. It has
no Flask or Dash import, so a test can call it directly against a local upstream.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Literal

import httpx2
import openai

from .errors import ChatError, map_exception
from .messages import MODEL_NAME_MAX, MODEL_NAME_PATTERN, Message
from .netguard import NetGuard, guarded_http_client
from .reasoning import ThinkSplitter, delta_reasoning

EventName = Literal["delta", "reasoning", "finish", "usage", "error"]


@dataclass(frozen=True)
class StreamEvent:
    """One event of a streamed reply.

    ``name`` is ``delta`` (``data={"content": str}``, answer text only), ``reasoning``
    (``{"content": str}``, the model's thinking: ``chatcore.reasoning`` for the upstream's
    shapes, ``chatcore.backend`` for a ``CHAT_BACKEND``), ``finish``
    (``{"finish_reason": str}``, plus ``"incomplete": true`` when the reply ended inside
    an unclosed ``<think>`` block), ``usage`` (``{"prompt_tokens", "completion_tokens",
    "total_tokens"}``, plus ``"reasoning_tokens"`` when the upstream reports
    ``usage.completion_tokens_details.reasoning_tokens``) or ``error``
    (``ChatError.to_dict()``).
    """

    name: EventName
    data: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ClientOptions:
    """What identifies a reusable HTTP client: base URL, proxy and timeout (seconds).

    ``guard`` is set for a user-supplied base URL: the client then connects only to
    addresses the ``chatcore.netguard.NetGuard`` allows and never follows redirects.
    """

    base_url: str
    proxy: str | None = None
    timeout: float = 60.0
    max_retries: int = 1
    guard: NetGuard | None = None


_clients: dict[ClientOptions, openai.OpenAI] = {}
_clients_lock = threading.Lock()


def get_client(options: ClientOptions) -> openai.OpenAI:
    """A cached ``openai.OpenAI`` for ``options`` (its connection pool is reused).

    The API key is not part of the cached client: pass it per request with
    ``client.with_options(api_key=...)``. Without a proxy, ``trust_env`` is off so
    ``HTTP(S)_PROXY`` variables are ignored: only ``local`` mode uses a proxy. With
    ``options.guard`` the HTTP client is ``chatcore.netguard.guarded_http_client``.
    """
    with _clients_lock:
        client = _clients.get(options)
        if client is None:
            if options.guard is not None:
                http_client = guarded_http_client(options.guard, timeout=options.timeout, proxy=options.proxy)
            else:
                http_client = openai.DefaultHttpxClient(
                    proxy=options.proxy, trust_env=False, timeout=options.timeout
                )
            client = openai.OpenAI(
                api_key="unused",  # replaced per request
                base_url=options.base_url,
                timeout=options.timeout,
                max_retries=options.max_retries,
                http_client=http_client,
            )
            _clients[options] = client
        return client


def usage_data(usage: Any) -> dict:
    """The ``usage`` event data of an SDK ``CompletionUsage``: ``prompt_tokens``,
    ``completion_tokens``, ``total_tokens`` and, when the upstream reports
    ``completion_tokens_details.reasoning_tokens`` as a whole number (OpenAI
    https://platform.openai.com/docs/api-reference/chat/object#chat/object-usage,
    DeepSeek, OpenRouter), ``reasoning_tokens``."""
    data = {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    }
    details = getattr(usage, "completion_tokens_details", None)
    reasoning_tokens = getattr(details, "reasoning_tokens", None)
    if isinstance(reasoning_tokens, int) and not isinstance(reasoning_tokens, bool) and reasoning_tokens >= 0:
        data["reasoning_tokens"] = reasoning_tokens
    return data


def _pieces(pieces: list[tuple[str, str]]) -> Iterator[StreamEvent]:
    """``ThinkSplitter`` pieces as ``reasoning`` / ``delta`` events."""
    for kind, text in pieces:
        yield StreamEvent("reasoning" if kind == "reasoning" else "delta", {"content": text})


def stream_chat(
    client: openai.OpenAI,
    *,
    api_key: str,
    model: str,
    messages: list[Message],
    params: dict | None = None,
    locale: str | None = None,
    on_open: Callable[[httpx2.Response], None] | None = None,
    redact_secrets: tuple[str, ...] = (),
    start_in_reasoning: bool = False,
) -> Iterator[StreamEvent]:
    """Stream one Chat Completion as ``StreamEvent`` objects.

    Calls ``client.chat.completions.create(stream=True,
    stream_options={"include_usage": True})`` and yields a ``delta`` per non-empty
    content delta (in order, unmodified), one ``finish`` when a choice reports
    ``finish_reason``, a ``usage`` when the final usage chunk arrives, and — instead
    of raising — a single ``error`` event for any failure (then stops). A stream that
    ends without ``finish_reason`` yields ``error`` ``stream_interrupted``.

    Reasoning (``chatcore.reasoning``): a ``delta.reasoning_content`` or
    ``delta.reasoning`` string becomes a ``reasoning`` event; a ``<think>…</think>``
    block at the start of the content is split off by a ``ThinkSplitter`` (only what may
    still be a tag is held back; the rest of the content is passed on unmodified).
    ``start_in_reasoning``: the model's chat template opened the think block in the
    prompt (only ``</think>`` arrives), so content is reasoning until ``</think>`` —
    unless reasoning already came in a delta field, which means the upstream parsed it.
    Held-back text is sent before ``finish`` or ``error``; a think block still open at
    ``finish`` adds ``"incomplete": true`` to the ``finish`` data (the reply has no
    answer, or a cut one).

    Closing the generator (``.close()``, e.g. because the browser went away) closes
    the upstream HTTP response at once, so no further tokens are generated for us
    (what a ``ThinkSplitter`` held back then — a partial tag, whitespace — is dropped).
    ``on_open`` is called with the upstream ``httpx2.Response`` once its headers have
    arrived (``chatserver.disconnect`` uses it to close a silent upstream after Stop).
    ``redact_secrets``: the other configured keys (the server's ``OPENAI_API_KEY``),
    redacted from upstream error messages along with ``api_key``.
    """
    stream = None
    finished = False
    splitter: ThinkSplitter | None = None  # made at the first content delta
    field_reasoning = False  # reasoning came in a delta field
    try:
        stream = client.with_options(api_key=api_key).chat.completions.create(
            model=model,
            messages=messages,  # type: ignore[arg-type]
            stream=True,
            stream_options={"include_usage": True},
            **(params or {}),
        )
        if on_open is not None:
            on_open(stream.response)
        for chunk in stream:
            for choice in chunk.choices or ():
                delta = choice.delta
                if delta is not None:
                    reasoning = delta_reasoning(delta)
                    if reasoning:
                        field_reasoning = True
                        yield StreamEvent("reasoning", {"content": reasoning})
                    content = delta.content
                    if content:
                        if splitter is None:
                            splitter = ThinkSplitter(start_in_reasoning=start_in_reasoning and not field_reasoning)
                        yield from _pieces(splitter.feed(content))
                if choice.finish_reason:
                    finished = True
                    finish: dict = {"finish_reason": choice.finish_reason}
                    if splitter is not None:
                        yield from _pieces(splitter.close())
                        if splitter.unclosed:
                            finish["incomplete"] = True
                    yield StreamEvent("finish", finish)
            if chunk.usage is not None:
                yield StreamEvent("usage", usage_data(chunk.usage))
        if not finished:
            if splitter is not None:
                yield from _pieces(splitter.close())
            yield StreamEvent("error", ChatError.make(502, "stream_interrupted", locale).to_dict())
    except GeneratorExit:
        raise
    except Exception as exc:  # noqa: BLE001 - every failure becomes one typed event
        if isinstance(exc, (httpx2.TimeoutException, openai.APITimeoutError)):
            # A read timeout while iterating: the upstream stalled (before or after
            # the first token). openai 3.x wraps it in APITimeoutError (a subclass
            # of APIConnectionError), older versions let httpx's exception through.
            error = ChatError.make(504, "timeout", locale)
        elif stream is not None and not isinstance(exc, openai.APIStatusError):
            # The stream had started: a network or parse error means it was cut.
            error = ChatError.make(502, "stream_interrupted", locale)
        else:
            error = map_exception(exc, locale, api_key, *redact_secrets)
        if splitter is not None:
            yield from _pieces(splitter.close())  # keep what was held back (a cut think block stays reasoning)
        yield StreamEvent("error", error.to_dict())
    finally:
        if stream is not None:
            stream.close()


# Models that do not answer Chat Completions (embeddings, images, speech, moderation,
# search), matched at the start of a word of the model id: ``text-embedding-3-small``,
# ``dall-e-3``, ``gpt-image-1``, ``tts-1``, ``gpt-4o-mini-tts``, ``whisper-1``,
# ``gpt-4o-transcribe``, ``omni-moderation-latest``, ``gpt-4o-search-preview``.
# The one definition; OPENAI_MODEL/OPENAI_MODELS may still name such a model.
NON_CHAT_MODEL = re.compile(r"(?<![a-z0-9])(?:embed|image|dall-e|tts|whisper|transcribe|moderation|search)", re.I)
_MODEL_NAME = re.compile(MODEL_NAME_PATTERN)


def is_chat_model(model_id: str) -> bool:
    """False for ids matching ``NON_CHAT_MODEL`` (embedding, image, TTS, … models)."""
    return NON_CHAT_MODEL.search(model_id) is None


def parse_model_ids(payload: Any) -> list[str]:
    """Model ids from a "List models" body ``{"object": "list", "data": [{"id": str, …}]}``
    (https://platform.openai.com/docs/api-reference/models/list), sorted, unique.

    Entries whose ``id`` is not a string (an object, a number, null), is empty, longer
    than ``MODEL_NAME_MAX`` or not a model name (``MODEL_NAME_PATTERN``, what a chat
    request accepts) are left out: the list is drawn in the page's model select.

    Raises:
        ValueError: the body is not an object with a ``data`` list.
    """
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, list):
        raise ValueError("the models list is not {'data': [...]}")
    ids = {
        entry["id"]
        for entry in data
        if isinstance(entry, dict)
        and isinstance(entry.get("id"), str)
        and len(entry["id"]) <= MODEL_NAME_MAX
        and _MODEL_NAME.match(entry["id"])
    }
    return sorted(ids)


def list_models(client: openai.OpenAI, api_key: str) -> list[str]:
    """Model ids from ``GET /models`` (OpenAI "List models"), validated by
    ``parse_model_ids`` (the raw JSON is read: the SDK's model objects are not
    validated, so an ``id`` could be any JSON value).

    Raises:
        openai.OpenAIError: the request failed; ValueError: the body has the wrong shape.
    """
    raw = client.with_options(api_key=api_key, max_retries=0).models.with_raw_response.list()
    return parse_model_ids(raw.http_response.json())


class ModelListCache:
    """A thread-safe TTL cache of model lists, keyed by ``(base_url, sha256(api_key))``
    (the key itself is never stored).

    ``clock`` (seconds, monotonic) can be replaced in tests.
    """

    def __init__(self, ttl: float = 60.0, clock: Callable[[], float] = time.monotonic, max_entries: int = 64):
        self.ttl = ttl
        self.clock = clock
        self.max_entries = max_entries
        self._entries: dict[tuple[str, str], tuple[float, list[str] | None]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def key(base_url: str, api_key: str) -> tuple[str, str]:
        """The cache key: the base URL and the SHA-256 hex digest of the API key."""
        return base_url, hashlib.sha256(api_key.encode("utf-8")).hexdigest()

    def get(self, base_url: str, api_key: str, fetch: Callable[[], list[str] | None]) -> list[str] | None:
        """The cached list for ``(base_url, api_key)``, or ``fetch()``'s result, kept
        ``ttl`` seconds. ``None`` (a failed fetch) is cached too, so an upstream that is
        down is not asked again on every request."""
        key = self.key(base_url, api_key)
        now = self.clock()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] > now:
                return entry[1]
        value = fetch()
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
            self._entries[key] = (self.clock() + self.ttl, value)
        return value

    def clear(self) -> None:
        """Forget every cached list."""
        with self._lock:
            self._entries.clear()


MODEL_LISTS = ModelListCache()
