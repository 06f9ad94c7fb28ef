"""Slow request bodies: read every body under a deadline (408) and cap them per address.

A gunicorn worker holds a bounded number of connections: the gevent worker one
greenlet per connection up to ``worker_connections`` (2,000 here), the gthread worker
``threads`` requests at a time. What gunicorn 27 bounds by itself (from its source):

* request headers: the gevent worker parses them inside ``gevent.Timeout(keepalive)``
  (``gunicorn/workers/base_async.py``, 5 s here) and then closes the connection; the
  gthread worker waits at most 5 s for a first byte before it gives a connection a
  thread (``DEFAULT_WORKER_DATA_TIMEOUT`` in ``gunicorn/workers/gthread.py``), but
  then reads the rest of the headers on that thread without a deadline (not handled
  here: the app only runs once the headers are in; nginx's ``client_header_timeout``
  bounds it, and gevent is the default worker);
* a body the app left unread: drained before the next request within the keepalive
  timeout (gevent) or 5 s and 64 KiB (gthread), else the connection is closed.

Nothing bounds a body the app *reads*: ``Content-Length: 100000``, a few bytes, then
silence holds its greenlet or thread for as long as the client likes, and 2,000 of
them leave the worker unable to accept anything else, ``/healthz`` included.

``BodyDeadline``, a WSGI middleware (``install``; ``chat_app.create_app`` puts it
inside ``ProxyFix`` so that it sees the real client address), reads the whole body
of every request that has one *before* the app runs, and hands the app a complete,
in-memory ``wsgi.input``:

* While it reads, the client socket (``gunicorn.socket`` / ``werkzeug.socket``) has a
  timeout of ``REQUEST_BODY_TIMEOUT`` seconds (the old timeout is restored after), so
  every ``recv`` must bring at least one byte within the deadline: a slow but moving
  upload goes through, a silent one gets ``408 Request Timeout`` (RFC 9110 §15.5.9)
  with a JSON error ``request_timeout``. One mechanism for both worker classes:
  gevent's cooperative sockets honour ``settimeout`` (the greenlet waits in the hub,
  nothing blocks) and gthread's are plain sockets. (A ``gevent.Timeout`` around a
  whole read would bound the duration of an upload rather than its silence, and only
  under gevent.) Answering here, not in Flask, keeps a 408 as cheap as the refusal
  below (under 0.1 ms, against ~3 ms for a request through Flask), which matters when
  thousands of deadlines expire together.
* The connection is closed after the 408 ("the server has decided to close the
  connection rather than continue waiting", RFC 9110 §15.5.9): ``force_close()`` on
  gunicorn's response object (``start_response`` is its bound method) makes gunicorn
  send ``Connection: close`` and close; other servers get a ``Connection: close``
  header (werkzeug's development server honours it). The read side is shut down
  once the response is written, so gthread's lingering close (``util.close_graceful``,
  up to 2 s on its main thread per connection) returns at once for a stalled client.
* At most ``MAX_BODY_READS_PER_ADDRESS`` requests of one client address may be
  sending their bodies at once. A further one is answered at once, before its body
  is read: ``429`` with ``Retry-After`` (RFC 6585 §4, RFC 9110 §10.2.3) and a JSON
  error ``too_many_uploads``, and its connection is closed. A normal body comes with
  its headers and is read in microseconds, so only stalled uploads pile up under the
  cap; one address then cannot take every connection slot of the worker while
  ``/healthz`` and everyone else wait in the listen queue
  (``tests/test_slow_clients.py``: 2,100 stalled uploads from one address).

Requests without a body pass through untouched. A body announced larger than
``MAX_BODY_BYTES`` (or its route's own limit: ``MAX_CHAT_BODY_BYTES`` for the chat stream
and the Markdown import, ``ATTACHMENT_MAX_BYTES`` and the form framing for the
extraction) is not read: the app answers its 413 at once (gunicorn drains the
rest within its keepalive timeout, as above). Every body the app sees is complete, so
app code never waits on a client; a client that closes mid-body leaves the app a short
body, as before. A server without a socket in the environ (Flask's test client) gets
the buffering and the cap but no deadline. Behind nginx, ``client_body_timeout``,
request buffering and ``limit_conn`` do the same one hop earlier (``deploy/nginx/``).
"""

from __future__ import annotations

import io
import json
import math
import socket
import threading
from http import HTTPStatus
from http.cookies import CookieError, SimpleCookie
from typing import Callable, Iterable

from .disconnect import ENVIRON_SOCKET_KEYS
from chatcore.errors import ChatError
from chatcore.i18n import LOCALE_COOKIE, resolve_locale

READ_SIZE = 64 * 1024  # bytes asked of wsgi.input per read


class BodyTimeout(Exception):
    """No byte of the request body arrived for ``timeout`` seconds (then 408)."""


def body_length(environ: dict) -> int | None:
    """The announced body size in bytes: ``Content-Length``, or ``None`` for a chunked
    body (``Transfer-Encoding: chunked``); 0 when the request has no body."""
    if "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        return None
    try:
        return max(0, int(environ.get("CONTENT_LENGTH") or 0))
    except ValueError:
        return 0


def is_http2(environ: dict) -> bool:
    """True for an HTTP/2 request (gunicorn sets ``HTTP_VERSION`` ``"2"``): its one
    connection carries every stream, so it is neither timed out nor closed here."""
    return environ.get("HTTP_VERSION") == "2" or str(environ.get("SERVER_PROTOCOL", "")).startswith("HTTP/2")


def client_socket(environ: dict) -> socket.socket | None:
    """The client's socket from the WSGI environ (``gunicorn.socket``, ``werkzeug.socket``),
    or ``None`` (also for HTTP/2, see ``is_http2``)."""
    if is_http2(environ):
        return None
    sock = next((environ[key] for key in ENVIRON_SOCKET_KEYS if environ.get(key) is not None), None)
    return sock if hasattr(sock, "settimeout") and hasattr(sock, "gettimeout") else None


def read_body(stream, sock: socket.socket | None, timeout: float, length: int | None, limit: int) -> bytes:
    """Read a request body from ``stream`` (``wsgi.input``), each ``recv`` bounded by ``timeout``.

    Args:
        stream: the server's ``wsgi.input``.
        sock: the client socket that ``stream`` reads from; its timeout is set to
            ``timeout`` seconds during the reads and restored afterwards. ``None``:
            reads are not bounded.
        timeout: seconds a single ``recv`` may wait for a byte (no progress).
        length: bytes announced (``Content-Length``), or ``None`` for a chunked
            body, read to its end or to ``limit + 1`` bytes (the app then sees more
            than its limit and answers 413).
        limit: the most bytes to read when ``length`` is ``None``.

    Returns:
        The body; shorter than ``length`` when the client closed early.

    Raises:
        BodyTimeout: ``timeout`` seconds passed without a byte.
    """
    want = length if length is not None else limit + 1
    parts: list[bytes] = []
    got = 0
    previous = None
    if sock is not None:
        try:
            previous = sock.gettimeout()
            sock.settimeout(timeout)
        except OSError:  # already closed: the read reports it
            sock = None
    try:
        while got < want:
            data = stream.read(min(READ_SIZE, want - got))
            if not data:
                break
            parts.append(data)
            got += len(data)
    except (TimeoutError, socket.timeout):
        raise BodyTimeout() from None
    finally:
        if sock is not None:
            try:
                sock.settimeout(previous)
            except OSError:
                pass
    return b"".join(parts)


def _locale(environ: dict) -> str:
    """The request's locale by the app's one rule (``chatcore.i18n.resolve_locale``),
    read from the WSGI environ (no Flask request here): cookie, then Accept-Language."""
    cookie = SimpleCookie()
    try:
        cookie.load(environ.get("HTTP_COOKIE", ""))
    except CookieError:
        pass
    chosen = cookie.get(LOCALE_COOKIE)
    return resolve_locale(chosen.value if chosen else None, environ.get("HTTP_ACCEPT_LANGUAGE"))


def _force_close(start_response: Callable) -> None:
    """Make gunicorn close the connection after this response.

    gunicorn passes its ``Response.start_response`` bound method; ``force_close()``
    (gunicorn/http/wsgi.py) makes it send ``Connection: close`` and close, which a
    ``Connection`` header from the app cannot (gunicorn drops hop-by-hop headers).
    """
    force_close = getattr(getattr(start_response, "__self__", None), "force_close", None)
    if callable(force_close):
        force_close()


class _ThenShutRead:
    """A response body that shuts down the client socket's read side when the server
    closes it (after the last byte is written): the peer stalled, and a lingering close
    would otherwise wait for it."""

    def __init__(self, chunks: list[bytes], sock: socket.socket | None):
        self._chunks = chunks
        self._sock = sock

    def __iter__(self):
        return iter(self._chunks)

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.shutdown(socket.SHUT_RD)
            except OSError:
                pass


class BodyDeadline:
    """WSGI middleware: every request body read under ``timeout`` before the app runs,
    at most ``max_reads_per_address`` bodies of one address at once (0 = no cap).

    Args:
        app: the WSGI app to wrap.
        timeout: ``REQUEST_BODY_TIMEOUT`` in seconds.
        max_reads_per_address: ``MAX_BODY_READS_PER_ADDRESS``; 0 turns the cap off.
        max_body_bytes: ``MAX_BODY_BYTES``: larger announced bodies are left unread
            (the app answers 413).
        route_limits: ``{path: bytes}`` of the routes with a body limit of their own
            (``install``: the chat stream's ``MAX_CHAT_BODY_BYTES``, the extraction's
            ``ATTACHMENT_MAX_BYTES`` and its form framing), used instead of
            ``max_body_bytes`` for a request to that path (``PATH_INFO``).
    """

    def __init__(self, app: Callable, timeout: float, max_reads_per_address: int = 0,
                 max_body_bytes: int = 2_000_000, route_limits: dict[str, int] | None = None) -> None:
        self.app = app
        self.timeout = timeout
        self.max_reads_per_address = max_reads_per_address
        self.max_body_bytes = max_body_bytes
        self.route_limits = dict(route_limits or {})
        self._reading: dict[str, int] = {}
        self._lock = threading.Lock()  # gthread: requests run in parallel (gevent patches it)

    def limit_for(self, environ: dict) -> int:
        """The body limit (bytes) of this request's route."""
        return self.route_limits.get(environ.get("PATH_INFO") or "", self.max_body_bytes)

    def reading(self, address: str) -> int:
        """How many bodies of ``address`` are being read right now."""
        with self._lock:
            return self._reading.get(address, 0)

    def _enter(self, address: str) -> bool:
        """Take a body slot of ``address``; False when it has ``max_reads_per_address`` already."""
        with self._lock:
            count = self._reading.get(address, 0)
            if self.max_reads_per_address and count >= self.max_reads_per_address:
                return False
            self._reading[address] = count + 1
            return True

    def _leave(self, address: str) -> None:
        with self._lock:
            count = self._reading.get(address, 0) - 1
            if count > 0:
                self._reading[address] = count
            else:
                self._reading.pop(address, None)

    def _error(self, environ: dict, start_response: Callable, error: ChatError, sock) -> Iterable[bytes]:
        """A JSON error ``{"error": {...}}`` that closes the connection."""
        payload = json.dumps({"error": error.to_dict()}, ensure_ascii=False).encode()
        headers = [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(payload))),
            ("X-Content-Type-Options", "nosniff"),
            ("Cache-Control", "no-store"),
        ]
        if error.retry_after is not None:
            headers.append(("Retry-After", str(math.ceil(error.retry_after))))
        if not is_http2(environ):  # end this connection (never a shared HTTP/2 one)
            headers.append(("Connection", "close"))
            _force_close(start_response)
        start_response(f"{error.status} {HTTPStatus(error.status).phrase}", headers)
        return _ThenShutRead([payload], sock)

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        """The WSGI call: pass a body-less request through; else refuse it (429), read
        its body under the deadline (408 on silence), and call the app with it."""
        length = body_length(environ)
        if length == 0:
            return self.app(environ, start_response)
        limit = self.limit_for(environ)
        if length is not None and length > limit:
            # The app answers 413 without reading; gunicorn then drains the body within
            # its keepalive timeout (5 s), so an honest client still sees the 413.
            return self.app(environ, start_response)
        seconds = max(1, math.ceil(self.timeout))
        sock = client_socket(environ)
        address = environ.get("REMOTE_ADDR") or "unknown"
        if not self._enter(address):
            error = ChatError.make(429, "too_many_uploads", _locale(environ), retry_after=seconds, seconds=seconds)
            return self._error(environ, start_response, error, sock)
        try:
            body = read_body(environ["wsgi.input"], sock, self.timeout, length, limit)
        except BodyTimeout:
            error = ChatError.make(408, "request_timeout", _locale(environ), seconds=seconds)
            return self._error(environ, start_response, error, sock)
        finally:
            self._leave(address)
        environ["wsgi.input"] = io.BytesIO(body)  # complete: the app never waits on the client
        return self.app(environ, start_response)


def install(server, settings) -> BodyDeadline:
    """Wrap ``server.wsgi_app`` (a Flask app) in ``BodyDeadline`` with ``settings``'
    ``REQUEST_BODY_TIMEOUT``, ``MAX_BODY_READS_PER_ADDRESS`` and ``MAX_BODY_BYTES``
    (``MAX_CHAT_BODY_BYTES`` for the chat stream and the Markdown import, whose exports
    embed images; the extraction route's own limit for ``POST /api/attachments/extract``).

    Call it before ``chatserver.access.install``, whose ``ProxyFix`` must wrap this
    middleware so that the cap counts the real client address (``TRUSTED_PROXIES``).
    """
    from .access import STREAM_PATH
    from .attachments_api import EXTRACT_PATH, body_limit
    from .export_api import IMPORT_PATH, import_limit

    routes = {STREAM_PATH: settings.max_chat_body_bytes, EXTRACT_PATH: body_limit(settings),
              IMPORT_PATH: import_limit(settings)}
    middleware = BodyDeadline(server.wsgi_app, settings.request_body_timeout,
                              settings.max_body_reads_per_address, settings.max_body_bytes, routes)
    server.wsgi_app = middleware  # type: ignore[method-assign]
    return middleware
