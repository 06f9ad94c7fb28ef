"""The streaming endpoint: ``POST /api/chat/stream`` (a Flask blueprint).

Request body: ``chatcore.messages.ChatRequest`` as JSON.

Errors found before streaming starts (bad JSON, bad fields, size limits, no API
key, a user base URL the operator did not allow) get a JSON error response
``{"error": {"status", "code", "message", "retry_after"}}`` with that status.

Otherwise the response is ``text/event-stream`` (see ``chatcore.sse``) with events:

    meta    {"model", "trimmed", "context_window", "prompt_tokens_est"}
                                                   first, at once (flushes headers);
                                                   ``trimmed`` = history messages left
                                                   out to fit the context window
    delta   {"content": str}                       each content delta, in order
    reasoning {"content": str}                     the model's thinking, in order, never in
                                                   a delta (chatcore.reasoning: delta fields
                                                   or a leading <think> block; CHAT_BACKEND)
    finish  {"finish_reason": str[, "incomplete": true]}   from the upstream; incomplete =
                                                   the reply ended inside an unclosed <think>
    usage   {"prompt_tokens", "completion_tokens", "total_tokens"[, "reasoning_tokens"]}
    error   {"status", "code", "message", "retry_after"}   upstream failure
    done    {"finish_reason", "ttft_ms", "elapsed_ms"[, "ttft_reasoning_ms", "reasoning_ms"]}
                                                   last event when not aborted; ttft_ms is
                                                   the first delta, ttft_reasoning_ms the
                                                   first reasoning, reasoning_ms from it to
                                                   the first delta (or the end)

If the browser disconnects (Stop), the WSGI server closes the generator, which
closes the upstream response: no more tokens are generated for this request.

With ``CHAT_BACKEND`` (``chatcore.backend``, loaded by ``chat_app`` into
``app.config["CHAT_BACKEND"]``) the backend's generator is the event source instead
of the OpenAI call: no API key is needed, a user's key or base URL is ignored, and
Stop closes the backend's generator at its next yield.

Usage budgets (``chatcore.budgets``, with ``ACCESS_CODES``): a request of a signed-in
session is checked against its access-code label's budget before anything else is
done (429 ``budget_exceeded`` / 503 ``limits_unavailable``) and charged when the
response closes — reported usage, else the estimate of what was sent and received —
unless it is made with the user's own API key.
"""

from __future__ import annotations

import logging
import time

from flask import Blueprint, Response, current_app, jsonify, request
from pydantic import ValidationError

from .access import error_response, request_locale, session_label
from chatcore.budgets import EXTENSION as BUDGETS_EXTENSION
from chatcore.backend import stream_backend
from chatcore.client import MODEL_LISTS, ClientOptions, get_client, is_chat_model, list_models, stream_chat
from chatcore.errors import ChatError, map_exception
from chatcore.i18n import normalize_locale
from .limits import get_limits
from . import disconnect
from chatcore.context import message_tokens, trim_messages
from chatcore.messages import CONTINUE_INSTRUCTION, ChatRequest, Limits, describe_validation_error, prepare_messages
from chatcore.netguard import BlockedHost, NetGuard
from chatcore.reasoning import ReasoningClock, starts_in_reasoning
from chatcore.sse import HEADERS, encode_event

log = logging.getLogger("chatserver.stream")

bp = Blueprint("chat_api", __name__)


def _settings():
    """The app's ``config.Settings`` (stored on the Flask app by ``chat_app``)."""
    return current_app.config["CHAT_SETTINGS"]


def _backend():
    """The loaded ``chatcore.backend.Backend`` of ``CHAT_BACKEND``, or ``None``."""
    return current_app.config.get("CHAT_BACKEND")


def user_guard(settings) -> NetGuard:
    """The SSRF guard for user base URLs, allowing ``USER_BASE_URL_ALLOWLIST``."""
    return NetGuard.from_names(settings.user_base_url_allowlist)


def client_options(settings, base_url: str | None = None) -> ClientOptions:
    """Client options from settings; the proxy only in ``local`` mode.

    ``base_url`` is a *user's* base URL (``None`` = the operator's
    ``OPENAI_BASE_URL``); its client gets the ``user_guard`` (connect-time address
    check, no redirects).
    """
    return ClientOptions(
        base_url=base_url or settings.openai_base_url,
        proxy=settings.local_proxy if settings.use_local_proxy else None,
        timeout=settings.request_timeout,
        max_retries=settings.max_retries,
        guard=user_guard(settings) if base_url else None,
    )


def resolve_credentials(settings, req_key: str | None, req_base_url: str | None, locale: str) -> tuple[str, str | None]:
    """Choose ``(api_key, base_url)`` for a request.

    A user key is used when given and allowed. A user base URL is accepted only when
    the operator enabled it, and then only with the user's own key: the server key
    is never sent to a user-supplied URL. Its host must not be internal
    (``chatcore.netguard``; ``USER_BASE_URL_ALLOWLIST`` names exceptions).

    Raises:
        ChatError: 400 ``invalid_request``, ``base_url_blocked`` or
            ``base_url_unresolved``, or 503 ``no_api_key``.
    """
    user_key = (req_key or "").strip() or None
    base_url = (req_base_url or "").strip().rstrip("/") or None
    if user_key and not settings.allow_user_api_key:
        raise ChatError.make(400, "invalid_request", locale, detail="user API keys are disabled on this server")
    if base_url:
        if not settings.allow_user_base_url:
            raise ChatError.make(400, "invalid_request", locale, detail="a custom base URL is not allowed on this server")
        if not base_url.startswith(("http://", "https://")):
            raise ChatError.make(400, "invalid_request", locale, detail="base_url must start with http:// or https://")
        if not user_key:
            raise ChatError.make(400, "invalid_request", locale, detail="a custom base URL needs your own API key")
        try:
            user_guard(settings).check_url(base_url)
        except BlockedHost as exc:
            if exc.reason == "invalid":
                raise ChatError.make(400, "invalid_request", locale, detail="base_url is not a valid URL") from None
            code = "base_url_unresolved" if exc.reason == "unresolvable" else "base_url_blocked"
            log.info("user base URL refused (%s %s)", exc.reason, exc.category or "")
            raise ChatError.make(400, code, locale, host=exc.host[:100]) from None
        return user_key, base_url
    if user_key:
        return user_key, None
    if settings.has_server_key:
        return settings.openai_api_key.get_secret_value(), None
    raise ChatError.make(503, "no_api_key", locale)


def configured_secrets(settings) -> tuple[str, ...]:
    """Every key configured on this server (today the server's ``OPENAI_API_KEY``), to be
    redacted from upstream error text whichever key a request used."""
    return (settings.openai_api_key.get_secret_value(),) if settings.has_server_key else ()


def parse_request(locale: str) -> ChatRequest:
    """Parse and validate the JSON body.

    Raises:
        ChatError: 400 for non-JSON or non-object bodies, 422 for invalid fields or limits.
    """
    body = request.get_json(silent=True, force=True)
    if not isinstance(body, dict):
        raise ChatError.make(400, "invalid_request", locale, detail="the body must be a JSON object")
    settings = _settings()
    try:
        chat_request = ChatRequest.model_validate(body)
        chat_request.check_limits(Limits(max_message_chars=settings.max_message_chars, max_messages=settings.max_messages))
    except ValidationError as exc:
        raise ChatError.make(422, "invalid_request", locale, detail=describe_validation_error(exc)) from None
    except ValueError as exc:
        raise ChatError.make(422, "invalid_request", locale, detail=str(exc)) from None
    return chat_request


@bp.post("/api/chat/stream")
def chat_stream() -> Response:
    """Stream one assistant reply as SSE (see the module docstring)."""
    settings = _settings()
    backend = _backend()
    locale = request_locale()
    try:
        chat_request = parse_request(locale)
        if chat_request.locale:
            locale = normalize_locale(chat_request.locale)
        if backend is None:
            api_key, base_url = resolve_credentials(settings, chat_request.api_key, chat_request.base_url, locale)
    except ChatError as error:
        return error_response(error)

    model = chat_request.model or settings.openai_model
    context_window = settings.context_window(model)
    # the operator's SYSTEM_PROMPT first, the user's after it (SYSTEM_PROMPT_EDITABLE: replaced)
    upstream_messages = prepare_messages(
        settings.system_prompt, chat_request.system_prompt, chat_request.messages,
        editable=settings.system_prompt_editable,
    )
    trimmed = trim_messages(
        upstream_messages,
        context_window=context_window,
        reserve_tokens=chat_request.max_tokens or settings.context_reserve_tokens,
    )
    messages = trimmed.messages
    if chat_request.continue_reply:
        messages = messages + [{"role": "user", "content": CONTINUE_INSTRUCTION}]
    # Usage budget of the session's access-code label (chatcore.budgets), checked before
    # any upstream work; not for requests with the user's own key (theirs to pay).
    book = current_app.extensions.get(BUDGETS_EXTENSION)
    own_key = backend is None and bool((chat_request.api_key or "").strip())
    charge_label = None if book is None or own_key else session_label()
    if charge_label is not None:
        try:
            book.check(charge_label, locale)
        except ChatError as error:
            log.info("chat request refused for label %s (%s)", charge_label, error.code)
            return error_response(error)
    # Concurrent-stream limit (chatserver.limits), checked before any upstream work; the
    # slot is given back when the WSGI server closes the response, even if the
    # generator never started.
    limits = get_limits()
    slot = None
    if limits is not None:
        try:
            slot = limits.acquire_stream(locale)
        except ChatError as error:
            return error_response(error)
    if backend is not None:
        # the event source is the operator's generator (it runs in a worker thread)
        watch = None
        events = stream_backend(backend, messages, {"model": model, **chat_request.sampling_params()}, locale=locale)
    else:
        client = get_client(client_options(settings, base_url))
        # Stop while the upstream is silent: the server would notice only at the next
        # write, so a watcher closes the upstream as soon as the client socket closes.
        watch = disconnect.watcher.watch(request.environ)
        events = stream_chat(
            client, api_key=api_key, model=model, messages=messages, params=chat_request.sampling_params(), locale=locale,
            on_open=lambda response: disconnect.watcher.set_upstream(watch, response),
            redact_secrets=configured_secrets(settings),
            start_in_reasoning=starts_in_reasoning(model, settings.prefilled_think_models),
        )

    def generate():
        started = time.monotonic()
        ttft_ms = None
        thinking = ReasoningClock(started)  # ttft_reasoning_ms / reasoning_ms for done
        finish_reason = None
        outcome = "aborted"
        requested = False  # the event source was started (an upstream request was made)
        usage = None
        received: list[str] = []  # delta/reasoning text, for the estimate when no usage came
        refused_by_upstream = False
        try:
            yield encode_event(
                "meta",
                {
                    "model": model,
                    "trimmed": trimmed.dropped,
                    "context_window": context_window,
                    "prompt_tokens_est": trimmed.prompt_tokens,
                },
            )
            requested = True
            for event in events:
                thinking.see(event.name, time.monotonic())
                if event.name == "delta" and ttft_ms is None:
                    ttft_ms = round((time.monotonic() - started) * 1000, 1)
                elif event.name == "finish":
                    finish_reason = event.data["finish_reason"]
                elif event.name == "error":
                    outcome = f"error {event.data['status']} {event.data['code']}"
                    refused_by_upstream = not received  # an error before any text: nothing to bill
                elif event.name == "usage":
                    usage = event.data
                if event.name in ("delta", "reasoning"):
                    received.append(event.data["content"])
                yield encode_event(event.name, event.data)
            elapsed_ms = round((time.monotonic() - started) * 1000, 1)
            if not outcome.startswith("error"):
                outcome = f"ok {finish_reason}"
            yield encode_event(
                "done",
                {"finish_reason": finish_reason, "ttft_ms": ttft_ms, "elapsed_ms": elapsed_ms, **thinking.fields(time.monotonic())},
            )
        finally:
            disconnect.watcher.unwatch(watch)
            events.close()  # closes the upstream response or the backend's generator (Stop / disconnect)
            if watch is not None and watch.fired:
                outcome = "aborted (client gone while the upstream was silent)"
                refused_by_upstream = False  # that error was our own Stop, not the upstream's
            if charge_label is not None and requested and (usage is not None or not refused_by_upstream):
                # also on Stop / disconnect (this finally runs then): the estimate when no usage came
                book.charge_reply(charge_label, model, usage, sum(map(message_tokens, messages)), "".join(received))
            log.info(
                "chat stream model=%s messages=%d trimmed=%d outcome=%s ttft_ms=%s elapsed_ms=%.0f",
                model, len(messages), trimmed.dropped, outcome, ttft_ms, (time.monotonic() - started) * 1000,
            )

    response = Response(generate(), mimetype="text/event-stream", headers=HEADERS)
    response.call_on_close(lambda: disconnect.watcher.unwatch(watch))  # even if never iterated
    if slot is not None:
        response.call_on_close(slot.release)
    return response


def upstream_models(settings) -> list[str] | None:
    """The chat models of the operator's endpoint (``GET /models`` with the server
    key), cached ``MODEL_LISTS.ttl`` seconds per base URL and key; ``None`` when the
    list failed (logged once per failed fetch, without the key) or there is no key."""
    if not settings.has_server_key:
        return None
    api_key = settings.openai_api_key.get_secret_value()

    def fetch() -> list[str] | None:
        try:
            names = list_models(get_client(client_options(settings)), api_key)
        except Exception as exc:  # noqa: BLE001 - the list is optional
            code = map_exception(exc).code if not isinstance(exc, ValueError) else "bad_shape"
            log.warning("models list unavailable (%s); offering the configured models", code)
            return None
        return [name for name in names if is_chat_model(name)]

    return MODEL_LISTS.get(settings.openai_base_url, api_key, fetch)


@bp.get("/api/models")
def models() -> Response:
    """``{"models": [str], "default": str}``: the configured models (``OPENAI_MODEL``,
    ``OPENAI_MODELS``), then the endpoint's chat models (``upstream_models``).

    Limited per client address (``MODELS_RATE_LIMIT``): 429 ``models_rate_limited``
    with ``Retry-After``.
    """
    settings = _settings()
    limits = get_limits()
    if limits is not None:
        try:
            limits.check_models_rate(request_locale())
        except ChatError as error:
            return error_response(error)
    names = list(settings.models)
    # with CHAT_BACKEND, settings.models are the backend's (chat_app.configure_backend)
    for name in (upstream_models(settings) if _backend() is None else None) or ():
        if name not in names:
            names.append(name)
    return jsonify({"models": names, "default": settings.openai_model})


@bp.get("/healthz")
def healthz() -> Response:
    """Liveness: ``{"status": "ok"}``; reveals nothing about configuration."""
    return jsonify({"status": "ok"})
