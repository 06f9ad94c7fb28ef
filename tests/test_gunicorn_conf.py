"""gunicorn.conf.py with the real gunicorn: settings and overrides, concurrency, Stop,
graceful restarts and the access log, for both worker classes it supports."""

from __future__ import annotations

import concurrent.futures
import os
import runpy
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import httpx2
import pytest

from chatcore.sse import parse_events
from tests.conftest import NO_LIMITS, ROOT, TEST_KEY, AppProcess, app_env, disconnect_before_first_token, free_port
from tests.upstream import Reply

pytestmark = pytest.mark.slow



def print_config(cwd: Path | None = None, **env: str) -> dict[str, str]:
    """``gunicorn --print-config chat_app:server`` with ``env``: gunicorn's own reading of the file.

    Runs in ``cwd`` (a directory of the test's, holding its ``.env`` or none), so a
    developer's own ``.env`` in the repository does not change the answers."""
    full_env = {k: v for k, v in os.environ.items()
                if not k.startswith(("GUNICORN_", "WEB_CONCURRENCY", "PORT", "HOST", "OPENAI_"))}
    full_env.update(env, PYTHONPATH=str(ROOT))
    if cwd is None:
        cwd = ROOT / "test-artifacts" / "no-dotenv"
        cwd.mkdir(parents=True, exist_ok=True)
    out = subprocess.run([sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "--print-config",
                          "chat_app:server"], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    values = {}
    for line in out.stdout.splitlines():
        name, sep, value = line.partition("=")
        if sep:
            values[name.strip()] = value.strip()
    return values


def test_defaults_and_environment_overrides():
    """Defaults hold many streams and bind for Render; every choice is overridable."""
    default = print_config()
    assert default["bind"] == "['0.0.0.0:8050']"
    assert default["worker_class"] == "gevent"
    assert int(default["worker_connections"]) >= 1000
    # Longer than a long reply (REQUEST_TIMEOUT is 60 s between tokens by default).
    assert int(default["graceful_timeout"]) >= 120
    assert "%(q)s" not in default["access_log_format"] and "%(r)s" not in default["access_log_format"]

    custom = print_config(PORT="10000", WEB_CONCURRENCY="3", GUNICORN_WORKER_CLASS="gthread",
                          GUNICORN_THREADS="48", GUNICORN_GRACEFUL_TIMEOUT="200")
    assert custom["bind"] == "['0.0.0.0:10000']"
    assert (custom["workers"], custom["worker_class"], custom["threads"]) == ("3", "gthread", "48")
    assert custom["graceful_timeout"] == "200"
    assert print_config(GUNICORN_BIND="127.0.0.1:8050")["bind"] == "['127.0.0.1:8050']"


# ------------------------------------------------------------------ where it binds
CONF = runpy.run_path(str(ROOT / "gunicorn.conf.py"))  # the file's functions, without gunicorn


@pytest.mark.parametrize(
    "environ,dotenv,expected",
    [
        ({}, None, "0.0.0.0:8050"),                                                  # nothing: as before
        ({"PORT": "10000"}, None, "0.0.0.0:10000"),                                  # Render
        ({}, "HOST=127.0.0.1\nPORT=8050\n", "127.0.0.1:8050"),                       # .env from .env.example
        ({"PORT": "9000"}, "HOST=127.0.0.1\nPORT=8050\n", "127.0.0.1:9000"),         # the environment first
        ({"HOST": "0.0.0.0"}, "HOST=127.0.0.1\nPORT=8051\n", "0.0.0.0:8051"),
        ({"HOST": "127.0.0.1", "PORT": "8060"}, None, "127.0.0.1:8060"),
        ({"GUNICORN_BIND": "unix:/run/chat.sock", "HOST": "127.0.0.1"}, "HOST=0.0.0.0\n", "unix:/run/chat.sock"),
        ({"GUNICORN_BIND": " ", "HOST": ""}, "PORT=8070\n", "0.0.0.0:8070"),         # empty values are unset
        ({}, "HOST=::1\n", "[::1]:8050"),
        ({}, 'export HOST="127.0.0.1"  \n# PORT=1\nport=8090 # inline comment\n', "127.0.0.1:8090"),
    ],
)
def test_bind_order(tmp_path, environ, dotenv, expected):
    """GUNICORN_BIND; else HOST and PORT from the environment or .env; else 0.0.0.0:$PORT."""
    env_file = tmp_path / ".env"
    if dotenv is not None:
        env_file.write_text(dotenv)
    assert CONF["resolve_bind"](environ, env_file) == expected


def test_env_example_keeps_gunicorn_on_loopback():
    """The .env copied from .env.example binds 127.0.0.1:8050; on Render (PORT, no .env) 0.0.0.0."""
    assert CONF["resolve_bind"]({}, ROOT / ".env.example") == "127.0.0.1:8050"
    assert CONF["resolve_bind"]({"PORT": "10000"}, ROOT / "no-such.env") == "0.0.0.0:10000"


def test_a_bad_port_names_where_it_came_from(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("PORT=eighty\n")
    with pytest.raises(SystemExit, match=r"PORT from .*\.env must be a port number"):
        CONF["resolve_bind"]({}, env_file)
    with pytest.raises(SystemExit, match="PORT from the environment"):
        CONF["resolve_bind"]({"PORT": "70000"}, env_file)


def test_gunicorn_reads_host_and_port_from_dotenv(tmp_path):
    """The real gunicorn, started where a .env (as .env.example writes it) is: loopback."""
    (tmp_path / ".env").write_text("HOST=127.0.0.1\nPORT=8055\n")
    assert print_config(cwd=tmp_path)["bind"] == "['127.0.0.1:8055']"
    assert print_config(cwd=tmp_path, PORT="10000")["bind"] == "['127.0.0.1:10000']"
    assert print_config(cwd=tmp_path, GUNICORN_BIND="127.0.0.1:9999")["bind"] == "['127.0.0.1:9999']"


def test_worker_reports_the_bound_address_to_the_open_proxy_check(monkeypatch):
    """post_fork gives the worker GUNICORN_BIND = what gunicorn bound (a public address
    first), which chat_app's OPEN PROXY check reads."""
    monkeypatch.setenv("GUNICORN_BIND", "")  # recorded, so teardown removes what post_fork sets
    worker = SimpleNamespace(cfg=SimpleNamespace(bind=["127.0.0.1:8050", "0.0.0.0:8051"]))
    CONF["post_fork"](None, worker)
    assert os.environ["GUNICORN_BIND"] == "0.0.0.0:8051"
    CONF["post_fork"](None, SimpleNamespace(cfg=SimpleNamespace(bind=["127.0.0.1:8050"])))
    assert os.environ["GUNICORN_BIND"] == "127.0.0.1:8050"


def test_host_from_the_environment_keeps_gunicorn_off_the_open_internet(upstream):
    """HOST=127.0.0.1 and PORT (no GUNICORN_BIND), a server key and no ACCESS_CODES: gunicorn
    listens on loopback and prints no OPEN PROXY warning (it bound 0.0.0.0 before)."""
    port = free_port()
    env = app_env(upstream, HOST="127.0.0.1", PORT=str(port), WEB_CONCURRENCY="1")
    env.pop("GUNICORN_BIND", None)
    app = AppProcess(env, [sys.executable, "-m", "gunicorn", "chat_app:server"], port)
    try:
        time.sleep(0.5)
        log = app.log()
    finally:
        app.stop()
    assert f"Listening at: http://127.0.0.1:{port}" in log
    assert "OPEN PROXY" not in log


def start_gunicorn(upstream, worker_class: str, **extra: str) -> AppProcess:
    """`gunicorn chat_app:server` (one worker of ``worker_class``) on a free loopback port."""
    port = free_port()
    env = app_env(upstream, GUNICORN_BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY="1",
                  GUNICORN_WORKER_CLASS=worker_class, GUNICORN_THREADS="64", **NO_LIMITS)
    env.update(extra)
    return AppProcess(env, [sys.executable, "-m", "gunicorn", "chat_app:server"], port)


def read_stream(url: str, text: str, marker: str = "") -> list[tuple[str, dict]]:
    """POST one chat request and return its SSE events."""
    body = {"messages": [{"role": "user", "content": text}]}
    headers = {"User-Agent": marker} if marker else {}
    with httpx2.Client(timeout=30) as client:
        response = client.post(url + "/api/chat/stream", json=body, headers=headers)
    assert response.status_code == 200, response.text
    return parse_events(response.content)


@pytest.fixture(scope="module", params=["gevent", "gthread"])
def gunicorn_app(request, upstream):
    """gunicorn with gunicorn.conf.py and one worker of each supported class.

    Shared by the tests of one class; the graceful-shutdown test ends it, so it
    comes last in this file."""
    app = start_gunicorn(upstream, request.param)
    app.worker_class = request.param  # type: ignore[attr-defined]
    yield app
    app.stop()


def test_one_worker_holds_many_streams_and_stays_responsive(gunicorn_app, fresh_upstream):
    """40 slow replies at once on ONE worker: all complete, and the page and /healthz answer meanwhile."""
    n = 40
    fresh_upstream.script(*[Reply(content=f"reply {i} " * 3, first_token_delay=0.5, chunk_delay=0.1)
                            for i in range(n)])
    with concurrent.futures.ThreadPoolExecutor(n) as pool:
        futures = [pool.submit(read_stream, gunicorn_app.url, f"q{i}") for i in range(n)]
        assert fresh_upstream.wait_for(lambda s: s.open_streams >= n, timeout=20), fresh_upstream.open_streams
        # All n replies are open upstream at this moment; other users still get answers.
        with httpx2.Client(timeout=5) as client:
            assert client.get(gunicorn_app.url + "/healthz").json() == {"status": "ok"}
            assert client.get(gunicorn_app.url + "/").status_code == 200
        results = [f.result(timeout=60) for f in futures]
    for events in results:
        names = [name for name, _ in events]
        assert names[0] == "meta" and names[-1] == "done" and "error" not in names
        assert "".join(d["content"] for name, d in events if name == "delta").startswith("reply ")
    assert fresh_upstream.max_open_streams >= n


def test_stop_closes_upstream(gunicorn_app, fresh_upstream):
    """Aborting mid-stream closes the upstream request (client_disconnected), under both worker classes."""
    fresh_upstream.script(Reply(content="x" * 300, first_token_delay=0.05, chunk_delay=0.05))
    with httpx2.Client(timeout=10) as client:
        with client.stream("POST", gunicorn_app.url + "/api/chat/stream",
                           json={"messages": [{"role": "user", "content": "long"}]}) as response:
            for data in response.iter_raw():
                if b"event: delta" in data:
                    break
    closed = fresh_upstream.wait_closed(1, timeout=5)
    assert closed and closed[0]["reason"] == "client_disconnected"
    assert closed[0]["chunks_sent"] < 100  # stopped long before the 100 deltas of the reply


def test_stop_while_upstream_silent_closes_upstream(gunicorn_app, fresh_upstream):
    """Stop before the first token (nothing written to the client yet): the upstream is still closed.

    Without chatserver.disconnect the server would notice only at its next write, here
    after the upstream's 20 s first-token delay.
    """
    fresh_upstream.script(Reply(content="late", first_token_delay=20))
    port = int(gunicorn_app.url.rsplit(":", 1)[1])
    closed_at, closed = disconnect_before_first_token(fresh_upstream, port)
    assert closed and closed[0]["reason"] == "client_disconnected"
    assert closed[0]["t_closed"] - closed_at < 3  # not the 20 s of the first-token delay
    assert closed[0]["chunks_sent"] == 0
    # The worker is fine afterwards.
    assert [n for n, _ in read_stream(gunicorn_app.url, "after")][-1] == "done"


def test_graceful_shutdown_lets_running_reply_finish(gunicorn_app, fresh_upstream):
    """SIGTERM (a deploy or restart) while a reply streams: the reply still completes."""
    fresh_upstream.script(Reply(content="abcdefghijklmnopqrstuvwxyz", first_token_delay=0.1, chunk_delay=0.1))
    result: dict = {}

    def reader():
        result["events"] = read_stream(gunicorn_app.url, "restart soon")

    thread = threading.Thread(target=reader)
    thread.start()
    assert fresh_upstream.wait_for(lambda s: s.open_streams >= 1, timeout=10)
    time.sleep(0.3)
    gunicorn_app.proc.send_signal(signal.SIGTERM)
    thread.join(30)
    names = [name for name, _ in result["events"]]
    assert names[-1] == "done" and "error" not in names
    assert "".join(d["content"] for name, d in result["events"] if name == "delta") == "abcdefghijklmnopqrstuvwxyz"
    assert gunicorn_app.proc.wait(30) == 0


def test_access_log_has_no_bodies_queries_or_keys(upstream):
    """The access log records the request line without query string, body or credentials."""
    app = start_gunicorn(upstream, "gevent")
    try:
        secret_text = "my-private-question-7f3a"
        read_stream(app.url, secret_text, marker="bench-agent")
        with httpx2.Client(timeout=5) as client:
            client.get(app.url + "/healthz?token=query-secret-91b2")
        time.sleep(0.5)
        log = app.log()
    finally:
        app.stop()
    assert '"POST /api/chat/stream HTTP/1.1" 200' in log
    assert '"GET /healthz HTTP/1.1" 200' in log
    for secret in (secret_text, "query-secret-91b2", TEST_KEY):
        assert secret not in log
