"""The streaming endpoint: ``POST /api/chat/stream`` (a Flask blueprint).

Request body: ``chatcore.messages.ChatRequest`` as JSON, at most
``MAX_CHAT_BODY_BYTES`` (this route's own limit: images travel in it as data URLs).

Errors found before streaming starts (bad JSON, bad fields, size limits, no API
key, a user base URL the operator did not allow) get a JSON error response
``{"error": {"status", "code", "message", "retry_after"}}`` with that status.

Otherwise the response is ``text/event-stream`` (see ``chatcore.sse``) with events:

    meta    {"model", "trimmed", "context_window", "prompt_tokens_est"[, "notices"]}
                                                   first, at once (flushes headers);
                                                   ``trimmed`` = history messages left
                                                   out to fit the context window;
                                                   ``notices`` = [{"code": "document_cut",
                                                   "name", "sent_tokens", "tokens"} |
                                                   {"code": "images_left_out", "count"}]
    delta   {"content": str}                       each content delta, in order
    reasoning {"content": str}                     the model's thinking, in order, never in
                                                   a delta (chatcore.reasoning: delta fields
                                                   or a leading <think> block; CHAT_BACKEND)
    finish  {"finish_reason": str[, "incomplete": true]}   from the upstream; incomplete =
                                                   the reply ended inside an unclosed <think>
    usage   {"prompt_tokens", "completion_tokens", "total_tokens"[, "reasoning_tokens"]}
    retry   {"attempt", "max_retries", "wait_s", "status", "code", "message"}
                                                   an attempt failed before anything of the
                                                   reply was sent and is retried after
                                                   wait_s seconds (chatcore.client.RetryPolicy);
                                                   the page shows "Retrying in N s…" until
                                                   the next event
    error   {"status", "code", "message", "retry_after"}   upstream failure (after the
                                                   retries; after a partial reply: the reply
                                                   is incomplete); retry_after = seconds the
                                                   upstream asked to wait (Retry button)
    done    {"finish_reason", "ttft_ms", "elapsed_ms"[, "ttft_reasoning_ms", "reasoning_ms"]}
                                                   last event when not aborted; ttft_ms is
                                                   the first delta, ttft_reasoning_ms the
                                                   first reasoning, reasoning_ms from it to
                                                   the first delta (or the end)

If the browser disconnects (Stop), the WSGI server closes the generator, which
closes the upstream response: no more tokens are generated for this request (during
a retry wait, ``chatserver.disconnect`` ends the wait and no new request is made).

The events parsed from one read of the upstream response are sent in one write
(coalescing: what arrived while the previous write was going out goes out together,
and nothing waits for more).

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
from urllib.parse import urlsplit, urlunsplit

from flask import Blueprint, Response, current_app, jsonify, request
from pydantic import ValidationError
from werkzeug.exceptions import RequestEntityTooLarge

from .access import error_response, request_locale, session_label
from chatcore.budgets import EXTENSION as BUDGETS_EXTENSION
from chatcore.backend import stream_backend
from chatcore.client import (
    MODEL_LISTS, ClientOptions, RetryPolicy, get_client, is_chat_model, list_models, stream_chat_batches,
)
from chatcore.errors import ChatError, map_exception
from chatcore.i18n import normalize_locale, text
from .limits import get_limits
from . import disconnect
from chatcore.context import estimate_tokens, message_tokens, prepare_upstream
from chatcore.messages import ChatRequest, ImageTooLarge, Limits, describe_validation_error
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


def client_options(settings, base_url: str | None = None, connection_url: str | None = None) -> ClientOptions:
    """Client options from settings; the proxy only in ``local`` mode.

    ``base_url`` is a *user's* base URL (``None`` = the operator's
    ``OPENAI_BASE_URL``); its client gets the ``user_guard`` (connect-time address
    check, no redirects). ``connection_url``: an operator's ``CONNECTIONS`` entry (no guard).
    """
    return ClientOptions(
        base_url=base_url or connection_url or settings.openai_base_url,
        proxy=settings.local_proxy if settings.use_local_proxy else None,
        timeout=settings.request_timeout,
        max_retries=settings.max_retries,
        guard=user_guard(settings) if base_url else None,
    )


def proxy_error(error: dict, proxy: str, locale: str) -> dict:
    """A connection error in ``local`` mode names the proxy it went through
    (``LOCAL_PROXY``, with any ``user:password@`` left out): code ``proxy_connection``."""
    parts = urlsplit(proxy)
    shown = urlunsplit((parts.scheme, parts.hostname + (f":{parts.port}" if parts.port else ""), parts.path, "", "")) if parts.hostname else "?"
    return {**error, "code": "proxy_connection", "message": text("proxy_connection", locale, proxy=shown)}


def registry():
    """The ``chatcore.connections.ConnectionRegistry`` of this app (chat_app.create_app)."""
    return current_app.config["CHAT_CONNECTIONS"]


def resolve_credentials(settings, req_key: str | None, req_base_url: str | None, locale: str, route=None) -> tuple[str, str | None]:
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
    # the route's own connection key (CONNECTIONS), else OPENAI_API_KEY or a local
    # server's placeholder: a key always goes with the URL of its own connection
    server_key = route.api_key if route is not None else settings.upstream_api_key
    if server_key is not None:
        return server_key.get_secret_value(), None
    raise ChatError.make(503, "no_api_key", locale)


def configured_secrets(settings) -> tuple[str, ...]:
    """Every key configured on this server (today the server's ``OPENAI_API_KEY``), to be
    redacted from upstream error text whichever key a request used."""
    return registry().secrets()


def parse_request(locale: str) -> ChatRequest:
    """Parse and validate the JSON body, within this route's own body limit
    ``MAX_CHAT_BODY_BYTES`` (the conversation with its images; every other route has
    ``MAX_BODY_BYTES``: Flask's ``MAX_CONTENT_LENGTH``, set per request here).

    Raises:
        ChatError: 413 ``payload_too_large`` above ``MAX_CHAT_BODY_BYTES`` (announced:
            before the body is read; chunked: once it passes the limit), 413
            ``image_too_large`` for an image over ``IMAGE_MAX_BYTES``, 400 for non-JSON
            or non-object bodies, 422 for invalid fields or limits.
    """
    settings = _settings()
    limit = settings.max_chat_body_bytes
    request.max_content_length = limit
    if request.content_length is not None and request.content_length > limit:
        raise ChatError.make(413, "payload_too_large", locale, limit=limit)
    try:
        request.get_data(cache=True)
    except RequestEntityTooLarge:
        raise ChatError.make(413, "payload_too_large", locale, limit=limit) from None
    body = request.get_json(silent=True, force=True)
    if not isinstance(body, dict):
        raise ChatError.make(400, "invalid_request", locale, detail="the body must be a JSON object")
    try:
        chat_request = ChatRequest.model_validate(body)
        chat_request.check_limits(Limits(max_message_chars=settings.max_message_chars, max_messages=settings.max_messages,
                                         image_max_bytes=settings.image_max_bytes))
    except ValidationError as exc:
        raise ChatError.make(422, "invalid_request", locale, detail=describe_validation_error(exc)) from None
    except ImageTooLarge as exc:
        raise ChatError.make(413, "image_too_large", locale, size=exc.size, limit=exc.limit) from None
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
        route = None
        base_url = None  # a user's own base URL
        if backend is None:
            # the connection of the requested model id ("connection/model"; CONNECTIONS)
            route = registry().resolve(chat_request.model)
            api_key, base_url = resolve_credentials(settings, chat_request.api_key, chat_request.base_url, locale, route)
    except ChatError as error:
        return error_response(error)

    # system prompts, images for this model, documents, trimming to the context window,
    # continue (chatcore.context): a model that does not accept images is refused here,
    # before any upstream work
    try:
        if route is not None and not base_url and not registry().single:
            upstream = prepare_upstream(chat_request, settings, model=route.model,
                                        context_window=registry().model_info(route).context_window,
                                        model_id=route.model_id, locale=locale)
            connection_url = route.base_url
        else:
            upstream = prepare_upstream(chat_request, settings, locale=locale)
            connection_url = None
    except ChatError as error:
        return error_response(error)
    model, context_window, trimmed, messages = upstream.model, upstream.context_window, upstream.trim, upstream.messages
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
        events = _one_by_one(
            stream_backend(backend, messages, {"model": model, **chat_request.sampling_params()}, locale=locale)
        )
    else:
        client = get_client(client_options(settings, base_url, connection_url))
        # Stop while the upstream is silent: the server would notice only at the next
        # write, so a watcher closes the upstream as soon as the client socket closes
        # (and ends a retry wait: no new upstream request after Stop).
        watch = disconnect.watcher.watch(request.environ)
        events = stream_chat_batches(
            client, api_key=api_key, model=model, messages=messages, params=chat_request.sampling_params(), locale=locale,
            on_open=lambda response: disconnect.watcher.set_upstream(watch, response),
            redact_secrets=configured_secrets(settings),
            start_in_reasoning=starts_in_reasoning(model, settings.prefilled_think_models),
            retry=RetryPolicy(max_retries=settings.max_retries),
            pause=lambda seconds: disconnect.watcher.wait(watch, seconds),
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
        retries = 0  # automatic retries (retry events) before the reply started
        try:
            yield encode_event(
                "meta",
                {
                    "model": route.model_id if connection_url else model,  # the id the page stores
                    "trimmed": trimmed.dropped,
                    "context_window": context_window,
                    "prompt_tokens_est": trimmed.prompt_tokens,
                    # a removed connection's model id: the default answers (the page says so)
                    **({"fallback": route.requested} if route is not None and route.fallback else {}),
                    # documents cut to fit the context window, images left out (chatcore.context)
                    **({"notices": upstream.notices} if upstream.notices else {}),
                },
            )
            requested = True
            for batch in events:
                # the events of one upstream read (what had arrived when the socket was
                # free again) go out in one write
                now = time.monotonic()
                frames = []
                for event in batch:
                    name, data = event.name, event.data
                    if name == "delta" or name == "reasoning":
                        received.append(data["content"])
                        thinking.see(name, now)
                        if name == "delta" and ttft_ms is None:
                            ttft_ms = round((now - started) * 1000, 1)
                    elif name == "finish":
                        finish_reason = data["finish_reason"]
                    elif name == "error":
                        if data.get("code") == "connection" and settings.use_local_proxy and not base_url:
                            data = proxy_error(data, settings.local_proxy, locale)
                        outcome = f"error {data['status']} {data['code']}"
                        refused_by_upstream = not received  # an error before any text: nothing to bill
                    elif name == "usage":
                        usage = data
                    elif name == "retry":
                        retries += 1
                    frames.append(encode_event(name, data))
                yield frames[0] if len(frames) == 1 else b"".join(frames)
            elapsed_ms = round((time.monotonic() - started) * 1000, 1)
            if not outcome.startswith("error"):
                outcome = f"ok {finish_reason}"
                if usage is None and received:
                    # the upstream reported no usage: the app's one estimator, marked as such
                    prompt_est = sum(map(message_tokens, messages))
                    completion_est = estimate_tokens("".join(received))
                    yield encode_event("usage", {"prompt_tokens": prompt_est, "completion_tokens": completion_est,
                                                 "total_tokens": prompt_est + completion_est, "estimated": True})
            yield encode_event(
                "done",
                {"finish_reason": finish_reason, "ttft_ms": ttft_ms, "elapsed_ms": elapsed_ms, **thinking.fields(time.monotonic())},
            )
        finally:
            disconnect.watcher.unwatch(watch)
            events.close()  # closes the upstream response or the backend's generator (Stop / disconnect)
            if watch is not None and (watch.fired or watch.gone.is_set()):
                outcome = "aborted (client gone while the upstream was silent or a retry waited)"
                refused_by_upstream = False  # that error was our own Stop, not the upstream's
            if charge_label is not None and requested and (usage is not None or not refused_by_upstream):
                # also on Stop / disconnect (this finally runs then): the estimate when no usage came
                book.charge_reply(charge_label, model, usage, sum(map(message_tokens, messages)), "".join(received))
            log.info(
                "chat stream model=%s messages=%d trimmed=%d outcome=%s retries=%d ttft_ms=%s elapsed_ms=%.0f",
                model, len(messages), trimmed.dropped, outcome, retries, ttft_ms, (time.monotonic() - started) * 1000,
            )

    response = Response(generate(), mimetype="text/event-stream", headers=HEADERS)
    response.call_on_close(lambda: disconnect.watcher.unwatch(watch))  # even if never iterated
    if slot is not None:
        response.call_on_close(slot.release)
    return response


def _one_by_one(events):
    """A single-event source (``chatcore.backend``) as one-event batches; closing this
    closes ``events``."""
    try:
        for event in events:
            yield [event]
    finally:
        events.close()


def upstream_models(settings, connection=None) -> list[str] | None:
    """The chat models of the operator's endpoint (``GET /models`` with the server
    key), cached ``MODEL_LISTS.ttl`` seconds per base URL and key; ``None`` when the
    list failed (logged once per failed fetch, without the key) or there is no key."""
    server_key = connection.api_key if connection is not None else settings.upstream_api_key  # a placeholder for a local server
    if server_key is None:
        return None
    api_key = server_key.get_secret_value()
    base_url = connection.base_url if connection is not None else settings.openai_base_url

    def fetch() -> list[str] | None:
        try:
            names = list_models(get_client(client_options(settings, connection_url=base_url)), api_key)
        except Exception as exc:  # noqa: BLE001 - the list is optional
            code = map_exception(exc).code if not isinstance(exc, ValueError) else "bad_shape"
            log.warning("models list unavailable (%s); offering the configured models", code)
            return None
        return [name for name in names if is_chat_model(name)]

    return MODEL_LISTS.get(base_url, api_key, fetch)


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
    if _backend() is None and not registry().single:
        # CONNECTIONS: every connection's models, grouped; one that is down keeps its configured ones
        groups = registry().grouped_models({c.name: upstream_models(settings, c) for c in registry().connections})
        ids = [entry["id"] for group in groups for entry in group["models"]]
        return jsonify({"models": ids, "default": registry().default_model_id, "groups": groups})
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
