"""Configuration and command line: bad values stop start-up, ``--help``, ``local`` mode.

``local`` mode is checked for real: a tiny HTTP forward proxy on 127.0.0.1 records
every request it forwards to the test upstream; with ``local`` the app's OpenAI
traffic goes through it, without ``local`` it sees nothing even when
HTTP_PROXY/HTTPS_PROXY point at it.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from chatcore.sse import parse_events
from config import Settings, SettingsError, load_settings
from tests.conftest import ROOT, TEST_KEY, AppProcess, app_env

SECRET_LIKE = "sk-very-secret-value-0123456789"


def run_app(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``python chat_app.py ARGS`` to completion (for start-up failures and --help)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "HTTP_PROXY", "HTTPS_PROXY"))}
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "chat_app.py", *args], cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=timeout
    )


# ------------------------------------------------------------ in-process settings
@pytest.mark.parametrize(
    "name,value",
    [
        ("PORT", "abc"),
        ("PORT", "70000"),
        ("REQUEST_TIMEOUT", "-1"),
        ("REQUEST_TIMEOUT", "soon"),
        ("MAX_RETRIES", "9"),
        ("MAX_MESSAGE_CHARS", "0"),
        ("OPENAI_BASE_URL", "ftp://example.invalid"),
        ("LOCAL_PROXY", SECRET_LIKE),
        ("USE_LOCAL_PROXY", "maybe"),
    ],
)
def test_load_settings_names_the_bad_variable(monkeypatch, name, value):
    monkeypatch.setenv("OPENAI_API_KEY", TEST_KEY)
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as info:
        load_settings(_env_file=None)
    message = str(info.value)
    assert f"{name}:" in message
    assert TEST_KEY not in message and SECRET_LIKE not in message
    if value not in ("0", "9", "-1"):
        assert value not in message


def test_short_secret_key_with_access_codes_is_named_not_echoed(monkeypatch):
    monkeypatch.setenv("ACCESS_CODES", "letmein-code-1")
    monkeypatch.setenv("SECRET_KEY", "shortsecret")
    with pytest.raises(SettingsError) as info:
        load_settings(_env_file=None)
    message = str(info.value)
    assert "SECRET_KEY" in message
    assert "shortsecret" not in message and "letmein-code-1" not in message


def test_settings_defaults_and_secret_repr(monkeypatch):
    for name in list(os.environ):
        if name.startswith("OPENAI_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("OPENAI_API_KEY", TEST_KEY)
    monkeypatch.setenv("OPENAI_MODELS", "a, b,,test-x")
    settings = load_settings(_env_file=None)
    assert settings.has_server_key and settings.port == 8050 and settings.use_local_proxy is False
    assert settings.models[0] == settings.openai_model and settings.models[1:] == ["a", "b", "test-x"]
    assert TEST_KEY not in repr(settings) and TEST_KEY not in str(settings.model_dump())
    assert not Settings(_env_file=None, openai_api_key="   ").has_server_key


# ------------------------------------------------------------ the real command line
@pytest.mark.parametrize("name,value", [("PORT", "abc"), ("REQUEST_TIMEOUT", "-1"), ("OPENAI_BASE_URL", "not-a-url")])
def test_bad_value_stops_startup(upstream, name, value):
    env = app_env(upstream, **{name: value})
    result = run_app([], env)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Invalid configuration" in output and f"{name}:" in output
    assert "Traceback" not in output
    assert TEST_KEY not in output


@pytest.mark.parametrize(
    "name,value,needles",
    [
        ("PROVIDER", "deepsek", ["unknown provider", "deepseek", "qwen", "moonshot", "zhipu", "ollama"]),
        ("CONNECTIONS", '[{"name": "work", "base_url": "llm.example.com", "api_key": "%s", "models": ["m"]}]' % SECRET_LIKE,
         ['entry 1 ("work"): base_url: must start with http']),
        ("CONNECTIONS", '[{"name": "a", "base_url": "https://a.example/v1", "models": ["m"]}, '
                        '{"name": "a", "base_url": "https://b.example/v1", "models": ["m"]}]', ['entry 2 ("a")', "already used"]),
        ("CONNECTIONS", "[{oops", ["must be a JSON list"]),
    ],
)
def test_bad_provider_or_connections_stop_startup(upstream, name, value, needles):
    """An unknown PROVIDER lists the known ones; a bad CONNECTIONS entry is named; no
    traceback, no key (the entry's or the server's) in the output."""
    result = run_app([], app_env(upstream, **{name: value}))
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Invalid configuration" in output and f"{name}:" in output and "Traceback" not in output
    for needle in needles:
        assert needle in output, needle
    assert SECRET_LIKE not in output and TEST_KEY not in output and "deepsek" not in output


def test_secret_bad_value_not_echoed(upstream):
    env = app_env(upstream, PORT=SECRET_LIKE)
    result = run_app([], env)
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "PORT:" in output
    assert SECRET_LIKE not in output and TEST_KEY not in output


def test_help_explains_local():
    # --help works even when the configuration is bad
    result = run_app(["--help"], {"PORT": "abc"})
    assert result.returncode == 0
    out = " ".join(result.stdout.split())
    assert "local" in out and "LOCAL_PROXY" in out and "proxy" in out
    assert "Without it no proxy is used" in out


def test_unknown_mode_is_rejected():
    result = run_app(["remote"], {})
    assert result.returncode == 2 and "invalid choice" in result.stderr


# ------------------------------------------------------------ local mode through a real proxy
class RecordingProxy:
    """A minimal HTTP forward proxy (absolute-form requests, RFC 9112 §3.2.2) on 127.0.0.1.

    Records ``(method, target)`` of each forwarded request; forwards the body, reads
    the whole upstream response and returns it with a Content-Length.
    """

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def _forward(self) -> None:
                proxy.requests.append((self.command, self.path))
                target = urlsplit(self.path)
                if target.scheme != "http" or target.hostname != "127.0.0.1":
                    self.send_error(403, "this test proxy forwards only to http://127.0.0.1")
                    return
                length = int(self.headers.get("Content-Length") or 0)
                data = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("proxy-connection", "connection", "host")}
                conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
                path = target.path + (f"?{target.query}" if target.query else "")
                conn.request(self.command, path, body=data, headers=headers)
                response = conn.getresponse()
                payload = response.read()
                self.send_response(response.status)
                for key, value in response.getheaders():
                    if key.lower() not in ("transfer-encoding", "content-length", "connection"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(payload)
                conn.close()
                self.close_connection = True

            do_GET = do_POST = _forward

            def do_CONNECT(self):  # tunnels are not needed for http:// upstreams
                proxy.requests.append(("CONNECT", self.path))
                self.send_error(405)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def proxy():
    server = RecordingProxy()
    yield server
    server.stop()


def chat_once(app: AppProcess, content: str) -> list[tuple[str, dict]]:
    """One chat request to the app; the parsed SSE events."""
    conn = http.client.HTTPConnection("127.0.0.1", app.port, timeout=30)
    conn.request(
        "POST", "/api/chat/stream", body=json.dumps({"messages": [{"role": "user", "content": content}]}),
        headers={"Content-Type": "application/json"},
    )
    return parse_events(conn.getresponse().read())


def app_command(*args: str) -> list[str]:
    return [sys.executable, "chat_app.py", *args]


def test_local_mode_sends_openai_traffic_through_the_proxy(fresh_upstream, proxy):
    app = AppProcess(app_env(fresh_upstream, LOCAL_PROXY=proxy.url), command=app_command("local"))
    try:
        events = chat_once(app, "via proxy 代理")
        assert "".join(d["content"] for n, d in events if n == "delta") == "Echo: via proxy 代理"
        chat_posts = [r for r in proxy.requests if r[0] == "POST"]
        assert chat_posts == [("POST", fresh_upstream.url + "/chat/completions")]
        assert len(fresh_upstream.requests) == 1
        # the app's own traffic is not proxied: the page and health check are served directly
        assert not any("/healthz" in target for _, target in proxy.requests)
        assert "local mode" in app.log() and TEST_KEY not in app.log()
    finally:
        app.stop()


def test_use_local_proxy_setting_same_as_local(fresh_upstream, proxy):
    app = AppProcess(app_env(fresh_upstream, LOCAL_PROXY=proxy.url, USE_LOCAL_PROXY="true"))
    try:
        chat_once(app, "hello")
        assert ("POST", fresh_upstream.url + "/chat/completions") in proxy.requests
    finally:
        app.stop()


def test_local_mode_ignores_no_proxy_and_proxies_loopback_too(fresh_upstream, proxy):
    """`local`: every OpenAI request goes through LOCAL_PROXY, the loopback upstream and the
    model list included, whatever NO_PROXY says (the environment's proxy variables are not read)."""
    env = app_env(fresh_upstream, LOCAL_PROXY=proxy.url, NO_PROXY="127.0.0.1,localhost", no_proxy="*")
    app = AppProcess(env, command=app_command("local"))
    try:
        chat_once(app, "through the proxy")
        conn = http.client.HTTPConnection("127.0.0.1", app.port, timeout=30)
        conn.request("GET", "/api/models")
        assert conn.getresponse().status == 200
        assert ("POST", fresh_upstream.url + "/chat/completions") in proxy.requests
        assert ("GET", fresh_upstream.url + "/models") in proxy.requests
        assert len(fresh_upstream.requests) == 1
    finally:
        app.stop()


def test_without_local_proxy_env_vars_are_ignored(fresh_upstream, proxy):
    env = app_env(
        fresh_upstream, LOCAL_PROXY=proxy.url, HTTP_PROXY=proxy.url, HTTPS_PROXY=proxy.url,
        http_proxy=proxy.url, https_proxy=proxy.url, ALL_PROXY=proxy.url, all_proxy=proxy.url, NO_PROXY="",
    )
    app = AppProcess(env)
    try:
        events = chat_once(app, "direct")
        assert "".join(d["content"] for n, d in events if n == "delta") == "Echo: direct"
        assert len(fresh_upstream.requests) == 1
        assert proxy.requests == []
    finally:
        app.stop()
