"""The model call: OpenAI SDK client construction and the streaming generator.

``stream_chat`` is the one function the UI side uses: messages in, events out. It has
no Flask or Dash import, so a test can call it directly against a local upstream.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Callable, Iterator, Literal

import httpx2
import openai

from .errors import ChatError, map_exception
from .messages import Message

EventName = Literal["delta", "finish", "usage", "error"]


@dataclass(frozen=True)
class StreamEvent:
    """One event of a streamed reply.

    ``name`` is ``delta`` (``data={"content": str}``), ``finish``
    (``{"finish_reason": str}``), ``usage`` (``{"prompt_tokens", "completion_tokens",
    "total_tokens"}``) or ``error`` (``ChatError.to_dict()``).
    """

    name: EventName
    data: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ClientOptions:
    """What identifies a reusable HTTP client: base URL, proxy and timeout (seconds)."""

    base_url: str
    proxy: str | None = None
    timeout: float = 60.0
    max_retries: int = 1


_clients: dict[ClientOptions, openai.OpenAI] = {}
_clients_lock = threading.Lock()


def get_client(options: ClientOptions) -> openai.OpenAI:
    """A cached ``openai.OpenAI`` for ``options`` (its connection pool is reused).

    The API key is not part of the cached client: pass it per request with
    ``client.with_options(api_key=...)``. Without a proxy, ``trust_env`` is off so
    ``HTTP(S)_PROXY`` variables are ignored: only ``local`` mode uses a proxy.
    """
    with _clients_lock:
        client = _clients.get(options)
        if client is None:
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


def stream_chat(
    client: openai.OpenAI,
    *,
    api_key: str,
    model: str,
    messages: list[Message],
    params: dict | None = None,
    locale: str | None = None,
    on_open: Callable[[httpx2.Response], None] | None = None,
) -> Iterator[StreamEvent]:
    """Stream one Chat Completion as ``StreamEvent`` objects.

    Calls ``client.chat.completions.create(stream=True,
    stream_options={"include_usage": True})`` and yields a ``delta`` per non-empty
    content delta (in order, unmodified), one ``finish`` when a choice reports
    ``finish_reason``, a ``usage`` when the final usage chunk arrives, and — instead
    of raising — a single ``error`` event for any failure (then stops). A stream that
    ends without ``finish_reason`` yields ``error`` ``stream_interrupted``.

    Closing the generator (``.close()``, e.g. because the browser went away) closes
    the upstream HTTP response at once, so no further tokens are generated for us.
    ``on_open`` is called with the upstream ``httpx2.Response`` once its headers have
    arrived (``chatcore.disconnect`` uses it to close a silent upstream after Stop).
    """
    stream = None
    finished = False
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
                content = choice.delta.content if choice.delta else None
                if content:
                    yield StreamEvent("delta", {"content": content})
                if choice.finish_reason:
                    finished = True
                    yield StreamEvent("finish", {"finish_reason": choice.finish_reason})
            if chunk.usage is not None:
                usage = chunk.usage
                yield StreamEvent(
                    "usage",
                    {
                        "prompt_tokens": usage.prompt_tokens,
                        "completion_tokens": usage.completion_tokens,
                        "total_tokens": usage.total_tokens,
                    },
                )
        if not finished:
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
            error = map_exception(exc, locale, api_key)
        yield StreamEvent("error", error.to_dict())
    finally:
        if stream is not None:
            stream.close()


def list_models(client: openai.OpenAI, api_key: str) -> list[str]:
    """Model ids from ``GET /models`` (OpenAI "List models"), sorted; raises openai errors."""
    return sorted(model.id for model in client.with_options(api_key=api_key, max_retries=0).models.list())
