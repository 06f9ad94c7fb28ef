"""Sessions end at logout and at an absolute age (chatserver/sessions.py, chatserver/access.py):
logout is a same-origin POST that revokes the session server-side (memory storage here,
Redis shared by two gunicorn workers below), GET /logout signs nobody out, the Log out
button shows only with access codes, and SESSION_MAX_AGE counts from sign-in without
sliding."""

from __future__ import annotations

import http.client
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import pytest

from chatserver import access, sessions
from components import ids
from tests.conftest import AppProcess, app_env
from tests.test_limits_redis import _gunicorn, _pids_that_served, redis_url  # noqa: F401 (redis_url is a fixture)
from tests.upstream import Reply

from tests.test_access import CHAT_BODY, CODES, SECRET, locked_client  # noqa: F401 - the fixture is used by name

SAME_ORIGIN = {"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}


class FakeClock:
    """``time.time`` under the test's control (itsdangerous, chatcore and the limits
    storage all read it), starting at the real time."""

    def __init__(self, monkeypatch):
        self.now = time.time()
        monkeypatch.setattr(time, "time", lambda: self.now)

    def advance(self, seconds: float) -> None:
        self.now += seconds


def login(client, code: str = "alpha-code-1"):
    """POST the login form; the response."""
    response = client.post("/login", data={"code": code})
    assert response.headers["X-Login-Result"] == "ok"
    return response


def signed_in(client) -> bool:
    """True when the client's cookie opens the chat (the layout is the chat, not the login form)."""
    layout = client.get("/_dash-layout").get_data(as_text=True)
    assert ("chat-input" in layout) != ("login-form" in layout)
    return "chat-input" in layout


def cookie_data(client) -> dict:
    """The decoded session of the client's cookie (signed with the app's key)."""
    app = client.application
    value = client.get_cookie(access.SESSION_COOKIE).value
    return app.session_interface.get_signing_serializer(app).loads(value)


def test_logout_revokes_the_session_on_the_server(locked_client):
    client = locked_client()
    login(client)
    stolen = client.get_cookie(access.SESSION_COOKIE).value
    sid = cookie_data(client)["sid"]
    assert signed_in(client)

    response = client.post("/logout", headers=SAME_ORIGIN)
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    assert "Max-Age=0" in response.headers["Set-Cookie"]  # the browser forgets it
    assert not signed_in(client)

    # a copy of the cookie taken before logout no longer opens anything
    thief = client.application.test_client()
    thief.set_cookie(access.SESSION_COOKIE, stolen)
    assert not signed_in(thief)
    assert thief.post("/api/chat/stream", json=CHAT_BODY).status_code == 401
    assert thief.get("/api/models").status_code == 401

    # the revocation entry lives in the limits storage until the session would have ended
    storage = client.application.extensions["chat_limits"].storage
    assert sessions.is_revoked(storage, sid)
    left = storage.expirations[sessions.REVOKED_KEY.format(sid=sid)] - time.time()
    max_age = client.application.config["CHAT_SETTINGS"].session_max_age
    assert max_age - 5 < left <= max_age + sessions.CLOCK_SKEW + 1

    # only that session: signing in again (a new sid) works
    login(client, "beta-code-2")
    assert signed_in(client) and cookie_data(client)["sid"] != sid


def test_get_logout_signs_nobody_out(locked_client):
    """A model reply with ![x](/logout) makes the browser GET it: nothing happens."""
    client = locked_client()
    login(client)
    for method in ("GET", "HEAD"):
        response = client.open("/logout", method=method, headers={"Accept": "image/*"})
        assert response.status_code == 405, method
        assert "Set-Cookie" not in response.headers
    assert signed_in(client)


def test_cross_site_logout_is_refused(locked_client):
    client = locked_client()
    login(client)
    assert client.post("/logout", headers={"Origin": "https://evil.example"}).status_code == 403
    assert client.post("/logout", headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
    assert signed_in(client)


def _components(node):
    """Every component (``{type, namespace, props}``) in a Dash layout JSON tree."""
    if isinstance(node, list):
        for item in node:
            yield from _components(item)
    elif isinstance(node, dict):
        if "type" in node and "props" in node:
            yield node
        for value in node.values():
            yield from _components(value)


def _logout_forms(client, **headers) -> list[dict]:
    """The ``POST /logout`` forms in the client's layout."""
    layout = client.get("/_dash-layout", headers=headers).get_json()
    return [c for c in _components(layout) if c["type"] == "Form" and c["props"].get("action") == "/logout"]


def test_log_out_button_only_with_access_codes(locked_client, make_client):
    client = locked_client()
    login(client)
    (form,) = _logout_forms(client)
    assert form["props"]["method"] == "POST"
    button = form["props"]["children"]
    assert ids.LOGOUT_BUTTON == "chat-logout-button"
    assert button["type"] == "Button" and button["props"]["id"] == ids.LOGOUT_BUTTON and button["props"]["type"] == "submit"
    assert button["props"]["title"] == "Log out"
    (chinese,) = _logout_forms(client, **{"Accept-Language": "zh-CN,zh;q=0.9"})
    assert chinese["props"]["children"]["props"]["title"] == "退出登录"
    # no access codes: nobody signs in, so there is nothing to log out of
    open_client = make_client()
    assert _logout_forms(open_client) == []
    # no component has the id (the page config lists every id by name: components/ids.page_ids)
    assert f'"id":"{ids.LOGOUT_BUTTON}"' not in open_client.get("/_dash-layout").get_data(as_text=True).replace(": ", ":")


def test_lifetime_counts_from_sign_in_and_does_not_slide(locked_client, monkeypatch):
    clock = FakeClock(monkeypatch)
    client = locked_client(session_max_age=3600)
    response = login(client)
    signed_in_at = int(clock.now)
    expires = parsedate_to_datetime(response.headers["Set-Cookie"].split("Expires=")[1].split(";")[0])
    assert abs(expires.timestamp() - (signed_in_at + 3600)) <= 1

    # used every ten minutes: still the same cookie, never re-issued with a later expiry
    for _ in range(5):
        clock.advance(600)
        page = client.get("/_dash-layout")
        assert "chat-input" in page.get_data(as_text=True)
        assert "Set-Cookie" not in page.headers
        models = client.get("/api/models")
        assert models.status_code == 200 and "Set-Cookie" not in models.headers
    clock.advance(signed_in_at + 3599 - clock.now)
    assert signed_in(client)
    clock.advance(1)  # SESSION_MAX_AGE after sign-in: over, however busy the session was
    assert not signed_in(client)
    assert client.get("/api/models").status_code == 401
    assert cookie_data(client)["iat"] == signed_in_at  # the sign-in time the server checks


def test_an_old_session_is_refused_even_freshly_signed(locked_client):
    """The server checks the sign-in time inside the cookie, not only the cookie's own
    Expires or signature age: a re-signed copy of an old session (or one without a
    sign-in time, from before this check) does not open anything."""
    client = locked_client(session_max_age=3600)
    login(client)
    data = cookie_data(client)
    app = client.application
    serializer = app.session_interface.get_signing_serializer(app)
    for forged in ({**data, "iat": int(time.time()) - 3601}, {k: v for k, v in data.items() if k != "iat"}):
        replay = app.test_client()
        replay.set_cookie(access.SESSION_COOKIE, serializer.dumps(forged))
        assert not signed_in(replay), forged
    fresh = app.test_client()
    fresh.set_cookie(access.SESSION_COOKIE, serializer.dumps({**data, "iat": int(time.time()) - 3500}))
    assert signed_in(fresh)


# --- several workers: the revocation is shared through Redis -------------------------


def _login_cookie(url: str) -> str:
    """Sign in over HTTP; the ``chat_session=…`` pair to send back."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request("POST", "/login", body="code=alpha-code-1", headers={"Content-Type": "application/x-www-form-urlencoded"})
        response = conn.getresponse()
        response.read()
        assert response.status == 303 and response.getheader("X-Login-Result") == "ok"
        return response.getheader("Set-Cookie").split(";")[0]
    finally:
        conn.close()


def _request(url: str, method: str, path: str, cookie: str, body: bytes | None = None) -> tuple[int, str | None]:
    """One request on its own connection; ``(status, Location)``."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        headers = {"Cookie": cookie, "Connection": "close", "Content-Type": "application/json"}
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status, response.getheader("Location")
    finally:
        conn.close()


def _burst(url: str, cookie: str, count: int) -> list[int]:
    """``count`` chat requests with ``cookie`` at once, each on its own connection."""
    body = b'{"messages": [{"role": "user", "content": "who serves me"}]}'
    with ThreadPoolExecutor(count) as pool:
        return [status for status, _ in pool.map(lambda _: _request(url, "POST", "/api/chat/stream", cookie, body), range(count))]


def _refused_by_both_workers(app, cookie: str, status: int, burst: int) -> dict[str, list[str]]:
    """Bursts of ``burst`` chat requests (each answered ``status`` only) until the access
    log shows both gunicorn workers answering them (at most 5 bursts: refusals are
    quick, so one worker may take a whole burst); returns ``{pid: [statuses]}``."""
    mark = len(app.log())
    seen: dict[str, list[str]] = {}
    for _ in range(5):
        assert set(_burst(app.url, cookie, burst)) == {status}
        time.sleep(0.3)
        seen = _pids_that_served(app.log()[mark:])
        if len(seen) == 2:
            break
    return seen


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server not installed (.ci/run installs it)")
def test_logout_is_seen_by_both_workers_through_redis(upstream, redis_url):  # noqa: F811 (the imported fixture)
    """Two gunicorn workers, one Redis: a logout served by one worker revokes the session
    on the other too (the access log's PID shows who served what)."""
    url, port = redis_url
    upstream.reset()
    app = _gunicorn(
        upstream, url, ACCESS_CODES=CODES, SECRET_KEY=SECRET, SESSION_MAX_AGE="3600",
        CHAT_RATE_LIMIT_ADDRESS="", MAX_STREAMS_PER_SESSION="0",
    )
    try:
        cookie = _login_cookie(app.url)
        # signed in: slow replies (0.3 s each) keep one worker busy, so both serve
        upstream.script(*[Reply(content="ok", first_token_delay=0.3) for _ in range(6)])
        assert _burst(app.url, cookie, 6) == [200] * 6
        time.sleep(0.3)
        before = _pids_that_served(app.log())
        assert len(before) == 2, f"both workers must have served the signed-in session: {before}"

        assert _request(app.url, "POST", "/logout", cookie) == (303, "/login")
        after = _refused_by_both_workers(app, cookie, 401, 12)
        assert len(after) == 2, f"both workers must have refused the logged-out cookie: {after}"
        assert {status for statuses in after.values() for status in statuses} == {"401"}
    finally:
        app.stop()
    upstream.reset()
    cli = ["redis-cli", "-p", str(port)]
    keys = [key for key in subprocess.run([*cli, "--scan"], capture_output=True, text=True).stdout.split() if "revoked" in key]
    assert len(keys) == 1, keys
    ttl = int(subprocess.run([*cli, "ttl", keys[0]], capture_output=True, text=True).stdout)
    assert 3600 - 60 < ttl <= 3600 + sessions.CLOCK_SKEW


@pytest.mark.browser
def test_log_out_button_in_chromium(upstream, browser, page):
    """Sign in, press Log out: back at the login page, and the old cookie is dead."""
    upstream.reset()
    app = AppProcess(app_env(upstream, ACCESS_CODES=CODES, SECRET_KEY=SECRET))
    try:
        page.goto(app.url)
        page.fill("#login-code", "alpha-code-1")
        page.click("#login-submit")
        page.wait_for_selector("#chat-input")
        old_cookies = page.context.cookies()
        assert page.is_visible(f"#{ids.LOGOUT_BUTTON}")
        page.screenshot(path="test-artifacts/logout-button.png")
        page.click(f"#{ids.LOGOUT_BUTTON}")
        page.wait_for_url("**/login", timeout=15000)
        page.wait_for_selector("#login-code")
        assert page.errors == []
        # the cookie from before logout, in a fresh browser: still the login page
        context = browser.new_context()
        try:
            context.add_cookies(old_cookies)
            other = context.new_page()
            other.goto(app.url)
            other.wait_for_selector("#login-code")
            assert other.url.endswith("/login")
        finally:
            context.close()
    finally:
        app.stop()
