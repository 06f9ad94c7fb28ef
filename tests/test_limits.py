"""Chat request rate limits and concurrent-stream limits (chatserver/limits.py), per
session and per client address, in flask-limiter's memory storage."""

from __future__ import annotations

import pytest

from tests.conftest import AppProcess, app_env

SECRET = "limits-secret-key-" + "z" * 16
CHAT_BODY = {"messages": [{"role": "user", "content": "hi"}]}


def session_client(make_client, **overrides):
    """A test client of an app with sessions (SECRET_KEY), after loading the page."""
    values = {"secret_key": SECRET, "chat_rate_limit_session": "", "chat_rate_limit_address": "",
              "max_streams_per_session": 0, "max_streams_per_address": 0}
    values.update(overrides)
    client = make_client(**values)
    client.get("/")  # issues the anonymous session id
    return client


def post(client, addr="127.0.0.1", lang="en-US"):
    """One whole chat request (body read, response closed)."""
    response = client.post("/api/chat/stream", json=CHAT_BODY, headers={"Accept-Language": lang},
                           environ_base={"REMOTE_ADDR": addr})
    response.get_data()
    response.close()
    return response


def test_session_rate_limit(make_client):
    from chat_app import create_app
    from tests.conftest import make_settings

    client = session_client(make_client, chat_rate_limit_session="3 per minute")
    assert [post(client).status_code for _ in range(3)] == [200, 200, 200]
    limited = post(client)
    assert limited.status_code == 429
    error = limited.json["error"]
    assert error["code"] == "too_many_requests" and "too quickly" in error["message"]
    assert 1 <= int(limited.headers["Retry-After"]) <= 60 and error["retry_after"] >= 1
    assert "频繁" in post(client, lang="zh-CN").json["error"]["message"]
    # another browser session from the same address is not affected
    other = client.application.test_client()
    other.get("/")
    assert post(other).status_code == 200
    del create_app, make_settings


def test_address_rate_limit_covers_all_sessions(make_client):
    client = session_client(make_client, chat_rate_limit_address="4 per minute")
    app = client.application
    sessions = [app.test_client() for _ in range(5)]
    for each in sessions:
        each.get("/")
    statuses = [post(each, addr="10.9.9.9").status_code for each in sessions]
    assert statuses == [200, 200, 200, 200, 429]
    assert post(sessions[0], addr="10.9.9.10").status_code == 200


def test_without_secret_key_only_address_limits_apply(make_client):
    client = make_client(chat_rate_limit_session="1 per minute", chat_rate_limit_address="2 per minute")
    assert [post(client).status_code for _ in range(3)] == [200, 200, 429]


def test_concurrent_stream_limit_per_session_and_release(make_client, fresh_upstream):
    client = session_client(make_client, max_streams_per_session=1)
    first = client.post("/api/chat/stream", json=CHAT_BODY, buffered=False)
    assert first.status_code == 200
    second = post(client)
    assert second.status_code == 429
    assert second.json["error"]["code"] == "too_many_streams"
    assert "Retry-After" in second.headers
    first.close()  # the WSGI server closes the response → slot released
    assert post(client).status_code == 200
    # a response closed before its generator ever ran also gives the slot back
    unread = client.post("/api/chat/stream", json=CHAT_BODY, buffered=False)
    unread.close()
    assert post(client).status_code == 200


def test_concurrent_stream_limit_per_address(make_client):
    client = session_client(make_client, max_streams_per_address=2)
    app = client.application
    open_streams = []
    for _ in range(2):
        each = app.test_client()
        each.get("/")
        open_streams.append(each.post("/api/chat/stream", json=CHAT_BODY, buffered=False))
    assert [r.status_code for r in open_streams] == [200, 200]
    third = app.test_client()
    third.get("/")
    assert post(third).json["error"]["code"] == "too_many_streams"
    for response in open_streams:
        response.close()
    assert post(third).status_code == 200


def test_bad_rate_limit_setting_stops_start_up():
    from config import SettingsError, load_settings

    with pytest.raises(SettingsError, match="CHAT_RATE_LIMIT_ADDRESS"):
        load_settings(_env_file=None, chat_rate_limit_address="plenty")
    with pytest.raises(SettingsError, match="RATELIMIT_STORAGE_URI"):
        load_settings(_env_file=None, ratelimit_storage_uri="mongodb://x")


@pytest.mark.browser
def test_limited_request_shows_a_clear_message_in_the_chat(upstream, page):
    app = AppProcess(app_env(upstream, SECRET_KEY=SECRET, CHAT_RATE_LIMIT_SESSION="1 per minute"))
    try:
        upstream.reset()
        page.goto(app.url)
        page.wait_for_selector("#chat-input")
        page.fill("#chat-input", "first message")
        page.click("#chat-send-button")
        page.locator(".chat-message-assistant", has_text="Echo: first message").wait_for(timeout=15000)
        page.fill("#chat-input", "second message")
        page.click("#chat-send-button")
        page.get_by_text("You are sending messages too quickly").wait_for(timeout=15000)
        # the user's message is kept in the conversation
        assert page.locator(".chat-message-user", has_text="second message").count() == 1
        assert len(upstream.requests) == 1  # the limited request never reached the upstream
        page.screenshot(path="test-artifacts/limits-429.png")
    finally:
        app.stop()
