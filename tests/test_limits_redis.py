"""Limits shared across workers: two gunicorn workers, one real Redis server
(Debian's redis-server, started here on a free loopback port), RATELIMIT_STORAGE_URI
pointing at it. The access log records each worker's pid, so the test shows that
both workers served chat requests and that together they allowed exactly the limit.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import AppProcess, app_env, free_port
from tests.upstream import Reply

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server not installed (.ci/run installs it)"),
]

LIMIT = 8
REQUESTS = 24


@pytest.fixture
def redis_url():
    """A throw-away redis-server on 127.0.0.1 (no persistence)."""
    port = free_port()
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True).stdout.strip() == "PONG":
            break
        time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail("redis-server did not start")
    yield f"redis://127.0.0.1:{port}/0", port
    proc.terminate()
    proc.wait(10)


def _gunicorn(upstream, storage_uri: str, **extra: str) -> AppProcess:
    """Two gthread workers (one connection each) sharing ``storage_uri``; ``extra``
    adds or overrides environment variables (tests/test_sessions.py uses it)."""
    port = free_port()
    env = app_env(
        upstream,
        RATELIMIT_STORAGE_URI=storage_uri,
        CHAT_RATE_LIMIT_ADDRESS=f"{LIMIT} per minute",
        CHAT_RATE_LIMIT_SESSION="",
        MAX_STREAMS_PER_ADDRESS="0",
        WEB_CONCURRENCY="2",
        # One connection at a time per worker (gthread, 1 thread, 1 connection): while
        # one worker streams a reply it does not accept, so both workers must serve.
        # (With gevent one worker may accept every connection of a burst.)
        GUNICORN_WORKER_CLASS="gthread",
        GUNICORN_THREADS="1",
        GUNICORN_CONNECTIONS="1",
        GUNICORN_BIND=f"127.0.0.1:{port}",
        GUNICORN_GRACEFUL_TIMEOUT="1",
    )
    env.update(extra)
    command = [sys.executable, "-m", "gunicorn", "chat_app:server", "--access-logformat", "PID=%(p)s %(U)s %(s)s"]
    return AppProcess(env, command=command, port=port)


def _fire(url: str, upstream) -> list[int]:
    """REQUESTS chat requests at once, each on its own connection; their statuses.

    Every reply that gets through takes 0.3 s, so a worker serving one is busy.
    """
    upstream.script(*[Reply(content="counted", first_token_delay=0.3) for _ in range(REQUESTS)])
    body = json.dumps({"messages": [{"role": "user", "content": "count me"}]}).encode()

    def one(_):
        request = urllib.request.Request(url + "/api/chat/stream", data=body, headers={"Content-Type": "application/json", "Connection": "close"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                response.read()
                return response.status
        except urllib.error.HTTPError as exc:
            exc.read()
            return exc.code

    with ThreadPoolExecutor(REQUESTS) as pool:
        statuses = list(pool.map(one, range(REQUESTS)))
    upstream.reset()  # the refused requests left scripted replies in the queue
    return statuses


def _pids_that_served(log: str) -> dict[str, list[str]]:
    served: dict[str, list[str]] = {}
    for pid, status in re.findall(r"PID=<?(\d+)>? /api/chat/stream (\d+)", log):
        served.setdefault(pid, []).append(status)
    return served


def _run(upstream, storage_uri: str) -> tuple[list[int], dict[str, list[str]]]:
    """Two workers with ``storage_uri``: the burst's statuses and which worker served what."""
    upstream.reset()
    app = _gunicorn(upstream, storage_uri)
    try:
        statuses = _fire(app.url, upstream)
        time.sleep(0.5)  # let the access log lines land
        return statuses, _pids_that_served(app.log())
    finally:
        app.stop()


def test_rate_limit_is_shared_by_two_workers_through_redis(upstream, redis_url):
    url, port = redis_url
    statuses, served = _run(upstream, url)
    assert statuses.count(200) == LIMIT, statuses
    assert statuses.count(429) == REQUESTS - LIMIT
    assert len(served) == 2, f"both workers must have served requests: {served}"
    assert sum(s.count("200") for s in served.values()) == LIMIT
    keys = subprocess.run(["redis-cli", "-p", str(port), "--scan"], capture_output=True, text=True).stdout.split()
    assert any("chat" in key for key in keys), keys


def test_memory_storage_is_per_worker(upstream):
    """The control: without Redis each worker counts alone, so more than LIMIT pass."""
    statuses, served = _run(upstream, "memory://")
    if len(served) < 2:
        pytest.skip("all requests landed on one worker this time")
    assert statuses.count(200) > LIMIT
    assert statuses.count(200) <= 2 * LIMIT
