"""The retry policy (chatcore.client.RetryPolicy, README "Retries") over HTTP.

A real ``python chat_app.py`` process (MAX_RETRIES=2, REQUEST_TIMEOUT=1) against the
test upstream (tests/upstream.py), which scripts each attempt: HTTP 429/503 with
``Retry-After`` / ``retry-after-ms``, a stream truncated without ``finish_reason``,
a connection dropped after the headers, malformed chunks, mid-stream error objects,
a stall. Waits are measured on the upstream's side with ``time.monotonic()`` (the
upstream runs in this process): from the end of a failed response to the next request.

Before anything of the reply is sent, a retryable failure is retried (a ``retry``
event first, then the wait); after content nothing is retried: the partial reply is
kept and one ``error`` ends it.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import socket
import time

import pytest

from chatcore.client import RetryPolicy
from chatcore.errors import parse_retry_after
from chatcore.schema import EVENT_SCHEMAS, PAGE_MODELS
from chatcore.sse import parse_events
from tests.conftest import NO_LIMITS, TEST_KEY, AppProcess, app_env
from tests.upstream import Reply

MAX_RETRIES = 2
TEXT = "Hello after the storm"


@pytest.fixture(scope="module")
def app(upstream):
    """`python chat_app.py` with MAX_RETRIES=2 and a 1 s upstream timeout."""
    process = AppProcess(app_env(upstream, MAX_RETRIES=str(MAX_RETRIES), REQUEST_TIMEOUT="1", **NO_LIMITS))
    yield process
    log = process.log()
    process.stop()
    assert TEST_KEY not in log, "the server key leaked into the app log"


def chat(app: AppProcess, content: str = "hi") -> list[tuple[str, dict]]:
    """POST one chat request; the SSE events, each checked against the page schema."""
    conn = http.client.HTTPConnection("127.0.0.1", app.port, timeout=20)
    body = json.dumps({"messages": [{"role": "user", "content": content}], "locale": "en-US"})
    conn.request("POST", "/api/chat/stream", body=body, headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    assert response.status == 200
    raw = response.read()
    conn.close()
    assert TEST_KEY.encode() not in raw
    events = parse_events(raw)
    for name, data in events:
        PAGE_MODELS[EVENT_SCHEMAS[name]].model_validate(data)
    assert events[0][0] == "meta" and events[-1][0] == "done"
    return events


def named(events, name: str) -> list[dict]:
    """The data of every event called ``name``."""
    return [data for event, data in events if event == name]


def text_of(events) -> str:
    """The reply's content."""
    return "".join(data["content"] for data in named(events, "delta"))


def gaps(upstream) -> list[float]:
    """Seconds from the end of each response to the next request's arrival."""
    closed = sorted(upstream.wait_closed(len(upstream.requests)), key=lambda e: e["request_index"])
    requests = upstream.requests
    return [requests[i + 1]["t_received"] - closed[i]["t_closed"] for i in range(len(requests) - 1)]


def ok() -> Reply:
    """The reply that succeeds."""
    return Reply(content=TEXT)


# ------------------------------------------------------------------ HTTP errors
def test_503_with_retry_after_is_waited_out_then_retried(app, fresh_upstream):
    fresh_upstream.script(Reply(status=503, headers={"Retry-After": "1"}), ok())
    events = chat(app)
    assert text_of(events) == TEXT and named(events, "error") == []
    [retry] = named(events, "retry")
    assert retry["attempt"] == 1 and retry["max_retries"] == MAX_RETRIES and retry["wait_s"] == 1.0
    assert (retry["status"], retry["code"]) == (503, "upstream_error") and "Retrying in 1 s" in retry["message"]
    names = [name for name, _ in events]
    assert names.index("retry") < names.index("delta")  # the notice comes before the reply
    assert len(fresh_upstream.requests) == 2
    [gap] = gaps(fresh_upstream)
    assert 1.0 <= gap < 1.8


def test_429_retry_after_ms_wins_over_retry_after(app, fresh_upstream):
    fresh_upstream.script(Reply(status=429, headers={"retry-after-ms": "300", "Retry-After": "5"}), ok())
    events = chat(app)
    assert text_of(events) == TEXT
    assert named(events, "retry")[0]["wait_s"] == 0.3
    [gap] = gaps(fresh_upstream)
    assert 0.3 <= gap < 1.0


def test_retry_after_beyond_the_cap_is_not_waited_and_reaches_the_page(app, fresh_upstream):
    fresh_upstream.script(Reply(status=429, headers={"Retry-After": "45"}), ok())
    started = time.monotonic()
    events = chat(app)
    assert time.monotonic() - started < 1.0
    assert named(events, "retry") == [] and len(fresh_upstream.requests) == 1
    [error] = named(events, "error")
    assert (error["code"], error["retry_after"]) == ("rate_limited", 45.0)


def test_retries_are_bounded_with_growing_jittered_backoff(app, fresh_upstream):
    fresh_upstream.script(*[Reply(status=500) for _ in range(5)])
    events = chat(app)
    assert [r["attempt"] for r in named(events, "retry")] == [1, 2]
    waits = [r["wait_s"] for r in named(events, "retry")]
    assert 0 <= waits[0] <= 0.5 and 0 <= waits[1] <= 1.0  # full jitter under 0.5 s * 2**n
    assert len(fresh_upstream.requests) == MAX_RETRIES + 1
    for gap, wait in zip(gaps(fresh_upstream), waits):
        assert gap >= wait
    [error] = named(events, "error")
    assert (error["status"], error["code"]) == (500, "upstream_error")


def test_the_last_error_carries_the_upstream_retry_after(app, fresh_upstream):
    fresh_upstream.script(*[Reply(status=503, headers={"retry-after-ms": "200"}) for _ in range(3)])
    events = chat(app)
    assert len(named(events, "retry")) == MAX_RETRIES
    [error] = named(events, "error")
    assert (error["status"], error["retry_after"]) == (503, 0.2)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_client_errors_are_never_retried(app, fresh_upstream, status):
    fresh_upstream.script(Reply(status=status), ok())
    events = chat(app)
    assert named(events, "retry") == [] and len(fresh_upstream.requests) == 1
    assert named(events, "error")[0]["status"] == status


# ------------------------------------------------------------------ stream faults before content
@pytest.mark.parametrize(
    "reply",
    [
        Reply(content=TEXT, fault="truncate", fault_after=0),
        Reply(content=TEXT, fault="drop_after_headers"),
        Reply(content=TEXT, fault="cut_mid_stream", fault_after=0),
        Reply(content=TEXT, fault="malformed_chunk", fault_after=0),
        Reply(content=TEXT, fault="malformed_shape", fault_after=0),
        Reply(content=TEXT, fault="error_chunk", fault_after=0, status=503),
        Reply(content="", fault="no_finish_reason"),
        Reply(content=TEXT, fault="hang_before_first_token"),
        Reply(content=TEXT, fault="stall_mid_stream", fault_after=0),
    ],
    ids=["truncate", "drop", "cut", "malformed", "badshape", "errorchunk", "nofinish", "hang", "stall"],
)
def test_a_stream_that_fails_before_content_is_retried(app, fresh_upstream, reply):
    fresh_upstream.script(reply, ok())
    events = chat(app)
    assert text_of(events) == TEXT and named(events, "error") == []
    [retry] = named(events, "retry")
    assert retry["code"] in ("stream_interrupted", "timeout", "upstream_error")
    assert len(fresh_upstream.requests) == 2
    assert named(events, "finish") == [{"finish_reason": "stop"}]


# ------------------------------------------------------------------ after content: never silently
@pytest.mark.parametrize(
    "fault,code",
    [
        ("truncate", "stream_interrupted"),
        ("cut_mid_stream", "stream_interrupted"),
        ("malformed_chunk", "stream_interrupted"),
        ("malformed_shape", "stream_interrupted"),
        ("error_chunk", "upstream_error"),
        ("no_finish_reason", "stream_interrupted"),
        ("stall_mid_stream", "timeout"),
    ],
)
def test_after_content_nothing_is_retried_and_the_partial_reply_is_kept(app, fresh_upstream, fault, code):
    fresh_upstream.script(Reply(content=TEXT, chunk_size=4, fault=fault, fault_after=2), ok())
    events = chat(app)
    assert named(events, "retry") == [] and len(fresh_upstream.requests) == 1
    partial = text_of(events)
    assert partial and TEXT.startswith(partial)
    [error] = named(events, "error")
    assert error["code"] == code
    assert named(events, "finish") == []  # incomplete: no finish_reason, the error says why
    assert events[-1][1]["finish_reason"] is None
    assert [name for name, _ in events][-2] == "error"


def test_a_malformed_chunk_stops_the_reading_and_closes_the_upstream(app, fresh_upstream):
    fresh_upstream.script(Reply(content="x" * 60, chunk_size=2, chunk_delay=0.05, fault="malformed_chunk", fault_after=3))
    started = time.monotonic()
    events = chat(app)
    assert time.monotonic() - started < 1.0  # the 27 deltas after it (1.4 s) were not waited for
    assert text_of(events) == "x" * 6 and named(events, "error")[0]["code"] == "stream_interrupted"
    [closed] = fresh_upstream.wait_closed(1, timeout=3)
    assert closed["reason"] == "client_disconnected" and closed["chunks_sent"] < 10


def test_a_stream_without_finish_reason_is_never_a_finished_reply(app, fresh_upstream):
    # [DONE] but no finish_reason, and a clean end with neither: both are failures
    for reply in (Reply(content=TEXT, finish_reason=None), Reply(content=TEXT, fault="truncate", fault_after=99)):
        fresh_upstream.reset()
        fresh_upstream.script(reply, ok())
        events = chat(app)
        assert text_of(events) == TEXT
        assert named(events, "finish") == [] and named(events, "error")[0]["code"] == "stream_interrupted"
        assert len(fresh_upstream.requests) == 1


# ------------------------------------------------------------------ Stop during a retry wait
def test_stop_during_a_retry_wait_makes_no_new_request(app, fresh_upstream):
    fresh_upstream.script(Reply(status=503, headers={"Retry-After": "3"}), ok())
    payload = json.dumps({"messages": [{"role": "user", "content": "hi"}]}).encode()
    with socket.create_connection(("127.0.0.1", app.port), timeout=10) as sock:
        sock.sendall(b"POST /api/chat/stream HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n%s" % (len(payload), payload))
        seen = b""
        while b"event: retry" not in seen:
            chunk = sock.recv(65536)
            assert chunk, "stream ended early"
            seen += chunk
    time.sleep(3.6)  # past the Retry-After
    assert len(fresh_upstream.requests) == 1
    [line] = [line for line in app.log().splitlines() if "chat stream" in line][-1:]
    assert "outcome=aborted" in line and "retries=1" in line


# ------------------------------------------------------------------ the policy as a unit
def test_policy_delays():
    policy = RetryPolicy(max_retries=3)
    assert [policy.delay(n, None, rand=lambda: 1.0) for n in range(6)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    assert policy.delay(2, None, rand=lambda: 0.0) == 0.0
    assert policy.delay(0, 7.5) == 7.5 and policy.delay(0, 30.0) == 30.0
    assert policy.delay(0, 30.5) is None  # beyond the cap: not waited out


def test_parse_retry_after_forms():
    now = 1_700_000_000.0
    date = email.utils.formatdate(now + 12, usegmt=True)
    assert parse_retry_after({"retry-after": "7"}) == 7.0
    assert parse_retry_after({"retry-after": "0.25"}) == 0.25
    assert parse_retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert parse_retry_after({"retry-after": date}, now=now) == pytest.approx(12.0)
    assert parse_retry_after({"retry-after": email.utils.formatdate(now - 5, usegmt=True)}, now=now) is None
    for bad in ("soon", "-3", "inf", "nan", ""):
        assert parse_retry_after({"retry-after": bad}) is None, bad
    assert parse_retry_after({}) is None and parse_retry_after(None) is None
