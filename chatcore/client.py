"""The model call: OpenAI SDK client construction and the streaming generator.

``stream_chat`` is the one function the UI side uses: messages in, events out. It has
no Flask or Dash import, so a test can call it directly against a local upstream.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
import math
import random
import re
import select
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Literal

import httpx2
import openai
import orjson

from .errors import ChatError, is_retryable_status, map_exception, stream_error
from .i18n import text
from .messages import MODEL_NAME_MAX, MODEL_NAME_PATTERN, Message
from .netguard import NetGuard, guarded_http_client
from .reasoning import REASONING_FIELDS, ThinkSplitter
from .sse import SSEDecoder

log = logging.getLogger("chatcore.client")

EventName = Literal["delta", "reasoning", "finish", "usage", "error", "retry"]


@dataclass(frozen=True)
class StreamEvent:
    """One event of a streamed reply.

    ``name`` is ``delta`` (``data={"content": str}``, answer text only), ``reasoning``
    (``{"content": str}``, the model's thinking: ``chatcore.reasoning`` for the upstream's
    shapes, ``chatcore.backend`` for a ``CHAT_BACKEND``), ``finish``
    (``{"finish_reason": str}``, plus ``"incomplete": true`` when the reply ended inside
    an unclosed ``<think>`` block), ``usage`` (``{"prompt_tokens", "completion_tokens",
    "total_tokens"}``, plus ``"reasoning_tokens"`` when the upstream reports
    ``usage.completion_tokens_details.reasoning_tokens``), ``error``
    (``ChatError.to_dict()``) or ``retry`` (a failed attempt is being retried:
    ``{"attempt", "max_retries", "wait_s", "status", "code", "message"}``, see
    ``RetryPolicy``).
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


def _count(value: Any) -> int | None:
    """A token count: a whole number ≥ 0 (not a bool), else ``None``."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def usage_data(usage: Any) -> dict:
    """The ``usage`` event data of a ``usage`` object (the parsed JSON dict of a
    stream chunk, or an SDK ``CompletionUsage``): ``prompt_tokens``,
    ``completion_tokens``, ``total_tokens`` (each a whole number ≥ 0 or ``None``) and,
    when the upstream reports ``completion_tokens_details.reasoning_tokens`` as a whole
    number (OpenAI
    https://platform.openai.com/docs/api-reference/chat/object#chat/object-usage,
    DeepSeek, OpenRouter), ``reasoning_tokens``; OpenRouter's ``cost`` (USD,
    https://openrouter.ai/docs/use-cases/usage-accounting) as ``cost``."""
    if isinstance(usage, dict):
        get = usage.get
        details = get("completion_tokens_details")
        reasoning_tokens = details.get("reasoning_tokens") if isinstance(details, dict) else None
    else:
        def get(name: str) -> Any:
            return getattr(usage, name, None)

        reasoning_tokens = getattr(get("completion_tokens_details"), "reasoning_tokens", None)
    data = {
        "prompt_tokens": _count(get("prompt_tokens")),
        "completion_tokens": _count(get("completion_tokens")),
        "total_tokens": _count(get("total_tokens")),
    }
    if _count(reasoning_tokens) is not None:
        data["reasoning_tokens"] = reasoning_tokens
    cost = get("cost")  # OpenRouter: what the request cost, in USD (its "credits")
    if isinstance(cost, (int, float)) and not isinstance(cost, bool) and cost >= 0:
        data["cost"] = float(cost)
    return data


def _pieces(pieces: list[tuple[str, str]]) -> list[StreamEvent]:
    """``ThinkSplitter`` pieces as ``reasoning`` / ``delta`` events."""
    return [StreamEvent("reasoning" if kind == "reasoning" else "delta", {"content": text}) for kind, text in pieces]


def _field_reasoning(delta: dict) -> str | None:
    """``chatcore.reasoning.delta_reasoning`` for a parsed JSON ``delta`` dict: the first
    of ``REASONING_FIELDS`` that is a non-empty string."""
    for name in REASONING_FIELDS:
        value = delta.get(name)
        if isinstance(value, str) and value:
            return value
    return None


# --------------------------------------------------------------------------- retries
RETRY_AFTER_CAP = 30.0  # seconds: the longest Retry-After waited out automatically
BACKOFF_BASE = 0.5  # seconds: the first backoff's upper bound (the openai SDK's INITIAL_RETRY_DELAY)
BACKOFF_MAX = 8.0  # seconds: the largest backoff upper bound (the openai SDK's MAX_RETRY_DELAY)


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long ``stream_chat`` waits before trying the upstream again.

    The policy (also in README "Retries"):

    - Only **before anything of the reply reached the user** (no ``delta`` and no
      ``reasoning`` event yet) is a failed attempt retried, and only a retryable one:
      a connection error or timeout, HTTP 408/409/429/5xx (``errors.is_retryable_status``;
      not when the upstream says ``x-should-retry: false``), a stream that was cut,
      carried a malformed chunk or an ``{"error": ...}`` object, or ended without
      ``finish_reason``. 400/401/403/404/422 are never retried.
    - At most ``max_retries`` retries (``MAX_RETRIES``), so ``max_retries + 1``
      requests per reply.
    - The wait: the upstream's ``retry-after-ms`` / ``Retry-After`` (seconds or an
      HTTP-date, RFC 9110 §10.2.3; ``errors.parse_retry_after``) when it sent one,
      exactly; a Retry-After above ``retry_after_cap`` (30 s) is not waited out: the
      error goes to the user with that ``retry_after``. Otherwise exponential backoff
      with full jitter: a uniform random wait in ``[0, min(backoff_max,
      backoff_base * 2**n)]`` for the ``n``-th retry (0-based) ("Exponential Backoff
      And Jitter", AWS Architecture Blog, 2015).
    - Once the reply has started, nothing is retried: the partial reply is kept and
      the stream ends with one ``error`` event (``retry_after`` set when the upstream
      gave one), so the page marks the reply incomplete and offers Retry.
    """

    max_retries: int = 1
    retry_after_cap: float = RETRY_AFTER_CAP
    backoff_base: float = BACKOFF_BASE
    backoff_max: float = BACKOFF_MAX

    def delay(self, retry: int, retry_after: float | None, rand: Callable[[], float] = random.random) -> float | None:
        """Seconds to wait before retry number ``retry`` (0-based), or ``None`` when the
        upstream asked for more than ``retry_after_cap`` (then do not retry)."""
        if retry_after is not None:
            return retry_after if retry_after <= self.retry_after_cap else None
        return rand() * min(self.backoff_max, self.backoff_base * 2.0**retry)


@dataclass
class _Failure:
    """One failed attempt: the error the user would see, whether it may be retried,
    and the upstream's Retry-After (seconds) if it sent one."""

    error: ChatError
    retryable: bool
    retry_after: float | None = None


def _exception_failure(exc: Exception, locale: str | None, secrets: tuple[str | None, ...], started: bool) -> _Failure:
    """Classify an exception of one attempt (``started``: the response headers had come)."""
    if isinstance(exc, (httpx2.TimeoutException, openai.APITimeoutError)):
        # a read timeout: the upstream stalled (before or after the first token)
        return _Failure(ChatError.make(504, "timeout", locale), True)
    if isinstance(exc, openai.APIStatusError):
        error = map_exception(exc, locale, *secrets)
        retryable = is_retryable_status(exc.status_code) and exc.response.headers.get("x-should-retry") != "false"
        return _Failure(error, retryable, error.retry_after)
    if started and isinstance(exc, (httpx2.HTTPError, openai.APIConnectionError)):
        # the stream had started: a network or protocol error means it was cut
        return _Failure(ChatError.make(502, "stream_interrupted", locale), True)
    error = map_exception(exc, locale, *secrets)
    return _Failure(error, error.code in ("connection", "timeout"))


class _Malformed(Exception):
    """A stream chunk that is not JSON or not shaped like a ``chat.completion.chunk``."""


def _sleep(seconds: float) -> bool:
    """The default ``pause``: ``time.sleep``; the request is never abandoned."""
    if seconds > 0:
        time.sleep(seconds)
    return True


class _Reply:
    """What one reply has produced so far, across attempts (see ``stream_chat_batches``)."""

    __slots__ = ("start_in_reasoning", "splitter", "field_reasoning", "shown", "finished")

    def __init__(self, start_in_reasoning: bool) -> None:
        self.start_in_reasoning = start_in_reasoning
        self.splitter: ThinkSplitter | None = None  # made at the first content delta
        self.field_reasoning = False  # reasoning came in a delta field
        self.shown = False  # a delta or reasoning event went out: no more retries
        self.finished = False  # a choice reported finish_reason

    def restart(self) -> None:
        """Forget a failed attempt that showed nothing (text a splitter held back is dropped)."""
        self.splitter, self.field_reasoning, self.finished = None, False, False

    def held_back(self) -> list[StreamEvent]:
        """What the splitter still holds (sent before ``error``)."""
        return _pieces(self.splitter.close()) if self.splitter is not None else []

    def chunk(self, data: bytes, out: list[StreamEvent]) -> None:
        """Parse one ``data:`` payload of a ``chat.completion.chunk`` into ``out``.

        Raises:
            _Malformed: not JSON, or not the chunk shape (``choices`` a list of
                objects whose ``delta`` is an object with string-or-null ``content``,
                ``finish_reason`` a string or null, ``usage`` an object or null).
            _StreamError: the chunk is an ``{"error": ...}`` object.
        """
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError:
            try:
                obj = json.loads(data)  # what orjson refuses but JSON allows (lone surrogate escapes)
            except ValueError:
                raise _Malformed("not JSON") from None
        if not isinstance(obj, dict):
            raise _Malformed("not an object")
        if obj.get("error"):
            raise _StreamError(obj["error"])
        choices = obj.get("choices")
        if choices is not None:
            if not isinstance(choices, list):
                raise _Malformed("choices is not a list")
            for choice in choices:
                if not isinstance(choice, dict):
                    raise _Malformed("a choice is not an object")
                delta = choice.get("delta")
                if delta is not None:
                    if not isinstance(delta, dict):
                        raise _Malformed("delta is not an object")
                    reasoning = _field_reasoning(delta)
                    if reasoning:
                        self.field_reasoning = True
                        out.append(StreamEvent("reasoning", {"content": reasoning}))
                    content = delta.get("content")
                    if content:
                        if not isinstance(content, str):
                            raise _Malformed("content is not a string")
                        splitter = self.splitter
                        if splitter is None:
                            splitter = self.splitter = ThinkSplitter(
                                start_in_reasoning=self.start_in_reasoning and not self.field_reasoning
                            )
                        out.extend(_pieces(splitter.feed(content)))
                    elif content is not None and not isinstance(content, str):
                        raise _Malformed("content is not a string")
                finish_reason = choice.get("finish_reason")
                if finish_reason is not None:
                    if not isinstance(finish_reason, str):
                        raise _Malformed("finish_reason is not a string")
                    if finish_reason:
                        self.finished = True
                        finish: dict = {"finish_reason": finish_reason}
                        if self.splitter is not None:
                            out.extend(_pieces(self.splitter.close()))
                            if self.splitter.unclosed:
                                finish["incomplete"] = True
                        out.append(StreamEvent("finish", finish))
        usage = obj.get("usage")
        if usage is not None:
            if not isinstance(usage, dict):
                raise _Malformed("usage is not an object")
            out.append(StreamEvent("usage", usage_data(usage)))


class _StreamError(Exception):
    """An ``{"error": ...}`` object in the stream (``args[0]`` is its value)."""


def stream_chat_batches(
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
    retry: RetryPolicy | None = None,
    pause: Callable[[float], bool] | None = None,
) -> Iterator[list[StreamEvent]]:
    """``stream_chat``'s events in batches for the caller to send in one write each: a
    batch holds every event parsed from what had arrived from the upstream when the
    previous batch was taken (``_readiness``: all that could be read without waiting;
    at most ``BATCH_MAX`` events), so a burst goes out together while a slow stream is
    never held back. Never empty. See ``stream_chat`` for the events and parameters."""
    policy = retry if retry is not None else RetryPolicy(max_retries=client.max_retries)
    pause = pause or _sleep
    secrets = (api_key, *redact_secrets)
    # the SDK makes the request and maps HTTP status errors; it does not retry:
    # RetryPolicy applies to the whole attempt, stream included
    requester = client.with_options(api_key=api_key, max_retries=0)
    body = {
        "model": model,
        "messages": messages,
        "stream": True,
        "stream_options": {"include_usage": True},
        **(params or {}),
    }
    reply = _Reply(start_in_reasoning)
    retries = 0
    while True:
        failure = yield from _attempt(requester, body, reply, on_open, locale, secrets)
        if failure is None:
            return
        wait = None
        if failure.retryable and not reply.shown and retries < policy.max_retries:
            wait = policy.delay(retries, failure.retry_after)
        if wait is None:
            error = failure.error
            if failure.retry_after is not None and error.retry_after is None:
                error = dataclasses.replace(error, retry_after=failure.retry_after)
            yield [*reply.held_back(), StreamEvent("error", error.to_dict())]
            return
        retries += 1
        log.info("upstream attempt failed (%s %s); retry %d of %d in %.2f s",
                 failure.error.status, failure.error.code, retries, policy.max_retries, wait)
        yield [StreamEvent("retry", {
            "attempt": retries,
            "max_retries": policy.max_retries,
            "wait_s": round(wait, 3),
            "status": failure.error.status,
            "code": failure.error.code,
            "message": text("retrying", locale, seconds=max(1, math.ceil(wait)), attempt=retries,
                            max_retries=policy.max_retries),
        })]
        if not pause(wait):
            return  # the client went away while we waited: no new request
        reply.restart()


# The request goes through the SDK's generic ``client.post`` with ``cast_to=httpx2.Response``
# and ``stream=True`` ("Undocumented endpoints" in the openai README): the SDK builds the
# request, applies the client's timeout and maps error statuses to its exceptions, as
# ``chat.completions.with_streaming_response.create`` does, and the response body is left
# unread for ``SSEDecoder``. ``create`` would first run the SDK's ``maybe_transform`` over the
# body (a typed walk of every message: 15 ms of CPU for a 41-message conversation, 59 ms for
# 201, on the worker that serves every other stream); the body here is plain JSON already
# checked by the app's schema (chatcore.schema), which that walk leaves as it is
# (tests/test_relay_stream.py compares them).
CHAT_PATH = "/chat/completions"


def _attempt(requester: openai.OpenAI, body: dict, reply: _Reply, on_open, locale, secrets) -> Iterator[list[StreamEvent]]:
    """One request of ``stream_chat_batches``: yields its event lists; returns ``None``
    when the reply finished, else the ``_Failure``. The upstream response is closed
    when this generator ends or is closed."""
    response = None
    started = False
    try:
        response = requester.post(CHAT_PATH, cast_to=httpx2.Response, body=body, stream=True)
        started = True
        if on_open is not None:
            on_open(response)
        decoder = SSEDecoder()
        ready = _readiness(response)
        out: list[StreamEvent] = []
        failed: Exception | None = None
        try:
            for raw in response.iter_bytes():
                done = False
                for event, data in decoder.feed(raw):
                    if data == b"[DONE]":
                        done = True
                        break
                    if event == "error":
                        raise _StreamError(_loads_or_none(data))
                    reply.chunk(data, out)
                if done:
                    break
                if out and (len(out) >= BATCH_MAX or not ready()):
                    # nothing more has arrived: send what there is, never wait for more
                    reply.shown = reply.shown or any(e.name in ("delta", "reasoning") for e in out)
                    yield out
                    out = []
        except (GeneratorExit, KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:  # noqa: BLE001 - handled below, after what arrived before it
            failed = exc
        if out:  # what arrived before the end (or the failure) is part of the reply
            reply.shown = reply.shown or any(e.name in ("delta", "reasoning") for e in out)
            yield out
        if failed is not None:
            raise failed
        if reply.finished:
            return None
        return _Failure(ChatError.make(502, "stream_interrupted", locale), True)
    except GeneratorExit:
        raise
    except _Malformed as exc:
        log.info("malformed upstream chunk (%s): stream closed", exc)
        return _Failure(ChatError.make(502, "stream_interrupted", locale), True)
    except _StreamError as exc:
        error = stream_error(exc.args[0], locale)
        return _Failure(error, is_retryable_status(error.status))
    except Exception as exc:  # noqa: BLE001 - every failure becomes one typed event
        if reply.finished:
            return None  # cut after finish_reason (before usage or [DONE]): the reply is whole
        return _exception_failure(exc, locale, secrets, started)
    finally:
        if response is not None:
            response.close()


BATCH_MAX = 512  # events: a longer burst is sent in several writes, so the first paint is not held back


def _readiness(response: httpx2.Response) -> Callable[[], bool]:
    """A check, for one upstream response, whether more of its body can be read at once
    (without waiting for the network): a whole line already buffered by the HTTP/1.1
    parser (h11, under httpx2/httpcore2) or the socket readable now (``poll`` with a
    zero timeout, POSIX poll(2): 0.9 µs, where a ``recv(MSG_PEEK)`` through a socket
    object made per call took 7.6 µs). ``stream_chat_batches`` keeps gathering events
    while it says ``True``, so what arrived while the last write went out is sent in
    one write.

    It reaches into httpx2/httpcore2 internals; where they are not as expected
    (another transport or version) it always says ``False``: then each upstream chunk
    is its own write, still correct, only not coalesced (``tests/test_relay_stream.py``
    notices).
    """
    try:
        connection = response.stream._stream._httpcore_stream._stream._connection  # type: ignore[attr-defined]
        h11_state = connection._h11_state
        len(h11_state._receive_buffer)
    except (AttributeError, TypeError):
        return lambda: False
    fd = None
    try:
        sock = response.extensions["network_stream"].get_extra_info("socket")
        fd = sock.fileno() if sock is not None else None
    except (AttributeError, KeyError, OSError, TypeError):
        pass

    poller = None
    make_poller = _poll_factory()
    if fd is not None and make_poller is not None:
        poller = make_poller()
        poller.register(fd, select.POLLIN)

    def ready() -> bool:
        buffered = getattr(h11_state._receive_buffer, "_data", b"")
        # after a chunk's data h11 keeps its closing CRLF: more is here only when a
        # whole line follows it (the next chunk's size line; RFC 9112 §7.1)
        if len(buffered) > 2 and buffered.find(b"\n", 2) >= 0:
            return True
        if poller is None:
            return False
        try:
            # readable now (bytes, or the end of the stream: the next read tells which)
            return bool(poller.poll(0))
        except OSError:  # the next read will tell
            return False

    return ready


@functools.lru_cache(maxsize=1)
def _poll_factory() -> Callable[[], Any] | None:
    """``select.poll`` (POSIX poll(2)) as the OS has it, or ``None`` where there is none
    (Windows: then only h11's buffer is checked). Under gevent's monkey patching
    (gunicorn's gevent worker) ``select.poll`` is removed, so the original is taken
    from gevent. ``poll(0)`` never blocks, so it never holds up the worker's other
    greenlets."""
    try:
        from gevent import monkey

        if monkey.is_module_patched("select"):
            return monkey.get_original("select", "poll")
    except (ImportError, AttributeError):
        pass
    return getattr(select, "poll", None)


def _loads_or_none(data: bytes) -> Any:
    """``data`` parsed as JSON, or ``None``."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return None


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
    retry: RetryPolicy | None = None,
    pause: Callable[[float], bool] | None = None,
) -> Iterator[StreamEvent]:
    """Stream one Chat Completion as ``StreamEvent`` objects.

    The request is ``POST {base_url}/chat/completions`` with ``stream: true`` and
    ``stream_options: {"include_usage": true}`` (OpenAI "Create chat completion",
    https://platform.openai.com/docs/api-reference/chat/create), made by the SDK's
    ``client.post`` with a raw streaming response (``_attempt``: the SDK builds the
    request, applies the timeout and maps HTTP error statuses to its exceptions); the body's
    ``data:`` lines are parsed here (``chatcore.sse.SSEDecoder``, orjson) into events,
    one code path for every kind. Yields a ``delta`` per non-empty content delta (in
    order, unmodified), one ``finish`` when a choice reports ``finish_reason``, a
    ``usage`` when the usage chunk arrives, and — instead of raising — a single
    ``error`` event for a failure (then stops). ``data: [DONE]`` ends the reading.

    Failures (each ends the attempt and closes the upstream response at once): an HTTP
    error status, a connection error or timeout, a cut stream, a malformed chunk (not
    JSON, or not the chunk shape: ``_Reply.chunk``), an ``{"error": ...}`` object in
    the stream (``errors.stream_error``), and a stream that ends — with or without
    ``[DONE]`` — without ``finish_reason`` (``stream_interrupted``: never a finished
    reply). A failure before any ``delta``/``reasoning`` is retried under ``retry``
    (``RetryPolicy``; default: the client's ``max_retries``): before each retry a
    ``retry`` event ``{"attempt", "max_retries", "wait_s", "status", "code",
    "message"}`` is yielded, then ``pause(wait_s)`` waits (default ``time.sleep``); when
    it returns ``False`` (the client went away) the generator ends without a new
    request. After content, the partial reply stands and ``error`` ends it.

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
    ``on_open`` is called with the upstream ``httpx2.Response`` of each attempt once its
    headers have arrived (``chatserver.disconnect`` uses it to close a silent upstream
    after Stop). ``redact_secrets``: the other configured keys (the server's
    ``OPENAI_API_KEY``), redacted from upstream error messages along with ``api_key``.
    """
    batches = stream_chat_batches(
        client, api_key=api_key, model=model, messages=messages, params=params, locale=locale, on_open=on_open,
        redact_secrets=redact_secrets, start_in_reasoning=start_in_reasoning, retry=retry, pause=pause,
    )
    try:
        for batch in batches:
            yield from batch
    finally:
        batches.close()


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
