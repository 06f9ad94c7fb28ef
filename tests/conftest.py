"""Shared fixtures: the test upstream, the app (in-process Flask client or a real
server process), and a headless Chromium driven by Playwright.

Everything listens on 127.0.0.1 with ephemeral ports; nothing leaves the machine.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.upstream import UpstreamServer

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TEST_KEY = "sk-test-server-key-0123456789abcdef"


def free_port() -> int:
    """An unused TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, timeout: float = 30.0) -> None:
    """Wait until ``url`` answers (any status), or raise TimeoutError."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(url)


def disconnect_before_first_token(upstream: UpstreamServer, port: int) -> tuple[float, list[dict]]:
    """Start a chat stream on the app at ``port``, wait for its ``meta`` event and the
    upstream request, then drop the connection (a browser's Stop before any token).

    Returns ``(time the client closed, the upstream's closed events)``; the caller has
    scripted a reply with a long first-token delay.
    """
    body = b'{"messages": [{"role": "user", "content": "think long"}]}'
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            b"POST /api/chat/stream HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        seen = b""
        while b"event: meta" not in seen:
            seen += sock.recv(4096)
        assert upstream.wait_for(lambda s: s.open_streams >= 1, timeout=5)
    closed_at = time.monotonic()
    return closed_at, upstream.wait_closed(1, timeout=5)


# The precompressed bundle store is on in tests as in production, at cheap levels: the
# defaults (Brotli 11, gzip 9) take ~10 s of CPU per fresh cache (15-30 s on 2 cores),
# which would compete with the browser tests; the files go to the default cache dir, made once per machine.
# Every AppProcess gets them unless the environment (or its env) sets others.
BUNDLE_LEVELS = {"BUNDLE_BROTLI_LEVEL": "5", "BUNDLE_GZIP_LEVEL": "6"}


class AppProcess:
    """`python chat_app.py` (or any command) in a subprocess on a free port."""

    def __init__(self, env: dict[str, str], command: list[str] | None = None, port: int | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = ROOT / "test-artifacts" / f"app-{self.port}.log"
        self.log_path.parent.mkdir(exist_ok=True)
        full_env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "HTTP_PROXY", "HTTPS_PROXY"))}
        full_env.update({"HOST": "127.0.0.1", "PORT": str(self.port), "PYTHONUNBUFFERED": "1"})
        for name, level in BUNDLE_LEVELS.items():
            full_env.setdefault(name, level)
        full_env.update(env)
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            command or [sys.executable, "chat_app.py"], cwd=ROOT, env=full_env, stdout=self._log, stderr=subprocess.STDOUT
        )
        try:
            wait_http(self.url + "/healthz")
        except TimeoutError:
            self.stop()
            raise RuntimeError("app did not start:\n" + self.log())

    def log(self) -> str:
        """Everything the process printed so far."""
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        """Terminate the process (then kill it if it lingers)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self._log.close()


@pytest.fixture(scope="session")
def upstream():
    """One test upstream for the session; reset before each test that uses it."""
    server = UpstreamServer().start()
    yield server
    server.stop()


@pytest.fixture
def fresh_upstream(upstream):
    """The session upstream with its queue, requests and events cleared."""
    upstream.reset()
    return upstream


NO_LIMITS = {
    "CHAT_RATE_LIMIT_SESSION": "",
    "CHAT_RATE_LIMIT_ADDRESS": "",
    "MAX_STREAMS_PER_SESSION": "0",
    "MAX_STREAMS_PER_ADDRESS": "0",
    "MODELS_RATE_LIMIT": "",
}


def app_env(upstream: UpstreamServer, **extra: str) -> dict[str, str]:
    """Environment for an app pointed at ``upstream`` with the test server key."""
    env = {
        "OPENAI_API_KEY": TEST_KEY,
        "OPENAI_BASE_URL": upstream.url,
        "OPENAI_MODEL": "test-model",
        "REQUEST_TIMEOUT": "5",
        "MAX_RETRIES": "0",
    }
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def app_server(upstream):
    """`python chat_app.py` against the session upstream, for browser tests."""
    # Many browser tests share this process: chat rate limits would turn their
    # requests into 429s, so they are off here (tests/test_limits*.py cover them).
    app = AppProcess(app_env(upstream, **NO_LIMITS))
    yield app
    app.stop()


def make_settings(upstream: UpstreamServer | None = None, **overrides):
    """A ``config.Settings`` for in-process tests (ignores the real environment's .env)."""
    from config import Settings

    values = {
        "openai_api_key": TEST_KEY,
        "openai_base_url": upstream.url if upstream else "http://127.0.0.1:9/v1",
        "openai_model": "test-model",
        "request_timeout": 5,
        "max_retries": 0,
        **{name.lower(): int(level) for name, level in BUNDLE_LEVELS.items()},  # the store's test levels
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


@pytest.fixture
def make_client(fresh_upstream):
    """Factory: a Flask test client of the app built with settings overrides."""
    from chat_app import create_app

    def factory(**overrides):
        app = create_app(make_settings(fresh_upstream, **overrides))
        return app.server.test_client()

    return factory


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium via Playwright (never `playwright install`)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    """A fresh browser context and page (empty IndexedDB), with console errors collected."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))  # type: ignore[attr-defined]
    yield page
    context.close()
