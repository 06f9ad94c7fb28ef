"""A scriptable, OpenAI-compatible *test upstream* server (stdlib only).

It stands in for the OpenAI API in tests and benchmarks: the app under test
points its ``openai`` client at :attr:`UpstreamServer.url` and the test decides,
request by request, what the "model" answers, how slowly, and how it breaks.

Endpoints (paths are accepted with or without the ``/v1`` prefix)
-------------------------------------------------------------------
``POST /v1/chat/completions``
    Body: the OpenAI JSON body ``{model, messages, stream, stream_options,
    temperature, ...}``.  Only ``model``, ``messages``, ``stream`` and
    ``stream_options.include_usage`` change the answer; the rest is recorded.

    * ``stream: true`` -> ``200``, ``Content-Type: text/event-stream``, HTTP/1.1
      chunked transfer encoding.  The body is a sequence of Server-Sent Events,
      each a single ``data: <json>\\n\\n`` line, in this order (the OpenAI
      chat-streaming rules):

      1. ``chat.completion.chunk`` with ``delta: {"role": "assistant",
         "content": "", "refusal": null}``;
      2. one ``chat.completion.chunk`` per delta: the reply's reasoning deltas
         first (see :class:`Reply` ``reasoning_field``: ``{"content": null,
         "reasoning_content": "..."}`` like DeepSeek, ``{"content": "",
         "reasoning": "..."}`` like OpenRouter/Ollama, or ``<think>…</think>``
         text inside the content deltas), then content deltas ``{"content": "..."}``;
      3. one chunk with an empty ``delta`` and ``finish_reason`` (``"stop"``,
         ``"length"``, ...), unless the reply's ``finish_reason`` is ``None``;
      4. if ``stream_options.include_usage`` is true: a chunk with
         ``choices: []`` and ``usage: {prompt_tokens, completion_tokens,
         total_tokens}`` (all earlier chunks then carry ``"usage": null``);
      5. ``data: [DONE]``, then the terminating zero-length HTTP chunk.

      The response headers go out as soon as the request is read; the first
      event (role chunk) and the first content delta are sent together after
      ``first_token_delay`` seconds; consecutive content deltas are separated
      by ``chunk_delay`` seconds.
    * ``stream`` false/absent -> a normal ``chat.completion`` JSON object with
      ``Content-Length``, sent after ``first_token_delay + chunk_delay *
      (n_deltas - 1)`` seconds.

``GET /v1/models`` (and ``GET /v1/models/{id}``)
    ``{"object": "list", "data": [{"id", "object": "model", "created",
    "owned_by": "test"}, ...]}``, or what :meth:`UpstreamServer.script_models`
    set: raw ``data`` entries (any JSON, e.g. ``{"id": {"type": "X"}}``) or an
    error status.  :attr:`UpstreamServer.models_requests` counts the list requests.

Errors use the OpenAI error shape ``{"error": {"message", "type", "param",
"code"}}`` with ``Content-Type: application/json``.  If the server was created
with ``api_key=...``, every ``/v1`` request without ``Authorization: Bearer
<that key>`` gets ``401`` (code ``invalid_api_key``).

Connections are HTTP/1.1 keep-alive (as the ``openai``/``httpx`` clients
expect); ``Connection: close`` from the client is honoured.  Because streaming
bodies use chunked encoding, a stream that is cut (fault ``cut_mid_stream``)
lacks the terminating zero-length chunk and the client's HTTP layer reports an
incomplete body (``httpx.RemoteProtocolError`` -> ``openai.APIConnectionError``).

Choosing the reply for a chat request
-------------------------------------
1. The FIFO queue filled by :meth:`UpstreamServer.script` (one :class:`Reply`
   popped per chat request).
2. Otherwise the default reply, derived from the last ``user`` message:

   * if it starts with ``!fault <name> [args]`` the named fault (see
     :data:`DIRECTIVES`; lets a browser test trigger faults by typing);
   * if it starts with ``!think [words]`` a reasoning reply (see
     :data:`THINK_WORDS` below);
   * otherwise an echo: content ``"Echo: " + <last user message>`` (exact, any
     unicode), split into deltas of ``chunk_size`` characters (default 3),
     paced by the server-wide ``default_first_token_delay`` /
     ``default_chunk_delay``.

Directives (``!fault ...`` as the start of the last user message)::

    401 | 403 | 404 | 500 | 503   HTTP error with an OpenAI error body
                                  (404 has code "model_not_found")
    429 [retry_after]             429 rate_limit_exceeded, Retry-After header
                                  (default "1")
    hang                          headers, then nothing (hang_before_first_token)
    stall                         a few deltas, then silence (stall_mid_stream)
    cut                           a few deltas, then TCP close (cut_mid_stream)
    malformed                     a few deltas, "data: {not json", the rest
    nofinish                      all deltas and [DONE], no finish_reason
    slow [chunk_delay_ms]         echo, with this delay between deltas
                                  (default 200 ms)
    long [n_chars]                fast reply of exactly n_chars (default 4000)
                                  of lorem text with newlines and a ``` block
    hangheaders                   never send response headers (hang_headers)
    500 | 503 [retry_after]       (also) with a Retry-After header (seconds)
    truncate [n]                  n deltas (default 2), then a clean end of the
                                  body: no finish_reason, usage or [DONE]
    drop                          headers, then TCP close before any event
    badshape [n]                  n deltas, a chunk {"choices": "oops"}, the rest
    errorchunk [n]                n deltas, data: {"error": {"code": 502, ...}}
    once <directive ...>          the directive the first time this exact last
                                  user message is seen (since start/reset), the
                                  echo afterwards: an automatic retry or the
                                  Retry button then succeeds

The echoed text of fault replies is ``"Echo: " + <whole last user message>``.

Reasoning (``!think [words]`` as the start of the last user message): the reply
thinks, then answers ``"Echo: " + <whole last user message>``.  The reasoning is
``"Thinking about <message, repr>.\\nreasoning_effort: <the request's or unset>.\\n"
"The answer is an echo."`` (so a browser test can see the effort was forwarded), and
usage carries ``completion_tokens_details.reasoning_tokens``.  Words, any order::

    reasoning_content             in delta.reasoning_content (the default; DeepSeek)
    reasoning                     in delta.reasoning (OpenRouter, Ollama)
    tags                          <think>…</think> at the start of the content
    closeonly                     like tags without the opening <think> (the model's
                                  template put it in the prompt)
    unclosed                      like tags, never closed (no answer; finish "stop")
    ws                            whitespace before <think> (tags / unclosed)
    slow [chunk_delay_ms]         this delay between deltas (default 200 ms)
    cut                           TCP close after 2 reasoning deltas
    stall                         silence after 2 reasoning deltas (Stop while thinking)

Introspection (thread-safe, for assertions from the test thread)
----------------------------------------------------------------
* :attr:`UpstreamServer.requests` -- one dict per chat request received
  (including rejected ones): ``{"index", "method", "path", "headers",
  "body", "t_received"}``.  ``headers`` is a case-insensitive dict that keeps
  ``Authorization``; ``body`` is the parsed JSON (or ``None``).
* :attr:`UpstreamServer.reject_image_parts` -- set it to make every chat request with an
  ``image_url`` content part fail with ``400`` :data:`IMAGE_REJECTION` (a text-only
  model); :meth:`reset` turns it off.
* :attr:`UpstreamServer.open_streams` -- streaming chat responses in progress.
* :attr:`UpstreamServer.closed_events` -- one record per finished chat
  response: ``{"request_index", "reason", "t_opened", "t_closed",
  "chunks_sent", "stream", "fault", "status"}``; times are
  ``time.monotonic()`` seconds, ``chunks_sent`` counts deltas (content and
  reasoning).
  ``reason`` is one of ``"completed"``, ``"client_disconnected"``, ``"cut"``,
  ``"truncated"``, ``"error_chunk"``, ``"server_stopped"``, ``"error"``.
  A response's record is appended just before its last bytes are written, so
  once the client has read a whole response its record is already there.
  A client disconnect is noticed while the server is sleeping between chunks
  or hanging (the socket is watched for EOF concurrently), typically within a
  few milliseconds, so the time from a client-side abort to ``t_closed`` is
  measurable.

Run it in-process (``with UpstreamServer() as server: ...``; the asyncio loop
runs in a daemon thread) or as a process::

    python -m tests.upstream --port 9001 [--api-key K] [--first-token-delay S]
        [--chunk-delay S] [--chunk-size N] [--models a,b]

which prints ``upstream listening on http://127.0.0.1:PORT/v1`` and serves
until SIGINT/SIGTERM.  One asyncio loop serves all connections (no thread per
connection; listen backlog 2048), so a single process holds thousands of slow
concurrent streams.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import itertools
import json
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

__all__ = ["Reply", "UpstreamServer", "DIRECTIVES", "FAULTS", "REASONING_FIELDS", "THINK_WORDS", "lorem", "main"]

FAULTS = (
    "http_error",
    "hang_before_first_token",
    "stall_mid_stream",
    "cut_mid_stream",
    "malformed_chunk",
    "no_finish_reason",
    "hang_headers",
    "truncate",
    "drop_after_headers",
    "malformed_shape",
    "error_chunk",
)

DIRECTIVES = (
    "401", "403", "404", "429", "500", "503",
    "hang", "stall", "cut", "malformed", "nofinish", "slow", "long", "hangheaders",
    "truncate", "drop", "badshape", "errorchunk", "once",
)

# Where a reply's reasoning goes (Reply.reasoning_field): a delta field, or "think" =
# <think>…</think> text inside the content.
REASONING_FIELDS = ("reasoning_content", "reasoning", "think")

# The words of the ``!think`` magic (module docs).
THINK_WORDS = ("reasoning_content", "reasoning", "tags", "closeonly", "unclosed", "ws", "slow", "cut", "stall")

_REASONS = {
    200: "OK", 302: "Found", 307: "Temporary Redirect", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
    404: "Not Found", 405: "Method Not Allowed", 408: "Request Timeout",
    409: "Conflict", 413: "Payload Too Large", 431: "Request Header Fields Too Large", 422: "Unprocessable Entity",
    429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
    503: "Service Unavailable", 504: "Gateway Timeout",
}

# Default OpenAI-shaped error bodies per status: (type, code, message).
_ERRORS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Invalid request."),
    401: ("invalid_request_error", "invalid_api_key",
          "Incorrect API key provided. You can find your API key at "
          "https://platform.openai.com/account/api-keys."),
    403: ("invalid_request_error", "unsupported_country_region_territory",
          "You are not allowed to access this resource."),
    404: ("invalid_request_error", "model_not_found",
          "The model `{model}` does not exist or you do not have access to it."),
    429: ("requests", "rate_limit_exceeded",
          "Rate limit reached for requests. Please try again in {retry_after}s."),
    500: ("server_error", None,
          "The server had an error while processing your request. Sorry about that!"),
    503: ("server_error", "overloaded",
          "The engine is currently overloaded, please try again later."),
}

_MAX_HEADER_BYTES = 64 * 1024
_MAX_BODY_BYTES = 32 * 1024 * 1024


@dataclass
class Reply:
    """One scripted answer to one chat request.

    Content: ``content`` split into deltas of the server's ``chunk_size``
    characters (or ``chunk_size`` here, if set), or ``chunks`` given
    explicitly (then ``content`` is ignored).  Delays are seconds;
    ``None`` means "the server-wide default" (``default_first_token_delay`` /
    ``default_chunk_delay``, both 0 unless configured).

    ``finish_reason=None`` ends the stream with ``[DONE]`` but no
    finish_reason chunk.  ``usage=None`` computes ``prompt_tokens = total
    characters of the messages' text // 4 + 1`` and ``completion_tokens =
    number of deltas``; a given dict is sent as is (``total_tokens`` filled in
    if missing).

    ``fault`` (one of :data:`FAULTS`) or a ``status`` other than 200 makes the
    reply misbehave:

    * ``"http_error"``: respond ``status`` (default 500 if 200) with
      ``error_body`` or a default OpenAI error body for that status, plus
      ``headers`` (e.g. ``{"Retry-After": "7"}``);
    * ``"hang_before_first_token"``: headers, then nothing until the client
      disconnects or the server stops;
    * ``"stall_mid_stream"``: ``fault_after`` deltas, then silence;
    * ``"cut_mid_stream"``: ``fault_after`` deltas, then the TCP connection is
      closed without the terminating chunk / ``[DONE]``;
    * ``"malformed_chunk"``: ``fault_after`` deltas, a ``data: {not json``
      event, then the remaining deltas, finish chunk and ``[DONE]``;
    * ``"no_finish_reason"``: like ``finish_reason=None``;
    * ``"hang_headers"``: the request is read, no response headers are ever
      sent;
    * ``"truncate"``: ``fault_after`` deltas, then the HTTP body ends cleanly (the
      terminating zero-length chunk) with no finish_reason, usage or ``[DONE]``
      (llmock's ``truncate``: no SDK raises for it);
    * ``"drop_after_headers"``: ``200`` headers, then the TCP connection is closed
      before any event (llmock's ``disconnect`` at chunk 0);
    * ``"malformed_shape"``: ``fault_after`` deltas, then a chunk that is valid JSON
      but not a ``chat.completion.chunk`` (``{"choices": "oops"}``), then the rest;
    * ``"error_chunk"``: ``fault_after`` deltas, then an OpenRouter-style mid-stream
      error object ``data: {"error": {"code": <status>, "message"}}`` (``status``
      of the reply, 502 if 200), then ``[DONE]``.

    ``headers`` are added to every kind of response.

    Reasoning (``reasoning`` non-empty, or ``reasoning_chunks``) is streamed before
    the content, shaped by ``reasoning_field`` (one of :data:`REASONING_FIELDS`):

    * ``"reasoning_content"`` (DeepSeek, DashScope, SiliconFlow, vLLM <= 0.10):
      deltas ``{"content": null, "reasoning_content": "..."}``, then the content
      deltas carry ``"reasoning_content": null``;
    * ``"reasoning"`` (OpenRouter, Ollama, vLLM >= 0.11): ``{"content": "",
      "reasoning": "..."}``, then ``"reasoning": null`` on the content deltas;
    * ``"think"``: no field; the content text is ``think_prefix + "<think>"
      (unless not think_open) + reasoning + ("</think>" + think_separator, unless
      not think_close) + content``, split into deltas of ``chunk_size`` (so the
      tags are split across deltas with the default size of 3).  ``chunks``,
      when given, is sent as the content deltas as is, tags and all.

    Reasoning deltas count for ``fault_after`` (so a fault can cut the reply
    while it thinks).  Computed usage (``usage=None``) then adds
    ``completion_tokens_details: {"reasoning_tokens": n}``, ``n`` the number of
    reasoning pieces, or ``reasoning_tokens`` when given (it is also added to a
    given ``usage``).  A non-streamed reply carries the reasoning in
    ``message.reasoning_content`` / ``message.reasoning``, or as tags in its
    content.
    """

    content: str = ""
    chunks: list[str] | None = None
    first_token_delay: float | None = None
    chunk_delay: float | None = None
    finish_reason: str | None = "stop"
    usage: dict | None = None
    no_usage: bool = False  # never send a usage chunk, whatever stream_options asks (some providers)
    status: int = 200
    error_body: dict | None = None
    headers: dict = field(default_factory=dict)
    fault: str | None = None
    fault_after: int = 2
    chunk_size: int | None = None
    reasoning: str = ""
    reasoning_chunks: list[str] | None = None
    reasoning_field: str = "reasoning_content"
    think_open: bool = True
    think_close: bool = True
    think_prefix: str = ""
    think_separator: str = "\n\n"
    reasoning_tokens: int | None = None

    def __post_init__(self) -> None:
        if self.fault is not None and self.fault not in FAULTS:
            raise ValueError(f"unknown fault {self.fault!r}; expected one of {FAULTS}")
        if self.reasoning_field not in REASONING_FIELDS:
            raise ValueError(f"unknown reasoning_field {self.reasoning_field!r}; expected one of {REASONING_FIELDS}")


class _CIDict(dict):
    """A dict of HTTP headers with case-insensitive lookup (keys stored lower-case)."""

    def __init__(self, items: Any = ()) -> None:
        super().__init__()
        for k, v in (items.items() if hasattr(items, "items") else items):
            self[k] = v

    def __setitem__(self, k: str, v: Any) -> None:
        super().__setitem__(k.lower(), v)

    def __getitem__(self, k: str) -> Any:
        return super().__getitem__(k.lower())

    def __contains__(self, k: object) -> bool:
        return isinstance(k, str) and super().__contains__(k.lower())

    def get(self, k: str, default: Any = None) -> Any:
        return super().get(k.lower(), default)


class _ClientGone(Exception):
    """The client closed its side of the connection."""


class _BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


_LOREM_WORDS = (
    "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor "
    "incididunt ut labore et dolore magna aliqua ut enim ad minim veniam quis "
    "nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat"
).split()

_LOREM_CODE = (
    "```python\n"
    "def fib(n: int) -> int:\n"
    "    \"\"\"Return the n-th Fibonacci number (`fib(0) == 0`).\"\"\"\n"
    "    a, b = 0, 1\n"
    "    for _ in range(n):\n"
    "        a, b = b, a + b\n"
    "    return a\n"
    "```\n\n"
)


def lorem(n_chars: int) -> str:
    """Deterministic markdown-ish text of exactly ``n_chars`` characters.

    Paragraphs of lorem words separated by blank lines, a bullet list, and a
    fenced ``python`` code block, repeated as needed, then truncated.
    """
    if n_chars <= 0:
        return ""
    parts: list[str] = []
    total = 0
    words = itertools.cycle(_LOREM_WORDS)
    block = 0
    while total < n_chars:
        para = " ".join(next(words) for _ in range(40)).capitalize() + ".\n\n"
        if block % 3 == 1:
            para += "".join(f"- item {i}: {next(words)} {next(words)}\n" for i in range(1, 4)) + "\n"
        if block % 3 == 2:
            para += _LOREM_CODE
        parts.append(para)
        total += len(para)
        block += 1
    return "".join(parts)[:n_chars]


def _error_body(status: int, *, message: str | None = None, code: str | None = None,
                type_: str | None = None, **fmt: Any) -> dict:
    d_type, d_code, d_msg = _ERRORS.get(status, ("api_error", None, f"HTTP {status}"))
    fmt.setdefault("model", "?")
    fmt.setdefault("retry_after", "1")
    try:
        d_msg = d_msg.format(**fmt)
    except (KeyError, IndexError):
        pass
    return {"error": {"message": message or d_msg, "type": type_ or d_type,
                      "param": None, "code": code if code is not None else d_code}}


def _text_of(content: Any) -> str:
    """The text of a message ``content`` (a string or a list of content parts)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        out = []
        for part in content:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                out.append(part["text"])
            elif isinstance(part, str):
                out.append(part)
        return "".join(out)
    return str(content)


# The 400 of ``UpstreamServer.reject_image_parts`` (OpenAI's words for a model without vision).
IMAGE_REJECTION = "Invalid content type. image_url is only supported by certain models."


def _has_image_part(body: dict) -> bool:
    """True when a message of the chat request ``body`` has an ``image_url`` content part."""
    for message in body.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list) and any(isinstance(p, dict) and p.get("type") == "image_url" for p in content):
            return True
    return False


def _dumps(obj: Any) -> bytes:
    s = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    try:
        return s.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: fall back to \\u escapes
        return json.dumps(obj, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def _split(text: str, size: int) -> list[str]:
    size = max(1, int(size))
    return [text[i:i + size] for i in range(0, len(text), size)]


class _Conn:
    """Buffered HTTP/1.1 reading over an asyncio StreamReader.

    All bytes read from the socket land in ``buf``; a background watcher
    (:meth:`watch`) can keep reading while a response is being written, so a
    client EOF is noticed at once and any pipelined bytes are kept.
    """

    __slots__ = ("reader", "writer", "buf", "eof")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.buf = bytearray()
        self.eof = False

    async def _fill(self) -> None:
        if self.eof:
            raise _ClientGone()
        try:
            data = await self.reader.read(65536)
        except (ConnectionError, OSError):
            data = b""
        if not data:
            self.eof = True
            raise _ClientGone()
        self.buf += data

    async def readline(self, limit: int = _MAX_HEADER_BYTES) -> bytes:
        while True:
            i = self.buf.find(b"\n")
            if i >= 0:
                line = bytes(self.buf[:i + 1])
                del self.buf[:i + 1]
                return line
            if len(self.buf) > limit:
                raise _BadRequest(431, "header line too long")
            await self._fill()

    async def readexactly(self, n: int) -> bytes:
        while len(self.buf) < n:
            await self._fill()
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    async def watch(self) -> None:
        """Return when the client closes the connection (EOF or error)."""
        while not self.eof:
            try:
                await self._fill()
            except _ClientGone:
                return


class UpstreamServer:
    """An OpenAI-compatible chat-completions server for tests (see module docs).

    Parameters
    ----------
    port:
        TCP port on 127.0.0.1; 0 picks a free one (read :attr:`port` after
        :meth:`start`).
    api_key:
        If set, requests must carry ``Authorization: Bearer <api_key>``.
    models:
        Model ids listed by ``GET /v1/models``.
    default_first_token_delay, default_chunk_delay:
        Seconds, used for the echo reply and for :class:`Reply` fields left
        ``None``.
    chunk_size:
        Characters per content delta when splitting reply text.
    strict_models:
        If true, a chat request for a model not in ``models`` gets 404
        ``model_not_found`` (unless a scripted reply is queued).
    backlog:
        ``listen()`` backlog.

    Use :meth:`start` / :meth:`stop` (or ``with UpstreamServer() as s:``) to
    run it on a daemon thread with its own asyncio loop, or ``await
    serve(...)`` / the CLI to run it on the current loop.
    """

    def __init__(
        self,
        port: int = 0,
        *,
        api_key: str | None = None,
        models: list[str] | tuple[str, ...] = ("test-model", "test-model-2"),
        default_first_token_delay: float = 0.0,
        default_chunk_delay: float = 0.0,
        chunk_size: int = 3,
        strict_models: bool = False,
        backlog: int = 2048,
        host: str = "127.0.0.1",
    ) -> None:
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the test upstream serves on the loopback interface only")
        self.host = "127.0.0.1" if host == "localhost" else host
        self._port = port
        self.api_key = api_key
        self.models = list(models)
        self.default_first_token_delay = float(default_first_token_delay)
        self.default_chunk_delay = float(default_chunk_delay)
        self.chunk_size = int(chunk_size)
        self.strict_models = strict_models
        self.backlog = backlog

        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._queue: collections.deque[Reply] = collections.deque()
        self._requests: list[dict] = []
        self._closed: list[dict] = []
        self._open_streams = 0
        self._max_open_streams = 0
        self._generation = 0  # bumped by reset(); older requests record nothing
        self._model_entries: list[Any] | None = None  # script_models(): raw "data" entries
        self._once_seen: set[str] = set()  # "!fault once ..." messages already faulted
        self._models_status = 200
        self._models_requests = 0
        self._ids = itertools.count(1)
        # True: a chat request with an image_url part gets 400 IMAGE_REJECTION (reset() clears it)
        self.reject_image_parts = False

        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None
        self._tasks: set[asyncio.Task] = set()
        self._stopping: asyncio.Event | None = None
        self._started = threading.Event()
        self._start_error: BaseException | None = None

    # ------------------------------------------------------------------ API
    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        """Base URL for an OpenAI client, e.g. ``http://127.0.0.1:PORT/v1``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self._port}/v1"

    def script(self, *replies: Reply) -> "UpstreamServer":
        """Queue replies; each chat request pops the oldest one (FIFO)."""
        for r in replies:
            if not isinstance(r, Reply):
                raise TypeError(f"expected Reply, got {type(r).__name__}")
        with self._lock:
            self._queue.extend(replies)
        return self

    def script_models(self, entries: list[Any] | None = None, status: int = 200) -> "UpstreamServer":
        """Make ``GET /v1/models`` answer ``{"object": "list", "data": entries}`` (sent
        as given; ``None`` = the configured ``models``), or, with ``status`` other than
        200, that HTTP error.  :meth:`reset` restores the default."""
        with self._lock:
            self._model_entries = None if entries is None else list(entries)
            self._models_status = status
        return self

    @property
    def models_requests(self) -> int:
        """``GET /v1/models`` requests received since start / :meth:`reset`."""
        with self._lock:
            return self._models_requests

    @property
    def pending_replies(self) -> int:
        """Scripted replies not yet consumed."""
        with self._lock:
            return len(self._queue)

    @property
    def requests(self) -> list[dict]:
        """A copy of the chat requests received so far (see module docs)."""
        with self._lock:
            return list(self._requests)

    @property
    def open_streams(self) -> int:
        """Streaming chat responses currently in progress."""
        with self._lock:
            return self._open_streams

    @property
    def max_open_streams(self) -> int:
        """Highest :attr:`open_streams` seen since start / :meth:`reset`."""
        with self._lock:
            return self._max_open_streams

    @property
    def closed_events(self) -> list[dict]:
        """A copy of the records of finished chat responses (see module docs)."""
        with self._lock:
            return list(self._closed)

    def reset(self) -> None:
        """Forget queued replies, recorded requests and closed events.

        Responses still in progress keep counting in :attr:`open_streams` but
        add no closed event when they end (their request indexes are gone)."""
        with self._lock:
            self._generation += 1
            self._queue.clear()
            self._requests.clear()
            self._closed.clear()
            self._max_open_streams = self._open_streams
            self._model_entries = None
            self._models_status = 200
            self._models_requests = 0
            self._once_seen.clear()
            self.reject_image_parts = False

    def wait_for(self, predicate: Callable[["UpstreamServer"], bool], timeout: float = 5.0) -> bool:
        """Block until ``predicate(self)`` is true (re-checked on every recorded
        event and every 50 ms); return whether it became true within ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            if predicate(self):
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            with self._cond:
                self._cond.wait(min(left, 0.05))

    def wait_closed(self, count: int = 1, timeout: float = 5.0) -> list[dict]:
        """Wait until at least ``count`` closed events exist; return them all."""
        self.wait_for(lambda s: len(s._closed) >= count, timeout)
        return self.closed_events

    def start(self) -> "UpstreamServer":
        """Start serving on a daemon thread; return once the port is listening."""
        if self._thread is not None:
            raise RuntimeError("already started")
        _raise_nofile_limit()
        self._started.clear()
        self._thread = threading.Thread(target=self._thread_main, name="test-upstream", daemon=True)
        self._thread.start()
        self._started.wait(10)
        if self._start_error is not None:
            self._thread.join(1)
            self._thread = None
            raise self._start_error
        if not self._started.is_set():
            raise RuntimeError("test upstream did not start within 10 s")
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving, close all connections (open streams record
        ``"server_stopped"``) and join the thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if loop.is_running() and self._stopping is not None:
            loop.call_soon_threadsafe(self._stopping.set)
        thread.join(timeout)
        self._thread = None

    def __enter__(self) -> "UpstreamServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    async def serve(self, on_listening: Callable[["UpstreamServer"], None] | None = None) -> None:
        """Serve on the running loop until :meth:`stop` (or cancellation)."""
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        self._server = await asyncio.start_server(
            self._on_connection, self.host, self._port, backlog=self.backlog,
            reuse_address=True, limit=_MAX_HEADER_BYTES,
        )
        self._port = self._server.sockets[0].getsockname()[1]
        if on_listening is not None:
            on_listening(self)
        try:
            await self._stopping.wait()
        finally:
            await self._shutdown()

    # ------------------------------------------------------------ internals
    def _thread_main(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self.serve(lambda _s: self._started.set()))
        except BaseException as e:  # noqa: BLE001 - reported to start()
            if not self._started.is_set():
                self._start_error = e
                self._started.set()
        finally:
            try:
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        tasks = list(self._tasks)
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=2)
        if self._server is not None:
            try:
                await asyncio.wait_for(self._server.wait_closed(), 1)
            except (asyncio.TimeoutError, Exception):  # noqa: BLE001
                pass

    def _notify(self) -> None:
        self._cond.notify_all()

    async def _on_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        conn = _Conn(reader, writer)
        try:
            sock = writer.get_extra_info("socket")
            if sock is not None:
                import socket as _s
                try:
                    sock.setsockopt(_s.IPPROTO_TCP, _s.TCP_NODELAY, 1)
                except OSError:
                    pass
            while True:
                keep_alive = await self._handle_one(conn)
                if not keep_alive:
                    break
        except (_ClientGone, ConnectionError, OSError, asyncio.CancelledError):
            pass
        except _BadRequest as e:
            try:
                await self._send_json(conn, e.status, _error_body(e.status, message=e.message),
                                      keep_alive=False)
            except Exception:  # noqa: BLE001
                pass
        finally:
            self._tasks.discard(task)
            try:
                writer.close()
            except Exception:  # noqa: BLE001
                pass

    async def _read_request(self, conn: _Conn) -> tuple[str, str, str, _CIDict, bytes] | None:
        # Skip stray empty lines between requests (RFC 9112 2.2).
        while True:
            try:
                line = await conn.readline()
            except _ClientGone:
                return None
            if line.strip():
                break
        try:
            method, target, version = line.decode("latin-1").strip().split(" ", 2)
        except ValueError:
            raise _BadRequest(400, "malformed request line") from None
        headers = _CIDict()
        size = 0
        while True:
            h = await conn.readline()
            size += len(h)
            if size > _MAX_HEADER_BYTES:
                raise _BadRequest(431, "request headers too large")
            if h in (b"\r\n", b"\n"):
                break
            name, sep, value = h.decode("latin-1").partition(":")
            if not sep:
                raise _BadRequest(400, "malformed header line")
            name = name.strip()
            value = value.strip()
            if name in headers:
                headers[name] = headers[name] + ", " + value
            else:
                headers[name] = value
        body = b""
        if "chunked" in headers.get("transfer-encoding", "").lower():
            parts = []
            total = 0
            while True:
                size_line = await conn.readline()
                n = int(size_line.split(b";")[0].strip() or b"0", 16)
                if n == 0:
                    while (await conn.readline()) not in (b"\r\n", b"\n"):
                        pass
                    break
                total += n
                if total > _MAX_BODY_BYTES:
                    raise _BadRequest(413, "request body too large")
                parts.append(await conn.readexactly(n))
                await conn.readexactly(2)
            body = b"".join(parts)
        elif "content-length" in headers:
            try:
                n = int(headers["content-length"])
            except ValueError:
                raise _BadRequest(400, "bad Content-Length") from None
            if n > _MAX_BODY_BYTES:
                raise _BadRequest(413, "request body too large")
            body = await conn.readexactly(n)
        return method.upper(), target, version.upper(), headers, body

    async def _handle_one(self, conn: _Conn) -> bool:
        req = await self._read_request(conn)
        if req is None:
            return False
        method, target, version, headers, body = req
        keep_alive = version == "HTTP/1.1" and "close" not in headers.get("connection", "").lower()
        path = target.split("?", 1)[0]
        if path.startswith("/v1/"):
            path = path[3:]
        elif path == "/v1":
            path = "/"

        if path in ("/health", "/healthz") and method == "GET":
            await self._send(conn, 200, b"ok", "text/plain; charset=utf-8", keep_alive=keep_alive)
            return keep_alive

        is_chat = path == "/chat/completions"
        parsed: Any = None
        index = -1
        if is_chat:
            try:
                parsed = json.loads(body.decode("utf-8")) if body else None
            except (UnicodeDecodeError, json.JSONDecodeError):
                parsed = None
            with self._lock:
                index = len(self._requests)
                generation = self._generation
                self._requests.append({
                    "index": index, "method": method, "path": target, "headers": headers,
                    "body": parsed, "t_received": time.monotonic(),
                })
                self._notify()

        if self.api_key is not None:
            auth = headers.get("authorization", "")
            if auth != f"Bearer {self.api_key}":
                msg = ("You didn't provide an API key." if not auth else _ERRORS[401][2])
                code = None if not auth else "invalid_api_key"
                if is_chat:  # recorded before the response can be seen by the client
                    self._record_closed(index, "completed", time.monotonic(), 0, False, None, 401)
                await self._send_json(conn, 401, _error_body(401, message=msg, code=code),
                                      keep_alive=keep_alive)
                return keep_alive

        if path == "/models" and method == "GET":
            with self._lock:
                self._models_requests += 1
                entries, status = self._model_entries, self._models_status
            if status != 200:
                await self._send_json(conn, status, _error_body(status), keep_alive=keep_alive)
                return keep_alive
            data = entries if entries is not None else [self._model_obj(m) for m in self.models]
            await self._send_json(conn, 200, {"object": "list", "data": data}, keep_alive=keep_alive)
            return keep_alive
        if path.startswith("/models/") and method == "GET":
            mid = path[len("/models/"):]
            if mid in self.models:
                await self._send_json(conn, 200, self._model_obj(mid), keep_alive=keep_alive)
            else:
                await self._send_json(conn, 404, _error_body(404, model=mid), keep_alive=keep_alive)
            return keep_alive
        if is_chat:
            if method != "POST":
                self._record_closed(index, "completed", time.monotonic(), 0, False, None, 405)
                await self._send_json(conn, 405, _error_body(405, message="Use POST."), keep_alive=keep_alive)
                return keep_alive
            if not isinstance(parsed, dict) or not isinstance(parsed.get("messages"), list):
                self._record_closed(index, "completed", time.monotonic(), 0, False, None, 400)
                await self._send_json(conn, 400, _error_body(
                    400, message="Request body must be JSON with a 'messages' array."), keep_alive=keep_alive)
                return keep_alive
            return await self._chat(conn, index, parsed, keep_alive, generation)
        await self._send_json(conn, 404, _error_body(
            404, message=f"Unknown request URL: {method} {target}.", code="unknown_url"),
            keep_alive=keep_alive)
        return keep_alive

    @staticmethod
    def _model_obj(mid: str) -> dict:
        return {"id": mid, "object": "model", "created": 1700000000, "owned_by": "test"}

    # -------------------------------------------------------------- replies
    def _choose_reply(self, body: dict) -> Reply:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        model = body.get("model")
        if self.reject_image_parts and _has_image_part(body):
            # a text-only model behind an OpenAI-compatible API (vLLM, OpenAI's own 400)
            return Reply(fault="http_error", status=400, error_body=_error_body(
                400, message=IMAGE_REJECTION, code="invalid_content_type"))
        if self.strict_models and model not in self.models:
            return Reply(fault="http_error", status=404,
                         error_body=_error_body(404, model=model))
        last_user = ""
        for m in reversed(body.get("messages") or []):
            if isinstance(m, dict) and m.get("role") == "user":
                last_user = _text_of(m.get("content"))
                break
        echo = "Echo: " + last_user
        stripped = last_user.lstrip()
        if stripped.startswith("!fault"):
            words = stripped.split()
            if words[0] == "!fault":
                return self._directive(words[1:], echo, model)
        if stripped.startswith("!think"):
            words = stripped.split()
            if words[0] == "!think":
                return self._think(words[1:], last_user, echo, body.get("reasoning_effort"))
        return Reply(content=echo)

    def _think(self, args: list[str], last_user: str, echo: str, effort: Any) -> Reply:
        """The reply of ``!think [words]`` (module docs)."""
        effort_text = effort if isinstance(effort, str) else "unset"
        options: dict[str, Any] = {
            "content": echo,
            "reasoning": f"Thinking about {last_user!r}.\nreasoning_effort: {effort_text}.\nThe answer is an echo.",
        }
        words = [w.lower() for w in args]
        i = 0
        while i < len(words):
            word = words[i]
            if word in ("reasoning_content", "reasoning"):
                options["reasoning_field"] = word
            elif word == "tags":
                options["reasoning_field"] = "think"
            elif word == "closeonly":
                options.update(reasoning_field="think", think_open=False)
            elif word == "unclosed":
                options.update(reasoning_field="think", think_close=False, content="")
            elif word == "ws":
                options["think_prefix"] = "\n  "
            elif word == "slow":
                delay = 200.0
                if i + 1 < len(words):
                    try:
                        delay = float(words[i + 1])
                        i += 1
                    except ValueError:
                        pass
                options["chunk_delay"] = max(0.0, delay) / 1000.0
            elif word in ("cut", "stall"):
                options.update(fault="cut_mid_stream" if word == "cut" else "stall_mid_stream", fault_after=2)
            else:
                return Reply(fault="http_error", status=400, error_body=_error_body(
                    400, message=f"Unknown !think word {word!r}; known: {', '.join(THINK_WORDS)}",
                    code="unknown_directive"))
            i += 1
        return Reply(**options)

    def _directive(self, args: list[str], echo: str, model: Any) -> Reply:
        name = args[0].lower() if args else ""
        rest = args[1:]

        def num(default: float) -> float:
            try:
                return float(rest[0]) if rest else default
            except ValueError:
                return default

        if name in ("401", "403", "404", "500", "503"):
            status = int(name)
            headers = {"Retry-After": rest[0]} if rest and name in ("500", "503") else {}
            return Reply(fault="http_error", status=status, headers=headers, error_body=_error_body(status, model=model))
        if name == "429":
            ra = rest[0] if rest else "1"
            return Reply(fault="http_error", status=429, headers={"Retry-After": ra},
                         error_body=_error_body(429, retry_after=ra))
        if name == "hang":
            return Reply(content=echo, fault="hang_before_first_token")
        if name == "hangheaders":
            return Reply(content=echo, fault="hang_headers")
        if name == "stall":
            return Reply(content=echo, fault="stall_mid_stream")
        if name == "cut":
            return Reply(content=echo, fault="cut_mid_stream")
        if name == "malformed":
            return Reply(content=echo, fault="malformed_chunk")
        if name == "nofinish":
            return Reply(content=echo, fault="no_finish_reason")
        if name == "slow":
            return Reply(content=echo, chunk_delay=max(0.0, num(200.0)) / 1000.0)
        if name in ("truncate", "badshape", "errorchunk"):
            fault = {"truncate": "truncate", "badshape": "malformed_shape", "errorchunk": "error_chunk"}[name]
            return Reply(content=echo, fault=fault, fault_after=int(max(0.0, num(2.0))))
        if name == "drop":
            return Reply(content=echo, fault="drop_after_headers")
        if name == "once":
            key = echo
            with self._lock:
                seen = key in self._once_seen
                self._once_seen.add(key)
            return Reply(content=echo) if seen else self._directive(rest, echo, model)
        if name == "long":
            return Reply(content=lorem(int(max(0.0, num(4000.0)))), first_token_delay=0.0, chunk_delay=0.0)
        return Reply(fault="http_error", status=400, error_body=_error_body(
            400, message=f"Unknown !fault directive {name!r}; known: {', '.join(DIRECTIVES)}",
            code="unknown_directive"))

    def _record_closed(self, index: int, reason: str, t_opened: float, chunks: int,
                       stream: bool, fault: str | None, status: int, generation: int | None = None) -> None:
        with self._lock:
            if generation is not None and generation != self._generation:
                return
            self._closed.append({
                "request_index": index, "reason": reason, "t_opened": t_opened,
                "t_closed": time.monotonic(), "chunks_sent": chunks, "stream": stream,
                "fault": fault, "status": status,
            })
            self._notify()

    async def _chat(self, conn: _Conn, index: int, body: dict, keep_alive: bool, generation: int) -> bool:
        reply = self._choose_reply(body)
        stream = bool(body.get("stream"))
        fault = reply.fault
        if fault is None and reply.status != 200:
            fault = "http_error"
        t_opened = time.monotonic()
        if stream:
            with self._lock:
                self._open_streams += 1
                self._max_open_streams = max(self._max_open_streams, self._open_streams)
        state: dict[str, Any] = {"chunks": 0, "status": reply.status if fault == "http_error" else 200,
                                 "done": False}

        def finish(reason: str) -> None:
            # Called (once) just before the last bytes of a response are written,
            # so a client that has read the whole response always finds its record.
            if state["done"]:
                return
            state["done"] = True
            if stream:
                with self._lock:
                    self._open_streams -= 1
            self._record_closed(index, reason, t_opened, state["chunks"], stream, fault, state["status"],
                                generation)

        state["finish"] = finish
        reason = "error"
        watcher = asyncio.ensure_future(conn.watch())
        try:
            if fault == "http_error":
                status = reply.status if reply.status != 200 else 500
                state["status"] = status
                err = reply.error_body or _error_body(status, model=body.get("model"),
                                                      retry_after=reply.headers.get("Retry-After", "1"))
                finish("completed")
                await self._send_json(conn, status, err, keep_alive=keep_alive, extra=reply.headers,
                                      request_index=index)
                reason = "completed"
            elif fault == "hang_headers":
                await self._hang(watcher)
            elif fault == "drop_after_headers" and stream:
                conn.writer.write(_head(200, {"Content-Type": "text/event-stream; charset=utf-8",
                                              "Transfer-Encoding": "chunked", **reply.headers}))
                await _flush(conn.writer)
                state["finish"]("cut")
                conn.writer.close()
                reason, keep_alive = "cut", False
            elif stream:
                reason = await self._stream(conn, index, body, reply, fault, watcher, state)
                if reason == "cut":
                    keep_alive = False
            else:
                reason = await self._non_stream(conn, index, body, reply, fault, watcher, state, keep_alive)
                if reason == "cut":
                    keep_alive = False
        except (_ClientGone, ConnectionError, OSError):
            reason = "client_disconnected"
            keep_alive = False
        except asyncio.CancelledError:
            reason = "server_stopped"
            keep_alive = False
            raise
        finally:
            if watcher.done():
                if conn.eof:
                    keep_alive = False
                    if reason == "error":
                        reason = "client_disconnected"
            else:
                watcher.cancel()
            finish(reason)
        # Let the cancelled watcher really finish before the next request is
        # read (StreamReader allows only one pending read).
        await asyncio.wait((watcher,))
        return keep_alive

    async def _hang(self, watcher: asyncio.Future) -> None:
        """Wait until the client disconnects (raises _ClientGone) or the task is cancelled."""
        await asyncio.shield(watcher)
        raise _ClientGone()

    async def _sleep(self, delay: float, watcher: asyncio.Future) -> None:
        """Sleep ``delay`` seconds, raising _ClientGone as soon as the client disconnects."""
        if watcher.done():
            raise _ClientGone()
        if delay <= 0:
            return
        done, _ = await asyncio.wait((watcher,), timeout=delay)
        if done:
            raise _ClientGone()

    def _plan(self, body: dict, reply: Reply) -> tuple[list[dict], float, float, dict]:
        """``(deltas, first token delay, chunk delay, usage)``: the ``delta`` objects of
        the streamed chunks in order (reasoning first; see :class:`Reply`)."""
        size = reply.chunk_size or self.chunk_size
        reasoning = ([str(c) for c in reply.reasoning_chunks] if reply.reasoning_chunks is not None
                     else _split(reply.reasoning, size))
        field = reply.reasoning_field
        deltas: list[dict] = []
        if reply.chunks is not None:
            texts = [str(c) for c in reply.chunks]
        elif field == "think" and reasoning:
            text = reply.think_prefix + ("<think>" if reply.think_open else "") + "".join(reasoning)
            if reply.think_close:
                text += "</think>" + reply.think_separator
            texts = _split(text + reply.content, size)
        else:
            texts = _split(reply.content, size)
        if field != "think" and reasoning:
            empty = None if field == "reasoning_content" else ""
            deltas += [{"content": empty, field: piece} for piece in reasoning]
            deltas += [{"content": text, field: None} for text in texts]
        else:
            deltas += [{"content": text} for text in texts]
        chunks = deltas
        ftd = self.default_first_token_delay if reply.first_token_delay is None else reply.first_token_delay
        cd = self.default_chunk_delay if reply.chunk_delay is None else reply.chunk_delay
        if reply.usage is not None:
            usage = dict(reply.usage)
            usage.setdefault("total_tokens", int(usage.get("prompt_tokens", 0)) + int(usage.get("completion_tokens", 0)))
        else:
            chars = sum(len(_text_of(m.get("content"))) for m in body.get("messages") or [] if isinstance(m, dict))
            prompt = chars // 4 + 1
            usage = {"prompt_tokens": prompt, "completion_tokens": len(chunks),
                     "total_tokens": prompt + len(chunks)}
            if reasoning:
                usage["completion_tokens_details"] = {"reasoning_tokens": len(reasoning)}
        if reply.reasoning_tokens is not None:
            usage["completion_tokens_details"] = {**(usage.get("completion_tokens_details") or {}),
                                                  "reasoning_tokens": reply.reasoning_tokens}
        return chunks, float(ftd), float(cd), usage

    async def _stream(self, conn: _Conn, index: int, body: dict, reply: Reply, fault: str | None,
                      watcher: asyncio.Future, state: dict) -> str:
        chunks, ftd, cd, usage = self._plan(body, reply)
        model = body.get("model") or "test-model"
        include_usage = bool((body.get("stream_options") or {}).get("include_usage")) and not reply.no_usage
        cid = f"chatcmpl-test{next(self._ids)}"
        created = int(time.time())
        finish = None if fault == "no_finish_reason" else reply.finish_reason
        w = conn.writer

        def event(delta: dict | None, finish_reason: str | None = None, *, usage_chunk: bool = False) -> bytes:
            obj: dict[str, Any] = {"id": cid, "object": "chat.completion.chunk", "created": created,
                                   "model": model, "system_fingerprint": "fp_test"}
            if usage_chunk:
                obj["choices"] = []
                obj["usage"] = usage
            else:
                obj["choices"] = [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}]
                if include_usage:
                    obj["usage"] = None
            return _frame(b"data: " + _dumps(obj) + b"\n\n")

        head = _head(200, {
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-cache",
            "Transfer-Encoding": "chunked",
            "x-request-id": f"req_test_{index}",
            "openai-processing-ms": "1",
            **reply.headers,
        })
        w.write(head)
        await w.drain()

        if fault == "hang_before_first_token":
            await self._hang(watcher)
        await self._sleep(ftd, watcher)
        limit = len(chunks)
        if fault in ("stall_mid_stream", "cut_mid_stream", "malformed_chunk", "truncate", "malformed_shape",
                     "error_chunk"):
            limit = min(max(0, reply.fault_after), len(chunks))
        w.write(event({"role": "assistant", "content": "", "refusal": None}))
        for i in range(limit):
            if i > 0:
                await self._sleep(cd, watcher)
            w.write(event(chunks[i]))
            state["chunks"] += 1
            await w.drain()
        await w.drain()

        if fault == "stall_mid_stream":
            await self._hang(watcher)
        if fault == "cut_mid_stream":
            await _flush(w)
            state["finish"]("cut")
            w.close()
            return "cut"
        if fault == "truncate":
            state["finish"]("truncated")
            w.write(b"0\r\n\r\n")
            await w.drain()
            return "truncated"
        if fault == "error_chunk":
            status = reply.status if reply.status != 200 else 502
            await self._sleep(cd, watcher)
            state["finish"]("error_chunk")
            w.write(_frame(b"data: " + _dumps({"error": {"code": status, "message": "Upstream provider error."}})
                           + b"\n\n") + _frame(b"data: [DONE]\n\n") + b"0\r\n\r\n")
            await w.drain()
            return "error_chunk"
        if fault in ("malformed_chunk", "malformed_shape"):
            await self._sleep(cd, watcher)
            bad = b"data: {not json\n\n" if fault == "malformed_chunk" else b'data: {"choices": "oops"}\n\n'
            w.write(_frame(bad))
            await w.drain()
            for i in range(limit, len(chunks)):
                await self._sleep(cd, watcher)
                w.write(event(chunks[i]))
                state["chunks"] += 1
                await w.drain()

        tail = event({}, finish) if finish is not None else b""
        if include_usage:
            tail += event(None, usage_chunk=True)
        tail += _frame(b"data: [DONE]\n\n") + b"0\r\n\r\n"
        state["finish"]("completed")
        w.write(tail)
        await w.drain()
        return "completed"

    async def _non_stream(self, conn: _Conn, index: int, body: dict, reply: Reply, fault: str | None,
                          watcher: asyncio.Future, state: dict, keep_alive: bool) -> str:
        chunks, ftd, cd, usage = self._plan(body, reply)
        if fault == "hang_before_first_token":
            await self._hang(watcher)
        await self._sleep(ftd + cd * max(0, len(chunks) - 1), watcher)
        finish = None if fault == "no_finish_reason" else reply.finish_reason
        message: dict[str, Any] = {"role": "assistant", "content": "".join(d.get("content") or "" for d in chunks),
                                   "refusal": None}
        if chunks and reply.reasoning_field in chunks[0]:  # reasoning in a message field
            message[reply.reasoning_field] = "".join(d.get(reply.reasoning_field) or "" for d in chunks)
        obj = {
            "id": f"chatcmpl-test{next(self._ids)}", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model") or "test-model", "system_fingerprint": "fp_test",
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
            "usage": usage,
        }
        payload = _dumps(obj)
        headers = {"Content-Type": "application/json", "Content-Length": str(len(payload)),
                   "x-request-id": f"req_test_{index}", **reply.headers}
        if not keep_alive:
            headers["Connection"] = "close"
        w = conn.writer
        if fault in ("stall_mid_stream", "cut_mid_stream"):
            w.write(_head(200, headers) + payload[: len(payload) // 2])
            await w.drain()
            if fault == "stall_mid_stream":
                await self._hang(watcher)
            await _flush(w)
            state["finish"]("cut")
            w.close()
            return "cut"
        if fault == "malformed_chunk":
            payload = b"{not json" + b" " * max(0, len(payload) - 9)
        state["chunks"] = len(chunks)
        state["finish"]("completed")
        w.write(_head(200, headers) + payload)
        await w.drain()
        return "completed"

    async def _send(self, conn: _Conn, status: int, payload: bytes, ctype: str, *, keep_alive: bool,
                    extra: dict | None = None, request_index: int | None = None) -> None:
        headers = {"Content-Type": ctype, "Content-Length": str(len(payload))}
        if request_index is not None:
            headers["x-request-id"] = f"req_test_{request_index}"
        if extra:
            headers.update(extra)
        if not keep_alive:
            headers["Connection"] = "close"
        conn.writer.write(_head(status, headers) + payload)
        await conn.writer.drain()

    async def _send_json(self, conn: _Conn, status: int, obj: Any, *, keep_alive: bool,
                         extra: dict | None = None, request_index: int | None = None) -> None:
        await self._send(conn, status, _dumps(obj), "application/json", keep_alive=keep_alive,
                         extra=extra, request_index=request_index)


def _head(status: int, headers: dict) -> bytes:
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _frame(data: bytes) -> bytes:
    """One HTTP/1.1 chunked-transfer-encoding chunk."""
    return b"%x\r\n%s\r\n" % (len(data), data)


async def _flush(w: asyncio.StreamWriter, timeout: float = 1.0) -> None:
    """Wait until the transport's write buffer is handed to the kernel."""
    await w.drain()
    deadline = time.monotonic() + timeout
    while w.transport.get_write_buffer_size() > 0 and time.monotonic() < deadline:
        await asyncio.sleep(0.001)


def _raise_nofile_limit() -> None:
    """Best effort: raise the soft open-files limit to the hard limit (1,000+ sockets)."""
    try:
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
        if soft != resource.RLIM_INFINITY and soft < want:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    except (ImportError, ValueError, OSError):
        pass


def main(argv: list[str] | None = None) -> int:
    """CLI: run the test upstream in the foreground until SIGINT/SIGTERM."""
    p = argparse.ArgumentParser(prog="python -m tests.upstream", description=__doc__.split("\n\n")[0])
    p.add_argument("--port", type=int, default=9001, help="TCP port on 127.0.0.1 (0 = ephemeral)")
    p.add_argument("--api-key", default=None, help="require 'Authorization: Bearer KEY'")
    p.add_argument("--first-token-delay", type=float, default=0.0, help="seconds before the first delta")
    p.add_argument("--chunk-delay", type=float, default=0.0, help="seconds between deltas")
    p.add_argument("--chunk-size", type=int, default=3, help="characters per delta")
    p.add_argument("--models", default="test-model,test-model-2", help="comma-separated model ids")
    a = p.parse_args(argv)
    _raise_nofile_limit()
    server = UpstreamServer(
        a.port, api_key=a.api_key, models=[m for m in a.models.split(",") if m],
        default_first_token_delay=a.first_token_delay, default_chunk_delay=a.chunk_delay,
        chunk_size=a.chunk_size,
    )

    async def run() -> None:
        loop = asyncio.get_running_loop()

        def listening(s: UpstreamServer) -> None:
            print(f"upstream listening on {s.url}", flush=True)
            for sig in (signal.SIGINT, signal.SIGTERM):
                try:
                    loop.add_signal_handler(sig, s._stopping.set)  # type: ignore[union-attr]
                except (NotImplementedError, RuntimeError):
                    pass

        await server.serve(listening)

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
