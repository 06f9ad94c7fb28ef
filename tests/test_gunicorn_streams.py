"""`gunicorn chat_app:server` (with the repo's gunicorn.conf.py) streams many replies at once.

The upstream answers slowly (10 deltas, 100 ms apart); with 2 and then 20
conversations started together, every stream's first delta must arrive before any
stream finishes — a worker that served one request at a time would fail this.
Also: closing a client connection closes its upstream request under gunicorn too.
"""

from __future__ import annotations

import http.client
import json
import sys
import threading
import time

import pytest

from chatcore.sse import parse_events
from tests.conftest import NO_LIMITS, TEST_KEY, AppProcess, app_env, free_port
from tests.upstream import Reply

pytestmark = pytest.mark.slow

# the per-session/address limits are not what these tests measure


@pytest.fixture(scope="module", params=["default", "gthread"])
def gunicorn_app(request, upstream):
    """gunicorn with gunicorn.conf.py (its default worker class, then gthread)."""
    port = free_port()
    # loopback only: the tests must not listen on every interface
    env = app_env(upstream, GUNICORN_BIND=f"127.0.0.1:{port}", **NO_LIMITS)
    if request.param != "default":
        env["GUNICORN_WORKER_CLASS"] = request.param
    app = AppProcess(env, command=[sys.executable, "-m", "gunicorn", "chat_app:server"], port=port)
    yield app
    log = app.log()
    app.stop()
    assert TEST_KEY not in log
    assert "Traceback" not in log, log[-3000:]


class Stream(threading.Thread):
    """One streamed chat request; records when its first delta and its end arrived."""

    def __init__(self, port: int, content: str, start: threading.Event):
        super().__init__(daemon=True)
        self.port, self.content, self.start_event = port, content, start
        self.first_delta_at: float | None = None
        self.done_at: float | None = None
        self.events: list[tuple[str, dict]] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.start_event.wait(10)
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            body = json.dumps({"messages": [{"role": "user", "content": self.content}]})
            conn.request("POST", "/api/chat/stream", body=body, headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            assert response.status == 200, response.read()[:300]
            raw = b""
            while True:
                line = response.readline()
                if not line:
                    break
                raw += line
                if self.first_delta_at is None and line.startswith(b"event: delta"):
                    self.first_delta_at = time.monotonic()
            self.done_at = time.monotonic()
            self.events = parse_events(raw)
            conn.close()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc


@pytest.mark.parametrize("count", [2, 20])
def test_concurrent_streams(gunicorn_app, fresh_upstream, count):
    fresh_upstream.script(*(Reply(content="0123456789", chunk_size=1, chunk_delay=0.1) for _ in range(count)))
    start = threading.Event()
    streams = [Stream(gunicorn_app.port, f"conversation {i}", start) for i in range(count)]
    for stream in streams:
        stream.start()
    start.set()
    for stream in streams:
        stream.join(30)
    for stream in streams:
        assert stream.error is None, repr(stream.error)
        deltas = "".join(d["content"] for n, d in stream.events if n == "delta")
        assert deltas == "0123456789"
        assert stream.events[-1][0] == "done" and stream.events[-1][1]["finish_reason"] == "stop"
    last_first_delta = max(s.first_delta_at for s in streams)
    first_done = min(s.done_at for s in streams)
    assert last_first_delta < first_done, "some stream started only after another had finished"
    assert fresh_upstream.max_open_streams == count
    assert sorted(r["body"]["messages"][0]["content"] for r in fresh_upstream.requests) == sorted(
        f"conversation {i}" for i in range(count)
    )


@pytest.mark.parametrize(
    "reply,wait_for",
    [
        (Reply(content="z" * 100, chunk_size=1, chunk_delay=0.1), b"event: delta"),
        (Reply(fault="hang_before_first_token"), b"event: meta"),
    ],
    ids=["mid-stream", "before-first-token"],
)
def test_client_disconnect_closes_upstream(gunicorn_app, fresh_upstream, reply, wait_for):
    """Closing the client connection closes the upstream request within 1 s (REQUEST_TIMEOUT is 5 s)."""
    from tests.test_stream_api import close_mid_stream

    fresh_upstream.script(reply)
    assert close_mid_stream(gunicorn_app.port, fresh_upstream, wait_for) < 1.0
