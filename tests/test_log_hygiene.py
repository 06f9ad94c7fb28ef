"""Login ``next`` stays on this origin, malformed requests get a 4xx and one warning line
(no traceback), client-supplied values cannot forge log lines, and TRUSTED_PROXIES
trusts only X-Forwarded-For/-Proto unless TRUSTED_PROXY_HOST (chatserver/access.py,
chatserver/hygiene.py, chatcore/logsafe.py, gunicorn.conf.py)."""

from __future__ import annotations

import json

import http.client
import logging
import sys
import time

import pytest

from chatserver import access
from chatcore.logsafe import escape
from tests.conftest import AppProcess, app_env, free_port

SECRET = "s3cret-for-hygiene-tests-" + "q" * 16
CODES = "alpha-code-1"
DEEP_JSON = b"[" * 100_000 + b"]" * 100_000  # 200 kB, under MAX_BODY_BYTES
LINE_BREAKS = ("\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")  # str.splitlines()
# Paths under /_dash-component-suites/ (public: no login needed) that Dash cannot serve:
# invalid percent-encoding, invalid UTF-8, NUL, traversal, unknown package.
BAD_COMPONENT_PATHS = (
    "/_dash-component-suites/dash/%ff.js",
    "/_dash-component-suites/dash/%C0%AF.js",
    "/_dash-component-suites/dash/%zz.js",
    "/_dash-component-suites/dash/dcc/async-%ff%fe.js",
    "/_dash-component-suites/dash/dcc/dash_core_components.v4_4_1m1.js%00",
    "/_dash-component-suites/dash/..%2f..%2fconfig.py",
    "/_dash-component-suites/%ff/x.js",
    "/_dash-component-suites/no_such_package/x.js",
)

# --- item 3: the login form's `next` -------------------------------------------------

# (value of the `next` form field, as the server receives it after form decoding)
OFF_SITE_NEXT = [
    "/\t/evil.example", "/\r/evil.example", "/\n/evil.example", "/\r\nSet-Cookie: x=1", "\t//evil.example",
    "/%09/evil.example", "/%0d%0a/evil.example", "/%0a/evil.example",
    "//evil.example", "///evil.example", "////evil.example", "/\\evil.example", "\\\\evil.example",
    "/\\/evil.example", "\\/evil.example", "/%5Cevil.example", "/%5c%5cevil.example",
    "/%2F/evil.example", "/%2f%2fevil.example", "%2F%2Fevil.example", "/%252F/evil.example", "/%25252F/evil.example",
    "https://evil.example", "https:evil.example", "http:/evil.example", "HTTPS://evil.example", "javascript:alert(1)",
    "data:text/html,x", "evil.example", "//evil.example/%2F..", " /evil.example", "/ /evil.example",
    "/\x00/evil.example", "/\x0b/evil.example", "/\u2028/evil.example", "/\u3000/evil.example", "/\x1b[31m",
    "/%ff", "/%C0%AF", "/" + "a" * 3000, "",
]
LOCAL_NEXT = ["/", "/?conversation=abc", "/c/123#end", "/a%2Bb", "/search?q=a%2Fb"]


@pytest.mark.parametrize("value", OFF_SITE_NEXT)
def test_safe_next_refuses_anything_but_a_local_path(value):
    assert access.safe_next(value) == "/"


@pytest.mark.parametrize("value", LOCAL_NEXT)
def test_safe_next_keeps_local_paths(value):
    assert access.safe_next(value) == value


@pytest.fixture
def locked_client(make_client):
    """Factory: a test client of an app with an access code."""

    def factory(**overrides):
        values = {"access_codes": CODES, "secret_key": SECRET, "login_rate_limit": ""}
        values.update(overrides)
        return make_client(**values)

    return factory


def test_login_next_redirects_only_on_this_origin(locked_client):
    """Every payload over HTTP: a 303 to ``/`` (never a 500, never another host)."""
    client = locked_client()
    failures = []
    for value in OFF_SITE_NEXT:
        response = client.post("/login", data={"code": "alpha-code-1", "next": value})
        if response.status_code != 303 or response.headers.get("Location") != "/":
            failures.append((value, response.status_code, response.headers.get("Location")))
    # the red-team payload exactly as sent: %09 in the form body is a tab in the value
    raw = client.post("/login", data="code=alpha-code-1&next=/%09/evil.example", content_type="application/x-www-form-urlencoded")
    if raw.headers.get("Location") != "/":
        failures.append(("raw /%09/evil.example", raw.status_code, raw.headers.get("Location")))
    for value in LOCAL_NEXT:
        response = client.post("/login", data={"code": "alpha-code-1", "next": value})
        if response.status_code != 303 or response.headers.get("Location") != value:
            failures.append((value, response.status_code, response.headers.get("Location")))
    assert failures == []


# --- item 8: malformed requests: a 4xx and one warning line, no traceback ------------


def _tracebacks(caplog) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.exc_info or "Traceback" in record.getMessage()]


def test_malformed_component_paths_are_404_without_traceback(make_client, caplog):
    caplog.set_level(logging.INFO)
    client = make_client()
    for path in BAD_COMPONENT_PATHS:
        caplog.clear()
        response = client.get(path)
        assert response.status_code == 404, path
        assert _tracebacks(caplog) == [], path
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1 and "no such Dash component file" in warnings[0].getMessage(), path


@pytest.mark.parametrize("path", ["/api/chat/stream", "/_dash-update-component"])
def test_deeply_nested_json_is_400_without_traceback(make_client, caplog, path):
    caplog.set_level(logging.INFO)
    client = make_client()
    response = client.post(path, data=DEEP_JSON, content_type="application/json")
    assert response.status_code == 400
    if path.startswith("/api/"):
        assert response.json["error"]["code"] == "invalid_request"
    assert _tracebacks(caplog) == []
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "nested too deeply" in warnings[0].getMessage()
    # an ordinary request still works afterwards
    assert client.post("/api/chat/stream", json={"messages": []}).status_code == 422


# --- item 8: client-supplied values are escaped in log lines -------------------------

FORGED = "203.0.113.9\r\n2030-01-01 00:00:00 INFO chatserver.access: login from 10.0.0.1"  # no comma: X-Forwarded-For splits on it


def test_escape_makes_one_visible_line():
    for brk in LINE_BREAKS:
        assert len(escape(f"a{brk}b").splitlines()) == 1
    assert escape("1.2.3.4\r\nX") == "1.2.3.4\\r\\nX"
    assert escape("\x1b[31m\x85\u2028") == "\\x1b[31m\\x85\\u2028"
    assert escape("a\\nb") == "a\\\\nb"  # a literal backslash-n cannot pass for an escape
    assert escape("中文 model-1") == "中文 model-1"  # printable text of any script is kept
    assert escape(42) == "42"


def _no_forged_lines(text: str) -> None:
    for line in text.splitlines():
        assert not line.startswith(("2030-01-01", "FAKE")), line


def test_forwarded_for_cannot_forge_login_log_lines(locked_client, caplog):
    caplog.set_level(logging.INFO)
    client = locked_client(trusted_proxies=1, login_rate_limit="2 per minute")
    for forged in (FORGED, "198.51.100.1\x85FAKE LINE", "198.51.100.2\u2028FAKE LINE"):
        environ = {"HTTP_X_FORWARDED_FOR": forged}
        client.post("/login", data={"code": "wrong"}, environ_base=environ)  # failed login
        client.post("/login", data={"code": "wrong"}, environ_base=environ)
        client.post("/login", data={"code": "wrong"}, environ_base=environ)  # locked
        client.post("/login", data={"code": "alpha-code-1"}, environ_base={"HTTP_X_FORWARDED_FOR": forged + "x"})  # login
        client.post("/logout", environ_base={"HTTP_X_FORWARDED_FOR": forged + "x"})
    messages = [record.getMessage() for record in caplog.records]  # ours, flask-limiter's, Flask's
    assert any("failed login from" in m for m in messages) and any("login locked for" in m for m in messages)
    assert any(m.startswith("login from") for m in messages) and any("logout from" in m for m in messages)
    for message in messages:
        assert not any(brk in message for brk in LINE_BREAKS), repr(message)
    assert any("203.0.113.9\\r\\n2030-01-01" in m for m in messages)
    _no_forged_lines("\n".join(messages))


def test_exception_line_escapes_the_path(caplog):
    """Flask's "Exception on <path>" line: the path is the client's (``%0a`` decodes to LF)."""
    from chat_app import create_app
    from tests.conftest import make_settings

    app = create_app(make_settings(None))

    def boom(rest):
        raise RuntimeError("boom")

    app.server.add_url_rule("/boom/<path:rest>", "boom", boom)
    caplog.set_level(logging.INFO)
    assert app.server.test_client().get("/boom/%0aFAKE%20LINE").status_code == 500
    (record,) = [r for r in caplog.records if r.exc_info]
    assert record.getMessage() == "Exception on /boom/\\nFAKE LINE [GET]"


# --- item 8: TRUSTED_PROXIES trusts X-Forwarded-For/-Proto, not -Host/-Port ----------


def test_trusted_proxy_does_not_set_host_or_port(make_client):
    """Behind TRUSTED_PROXIES=1 a forged X-Forwarded-Host/-Port must not make another
    site's Origin look like ours (POST /login with no codes answers 303 when allowed)."""
    client = make_client(trusted_proxies=1)
    forged_host = {"Origin": "http://evil.example", "X-Forwarded-Host": "evil.example"}
    assert client.post("/login", headers=forged_host).status_code == 403
    forged_port = {"Origin": "http://localhost:9999", "X-Forwarded-Port": "9999"}
    assert client.post("/login", headers=forged_port).status_code == 403
    assert client.post("/login", headers={"Origin": "http://localhost"}).status_code == 303
    # X-Forwarded-Proto is still trusted: the cookie is Secure behind an HTTPS proxy
    secure = client.get("/", headers={"X-Forwarded-Proto": "https", "Accept": "text/html"})
    assert "Strict-Transport-Security" in secure.headers

    # the operator whose proxy does set them opts in
    opted = make_client(trusted_proxies=1, trusted_proxy_host=True)
    assert opted.post("/login", headers=forged_host).status_code == 303
    assert opted.post("/login", headers=forged_port).status_code == 303


def test_trusted_proxy_host_setting():
    from config import load_settings

    assert load_settings(_env_file=None).trusted_proxy_host is False
    assert load_settings(_env_file=None, trusted_proxy_host="true").trusted_proxy_host is True


# --- the same through the real gunicorn (gunicorn.conf.py, one worker) ---------------


def _send(port: int, method: str, path: str, headers: dict[str, str] | None = None, body: bytes | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers={"Connection": "close", **(headers or {})})
        response = conn.getresponse()
        response.read()
        return response
    finally:
        conn.close()


@pytest.mark.slow
def test_gunicorn_log_has_no_traceback_and_no_forged_line(upstream):
    upstream.reset()
    port = free_port()
    env = app_env(upstream, ACCESS_CODES=CODES, SECRET_KEY=SECRET, TRUSTED_PROXIES="1", GUNICORN_BIND=f"127.0.0.1:{port}",
                  GUNICORN_GRACEFUL_TIMEOUT="1", LOGIN_RATE_LIMIT="")
    app = AppProcess(env, command=[sys.executable, "-m", "gunicorn", "chat_app:server"], port=port)
    try:
        _send(port, "GET", "/%0d%0aFAKE-ACCESS-LINE")  # percent-decoded into the access log's %(U)s
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        # http.client sends the header as latin-1: NEL is the single byte 0x85 (obs-text)
        _send(port, "POST", "/login", {**form, "X-Forwarded-For": "198.51.100.7\x85FAKE-APP-LINE"}, b"code=wrong")
        signed = _send(port, "POST", "/login", form, b"code=alpha-code-1")
        cookie = signed.getheader("Set-Cookie").split(";")[0]
        statuses = [_send(port, "GET", path).status for path in BAD_COMPONENT_PATHS[:3]]
        json_headers = {"Cookie": cookie, "Content-Type": "application/json"}
        statuses += [_send(port, "POST", path, json_headers, DEEP_JSON).status for path in ("/api/chat/stream", "/_dash-update-component")]
        chat = _send(port, "POST", "/api/chat/stream", json_headers, json.dumps({"messages": [{"role": "user", "content": "hi"}]}).encode())
        statuses.append(chat.status)
        time.sleep(0.5)
        log = app.log()
    finally:
        app.stop()
    assert statuses == [404, 404, 404, 400, 400, 200]
    # one line per reply (chatserver.stream), not also the HTTP client's line per upstream request
    assert log.count("chat stream model=test-model") == 1 and "HTTP Request:" not in log
    assert "Traceback" not in log and "Exception on" not in log
    _no_forged_lines(log)
    assert "\\r\\nFAKE-ACCESS-LINE" in log  # escaped
    assert "failed login from 198.51.100.7\\x85FAKE-APP-LINE" in log
    assert log.count("refused a JSON body nested too deeply") == 2
    assert log.count("no such Dash component file") == 3
