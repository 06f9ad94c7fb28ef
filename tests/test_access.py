"""Access control: login page, signed session cookies, the guard on every route,
login rate limit and lockout, proxy handling, start-up refusals and the open-proxy
warning (chatserver/access.py, config.py)."""

from __future__ import annotations

import logging

import pytest

from chatserver import access
from tests.conftest import AppProcess, app_env, make_settings

SECRET = "s3cret-for-tests-" + "x" * 16
CODES = "alpha-code-1,beta-code-2"
CHAT_BODY = {"messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def locked_client(make_client):
    """Factory: a test client of an app with access codes."""

    def factory(**overrides):
        values = {"access_codes": CODES, "secret_key": SECRET}
        values.update(overrides)
        return make_client(**values)

    return factory


def login(client, code: str, addr: str = "127.0.0.1"):
    """POST the login form."""
    return client.post("/login", data={"code": code}, environ_base={"REMOTE_ADDR": addr})


def test_everything_but_login_and_static_is_closed(locked_client):
    client = locked_client()
    page = client.get("/", headers={"Accept": "text/html"})
    assert page.status_code == 302 and page.headers["Location"].endswith("/login")
    assert client.get("/login", headers={"Accept": "text/html"}).status_code == 200
    for path in ("/_dash-update-component", "/api/chat/stream"):
        response = client.post(path, json=CHAT_BODY)
        assert response.status_code == 401, path
        assert response.json["error"]["code"] == "login_required"
    assert client.get("/api/models").status_code == 401
    assert client.get("/healthz").status_code == 200
    assert client.get("/assets/js/main.mjs").status_code == 200
    # while signed out, the layout is the login form, not the chat
    layout = client.get("/_dash-layout").get_data(as_text=True)
    assert "login-form" in layout and "chat-input" not in layout


def test_login_page_and_errors_follow_the_language_the_user_picked(locked_client):
    """One locale rule (chatcore.i18n.resolve_locale): the chat_locale cookie set by the
    language button wins over Accept-Language on the login page and in server errors."""
    client = locked_client()
    english = {"Accept-Language": "en-US,en;q=0.9"}
    client.set_cookie("chat_locale", "zh-CN")
    layout = client.get("/_dash-layout", headers=english).get_data(as_text=True)
    assert "访问码" in layout and "Access code" not in layout
    refused = client.post("/api/chat/stream", json=CHAT_BODY, headers=english)
    assert refused.status_code == 401
    assert "登录" in refused.json["error"]["message"] or "访问" in refused.json["error"]["message"]
    client.set_cookie("chat_locale", "en-US")
    assert "Access code" in client.get("/_dash-layout", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)


def test_login_sets_a_hardened_session_cookie(locked_client):
    client = locked_client()
    response = login(client, "alpha-code-1")
    assert response.status_code == 303 and response.headers["Location"] == "/"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Expires=" in cookie
    assert "Secure" not in cookie  # plain http here
    assert "alpha-code-1" not in cookie
    layout = client.get("/_dash-layout").get_data(as_text=True)
    assert "chat-input" in layout and "login-form" not in layout
    stream = client.post("/api/chat/stream", json=CHAT_BODY)
    assert stream.status_code == 200 and stream.mimetype == "text/event-stream"
    # signed in: /login goes back to the chat; logout closes it again
    assert client.get("/login").status_code == 302
    client.post("/logout")
    assert client.post("/api/chat/stream", json=CHAT_BODY).status_code == 401


def test_cookie_is_secure_behind_https(locked_client):
    client = locked_client(trusted_proxies=1)
    response = client.post("/login", data={"code": "beta-code-2"}, headers={"X-Forwarded-Proto": "https"})
    assert "Secure" in response.headers["Set-Cookie"]
    assert "Strict-Transport-Security" in response.headers


def test_wrong_code_and_forged_cookie_are_refused(locked_client):
    client = locked_client()
    response = login(client, "alpha-code-")
    assert response.status_code == 303 and response.headers["X-Login-Result"] == "invalid"
    assert client.post("/api/chat/stream", json=CHAT_BODY).status_code == 401
    # a cookie signed with another key does not open anything
    other = locked_client(secret_key="another-secret-key-" + "y" * 16)
    login(other, "alpha-code-1")
    forged = other.get_cookie(access.SESSION_COOKIE).value
    client.set_cookie(access.SESSION_COOKIE, forged)
    assert client.post("/api/chat/stream", json=CHAT_BODY).status_code == 401


def test_removing_a_code_signs_out_its_sessions(fresh_upstream):
    from chat_app import create_app

    first = create_app(make_settings(fresh_upstream, access_codes=CODES, secret_key=SECRET)).server.test_client()
    login(first, "alpha-code-1")
    cookie = first.get_cookie(access.SESSION_COOKIE).value
    later = create_app(make_settings(fresh_upstream, access_codes="beta-code-2", secret_key=SECRET)).server.test_client()
    later.set_cookie(access.SESSION_COOKIE, cookie)
    assert later.post("/api/chat/stream", json=CHAT_BODY).status_code == 401


def test_failed_logins_lock_out_the_address(locked_client):
    client = locked_client(login_rate_limit="5 per minute")
    for _ in range(5):
        assert login(client, "nope", "10.1.1.1").headers["X-Login-Result"] == "invalid"
    locked = login(client, "alpha-code-1", "10.1.1.1")  # even the right code
    assert locked.headers["X-Login-Result"] == "locked"
    assert 1 <= int(locked.headers["Retry-After"]) <= 61
    assert client.post("/api/chat/stream", json=CHAT_BODY).status_code == 401
    layout = client.get("/_dash-layout").get_data(as_text=True)
    assert "login-error" in layout and "Too many failed attempts" in layout
    # another address is not locked; successful logins do not count
    other = locked_client(login_rate_limit="5 per minute")
    for _ in range(6):
        assert login(other, "alpha-code-1", "10.2.2.2").headers["X-Login-Result"] == "ok"


def test_x_forwarded_for_only_with_a_trusted_proxy(locked_client):
    # no trusted proxy: X-Forwarded-For is ignored, so rotating it does not help
    client = locked_client(login_rate_limit="2 per minute")
    for i in range(2):
        client.post("/login", data={"code": "x"}, headers={"X-Forwarded-For": f"198.51.100.{i}"})
    blocked = client.post("/login", data={"code": "x"}, headers={"X-Forwarded-For": "198.51.100.99"})
    assert blocked.headers["X-Login-Result"] == "locked"
    # one trusted proxy: the client address is the last X-Forwarded-For entry
    proxied = locked_client(login_rate_limit="2 per minute", trusted_proxies=1)
    for i in range(2):
        proxied.post("/login", data={"code": "x"}, headers={"X-Forwarded-For": "198.51.100.7"})
    assert proxied.post("/login", data={"code": "x"}, headers={"X-Forwarded-For": "198.51.100.7"}).headers["X-Login-Result"] == "locked"
    assert proxied.post("/login", data={"code": "x"}, headers={"X-Forwarded-For": "198.51.100.8"}).headers["X-Login-Result"] == "invalid"


def test_codes_are_never_logged(locked_client, caplog):
    caplog.set_level(logging.DEBUG)
    client = locked_client()
    login(client, "wrong-guess-code")
    login(client, "alpha-code-1")
    text = caplog.text
    assert "failed login" in text and "login from" in text
    assert "wrong-guess-code" not in text and "alpha-code-1" not in text


def test_constant_time_compare_checks_every_code():
    assert access.code_matches("b", ["a", "b", "c"]) == "b"
    assert access.code_matches("", ["a"]) is None
    assert access.code_matches("ab", ["a", "abc"]) is None


@pytest.mark.parametrize("secret", [None, "", "change-me", "short"])
def test_start_up_refuses_a_missing_or_weak_secret_key(secret):
    from config import SettingsError, load_settings

    with pytest.raises(SettingsError, match="SECRET_KEY") as refused:
        load_settings(_env_file=None, access_codes=CODES, secret_key=secret)
    if secret:
        assert secret not in str(refused.value)  # the value is never echoed
    # no access codes: no secret needed
    load_settings(_env_file=None, secret_key=secret)


def test_app_process_refuses_to_start_without_secret(upstream):
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env.update(app_env(upstream, ACCESS_CODES=CODES, SECRET_KEY="change-me", PORT="1"))
    done = subprocess.run([sys.executable, "chat_app.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "SECRET_KEY" in done.stderr + done.stdout
    assert "change-me" not in done.stderr + done.stdout  # the value is never echoed


def test_open_proxy_warning(upstream):
    settings = make_settings(None)
    assert access.open_proxy_warning(settings, "127.0.0.1") is None
    assert access.open_proxy_warning(settings, "localhost") is None
    assert "OPEN PROXY" in access.open_proxy_warning(settings, "0.0.0.0")
    assert access.open_proxy_warning(make_settings(None, access_codes=CODES, secret_key=SECRET), "0.0.0.0") is None
    assert access.open_proxy_warning(make_settings(None, openai_api_key=None, provider="openai"), "0.0.0.0") is None
    # the real process logs it loudly when bound to all interfaces
    app = AppProcess(app_env(upstream, HOST="0.0.0.0"))
    try:
        assert "OPEN PROXY" in app.log()
    finally:
        app.stop()


@pytest.mark.browser
def test_login_flow_in_chromium(upstream, page):
    """Login page → wrong code → right code → chat works → session gone → back to login."""
    upstream.reset()
    app = AppProcess(app_env(upstream, ACCESS_CODES=CODES, SECRET_KEY=SECRET))
    try:
        page.goto(app.url)
        page.wait_for_selector("#login-code")
        assert page.url.endswith("/login")
        page.screenshot(path="test-artifacts/login.png")
        page.fill("#login-code", "not-a-code")
        page.click("#login-submit")
        page.wait_for_selector("#login-error")
        assert "not valid" in page.inner_text("#login-error")
        page.fill("#login-code", "beta-code-2")
        page.click("#login-submit")
        page.wait_for_selector("#chat-input")
        page.fill("#chat-input", "after login")
        page.click("#chat-send-button")
        page.locator(".chat-message-assistant", has_text="Echo: after login").wait_for(timeout=15000)
        # the session ends (cookie gone): the next send is refused and the page goes to login
        page.context.clear_cookies()
        page.fill("#chat-input", "after logout")
        page.click("#chat-send-button")
        page.wait_for_url("**/login", timeout=15000)
        page.wait_for_selector("#login-code")
        assert page.errors == []
        assert "alpha-code-1" not in app.log() and "beta-code-2" not in app.log()
    finally:
        app.stop()


@pytest.mark.browser
def test_login_page_speaks_chinese(upstream, browser):
    app = AppProcess(app_env(upstream, ACCESS_CODES=CODES, SECRET_KEY=SECRET))
    context = browser.new_context(locale="zh-CN", extra_http_headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    try:
        page = context.new_page()
        page.goto(app.url)
        page.wait_for_selector("#login-code")
        assert "访问码" in page.inner_text("body")
        page.screenshot(path="test-artifacts/login-zh.png")
    finally:
        context.close()
        app.stop()
