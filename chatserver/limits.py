"""Chat request rate limits and concurrent-stream limits, shared across workers.

Counters live in flask-limiter's storage (the ``limits`` library underneath):
``memory://`` by default (one process), Redis by ``RATELIMIT_STORAGE_URI`` so that
several gunicorn workers and instances share them (see DESIGN.md "State").

Two kinds of limit, each per browser session and per client address:

* request rate (``CHAT_RATE_LIMIT_SESSION`` / ``CHAT_RATE_LIMIT_ADDRESS``, strings in
  flask-limiter syntax such as ``"20 per minute"``; moving window);
* concurrent replies (``MAX_STREAMS_PER_SESSION`` / ``MAX_STREAMS_PER_ADDRESS``): a
  counter incremented when a stream starts and decremented when the WSGI server
  closes the response (normal end, error or client disconnect). A counter that a
  killed worker never decremented expires after ``SLOT_EXPIRY`` seconds.

``GET /api/models`` has its own rate per client address (``MODELS_RATE_LIMIT``).

Refusals are ``ChatError`` 429 with ``retry_after`` (the route turns them into JSON
with a ``Retry-After`` header, RFC 9110 §10.2.3).
"""

from __future__ import annotations

import math
import threading
import time

from flask import Flask, current_app, request, session
from flask_limiter import Limiter
from limits import RateLimitItem, parse_many

from chatcore.errors import ChatError

EXTENSION = "chat_limits"
SLOT_EXPIRY = 3600  # seconds a leaked concurrency counter lives at most
STREAM_RETRY_AFTER = 5  # seconds suggested to wait when all stream slots are taken


def client_address() -> str:
    """The client's IP address: ``request.remote_addr`` (already corrected by ProxyFix
    when ``TRUSTED_PROXIES`` > 0; X-Forwarded-For is never read otherwise)."""
    return request.remote_addr or "unknown"


def session_id() -> str | None:
    """The browser session's random id (set by ``chatserver.access``), or ``None`` when
    the app has no ``SECRET_KEY`` and so no sessions."""
    if not current_app.secret_key:
        return None
    value = session.get("sid")
    return value if isinstance(value, str) else None


class StreamSlot:
    """Held concurrency slots of one streamed reply; ``release()`` is idempotent."""

    def __init__(self, storage, keys: list[str]):
        self._storage = storage
        self._keys = keys
        self._lock = threading.Lock()
        self._released = False

    def release(self) -> None:
        """Give the slots back (called when the response is closed)."""
        with self._lock:
            if self._released:
                return
            self._released = True
        for key in self._keys:
            try:
                self._storage.incr(key, SLOT_EXPIRY, amount=-1)
            except Exception:  # noqa: BLE001 - the counter then expires on its own
                pass


class ChatLimits:
    """Rate and concurrency limits of the chat endpoint, backed by a flask-limiter storage.

    Attributes:
        limiter: the app's ``flask_limiter.Limiter`` (also used for login limits).
    """

    def __init__(self, server: Flask, settings) -> None:
        self.limiter = Limiter(
            key_func=client_address,
            app=server,
            storage_uri=settings.ratelimit_storage_uri,
            strategy="moving-window",
            default_limits=[],
            headers_enabled=False,
            key_prefix="chat",
        )
        self.session_rates: list[RateLimitItem] = parse_many(settings.chat_rate_limit_session) if settings.chat_rate_limit_session else []
        self.address_rates: list[RateLimitItem] = parse_many(settings.chat_rate_limit_address) if settings.chat_rate_limit_address else []
        self.max_session_streams = settings.max_streams_per_session
        self.models_rates: list[RateLimitItem] = parse_many(settings.models_rate_limit) if settings.models_rate_limit else []
        self.max_address_streams = settings.max_streams_per_address
        server.extensions[EXTENSION] = self

    @property
    def storage(self):
        """The ``limits`` storage shared by every limit of this app."""
        return self.limiter.storage

    def _scopes(self) -> list[tuple[str, str | None, list[RateLimitItem], int]]:
        """``(scope, identity, rate items, max streams)`` for session and address."""
        return [
            ("session", session_id(), self.session_rates, self.max_session_streams),
            ("address", client_address(), self.address_rates, self.max_address_streams),
        ]

    def check_rate(self, locale: str) -> None:
        """Count one chat request against the session and address rates.

        Raises:
            ChatError: 429 ``too_many_requests`` with ``retry_after`` seconds when any
                rate is exhausted.
        """
        strategy = self.limiter.limiter
        checks = [
            (item, scope, ident)
            for scope, ident, items, _ in self._scopes()
            if ident is not None
            for item in items
        ]
        # hit() is atomic in the storage (a Lua script on Redis), so concurrent
        # requests on several workers cannot all pass a test-then-hit race. A request
        # refused by a later scope has still been counted in the earlier ones.
        for item, scope, ident in checks:
            if not strategy.hit(item, "chat", scope, ident):
                stats = strategy.get_window_stats(item, "chat", scope, ident)
                wait = max(1, math.ceil(stats.reset_time - time.time()))
                raise ChatError.make(429, "too_many_requests", locale, retry_after=wait, seconds=wait)

    def check_models_rate(self, locale: str) -> None:
        """Count one ``GET /api/models`` against ``MODELS_RATE_LIMIT`` for the client address.

        Raises:
            ChatError: 429 ``models_rate_limited`` with ``retry_after`` seconds.
        """
        strategy = self.limiter.limiter
        address = client_address()
        for item in self.models_rates:
            if not strategy.hit(item, "models", "address", address):
                stats = strategy.get_window_stats(item, "models", "address", address)
                wait = max(1, math.ceil(stats.reset_time - time.time()))
                raise ChatError.make(429, "models_rate_limited", locale, retry_after=wait, seconds=wait)

    def acquire_stream(self, locale: str) -> StreamSlot:
        """Take one concurrent-stream slot for the session and the address.

        Returns a ``StreamSlot`` to release when the response closes.

        Raises:
            ChatError: 429 ``too_many_streams`` when a maximum is reached.
        """
        taken: list[str] = []
        for scope, ident, _, maximum in self._scopes():
            if ident is None or maximum <= 0:
                continue
            key = f"chat/streams/{scope}/{ident}"
            count = self.storage.incr(key, SLOT_EXPIRY, amount=1)
            taken.append(key)
            if count > maximum:
                StreamSlot(self.storage, taken).release()
                raise ChatError.make(429, "too_many_streams", locale, retry_after=STREAM_RETRY_AFTER, limit=maximum)
        return StreamSlot(self.storage, taken)


def get_limits() -> ChatLimits | None:
    """The current app's ``ChatLimits`` (``None`` when not installed)."""
    return current_app.extensions.get(EXTENSION)
