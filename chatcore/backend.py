"""Bring your own backend: a Python generator in place of the OpenAI call (``CHAT_BACKEND``).

``CHAT_BACKEND=package.module:function`` names a callable that answers instead of the
OpenAI-compatible API. Everything else (trimming, limits, export, usage, the page)
stays as it is: ``stream_backend`` turns the backend's output into the same
``chatcore.client.StreamEvent`` sequence ``stream_chat`` yields, so the endpoint has
one code path after choosing the event source. No Flask or Dash import.

The contract::

    def function(messages: list[dict], settings: dict) -> Iterator[str | dict]
    # or: async def function(messages, settings) -> AsyncIterator[str | dict]
    function.models = ["my-model", ...]   # optional: offered in the model select

``messages``: ``[{"role": "system" | "user" | "assistant", "content": str}, ...]``,
exactly what would be sent upstream (the system prompt first, after trimming to the
context window; a "continue" request ends with the continue instruction). A copy:
the backend may change it.

``settings``: ``{"model": str}`` plus whichever of ``temperature``, ``top_p``,
``presence_penalty``, ``frequency_penalty`` (floats), ``max_tokens`` (int) and
``reasoning_effort`` (``"low"``, ``"medium"`` or ``"high"``) the conversation set.

It yields, in any mix:

- ``str``: a piece of the reply (``""`` is skipped);
- ``{"type": "delta", "content": str}``: the same as yielding the string;
- ``{"type": "reasoning", "content": str}``: reasoning ("thinking") text, sent as
  its own SSE event ``reasoning`` ``{"content": str}``, never mixed into the reply;
- ``{"type": "usage", "prompt_tokens": int, "completion_tokens": int}`` (both
  ``>= 0``; an optional ``total_tokens`` int, else their sum);
- ``{"type": "finish", "finish_reason": str}`` (1-50 characters, e.g. ``"stop"``,
  ``"length"``).

Other keys of a dict are ignored. ``finish`` and ``usage`` may come at any point;
they are sent after the last delta (finish, then usage; the last one of each
wins). A backend that just ends finishes with ``"stop"``; one that reports no
usage gets one estimated with ``chatcore.context`` (the prompt as trimmed, the
reply and reasoning text as produced).

Failures: an exception raised by the backend (when called or while iterating)
ends the reply with an ``error`` event, ``backend_error`` (502, naming only the
exception class; the traceback goes to the server log), unless it is a
``chatcore.errors.ChatError``, which is passed on as it is (so a backend can give
its own status, code and message). A value of any other type or shape ends the reply
with ``backend_bad_value`` (502). The page keeps the partial reply either way.

Threads: the backend never runs on the worker's event loop. Each step (the call,
then every ``next()``) runs in a worker thread of ``BACKEND_THREADS`` (a gevent
``ThreadPool`` of native threads when gevent has patched ``threading``, as in
gunicorn's gevent worker, so only the waiting greenlet waits; else a
``concurrent.futures.ThreadPoolExecutor``), so a slow or blocking backend never
stalls other users' streams. The steps run one at a time, in lock step with the
response: the backend is advanced only when the client has taken the previous
piece. An async generator runs on its own event loop (one per reply), driven from
those worker threads; the loop runs only while the next item is awaited.

Stop: when the browser goes away, the WSGI server closes the endpoint's generator,
which closes ``stream_backend``'s, which closes the backend's generator
(``GeneratorExit`` at its ``yield``, or ``aclose()``; its ``finally`` blocks run).
The server notices a gone client when it next writes, so a backend that is busy
between two yields is closed at its next yield. A backend that never yields again
holds its worker thread until it does.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import importlib
import inspect
import logging
import os
import re
import sys
import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from .client import StreamEvent
from .context import estimate_tokens, message_tokens
from .errors import ChatError
from .messages import MODEL_NAME_MAX, MODEL_NAME_PATTERN, Message

log = logging.getLogger("chatcore.backend")

# ``package.module:function`` (the function may be a dotted attribute path, ``mod:Class.method``)
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
SPEC_PATTERN = rf"^{_NAME}(?:\.{_NAME})*:{_NAME}(?:\.{_NAME})*$"
BACKEND_THREADS = 64  # worker threads per process for backend steps (= replies blocking at once)
FINISH_REASON_MAX = 50  # the page's FinishEvent schema (chatcore.schema)
ERROR_CODE_MAX = 100  # ... and its ErrorInfo schema
ERROR_MESSAGE_MAX = 4000


class BackendLoadError(ValueError):
    """``CHAT_BACKEND`` cannot be used: its module does not import, or the function is
    missing or not callable, or its ``models`` attribute is not a list of model names.
    The message says which (the caller prefixes the variable name)."""


@dataclass(frozen=True)
class Backend:
    """A loaded ``CHAT_BACKEND``.

    Attributes:
        spec: the setting as written, ``package.module:function``.
        function: the callable (see the module docstring for its contract).
        models: the model names it declares (its ``models`` attribute), maybe empty.
    """

    spec: str
    function: Callable[..., Any]
    models: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """The function's name (``__name__``, else the last part of the spec)."""
        name = getattr(self.function, "__name__", None)
        return name if isinstance(name, str) and re.match(MODEL_NAME_PATTERN, name) else self.spec.rsplit(".", 1)[-1].split(":")[-1]

    def offered_models(self, configured_model: str, model_configured: bool) -> tuple[str, list[str]]:
        """``(default model, the other models)`` to offer in the page and ``/api/models``.

        The declared ``models`` when there are any (the default: ``configured_model``
        if it is one of them and ``OPENAI_MODEL`` was set, else the first); otherwise
        one entry: ``configured_model`` when ``OPENAI_MODEL`` was set
        (``model_configured``), else the function's name.
        """
        if self.models:
            default = configured_model if model_configured and configured_model in self.models else self.models[0]
            return default, [name for name in self.models if name != default]
        return (configured_model if model_configured else self.name), []


def load_backend(spec: str) -> Backend:
    """Import ``package.module`` and look up ``function`` for ``spec``.

    The module must be importable: from the project directory (``python chat_app.py``
    and gunicorn put it on ``sys.path``), so ``examples.echo_backend:echo`` works, or
    from ``PYTHONPATH`` / an installed package.

    Raises:
        BackendLoadError: ``spec`` is not ``package.module:function``; the module
            does not import (any exception while importing it); the attribute is
            missing or not callable; ``models`` is set but not a list of model names.
    """
    spec = spec.strip()
    if not re.match(SPEC_PATTERN, spec):
        raise BackendLoadError("must be package.module:function, e.g. examples.echo_backend:echo")
    module_name, attribute = spec.split(":", 1)
    try:
        target: Any = importlib.import_module(module_name)
    except Exception as exc:  # noqa: BLE001 - any import failure stops start-up
        raise BackendLoadError(f"module {module_name!r} does not import ({type(exc).__name__}: {exc})") from None
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise BackendLoadError(f"{module_name!r} has no attribute {attribute!r}")
        target = getattr(target, part)
    if not callable(target):
        raise BackendLoadError(f"{spec} is not callable (it is a {type(target).__name__})")
    return Backend(spec=spec, function=target, models=_declared_models(target, spec))


def _declared_models(function: Any, spec: str) -> tuple[str, ...]:
    """The function's ``models`` attribute as a tuple of unique names (``()`` when unset).

    Raises:
        BackendLoadError: it is set to something other than a list/tuple of model names.
    """
    declared = getattr(function, "models", None)
    if declared is None:
        return ()
    if not isinstance(declared, (list, tuple)) or not all(
        isinstance(name, str) and 0 < len(name) <= MODEL_NAME_MAX and re.match(MODEL_NAME_PATTERN, name) for name in declared
    ):
        raise BackendLoadError(f"{spec}.models must be a list of model names (letters, digits, ._:/@+-)")
    return tuple(dict.fromkeys(declared))


# ------------------------------------------------------------------ worker threads
_pools: dict[str, tuple[int, Any]] = {}
_pools_lock = threading.Lock()


def _gevent_patched() -> bool:
    """True when gevent has monkey-patched ``threading`` (gunicorn's gevent worker)."""
    monkey = sys.modules.get("gevent.monkey")
    return monkey is not None and monkey.is_module_patched("threading")


def _pool(kind: str) -> Any:
    """The process's pool of ``kind`` (``"gevent"`` or ``"threads"``), made on first use
    in each process (a pool made before a fork has no threads in the child)."""
    with _pools_lock:
        entry = _pools.get(kind)
        if entry is None or entry[0] != os.getpid():
            if kind == "gevent":
                from gevent.threadpool import ThreadPool

                # its own pool, not the hub's: that one also resolves host names
                pool: Any = ThreadPool(BACKEND_THREADS)
            else:
                pool = concurrent.futures.ThreadPoolExecutor(BACKEND_THREADS, thread_name_prefix="chat-backend")
            entry = _pools[kind] = (os.getpid(), pool)
        return entry[1]


def run_in_worker_thread(function: Callable[..., Any], *args: Any) -> Any:
    """``function(*args)`` in a backend worker thread; waits for and returns its result
    (re-raises its exception). Under gevent only the calling greenlet waits."""
    if _gevent_patched():
        return _pool("gevent").apply(function, args)
    return _pool("threads").submit(function, *args).result()


# ------------------------------------------------------------------ the adapter
class BadValue(ValueError):
    """The backend yielded something that is neither text nor a known event dict;
    ``str(exc)`` describes it without echoing it."""


def _describe(value: object) -> str:
    """A short, value-free description of a yielded value, for error texts."""
    if isinstance(value, dict):
        kind = value.get("type")
        if kind is None:
            return "a dict without 'type'"
        return f"a dict with type {kind[:40]!r}" if isinstance(kind, str) else f"a dict with a {type(kind).__name__} type"
    return f"a value of type {type(value).__name__}"


def _count(value: object) -> bool:
    """A token count: an ``int`` (not ``bool``) ``>= 0``."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def to_event(value: object) -> StreamEvent | None:
    """The ``StreamEvent`` for one yielded value (``None`` for empty text).

    ``str`` and ``{"type": "delta", "content": str}`` → ``delta``;
    ``{"type": "reasoning", "content": str}`` → ``reasoning``;
    ``{"type": "usage", "prompt_tokens": int, "completion_tokens": int[, "total_tokens": int]}``
    → ``usage`` (with ``total_tokens``); ``{"type": "finish", "finish_reason": str}`` → ``finish``.

    Raises:
        BadValue: any other value, or a known type with missing or wrong fields.
    """
    if isinstance(value, str):
        return StreamEvent("delta", {"content": value}) if value else None
    if not isinstance(value, dict):
        raise BadValue(_describe(value))
    kind = value.get("type")
    if kind in ("delta", "reasoning"):
        content = value.get("content")
        if not isinstance(content, str):
            raise BadValue(f"a {kind} whose content is not a string")
        return StreamEvent(kind, {"content": content}) if content else None
    if kind == "usage":
        prompt, completion = value.get("prompt_tokens"), value.get("completion_tokens")
        if not (_count(prompt) and _count(completion)):
            raise BadValue("a usage without prompt_tokens and completion_tokens as whole numbers >= 0")
        total = value.get("total_tokens")
        if total is not None and not _count(total):
            raise BadValue("a usage whose total_tokens is not a whole number >= 0")
        return StreamEvent("usage", {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion if total is None else total})
    if kind == "finish":
        reason = value.get("finish_reason")
        if not isinstance(reason, str) or not 0 < len(reason) <= FINISH_REASON_MAX:
            raise BadValue(f"a finish whose finish_reason is not a string of 1-{FINISH_REASON_MAX} characters")
        return StreamEvent("finish", {"finish_reason": reason})
    raise BadValue(_describe(value))


class _Source:
    """One call of the backend, stepped from worker threads (one step at a time).

    ``step()`` and ``close()`` run in a worker thread and never raise.
    """

    def __init__(self, function: Callable[..., Any], messages: list[Message], settings: dict):
        self.function, self.messages, self.settings = function, messages, settings
        self.iterator: Any = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.started = False

    def _start(self) -> None:
        """Call the backend and keep its (async) iterator."""
        self.started = True
        result = self.function(self.messages, self.settings)
        if hasattr(result, "__anext__"):
            self.loop = asyncio.new_event_loop()
            self.iterator = result
        elif inspect.isawaitable(result):
            if hasattr(result, "close"):
                result.close()  # a coroutine never awaited: no RuntimeWarning
            raise BadValue("a coroutine (an async backend must yield: use an async generator)")
        elif isinstance(result, (str, bytes, dict)) or not hasattr(result, "__iter__"):
            raise BadValue(f"{_describe(result)} instead of a generator")
        else:
            self.iterator = iter(result)

    def step(self) -> tuple[str, object]:
        """``("item", value)``, ``("end", None)``, ``("bad", BadValue)`` or ``("error", exc)``."""
        try:
            if not self.started:
                self._start()
            if self.loop is not None:
                return "item", self.loop.run_until_complete(self.iterator.__anext__())
            return "item", next(self.iterator)
        except (StopIteration, StopAsyncIteration):
            return "end", None
        except BadValue as exc:
            return "bad", exc
        except Exception as exc:  # noqa: BLE001 - every backend failure becomes one event
            return "error", exc

    def close(self) -> None:
        """Close the backend's generator (its ``finally`` runs) and the reply's loop."""
        try:
            if self.loop is not None:
                try:
                    if hasattr(self.iterator, "aclose"):
                        self.loop.run_until_complete(self.iterator.aclose())
                    self.loop.run_until_complete(self.loop.shutdown_asyncgens())
                finally:
                    self.loop.close()
            elif self.iterator is not None and hasattr(self.iterator, "close"):
                self.iterator.close()
        except Exception:  # noqa: BLE001 - a failing cleanup must not hide the reply's end
            log.exception("chat backend raised while being closed")


def _backend_error(exc: Exception, locale: str | None) -> ChatError:
    """The error event for an exception raised by the backend (see the module docstring)."""
    if isinstance(exc, ChatError):
        return ChatError(
            status=exc.status if isinstance(exc.status, int) and 0 <= exc.status <= 999 else 502,
            code=str(exc.code)[:ERROR_CODE_MAX],
            message=str(exc.message)[:ERROR_MESSAGE_MAX],
            retry_after=exc.retry_after if isinstance(exc.retry_after, (int, float)) and exc.retry_after >= 0 else None,
        )
    return ChatError.make(502, "backend_error", locale, detail=type(exc).__name__)


def stream_backend(
    backend: Backend, messages: list[Message], settings: dict, *, locale: str | None = None
) -> Iterator[StreamEvent]:
    """Stream one reply of ``backend`` as ``StreamEvent`` objects, like ``stream_chat``.

    Args:
        backend: from ``load_backend``.
        messages: what the backend gets (copied first), the system prompt first.
        settings: ``{"model": str, ...sampling parameters that are set}`` (copied).
        locale: for error texts.

    Yields ``delta`` and ``reasoning`` events in order, then one ``finish`` and one
    ``usage`` (estimated when the backend reported none), or — instead of raising —
    one ``error`` (``backend_error``, ``backend_bad_value`` or the backend's own
    ``ChatError``) and stops. Closing this generator closes the backend's (see the
    module docstring, "Stop").
    """
    source = _Source(backend.function, [dict(m) for m in messages], dict(settings))
    finish: StreamEvent | None = None
    usage: StreamEvent | None = None
    produced: list[str] = []
    try:
        while True:
            kind, value = run_in_worker_thread(source.step)
            if kind == "end":
                break
            if kind == "error":
                assert isinstance(value, Exception)
                if not isinstance(value, ChatError):
                    log.error("chat backend %s raised %s", backend.spec, type(value).__name__, exc_info=value)
                yield StreamEvent("error", _backend_error(value, locale).to_dict())
                return
            bad = value if kind == "bad" else None
            if bad is None:
                try:
                    event = to_event(value)
                except BadValue as exc:
                    bad = exc
            if bad is not None:
                log.warning("chat backend %s yielded %s; the reply ends", backend.spec, bad)
                yield StreamEvent("error", ChatError.make(502, "backend_bad_value", locale, detail=str(bad)).to_dict())
                return
            if event is None:
                continue
            if event.name == "finish":
                finish = event
            elif event.name == "usage":
                usage = event
            else:
                produced.append(event.data["content"])
                yield event
        yield finish or StreamEvent("finish", {"finish_reason": "stop"})
        if usage is None:
            prompt = sum(message_tokens(m) for m in messages)
            completion = estimate_tokens("".join(produced))
            usage = StreamEvent("usage", {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion})
        yield usage
    finally:
        if source.started:
            try:
                run_in_worker_thread(source.close)
            except Exception:  # noqa: BLE001 - e.g. the pool is shutting down
                log.exception("chat backend %s could not be closed", backend.spec)
