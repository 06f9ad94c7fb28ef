"""Close the upstream request soon after the browser goes away, even while the upstream is silent.

A WSGI server learns that a client disconnected only when it next writes to it. While
the upstream sends nothing (a slow first token, a reasoning model thinking, a stalled
stream) nothing is written, so after Stop the upstream request would stay open, and
keep generating billed tokens, until the next token or the read timeout.

``DisconnectWatcher`` keeps ONE daemon thread per process (a greenlet under gunicorn's
gevent worker, which patches ``threading``) that every ``interval`` seconds peeks at
the client socket of each open stream (``recv(MSG_PEEK | MSG_DONTWAIT)``: ``b""`` means
the peer closed, per POSIX recv(2)). When a client is gone it shuts down that stream's
upstream socket (``shutdown(SHUT_RDWR)``), which wakes the read blocked on it at once;
the openai SDK then raises, the stream generator ends, and the upstream sees the
connection close. Both sockets are handled through their file descriptors with the
C-level ``_socket`` type, so the peek never blocks and works the same for plain,
TLS and gevent sockets.

The same pass also serves retry waits (``DisconnectWatcher.wait``, used by
``chatcore.client.stream_chat`` between attempts): a client that leaves while the
server waits out a backoff or a ``Retry-After`` ends the wait at once, and no new
upstream request is made.

The client socket comes from the WSGI environ: ``gunicorn.socket`` (gunicorn, all
worker classes) or ``werkzeug.socket`` (``python chat_app.py``). Without one (another
server) nothing is watched and behaviour is as before.
"""

from __future__ import annotations

import _socket
import logging
import socket
import threading
import time
from dataclasses import dataclass, field

log = logging.getLogger("chatserver.disconnect")

ENVIRON_SOCKET_KEYS = ("gunicorn.socket", "werkzeug.socket")


@dataclass(eq=False)
class Watch:
    """One open stream: the client's socket fd and, once known, the upstream response."""

    client_fd: int
    response: object | None = None  # httpx2.Response of the upstream stream
    upstream_fd: int | None = None
    fired: bool = False  # the client was found gone and the upstream was shut down
    waiting: bool = False  # in a retry wait (``DisconnectWatcher.wait``): no upstream open
    gone: threading.Event = field(default_factory=threading.Event)  # the client was found gone


def _peer_closed(fd: int) -> bool:
    """True when the peer of socket ``fd`` has closed (EOF or reset); never blocks."""
    sock = _socket.socket(fileno=fd)
    try:
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except (BlockingIOError, InterruptedError):
        return False
    except OSError:
        return True
    finally:
        sock.detach()


def _shutdown(fd: int) -> None:
    """``shutdown(SHUT_RDWR)`` on socket ``fd``: blocked reads return at once, the peer sees FIN."""
    sock = _socket.socket(fileno=fd)
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    finally:
        sock.detach()


def _upstream_fd(response: object) -> int | None:
    """The socket fd under an httpx2 response (httpcore's ``network_stream`` extension)."""
    try:
        stream = response.extensions["network_stream"]  # type: ignore[attr-defined]
        sock = stream.get_extra_info("socket")
        return sock.fileno() if sock is not None else None
    except (AttributeError, KeyError, OSError, TypeError):
        return None


class DisconnectWatcher:
    """Watches the client sockets of open streams; see the module docstring.

    ``interval`` (seconds) bounds the extra delay between a disconnect and the
    upstream close. All methods are thread-safe.
    """

    def __init__(self, interval: float = 0.1) -> None:
        self.interval = interval
        self._lock = threading.Lock()
        self._watches: set[Watch] = set()
        self._thread: threading.Thread | None = None

    def watch(self, environ: dict) -> Watch | None:
        """Start watching the client of this request; ``None`` when the server gives no socket."""
        sock = next((environ[key] for key in ENVIRON_SOCKET_KEYS if environ.get(key) is not None), None)
        try:
            fd = sock.fileno() if sock is not None else -1
        except OSError:
            fd = -1
        if fd < 0:
            return None
        watch = Watch(fd)
        with self._lock:
            self._watches.add(watch)
            self._ensure_thread()
        return watch

    def _ensure_thread(self) -> None:
        """Start the watcher thread if it is not running (call with the lock held)."""
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="disconnect-watcher", daemon=True)
            self._thread.start()

    def set_upstream(self, watch: Watch | None, response: object) -> None:
        """Record the upstream response (an ``httpx2.Response``) of a watched stream."""
        if watch is None:
            return
        fd = _upstream_fd(response)
        with self._lock:
            watch.response, watch.upstream_fd = response, fd

    def unwatch(self, watch: Watch | None) -> None:
        """Stop watching (call before the stream's sockets are closed or reused)."""
        if watch is None:
            return
        with self._lock:
            self._watches.discard(watch)

    def wait(self, watch: Watch | None, seconds: float) -> bool:
        """Wait ``seconds`` (a retry's backoff, ``chatcore.client.RetryPolicy``) unless the
        client goes away first; ``True`` when the wait ran out with the client still
        there, ``False`` when it is gone (then make no new upstream request).

        While waiting, the watcher peeks at the client socket every ``interval``
        seconds, so Stop during a 30 s Retry-After ends the stream within about
        ``interval``. Without a watch (no client socket known) this is ``time.sleep``.
        """
        if watch is None:
            if seconds > 0:
                time.sleep(seconds)
            return True
        if watch.fired or watch.gone.is_set():
            return False
        with self._lock:
            watch.waiting = True
            self._watches.add(watch)
            self._ensure_thread()
        try:
            return not watch.gone.wait(seconds) if seconds > 0 else True
        finally:
            watch.waiting = False

    def check(self) -> int:
        """One pass over the open streams; returns how many upstreams were shut down
        (clients found gone during a retry wait are flagged too, not counted)."""
        fired = 0
        with self._lock:
            for watch in list(self._watches):
                if watch.waiting:  # no upstream open (the last one is closed): only flag the client
                    if not watch.gone.is_set() and _peer_closed(watch.client_fd):
                        watch.gone.set()
                    continue
                if watch.upstream_fd is None or watch.fired:
                    continue
                if getattr(watch.response, "is_closed", False):
                    continue  # finished: its connection may already be back in the pool
                if _peer_closed(watch.client_fd):
                    watch.fired = True
                    watch.gone.set()
                    _shutdown(watch.upstream_fd)
                    fired += 1
        return fired

    def _run(self) -> None:
        """The watcher loop: check every ``interval`` seconds while streams are open."""
        while True:
            time.sleep(self.interval)
            try:
                if self.check():
                    log.info("client gone while the upstream was silent: upstream request closed")
            except Exception:  # noqa: BLE001 - the watcher must not die
                log.exception("disconnect watcher pass failed")
            with self._lock:
                if not self._watches:
                    self._thread = None
                    return


watcher = DisconnectWatcher()
