"""The server's API key never leaves the server: not in any HTTP response of a full
browser session (page, Dash callbacks, the stream, errors), and not in any log line,
including error paths where the upstream echoes the key back (as OpenAI's 401 does).
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request

import pytest

from tests.conftest import TEST_KEY, AppProcess, app_env
from tests.upstream import Reply

KEY_PARTS = (TEST_KEY, "test-server-key")  # the whole key, and its distinctive middle


def _echoing_errors() -> list[Reply]:
    """Upstream errors whose bodies contain the key, like real providers' 401/400 texts."""
    return [
        Reply(status=401, fault="http_error", error_body={"error": {
            "message": f"Incorrect API key provided: {TEST_KEY}.", "type": "invalid_request_error", "code": "invalid_api_key"}}),
        Reply(status=400, fault="http_error", error_body={"error": {
            "message": f"Bad request for key {TEST_KEY} (context_length_exceeded)", "type": "invalid_request_error", "code": None}}),
        Reply(status=500, fault="http_error", error_body={"error": {"message": f"boom {TEST_KEY}", "type": "server_error"}}),
    ]


def _assert_clean(text: str, where: str) -> None:
    for part in KEY_PARTS:
        at = text.find(part)
        if at >= 0:  # (no `assert x not in y`: pytest would diff megabytes of text)
            pytest.fail(f"server key found in {where}: ...{text[max(0, at - 120):at + 60]!r}")


@pytest.mark.browser
def test_no_http_response_of_a_full_session_contains_the_key(upstream, page):
    upstream.reset()
    app = AppProcess(app_env(upstream, CHAT_RATE_LIMIT_SESSION="", CHAT_RATE_LIMIT_ADDRESS="", SECRET_KEY="k" * 32))
    seen: list[tuple[str, int]] = []
    unread: list[str] = []

    def record(response):
        try:
            body = response.body()
        except Exception:  # noqa: BLE001 - redirects/aborted bodies have none
            body = b""
            unread.append(response.url)
        headers = json.dumps(response.all_headers())
        _assert_clean(headers + body.decode("utf-8", "replace"), f"{response.request.method} {response.url}")
        seen.append((response.url, response.status))

    page.on("response", record)
    try:
        page.goto(app.url)
        page.wait_for_selector("#chat-input")
        # a normal reply, then upstream errors that echo the key, then a stream fault
        upstream.script(Reply(content="Hello there"), *_echoing_errors(), Reply(content="partial", fault="cut_mid_stream"))
        for index, text in enumerate(["hello", "err 401", "err 400", "err 500", "cut"]):
            page.fill("#chat-input", text)
            page.click("#chat-send-button")
            page.wait_for_function(f"window.chatDebug && window.chatDebug.runs >= {index + 1}", timeout=15000)
        error_text = page.locator("#chat-error-text").inner_text()
        assert error_text  # the last one failed visibly
        # a server-side Dash callback (Export) and the models list
        page.click("#chat-export-button")
        page.wait_for_timeout(500)
        page.evaluate("fetch('/api/models').then(r => r.text())")
        page.evaluate("fetch('/api/chat/stream', {method: 'POST', body: '{bad'}).then(r => r.text())")
        page.wait_for_timeout(500)
        page.reload()
        page.wait_for_selector("#chat-input")
        page.wait_for_timeout(500)
    finally:
        app.stop()
    urls = [url for url, _ in seen]
    assert any("/api/chat/stream" in u for u in urls)
    assert any("/_dash-update-component" in u for u in urls)
    assert any(status >= 400 for _, status in seen)
    assert len(seen) >= 20
    print(f"\nsecrets: {len(seen)} HTTP responses checked, {len(unread)} without a readable body")
    _assert_clean(app.log_path.read_text(errors="replace"), "the app log")


def test_no_log_line_contains_the_key(upstream):
    """A real process at DEBUG-free INFO level: success, echoing errors, a connection error."""
    upstream.reset()
    app = AppProcess(app_env(upstream, CHAT_RATE_LIMIT_SESSION="", CHAT_RATE_LIMIT_ADDRESS=""))

    def chat(content: str, **extra) -> str:
        body = json.dumps({"messages": [{"role": "user", "content": content}], **extra}).encode()
        request = urllib.request.Request(app.url + "/api/chat/stream", data=body, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.read().decode()

    try:
        upstream.script(Reply(content="ok"), *_echoing_errors())
        outputs = [chat("one"), chat("two"), chat("three"), chat("four"), chat("!fault cut"), chat("!fault malformed")]
        outputs.append(chat("bad", temperature="hot"))
        with urllib.request.urlopen(app.url + "/api/models", timeout=10) as models:
            outputs.append(models.read().decode())
    finally:
        app.stop()
    for output in outputs:
        _assert_clean(output, "a response")
    log = app.log_path.read_text(errors="replace")
    assert "chat stream" in log and "error 401" in log  # the error paths were logged
    _assert_clean(log, "the app log")


def test_no_log_record_in_process_contains_the_key(make_client, fresh_upstream, caplog):
    """Every logger (openai, httpx, ours) at DEBUG, through the in-process app."""
    caplog.set_level(logging.DEBUG)
    fresh_upstream.script(*_echoing_errors())
    client = make_client(chat_rate_limit_session="", chat_rate_limit_address="", openai_base_url="http://127.0.0.1:9/v1")
    client.post("/api/chat/stream", json={"messages": [{"role": "user", "content": "no upstream"}]}).get_data()
    good = make_client(chat_rate_limit_session="", chat_rate_limit_address="")
    for _ in range(3):
        good.post("/api/chat/stream", json={"messages": [{"role": "user", "content": "x"}]}).get_data()
    assert caplog.records
    for record in caplog.records:
        _assert_clean(record.getMessage() + str(record.args), f"log record {record.name}")
