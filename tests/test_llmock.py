"""The app against llmock (``pip install llmock``, a chaos-testing mock of the OpenAI
API that grades its client), over HTTP without a browser.

llmock serves random 429/503 errors (with ``Retry-After: 1`` and
``retry-after-ms: 1000``) and truncated, disconnected, stalled and malformed streams;
the app runs under ``gunicorn chat_app:server`` (gunicorn.conf.py, gevent) with
MAX_RETRIES=1. A simulated user sends 30 turns and, on an error, does what the page's
Retry button lets them do: waits out ``retry_after`` when the error carries one, then
sends the same request again (up to 3 times). Then ``llmock report`` must pass.

Why the user retries matter to the verdict: llmock groups attempts with the same
request body into one call and fails ``truncated_stream_accepted`` when a call's last
attempt is a stream cut without ``finish_reason``. The app retries such a stream by
itself only while nothing of the reply was shown; a stream cut *after* content is
kept as a partial reply with an error (never retried silently), so only the user's
Retry (the same messages again: the same upstream body) makes it a retried call.
"Continue" sends a different body and would leave the truncated call ungraded-as-
retried. ``malformed_chunk_ignored`` and ``no_backoff`` are warnings (``llmock report``
exits 0 with them): see ``test_llmock_soak`` for what is expected of them.

``start_llmock`` and ``llmock_report`` are meant to be reused by a browser soak test.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from chatcore.sse import parse_events
from tests.conftest import NO_LIMITS, ROOT, TEST_KEY, AppProcess, app_env, free_port

pytestmark = pytest.mark.slow

# the fault mix of issue 20's soak test
SOAK_OPTIONS = (
    "--error-rate", "429=0.15", "--error-rate", "503=0.1",
    "--stream-fault", "truncate=0.05", "--stream-fault", "disconnect=0.05",
    "--stream-fault", "malformed=0.05", "--stream-fault", "stall=0.03",
    "--stream-stall-seconds", "4", "--stream-chunk-delay-ms", "10",
)
TURNS = 30
USER_RETRIES = 3  # presses of Retry per turn at most


def llmock_command() -> list[str]:
    """The llmock CLI: its console script, else ``python -m llmock.cli``."""
    script = shutil.which("llmock")
    return [script] if script else [sys.executable, "-m", "llmock.cli"]


def start_llmock(*options: str, port: int | None = None, log_path: Path | None = None,
                 timeout: float = 30.0) -> tuple[subprocess.Popen, str]:
    """Start ``llmock serve`` on 127.0.0.1 (a free port unless given) with ``options``
    (e.g. ``SOAK_OPTIONS``); return ``(process, url)`` once ``/health`` answers.

    ``url`` is the server's root, e.g. ``http://127.0.0.1:PORT``: point the app's
    OPENAI_BASE_URL at ``url + "/v1"``. Stop it with ``stop_llmock(process)``.
    Output goes to ``log_path`` (default test-artifacts/llmock-PORT.log).

    Raises:
        RuntimeError: it did not answer within ``timeout`` seconds.
    """
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = log_path or ROOT / "test-artifacts" / f"llmock-{port}.log"
    log_path.parent.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLMOCK_")}
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [*llmock_command(), "serve", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
             "--tool-mode", "off", *options],
            stdout=log, stderr=subprocess.STDOUT, env=env,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("llmock exited:\n" + log_path.read_text(errors="replace"))
        try:
            with urllib.request.urlopen(url + "/health", timeout=1):
                return process, url
        except OSError:
            time.sleep(0.1)
    stop_llmock(process)
    raise RuntimeError("llmock did not start:\n" + log_path.read_text(errors="replace"))


def stop_llmock(process: subprocess.Popen) -> None:
    """Stop a ``start_llmock`` process (SIGTERM, then SIGKILL after 5 s)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def llmock_report(url: str, strict: bool = False) -> tuple[int, dict]:
    """Run ``llmock report --url URL --json`` (``--strict``: warnings fail too);
    return ``(exit code, verdict)``: exit 0 = passed, 1 = the client misbehaved,
    2 = llmock unreachable. The verdict is llmock's JSON ``{"passed", "calls",
    "attempts", "faults_injected", "errors", "warnings", "findings": [{"severity",
    "code", "title", "advice", "call", "requests", "path"}]}``."""
    command = [*llmock_command(), "report", "--url", url, "--json", *(["--strict"] if strict else [])]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    start = done.stdout.find("{")
    verdict = json.loads(done.stdout[start:]) if start >= 0 else {}
    return done.returncode, verdict


def llmock_requests(url: str) -> list[dict]:
    """llmock's journal: one record per request (``status``, ``fault``, ``retry_after``,
    ``completed``, ``chunks_sent``, ``started_at``/``ended_at`` monotonic seconds …)."""
    with urllib.request.urlopen(url + "/_llmock/requests", timeout=10) as response:
        data = json.loads(response.read())
    return data["requests"] if isinstance(data, dict) else data


def chat(port: int, content: str) -> list[tuple[str, dict]]:
    """One request to the app's stream endpoint; its SSE events."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    body = json.dumps({"messages": [{"role": "user", "content": content}], "locale": "en-US"})
    conn.request("POST", "/api/chat/stream", body=body, headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    assert response.status == 200, response.read()[:500]
    raw = response.read()
    conn.close()
    assert TEST_KEY.encode() not in raw
    return parse_events(raw)


def user_turn(port: int, content: str) -> tuple[str, list[list[tuple[str, dict]]]]:
    """One turn as a user who presses Retry when a reply fails (after waiting out the
    error's ``retry_after``, as the Retry button's countdown makes them).

    Returns ``(outcome, the events of each request)``; outcome is ``first_time``,
    ``auto_retry`` (answered after the app's own retry), ``user_retry`` or ``failed``.
    """
    tries = []
    for press in range(USER_RETRIES + 1):
        events = chat(port, content)
        tries.append(events)
        names = [name for name, _ in events]
        assert names[0] == "meta" and names[-1] == "done", names
        errors = [data for name, data in events if name == "error"]
        if not errors:
            assert [d["finish_reason"] for n, d in events if n == "finish"], names  # never a reply without finish
            if press:
                return "user_retry", tries
            return ("auto_retry" if "retry" in names else "first_time"), tries
        assert len(errors) == 1 and names[-2] == "error", names
        if errors[0]["retry_after"]:
            time.sleep(errors[0]["retry_after"])  # the Retry button counts down first
    return "failed", tries


@pytest.fixture
def llmock_soak():
    """llmock with the soak's faults, for one test."""
    process, url = start_llmock(*SOAK_OPTIONS)
    yield url
    stop_llmock(process)


def test_llmock_soak(llmock_soak, upstream):
    url = llmock_soak
    port = free_port()
    env = app_env(upstream, OPENAI_BASE_URL=url + "/v1", GUNICORN_BIND=f"127.0.0.1:{port}",
                  MAX_RETRIES="1", REQUEST_TIMEOUT="1.5", **NO_LIMITS)
    app = AppProcess(env, command=[sys.executable, "-m", "gunicorn", "chat_app:server"], port=port)
    counts = {"first_time": 0, "auto_retry": 0, "user_retry": 0, "failed": 0}
    automatic = 0
    started = time.monotonic()
    try:
        for turn in range(TURNS):
            outcome, tries = user_turn(port, f"turn {turn}: tell me something new")
            counts[outcome] += 1
            automatic += sum(1 for events in tries for name, _ in events if name == "retry")
        elapsed = time.monotonic() - started
    finally:
        log = app.log()
        app.stop()
    assert TEST_KEY not in log and "Traceback" not in log, log[-3000:]
    code, verdict = llmock_report(url)
    journal = llmock_requests(url)
    summary = {"counts": counts, "automatic_retries": automatic, "elapsed_s": round(elapsed, 1),
               "faults": sorted({r.get("fault") for r in journal if r.get("fault")}), "verdict": verdict}
    (ROOT / "test-artifacts" / "llmock-soak.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary, indent=1))
    assert code == 0 and verdict["passed"], json.dumps(verdict, indent=1)
    errors = {f["code"] for f in verdict["findings"] if f["severity"] == "error"}
    assert not errors
    # the app itself never gives up on a retryable failure before content, and never
    # retries 4xx: no gave_up / retried_non_retryable / retry_storm findings
    assert not {f["code"] for f in verdict["findings"]} & {"gave_up", "retried_non_retryable", "retry_storm"}
    assert sum(counts.values()) == TURNS and counts["failed"] <= 1, counts


def test_llmock_scripted_faults_each_handled(upstream):
    """One scripted fault per call (llmock's scenario API): each is retried by the app
    when nothing was shown, and the verdict passes strictly (no warnings either)."""
    process, url = start_llmock("--stream-chunk-delay-ms", "5", "--stream-stall-seconds", "4")
    port = free_port()
    env = app_env(upstream, OPENAI_BASE_URL=url + "/v1", MAX_RETRIES="2", REQUEST_TIMEOUT="1", **NO_LIMITS)
    app = AppProcess(env)
    try:
        behaviours = [
            {"type": "fail", "status": 429, "retry_after": 0.5, "times": 1},
            {"type": "fail", "status": 503, "times": 1},
            {"type": "stream_fault", "kind": "truncate", "after_chunks": 1, "times": 1},
            {"type": "stream_fault", "kind": "disconnect", "after_chunks": 0, "times": 1},
            {"type": "stream_fault", "kind": "malformed", "after_chunks": 1, "times": 1},
            {"type": "stream_fault", "kind": "stall", "after_chunks": 1, "stall_seconds": 4, "times": 1},
        ]
        for index, behaviour in enumerate(behaviours):
            request = urllib.request.Request(url + "/_llmock/scenario", data=json.dumps({"behaviors": [behaviour]}).encode(),
                                             headers={"Content-Type": "application/json"})
            urllib.request.urlopen(request, timeout=5).read()
            events = chat(app.port, f"scripted {index}")
            names = [name for name, _ in events]
            assert "retry" in names and "error" not in names, (behaviour, names)
            assert [d for n, d in events if n == "finish"], (behaviour, names)
        code, verdict = llmock_report(url, strict=True)
        assert code == 0 and verdict["passed"] and verdict["warnings"] == 0, json.dumps(verdict, indent=1)
        assert verdict["faults_injected"] == len(behaviours)
    finally:
        app.stop()
        stop_llmock(process)
