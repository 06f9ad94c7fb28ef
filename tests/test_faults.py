"""Upstream faults: every one ends in a clear, localized error (never a hang or a
500), partial replies are kept and marked incomplete, Retry works, other users are
unaffected, and the SDK's own retries stay bounded by MAX_RETRIES.

The faults come from the test upstream (tests/upstream.py): HTTP 401, 403, 404, 429
with Retry-After, 500, 503, a hang before the first token, a stall mid-stream, a
connection cut mid-stream, a malformed chunk, and a stream without finish_reason.
"""

from __future__ import annotations

import re
import threading
import time

import pytest

from chatcore.i18n import TEXTS
from chatcore.sse import parse_events
from tests.conftest import AppProcess, app_env
from tests.upstream import Reply

TIMEOUT = 1.0  # REQUEST_TIMEOUT for these tests (seconds)
PARTIAL = "Partial answer that goes on"


def _fault(name: str) -> Reply:
    """The scripted Reply for a fault name."""
    http = {"401": 401, "403": 403, "404": 404, "500": 500, "503": 503}
    if name in http:
        return Reply(status=http[name], fault="http_error")
    if name == "429":
        return Reply(status=429, fault="http_error", headers={"Retry-After": "7"})
    streamed = {
        "hang": "hang_before_first_token",
        "stall": "stall_mid_stream",
        "cut": "cut_mid_stream",
        "malformed": "malformed_chunk",
        "nofinish": "no_finish_reason",
    }
    return Reply(content=PARTIAL, chunk_size=4, fault=streamed[name], fault_after=3)


# fault → (status, code, partial reply expected)
FAULTS = {
    "401": (401, "auth", False),
    "403": (403, "permission", False),
    "404": (404, "not_found", False),
    "429": (429, "rate_limited", False),
    "500": (500, "upstream_error", False),
    "503": (503, "upstream_error", False),
    "hang": (504, "timeout", False),
    "stall": (504, "timeout", True),
    "cut": (502, "stream_interrupted", True),
    "malformed": (502, "stream_interrupted", True),
    "nofinish": (502, "stream_interrupted", True),
}
def _prefix(code: str, locale: str) -> str:
    """The fixed start of the localized text for ``code`` (before any placeholder)."""
    return TEXTS[code][locale].split("{")[0][:10]


CJK = re.compile(r"[\u4e00-\u9fff]")


def _chat(client, locale: str, content: str = "hello"):
    response = client.post("/api/chat/stream", json={"messages": [{"role": "user", "content": content}], "locale": locale})
    return response, parse_events(response.get_data())


@pytest.mark.parametrize("name", list(FAULTS))
def test_each_fault_gives_a_clear_localized_error(make_client, fresh_upstream, name):
    status, code, partial = FAULTS[name]
    client = make_client(request_timeout=TIMEOUT, max_retries=0)
    for locale in ("en-US", "zh-CN"):
        fresh_upstream.script(_fault(name))
        started = time.monotonic()
        response, events = _chat(client, locale)
        elapsed = time.monotonic() - started
        assert response.status_code == 200  # the error travels as an SSE event
        names = [event for event, _ in events]
        assert names[0] == "meta" and names[-1] == "done" and names.count("error") == 1, names
        error = dict(events)["error"]
        assert (error["status"], error["code"]) == (status, code)
        assert error["message"].startswith(_prefix(code, locale))
        assert bool(CJK.search(error["message"])) == (locale == "zh-CN")
        assert "Traceback" not in error["message"] and "sk-" not in error["message"]
        deltas = "".join(data["content"] for event, data in events if event == "delta")
        if partial:
            assert deltas and PARTIAL.startswith(deltas)
        else:
            assert deltas == ""
        if name == "429":
            assert error["retry_after"] == 7 and "7" in error["message"]
        assert elapsed < 4 * TIMEOUT + 2, f"{name} took {elapsed:.1f}s"
    # the server is healthy afterwards: a normal reply streams
    response, events = _chat(client, "en-US", "still there?")
    assert "".join(d["content"] for e, d in events if e == "delta") == "Echo: still there?"


def test_sdk_retries_are_bounded_by_max_retries(make_client, fresh_upstream):
    """The upstream keeps answering 503: at most MAX_RETRIES+1 requests per chat request."""
    for max_retries in (0, 2):
        fresh_upstream.reset()
        fresh_upstream.script(*[Reply(status=503, fault="http_error") for _ in range(10)])
        client = make_client(request_timeout=TIMEOUT, max_retries=max_retries)
        _, events = _chat(client, "en-US")
        assert dict(events)["error"]["status"] == 503
        chat_requests = [r for r in fresh_upstream.requests if r["path"].endswith("/chat/completions")]
        assert len(chat_requests) == max_retries + 1


def test_a_hanging_upstream_does_not_block_other_users(upstream):
    """A real server process: while one request hangs, another user's reply streams."""
    import json
    import urllib.request

    upstream.reset()
    app = AppProcess(app_env(upstream, REQUEST_TIMEOUT="3"))

    def chat(content: str) -> bytes:
        body = json.dumps({"messages": [{"role": "user", "content": content}]}).encode()
        request = urllib.request.Request(app.url + "/api/chat/stream", data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.read()

    try:
        results: dict[str, bytes] = {}
        hung = threading.Thread(target=lambda: results.setdefault("hang", chat("!fault hang")))
        hung.start()
        upstream.wait_for(lambda s: s.open_streams >= 1, timeout=5)
        started = time.monotonic()
        other = chat("other user")
        assert time.monotonic() - started < 2
        assert "Echo: other user" in "".join(d["content"] for e, d in parse_events(other) if e == "delta")
        hung.join(15)
        assert dict(parse_events(results["hang"]))["error"]["code"] == "timeout"
        with urllib.request.urlopen(app.url + "/healthz", timeout=5) as health:
            assert health.status == 200
    finally:
        app.stop()


@pytest.mark.browser
def test_faults_in_the_page_keep_messages_and_retry_works(upstream, page):
    """Each fault in Chromium: the error shows, the user's message stays, a partial
    reply is kept and marked incomplete, and Retry brings a full reply."""
    upstream.reset()
    app = AppProcess(app_env(upstream, REQUEST_TIMEOUT=str(TIMEOUT)))
    try:
        page.goto(app.url)
        page.wait_for_selector("#chat-input")
        error_box = page.locator("#chat-error")
        for index, name in enumerate(FAULTS):
            status, code, partial = FAULTS[name]
            message = f"question {index} {name}"
            upstream.script(_fault(name))
            page.fill("#chat-input", message)
            page.click("#chat-send-button")
            error_box.wait_for(state="visible", timeout=15000)
            shown = page.locator("#chat-error-text").inner_text()
            assert shown.startswith(_prefix(code, "en-US")), (name, shown)
            assert page.locator(".chat-message-user", has_text=message).count() == 1, name
            if partial:
                incomplete = page.locator(".chat-message-incomplete")
                assert incomplete.count() == 1, name
                assert "Partial" in incomplete.inner_text()
            if name == "stall":
                page.screenshot(path="test-artifacts/fault-stall.png")
            page.click("#chat-retry-button")
            page.locator(".chat-message-assistant", has_text=f"Echo: {message}").wait_for(timeout=15000)
            error_box.wait_for(state="hidden", timeout=5000)
            assert page.locator(".chat-message-incomplete").count() == 0, name
            assert page.locator(".chat-message-user", has_text=message).count() == 1, name
        assert page.errors == []
    finally:
        app.stop()
