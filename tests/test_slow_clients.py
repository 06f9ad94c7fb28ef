"""Slow request bodies (chatserver.slow_clients): 408 after REQUEST_BODY_TIMEOUT without
progress, the connection closed after it, at most MAX_BODY_READS_PER_ADDRESS bodies
being read per address, and /healthz answering throughout.

The load tests run the real `gunicorn chat_app:server` with the default
gunicorn.conf.py (one gevent worker, worker_connections 2000) on 127.0.0.1; every
client socket is closed by the end of each test, which stops by itself within
REQUEST_BODY_TIMEOUT plus a few seconds.
"""

from __future__ import annotations

import json
import selectors
import socket
import sys
import threading
import time
from dataclasses import dataclass, field

import pytest

from chatserver.slow_clients import BodyDeadline, BodyTimeout, read_body
from tests.conftest import NO_LIMITS, AppProcess, app_env, free_port, make_settings

BODY_TIMEOUT = 2.0  # REQUEST_BODY_TIMEOUT of the gunicorn tests (default 10 s)
SLACK = 2.5  # seconds on top of it: a busy, shared 2-core machine
ACCESS = {"ACCESS_CODES": "let-me-in-7f3a", "SECRET_KEY": "s" * 32, "LOGIN_RATE_LIMIT": ""}


# --- a stalled upload, many at once, and a /healthz poller ---------------------------

@dataclass
class Upload:
    """One client that sends headers with a large Content-Length and a few bytes, then stalls."""

    sock: socket.socket
    request: bytes
    t_sent: float | None = None
    t_first: float | None = None  # first response byte
    t_closed: float | None = None  # EOF (or reset) from the server
    data: bytes = b""
    sent: int = 0

    @property
    def status(self) -> int | None:
        """The response status, or None when nothing came back."""
        if not self.data.startswith(b"HTTP/1.1 "):
            return None
        return int(self.data[9:12])

    @property
    def head(self) -> str:
        return self.data.split(b"\r\n\r\n", 1)[0].decode("latin-1").lower()

    @property
    def t_done(self) -> float | None:
        """When the server answered or closed, whichever came first."""
        times = [t for t in (self.t_first, self.t_closed) if t is not None]
        return min(times) if times else None


def stalled_request(path: str, content_length: int = 100_000, start: bytes = b"code=ab") -> bytes:
    """A form POST announcing ``content_length`` bytes but carrying only ``start``."""
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {content_length}\r\n\r\n"
    ).encode() + start


def run_uploads(port: int, n: int, path: str, stop_after: float, rate: float | None = None) -> list[Upload]:
    """Open ``n`` stalled uploads to ``path`` (one thread, non-blocking sockets), all at
    once or ``rate`` per second, and watch them until every one was answered and
    closed, or ``stop_after`` seconds after the last one was opened."""
    selector = selectors.DefaultSelector()
    uploads: list[Upload] = []
    started = time.monotonic()
    deadline = None
    open_count = 0
    try:
        while True:
            now = time.monotonic()
            due = n if rate is None else min(n, int((now - started) * rate) + 1)
            while len(uploads) < due:
                sock = socket.socket()
                sock.setblocking(False)
                sock.connect_ex(("127.0.0.1", port))
                upload = Upload(sock, stalled_request(path))
                uploads.append(upload)
                selector.register(sock, selectors.EVENT_WRITE, upload)
                open_count += 1
            if deadline is None and len(uploads) == n:
                deadline = now + stop_after
            if deadline is not None and (not open_count or now > deadline):
                break
            for key, events in selector.select(timeout=0.01):
                upload = key.data
                now = time.monotonic()
                if events & selectors.EVENT_WRITE:
                    try:
                        upload.sent += upload.sock.send(upload.request[upload.sent:])
                    except (BlockingIOError, InterruptedError):
                        continue
                    except OSError:
                        upload.t_closed = now
                        selector.unregister(upload.sock)
                        open_count -= 1
                        continue
                    if upload.sent == len(upload.request):
                        upload.t_sent = now
                        selector.modify(upload.sock, selectors.EVENT_READ, upload)
                    continue
                try:
                    chunk = upload.sock.recv(65536)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    chunk = b""
                if chunk:
                    upload.t_first = upload.t_first or now
                    upload.data += chunk
                else:
                    upload.t_closed = now
                    selector.unregister(upload.sock)
                    open_count -= 1
    finally:
        for upload in uploads:
            upload.sock.close()
        selector.close()
    return uploads


@dataclass
class HealthPoller:
    """GET /healthz on a new connection every ``interval`` s; records each latency (s)."""

    port: int
    interval: float = 0.1
    timeout: float = 5.0
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _once(self) -> float:
        started = time.monotonic()
        with socket.create_connection(("127.0.0.1", self.port), timeout=self.timeout) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            data = b""
            while b'"ok"' not in data:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
        if b" 200 " not in data.split(b"\r\n", 1)[0] or b'"ok"' not in data:
            raise RuntimeError(data[:200])
        return time.monotonic() - started

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.latencies.append(self._once())
            except Exception as exc:  # noqa: BLE001 - a timeout is a finding, not a crash
                self.failures.append(repr(exc))
                self.latencies.append(float("inf"))
            self._stop.wait(self.interval)

    def __enter__(self) -> "HealthPoller":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(self.timeout + 1)


def start_gunicorn(upstream, **extra: str) -> AppProcess:
    """`gunicorn chat_app:server` with the default gunicorn.conf.py on a free loopback port."""
    port = free_port()
    env = app_env(upstream, GUNICORN_BIND=f"127.0.0.1:{port}", REQUEST_BODY_TIMEOUT=str(BODY_TIMEOUT), **NO_LIMITS)
    env.update(extra)
    return AppProcess(env, [sys.executable, "-m", "gunicorn", "chat_app:server"], port)


def summary(uploads: list[Upload], poller: HealthPoller) -> str:
    answered = [u.t_done - u.t_sent for u in uploads if u.t_done is not None and u.t_sent is not None]
    statuses: dict = {}
    for upload in uploads:
        statuses[upload.status] = statuses.get(upload.status, 0) + 1
    return (
        f"{len(uploads)} uploads: statuses {statuses}; answered/closed after "
        f"min {min(answered, default=float('nan')):.2f} s, max {max(answered, default=float('nan')):.2f} s; "
        f"/healthz {len(poller.latencies)} polls, max {max(poller.latencies, default=float('nan')) * 1000:.0f} ms"
    )


# --- gunicorn, default gunicorn.conf.py -----------------------------------------------

@pytest.mark.slow
def test_300_stalled_uploads_get_408_and_healthz_keeps_answering(upstream):
    """300 stalled POST /login bodies: each gets 408 + Connection: close within the deadline,
    then the connection is closed; /healthz answers in < 1 s all along.

    Before chatserver.slow_clients nothing answered them: they held their greenlets for
    as long as the client kept the connection open.
    """
    app = start_gunicorn(upstream, MAX_BODY_READS_PER_ADDRESS="0", **ACCESS)  # every upload reaches the deadline
    try:
        with HealthPoller(app.port) as poller:
            time.sleep(0.3)
            uploads = run_uploads(app.port, 300, "/login", stop_after=BODY_TIMEOUT + SLACK + 1)
        log = app.log()
    finally:
        app.stop()
    print("\n" + summary(uploads, poller))
    assert all(u.t_sent is not None for u in uploads)
    late = [u for u in uploads if u.t_done is None or u.t_done - u.t_sent > BODY_TIMEOUT + SLACK]
    assert not late, f"{len(late)} of 300 not answered within {BODY_TIMEOUT + SLACK} s; {summary(uploads, poller)}"
    for upload in uploads:
        assert upload.status == 408, upload.data[:300]
        assert "connection: close" in upload.head, upload.head
        assert upload.t_closed is not None  # the server closed the connection after the 408
        # a deadline on silence, not an early cut
        assert upload.t_done - upload.t_sent >= BODY_TIMEOUT - 0.1
    assert not poller.failures, poller.failures[:3]
    assert len(poller.latencies) >= 10
    assert max(poller.latencies) < 1.0, poller.latencies
    assert '"POST /login HTTP/1.1" 408' in log


@pytest.mark.slow
def test_2100_stalled_uploads_from_one_address_are_shed(upstream):
    """The issue's case: 2,100 stalled uploads from one address against the default
    config (worker_connections 2000, MAX_BODY_READS_PER_ADDRESS 20): 20 at a time wait
    for their 408, the others get 429 at once; /healthz answers in < 1 s throughout.

    Before, the first 2,000 held every greenlet of the worker and /healthz timed out.
    The uploads open at 300 a second (7 s), so that the test measures connection slots,
    not how fast a shared machine's kernel queue takes a burst of 2,100 SYNs.
    """
    app = start_gunicorn(upstream, **ACCESS)
    try:
        with HealthPoller(app.port, timeout=3.0) as poller:
            time.sleep(0.3)
            uploads = run_uploads(app.port, 2100, "/login", stop_after=BODY_TIMEOUT + SLACK + 1, rate=300)
    finally:
        app.stop()
    print("\n" + summary(uploads, poller))
    late = [u for u in uploads if u.t_done is None or u.t_sent is None or u.t_done - u.t_sent > BODY_TIMEOUT + SLACK]
    assert not late, f"{len(late)} of 2100 not answered within {BODY_TIMEOUT + SLACK} s; {summary(uploads, poller)}"
    statuses = [u.status for u in uploads]
    assert set(statuses) <= {408, 429}, set(statuses)
    # at most 20 read at once: a new round of 20 per deadline, over the ~7 s of opening
    assert statuses.count(408) <= 20 * (7 / BODY_TIMEOUT + 2), statuses.count(408)
    refused = next(u for u in uploads if u.status == 429)
    assert "retry-after: 2" in refused.head and "connection: close" in refused.head
    assert json.loads(refused.data.split(b"\r\n\r\n", 1)[1])["error"]["code"] == "too_many_uploads"
    assert not poller.failures, poller.failures[:3]
    assert max(poller.latencies) < 1.0, poller.latencies


@pytest.mark.slow
def test_gthread_worker_answers_408_too(upstream):
    """The same deadline under GUNICORN_WORKER_CLASS=gthread (plain sockets, one thread each)."""
    app = start_gunicorn(upstream, GUNICORN_WORKER_CLASS="gthread", GUNICORN_THREADS="16",
                         MAX_BODY_READS_PER_ADDRESS="0", **ACCESS)
    try:
        uploads = run_uploads(app.port, 12, "/login", stop_after=BODY_TIMEOUT + SLACK + 1)
    finally:
        app.stop()
    for upload in uploads:
        assert upload.status == 408 and "connection: close" in upload.head, upload.data[:300]
        assert upload.t_closed is not None
        assert BODY_TIMEOUT - 0.1 <= upload.t_done - upload.t_sent <= BODY_TIMEOUT + SLACK


# --- the app under werkzeug's server (python chat_app.py) -----------------------------

@pytest.fixture
def werkzeug_app(fresh_upstream):
    """The app (REQUEST_BODY_TIMEOUT 0.5 s) under werkzeug's threaded server, in this process."""
    from werkzeug.serving import make_server

    from chat_app import create_app

    app = create_app(make_settings(fresh_upstream, request_body_timeout=0.5, chat_rate_limit_session="",
                                   chat_rate_limit_address=""))
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port
    server.shutdown()
    thread.join(5)


def _exchange(port: int, head: bytes, pieces: list[bytes], gap: float, timeout: float = 5.0) -> tuple[bytes, float, bool]:
    """Send ``head``, then ``pieces`` ``gap`` s apart; returns (response, seconds, closed by server)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head)
        started = time.monotonic()
        for piece in pieces:
            time.sleep(gap)
            sock.sendall(piece)
        data = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                return data, time.monotonic() - started, False
            if not chunk:
                return data, time.monotonic() - started, True
            data += chunk


def test_stalled_stream_request_gets_json_408_and_close(werkzeug_app):
    """A chat request whose body stops arriving: 408 ``request_timeout`` (JSON) after the
    deadline, ``Connection: close``, and the server closes the connection."""
    head = (b"POST /api/chat/stream HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Accept-Language: zh-CN\r\nContent-Length: 1000\r\n\r\n{\"messages\": [")
    data, seconds, closed = _exchange(werkzeug_app, head, [], 0)
    status_line, _, rest = data.partition(b"\r\n")
    headers, _, body = rest.partition(b"\r\n\r\n")
    assert status_line.startswith(b"HTTP/1.1 408"), data[:300]
    assert b"connection: close" in headers.lower()
    assert closed and 0.4 <= seconds < 3
    error = json.loads(body)["error"]
    assert (error["status"], error["code"]) == (408, "request_timeout")
    assert "秒" in error["message"]  # localized


def test_slow_but_moving_body_is_not_cut(werkzeug_app):
    """The deadline is on silence: one byte every 0.2 s for 2 s (> 0.5 s deadline) is read to the end."""
    pieces = [b" "] * 10 + [b"]"]
    head = (b"POST /api/chat/stream HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Connection: close\r\nContent-Length: %d\r\n\r\n[" % (1 + len(pieces)))
    data, seconds, _ = _exchange(werkzeug_app, head, pieces, 0.2)
    assert seconds >= 2.0
    assert data.startswith(b"HTTP/1.1 400"), data[:300]  # read whole: "the body must be a JSON object"
    assert b"must be a JSON object" in data


# --- the mechanism, without a server ------------------------------------------------------

class SocketBody:
    """Like gunicorn's Body over a socket: ``read(size)`` recv()s until it has ``size`` bytes or EOF."""

    def __init__(self, sock: socket.socket):
        self.sock = sock

    def read(self, size: int = -1) -> bytes:
        data = b""
        while len(data) < size:
            chunk = self.sock.recv(size - len(data))
            if not chunk:
                break
            data += chunk
        return data


def test_read_body_times_out_on_silence_only_and_restores_the_socket():
    """read_body: a body that keeps moving is read whole even past the deadline; silence
    for ``timeout`` raises BodyTimeout; the socket's own timeout is restored either way."""
    server, client = socket.socketpair()
    try:
        def trickle():
            for byte in b"0123456789":
                time.sleep(0.1)
                client.sendall(bytes([byte]))

        sender = threading.Thread(target=trickle)
        started = time.monotonic()
        sender.start()
        assert read_body(SocketBody(server), server, 0.3, 10, 100) == b"0123456789"
        sender.join()
        assert time.monotonic() - started >= 0.9  # three times the deadline, never silent for 0.3 s
        assert server.gettimeout() is None

        client.sendall(b"de")
        started = time.monotonic()
        with pytest.raises(BodyTimeout):
            read_body(SocketBody(server), server, 0.3, 10, 100)  # 2 of 10 bytes, then silence
        assert 0.25 <= time.monotonic() - started < 2
        assert server.gettimeout() is None  # restored for the response
    finally:
        server.close()
        client.close()


class GunicornResponse:
    """What gunicorn's start_response is bound to: records the call and ``force_close()``."""

    def __init__(self):
        self.closed = False
        self.status = None
        self.headers: dict = {}

    def force_close(self):
        self.closed = True

    def start_response(self, status, headers, exc_info=None):
        self.status, self.headers = status, dict(headers)
        return lambda data: None


def _environ(address: str, body: bytes = b"x" * 10, sock=None) -> dict:
    import io

    environ = {"REMOTE_ADDR": address, "CONTENT_LENGTH": str(len(body)), "PATH_INFO": "/login",
               "REQUEST_METHOD": "POST", "wsgi.input": io.BytesIO(body)}
    if sock is not None:
        environ["gunicorn.socket"] = sock
    return environ


def test_body_deadline_caps_bodies_per_address_and_closes_refused_connections():
    """While one body of an address is being read, a second one from it is refused at once
    (429, Retry-After, Connection: close, gunicorn's force_close); other addresses and
    requests without a body pass; the app gets complete bodies; the slot is free afterwards."""
    got: list[bytes] = []

    def app(environ, start_response):
        got.append(environ["wsgi.input"].read())
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    middleware = BodyDeadline(app, timeout=10, max_reads_per_address=1)
    calls: dict = {}

    class Stream:  # the first request's wsgi.input: other requests arrive while it is read
        def __init__(self):
            self.sent = False

        def read(self, size):
            if self.sent:
                return b""
            self.sent = True
            assert middleware.reading("10.0.0.1") == 1
            calls["refused"] = GunicornResponse()
            calls["refused_body"] = b"".join(middleware(_environ("10.0.0.1"), calls["refused"].start_response))
            calls["other"] = GunicornResponse()
            middleware(_environ("10.0.0.2", b"other"), calls["other"].start_response)
            calls["no_body"] = GunicornResponse()
            middleware(_environ("10.0.0.1", b""), calls["no_body"].start_response)
            return b"first"

    first = GunicornResponse()
    environ = {**_environ("10.0.0.1", b"first"), "wsgi.input": Stream()}
    assert b"".join(middleware(environ, first.start_response)) == b"ok"
    refused = calls["refused"]
    assert refused.status == "429 Too Many Requests" and refused.closed
    assert refused.headers["Retry-After"] == "10" and refused.headers["Connection"] == "close"
    assert json.loads(calls["refused_body"])["error"]["code"] == "too_many_uploads"
    assert calls["other"].status == calls["no_body"].status == first.status == "200 OK"
    assert not (first.closed or calls["other"].closed or calls["no_body"].closed)
    assert got == [b"other", b"", b"first"]
    assert middleware.reading("10.0.0.1") == middleware.reading("10.0.0.2") == 0


def test_body_deadline_answers_408_closes_and_shuts_the_read_side():
    """A stalled body: 408 ``request_timeout`` (localized) without calling the app,
    force_close(), and the socket's read side shut when the server closes the response."""
    server, client = socket.socketpair()
    try:
        client.sendall(b"ab")  # of 10 announced bytes
        environ = {**_environ("10.0.0.1", sock=server), "wsgi.input": SocketBody(server),
                   "HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9"}
        middleware = BodyDeadline(lambda e, s: pytest.fail("the app must not run"), timeout=0.2)
        response = GunicornResponse()
        body = middleware(environ, response.start_response)
        assert response.status == "408 Request Timeout" and response.closed
        assert response.headers["Connection"] == "close"
        error = json.loads(b"".join(body))["error"]
        assert (error["status"], error["code"]) == (408, "request_timeout") and "秒" in error["message"]
        body.close()  # what the WSGI server does after writing it
        assert server.recv(10) == b""  # read side shut: a lingering close returns at once
        assert middleware.reading("10.0.0.1") == 0
    finally:
        server.close()
        client.close()


def test_settings_default():
    """REQUEST_BODY_TIMEOUT defaults to 10 s; MAX_BODY_READS_PER_ADDRESS to 20."""
    settings = make_settings()
    assert settings.request_body_timeout == 10.0
    assert settings.max_body_reads_per_address == 20
