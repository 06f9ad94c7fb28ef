"""HTTP integration tests of ``POST /api/chat/stream`` (chatserver.stream_api).

Twice over: through the Flask test client of ``create_app`` (``make_client``) and
against a real ``python chat_app.py`` process on 127.0.0.1, both pointed at the test
upstream. The server key must never appear in a response body or the app's log.
"""

from __future__ import annotations

import http.client
import json
import socket
import time
from urllib.parse import urlsplit

import pytest

from chatcore.context import estimate_tokens
from chatcore.sse import parse_events
from tests.conftest import NO_LIMITS, TEST_KEY, AppProcess, app_env
from tests.upstream import Reply

SYSTEM_PROMPT = "You are a terse assistant. 简洁回答。"

# (Reply, expected status, expected code) for every upstream fault the issue names
FAULTS = [
    (Reply(status=401), 401, "auth"),
    (Reply(status=429, headers={"Retry-After": "7"}), 429, "rate_limited"),
    (Reply(status=500), 500, "upstream_error"),
    (Reply(status=503), 503, "upstream_error"),
    (Reply(fault="hang_before_first_token"), 504, "timeout"),
    (Reply(content="abcdefghijkl", fault="cut_mid_stream"), 502, "stream_interrupted"),
    (Reply(content="abcdefghijkl", fault="no_finish_reason"), 502, "stream_interrupted"),
]
# per-session/address chat rate limits off: these tests send many requests quickly
FAULT_IDS = ["401", "429", "500", "503", "timeout", "cut", "nofinish"]


def body(*contents: str, **extra) -> dict:
    """A request body: alternating user/assistant messages, the last one the user's."""
    roles = ["user", "assistant"]
    messages = [{"role": roles[i % 2], "content": c} for i, c in enumerate(contents)]
    return {"messages": messages, **extra}


def check_stream_headers(headers) -> None:
    """The SSE response headers that keep proxies from buffering the stream."""
    assert headers["Content-Type"].startswith("text/event-stream")
    assert headers["Cache-Control"] == "no-cache"
    assert headers["X-Accel-Buffering"] == "no"


def check_event_order(events: list[tuple[str, dict]]) -> None:
    """meta first, then deltas, then finish/usage or one error, and done last."""
    names = [name for name, _ in events]
    assert names[0] == "meta" and names[-1] == "done"
    middle = names[1:-1]
    first_tail = next((i for i, n in enumerate(middle) if n != "delta"), len(middle))
    assert set(middle[:first_tail]) <= {"delta"}
    tail = middle[first_tail:]
    # usage may come before an error when the upstream sent it (e.g. no finish_reason)
    assert tail in (["finish", "usage"], ["finish"], ["error"], ["usage", "error"]), names


# ------------------------------------------------------------ in-process (Flask test client)
def test_success_headers_events_and_multi_turn(make_client, fresh_upstream):
    client = make_client(system_prompt=SYSTEM_PROMPT)
    chunks = ["Hello", ", ", "世界", " 😀", "\n```py\nx = '```'\n```\n"]
    fresh_upstream.script(Reply(chunks=chunks, usage={"prompt_tokens": 9, "completion_tokens": 5}))
    turns = ("first question", "first answer", "second question", "second answer", "third 问题")
    response = client.post("/api/chat/stream", json=body(*turns, temperature=0.5, max_tokens=100))
    assert response.status_code == 200
    check_stream_headers(response.headers)
    events = parse_events(response.get_data())
    check_event_order(events)
    assert events[0][0] == "meta" and events[0][1]["model"] == "test-model"
    assert [d["content"] for n, d in events if n == "delta"] == chunks
    assert ("finish", {"finish_reason": "stop"}) in events
    assert ("usage", {"prompt_tokens": 9, "completion_tokens": 5, "total_tokens": 14}) in events
    done = events[-1][1]
    assert done["finish_reason"] == "stop" and done["ttft_ms"] >= 0 and done["elapsed_ms"] >= done["ttft_ms"]
    # what the upstream received: the system prompt, then the whole conversation
    sent = fresh_upstream.requests[-1]["body"]
    assert sent["messages"][0] == {"role": "system", "content": SYSTEM_PROMPT}
    assert sent["messages"][1:] == body(*turns)["messages"]
    assert sent["model"] == "test-model" and sent["temperature"] == 0.5 and sent["max_tokens"] == 100
    assert sent["stream"] is True
    assert fresh_upstream.requests[-1]["headers"]["authorization"] == f"Bearer {TEST_KEY}"
    assert TEST_KEY not in response.get_data(as_text=True)


def test_request_system_prompt_and_model_override(make_client, fresh_upstream):
    # SYSTEM_PROMPT_EDITABLE: the request's prompt replaces the operator's (by default it
    # is appended after it: tests/test_system_prompt.py)
    client = make_client(system_prompt=SYSTEM_PROMPT, system_prompt_editable=True)
    # an explicit empty system prompt means "none"; the model can be chosen per request
    response = client.post("/api/chat/stream", json=body("hi", system_prompt="", model="test-model-2"))
    events = parse_events(response.get_data())
    assert events[0][0] == "meta" and events[0][1]["model"] == "test-model-2"
    sent = fresh_upstream.requests[-1]["body"]
    assert sent["messages"] == [{"role": "user", "content": "hi"}] and sent["model"] == "test-model-2"
    response = client.post("/api/chat/stream", json=body("hi", system_prompt="Custom"))
    parse_events(response.get_data())
    assert fresh_upstream.requests[-1]["body"]["messages"][0] == {"role": "system", "content": "Custom"}


def test_no_system_prompt_configured(make_client, fresh_upstream):
    response = make_client().post("/api/chat/stream", json=body("a", "b", "c"))
    parse_events(response.get_data())
    assert [m["role"] for m in fresh_upstream.requests[-1]["body"]["messages"]] == ["user", "assistant", "user"]


@pytest.mark.parametrize("reply,status,code", FAULTS, ids=FAULT_IDS)
def test_upstream_faults_become_error_events(make_client, fresh_upstream, reply, status, code):
    client = make_client(request_timeout=1)
    fresh_upstream.script(reply)
    response = client.post("/api/chat/stream", json=body("hi"), headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert response.status_code == 200
    check_stream_headers(response.headers)
    events = parse_events(response.get_data())
    check_event_order(events)
    errors = [data for name, data in events if name == "error"]
    assert len(errors) == 1
    assert (errors[0]["status"], errors[0]["code"]) == (status, code)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in errors[0]["message"]), "localized for zh-CN"
    if code == "rate_limited":
        assert errors[0]["retry_after"] == 7
    assert TEST_KEY not in response.get_data(as_text=True)


def test_fault_directive_typed_by_the_user(make_client, fresh_upstream):
    response = make_client().post("/api/chat/stream", json=body("!fault 429 3", locale="en-US"))
    error = [d for n, d in parse_events(response.get_data()) if n == "error"][0]
    assert error["code"] == "rate_limited" and error["retry_after"] == 3 and "in 3 s" in error["message"]


@pytest.mark.parametrize(
    "payload,status,fragment",
    [
        (b"not json", 400, "JSON object"),
        (b"[1, 2]", 400, "JSON object"),
        (b"{}", 422, "messages"),
        (json.dumps({"messages": []}).encode(), 422, "messages"),
        (json.dumps(body("a", "b")).encode(), 422, "last message"),
        (json.dumps({"messages": [{"role": "tool", "content": "x"}]}).encode(), 422, "role"),
        (json.dumps({"messages": [{"role": "user", "content": 1}]}).encode(), 422, "content"),
        (json.dumps(body("a", temperature=3)).encode(), 422, "temperature"),
        (json.dumps(body("a", top_p=-1)).encode(), 422, "top_p"),
        (json.dumps(body("a", max_tokens=0)).encode(), 422, "max_tokens"),
        (json.dumps(body("a", unknown=1)).encode(), 422, "unknown"),
        (json.dumps(body("x" * 101)).encode(), 422, "longer than 100"),
        (json.dumps(body(*(["a"] * 11))).encode(), 422, "too many messages"),
        (json.dumps(body("a", base_url="http://127.0.0.1:9/v1", api_key="sk-user-1234567890")).encode(), 400, "base URL"),
    ],
)
def test_bad_bodies_get_json_errors(make_client, fresh_upstream, payload, status, fragment):
    client = make_client(max_message_chars=100, max_messages=10)
    response = client.post("/api/chat/stream", data=payload, content_type="application/json")
    assert response.status_code == status
    assert response.is_json
    error = response.get_json()["error"]
    assert error["status"] == status and error["code"] == "invalid_request"
    assert fragment in error["message"]
    assert fresh_upstream.requests == [], "a bad request never reaches the upstream"
    assert TEST_KEY not in response.get_data(as_text=True)


def test_body_too_large_is_413_json(make_client, fresh_upstream):
    client = make_client(max_chat_body_bytes=2048)  # the stream's own limit (MAX_BODY_BYTES is the others')
    response = client.post("/api/chat/stream", json=body("x" * 5000))
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "payload_too_large"
    assert fresh_upstream.requests == []


@pytest.mark.parametrize("locale,needle", [("en-US", "Set OPENAI_API_KEY"), ("zh-CN", "设置 OPENAI_API_KEY")])
def test_no_api_key_is_503_with_how_to(make_client, fresh_upstream, locale, needle):
    client = make_client(openai_api_key=None, provider="openai")  # a loopback URL alone needs no key
    response = client.post("/api/chat/stream", json=body("hi"), headers={"Accept-Language": locale})
    assert response.status_code == 503
    error = response.get_json()["error"]
    assert error["code"] == "no_api_key" and needle in error["message"] and ".env" in error["message"]
    assert fresh_upstream.requests == []


def test_a_local_server_needs_no_key(make_client, fresh_upstream):
    """A loopback base URL without PROVIDER (llama.cpp, Ollama …): no key, no banner; the
    SDK sends the placeholder (chatcore.providers.PLACEHOLDER_API_KEY)."""
    from chatcore.providers import PLACEHOLDER_API_KEY
    from components.layout import public_config

    client = make_client(openai_api_key=None)
    response = client.post("/api/chat/stream", json=body("hi"))
    assert response.status_code == 200
    names = [name for name, _ in parse_events(response.get_data())]
    assert "error" not in names and names[-1] == "done", names
    assert fresh_upstream.requests[-1]["headers"]["Authorization"] == f"Bearer {PLACEHOLDER_API_KEY}"
    assert public_config(client.application.config["CHAT_SETTINGS"])["has_server_key"] is True


def test_user_key_used_when_allowed_and_server_key_never_sent_elsewhere(make_client, fresh_upstream):
    user_key = "sk-user-own-key-abcdefgh"
    response = make_client().post("/api/chat/stream", json=body("hi", api_key=user_key))
    parse_events(response.get_data())
    assert fresh_upstream.requests[-1]["headers"]["authorization"] == f"Bearer {user_key}"
    response = make_client(allow_user_api_key=False).post("/api/chat/stream", json=body("hi", api_key=user_key))
    assert response.status_code == 400


# ------------------------------------------------------------ a real app process
@pytest.fixture(scope="module")
def real_app(upstream):
    """`python chat_app.py` with a system prompt and a 1 s upstream timeout."""
    app = AppProcess(app_env(upstream, SYSTEM_PROMPT=SYSTEM_PROMPT, REQUEST_TIMEOUT="1", **NO_LIMITS))
    yield app
    log = app.log()
    app.stop()
    assert TEST_KEY not in log, "the server key leaked into the app log"


def post(app: AppProcess, payload: dict, headers: dict | None = None) -> http.client.HTTPResponse:
    """POST ``payload`` to the app's stream endpoint; return the open response."""
    conn = http.client.HTTPConnection("127.0.0.1", urlsplit(app.url).port, timeout=10)
    conn.request("POST", "/api/chat/stream", body=json.dumps(payload), headers={"Content-Type": "application/json", **(headers or {})})
    return conn.getresponse()


def test_real_process_stream_and_multi_turn(real_app, fresh_upstream):
    fresh_upstream.script(Reply(content="Answer with 中文 and 😀 and ```fences```", chunk_size=2))
    response = post(real_app, body("q1", "a1", "q2"))
    assert response.status == 200
    check_stream_headers(response.headers)
    raw = response.read()
    events = parse_events(raw)
    check_event_order(events)
    assert "".join(d["content"] for n, d in events if n == "delta") == "Answer with 中文 and 😀 and ```fences```"
    sent = fresh_upstream.requests[-1]["body"]["messages"]
    assert sent == [{"role": "system", "content": SYSTEM_PROMPT}] + body("q1", "a1", "q2")["messages"]
    assert TEST_KEY.encode() not in raw


@pytest.mark.parametrize("reply,status,code", FAULTS, ids=FAULT_IDS)
def test_real_process_faults(real_app, fresh_upstream, reply, status, code):
    fresh_upstream.script(reply)
    response = post(real_app, body("hi"))
    assert response.status == 200
    raw = response.read()
    events = parse_events(raw)
    check_event_order(events)
    errors = [d for n, d in events if n == "error"]
    assert [(e["status"], e["code"]) for e in errors] == [(status, code)]
    assert TEST_KEY.encode() not in raw


def test_real_process_json_errors(real_app, fresh_upstream):
    response = post(real_app, {"messages": [{"role": "assistant", "content": "x"}]})
    assert response.status == 422
    assert json.loads(response.read())["error"]["code"] == "invalid_request"
    response = post(real_app, {"messages": "nope"})
    assert response.status == 422
    assert fresh_upstream.requests == []


def test_real_process_no_api_key(upstream):
    env = app_env(upstream)
    env["OPENAI_API_KEY"] = ""
    env["PROVIDER"] = "openai"  # a loopback URL alone needs no key
    app = AppProcess(env)
    try:
        response = post(app, body("hi"))
        assert response.status == 503
        error = json.loads(response.read())["error"]
        assert error["code"] == "no_api_key" and "OPENAI_API_KEY" in error["message"]
    finally:
        app.stop()


def close_mid_stream(port: int, upstream, wait_for: bytes) -> float:
    """POST a chat request on a raw socket, read until ``wait_for``, close the socket.

    Returns the seconds from that close until the upstream recorded its response closed.
    """
    return stream_then_close(port, upstream, wait_for)[0]


def stream_then_close(port: int, upstream, wait_for: bytes, text: str = "long please") -> tuple[float, bytes]:
    """``close_mid_stream`` for a message ``text``; returns ``(seconds until the upstream
    saw the close, the bytes received before closing)``."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    payload = json.dumps(body(text)).encode()
    sock.sendall(
        b"POST /api/chat/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(payload)}\r\n\r\n".encode() + payload
    )
    received = b""
    while wait_for not in received:
        chunk = sock.recv(65536)
        assert chunk, "stream ended early"
        received += chunk
    assert upstream.wait_for(lambda s: s.open_streams == 1, 2)
    closed_at = time.monotonic()
    sock.close()
    events = upstream.wait_closed(1, timeout=8)
    assert len(events) == 1
    assert events[0]["reason"] == "client_disconnected"
    return events[0]["t_closed"] - closed_at, received


def test_real_process_stop_closes_upstream_within_1s(real_app, fresh_upstream):
    """Close the client connection mid-stream: the upstream sees the close in < 1 s."""
    fresh_upstream.script(Reply(content="y" * 100, chunk_size=1, chunk_delay=0.1))
    assert close_mid_stream(real_app.port, fresh_upstream, b"event: delta") < 1.0
    assert fresh_upstream.closed_events[0]["chunks_sent"] < 100


def test_real_process_stop_before_first_token(app_server, fresh_upstream):
    """Close the client while the upstream is silent (no token yet, REQUEST_TIMEOUT 5 s)."""
    fresh_upstream.script(Reply(fault="hang_before_first_token"))
    assert close_mid_stream(app_server.port, fresh_upstream, b"event: meta") < 1.0


def test_real_process_log_has_no_key(real_app, app_server, fresh_upstream):
    # a request with a rejected key and one with the user's own key: neither key is logged
    fresh_upstream.script(Reply(status=401))
    post(real_app, body("hi")).read()
    post(real_app, body("hi", api_key="sk-user-secret-key-987654321")).read()
    log = real_app.log()
    assert "chat stream" in log
    assert TEST_KEY not in log and "sk-user-secret-key-987654321" not in log
    assert TEST_KEY not in app_server.log()


def test_key_never_in_page_layout_or_models(make_client, fresh_upstream):
    client = make_client(system_prompt=SYSTEM_PROMPT)
    for path in ("/", "/_dash-layout", "/_dash-dependencies", "/api/models", "/healthz"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert TEST_KEY not in response.get_data(as_text=True), path
    models = client.get("/api/models").get_json()
    assert models["default"] == "test-model" and "test-model" in models["models"]


@pytest.mark.parametrize("accept,prefix", [("zh-CN,zh;q=0.9", "请求无效"), ("en-US", "Invalid request")])
def test_json_errors_are_localized(make_client, fresh_upstream, accept, prefix):
    response = make_client().post("/api/chat/stream", json={"messages": []}, headers={"Accept-Language": accept})
    assert response.status_code == 422
    assert response.get_json()["error"]["message"].startswith(prefix)


def test_local_mode_proxy_down_names_local_proxy(make_client, fresh_upstream):
    """``local`` mode with the proxy not running: the error names LOCAL_PROXY (its
    user:password left out), not just "could not connect"."""
    from tests.conftest import free_port

    proxy = f"http://someone:s3cret-pw@127.0.0.1:{free_port()}"
    client = make_client(use_local_proxy=True, local_proxy=proxy)
    events = parse_events(client.post("/api/chat/stream", json=body("hi")).get_data())
    errors = [data for name, data in events if name == "error"]
    assert errors and errors[0]["code"] == "proxy_connection", events
    assert "LOCAL_PROXY=http://127.0.0.1:" in errors[0]["message"] and "s3cret" not in errors[0]["message"]
    assert fresh_upstream.requests == []


def test_usage_is_estimated_when_the_upstream_reports_none(make_client, fresh_upstream):
    fresh_upstream.script(Reply(content="hello there, 你好", no_usage=True))
    events = parse_events(make_client().post("/api/chat/stream", json=body("hi")).get_data())
    usage = [data for name, data in events if name == "usage"]
    assert len(usage) == 1 and usage[0]["estimated"] is True, events
    assert usage[0]["completion_tokens"] == estimate_tokens("hello there, 你好") and usage[0]["prompt_tokens"] > 0
    assert [name for name, _ in events][-2:] == ["usage", "done"]


def test_reported_usage_and_openrouter_cost_pass_through(make_client, fresh_upstream):
    fresh_upstream.script(Reply(content="priced", usage={"prompt_tokens": 5, "completion_tokens": 2, "cost": 0.00042}))
    events = parse_events(make_client().post("/api/chat/stream", json=body("hi")).get_data())
    usage = [data for name, data in events if name == "usage"]
    assert usage == [{"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7, "cost": 0.00042}], usage


def test_a_removed_connections_model_falls_back_with_a_notice(make_client, fresh_upstream):
    """CONNECTIONS: a conversation that names a connection no longer configured is
    answered by the default connection's default model, and meta says so."""
    other = {"name": "other", "base_url": fresh_upstream.url, "api_key": "sk-other-connection", "models": ["m-other"]}
    client = make_client(connections=[other])
    events = parse_events(client.post("/api/chat/stream", json={**body("hi"), "model": "gone/some-model"}).get_data())
    meta = [data for name, data in events if name == "meta"][0]
    assert meta["fallback"] == "gone/some-model" and "gone" not in meta["model"], meta
    assert fresh_upstream.requests[-1]["body"]["model"] != "some-model"
    plain = parse_events(client.post("/api/chat/stream", json={**body("hi"), "model": "other/m-other"}).get_data())
    assert "fallback" not in [data for name, data in plain if name == "meta"][0]
    assert fresh_upstream.requests[-1]["body"]["model"] == "m-other"
    assert fresh_upstream.requests[-1]["headers"]["Authorization"] == "Bearer sk-other-connection"
