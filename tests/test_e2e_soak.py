"""Soak under a flaky provider (issue 20): the page, the app under gunicorn and llmock
(a chaos-testing mock of the OpenAI API that grades its client) with 429/503 errors
and truncated, disconnected, malformed and stalled streams at random.

30 turns typed in headless Chromium; after a failed turn the user presses Retry as
soon as the page lets them (the button counts down Retry-After and backs off over
consecutive failures: assets/js/retry.mjs), up to 3 times. Then: ``llmock report``
passes, every typed message is there after a reload, and every turn ended answered or
with a visible error. Counts and the verdict go to test-artifacts/llmock-browser-soak.json.
"""

from __future__ import annotations

import json
import sys
import time

import pytest

from tests.conftest import NO_LIMITS, ROOT, TEST_KEY, AppProcess, app_env, free_port
from tests.e2e_chat import open_chat
from tests.test_llmock import SOAK_OPTIONS, llmock_report, llmock_requests, start_llmock, stop_llmock

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600)]

TURNS = 30
USER_RETRIES = 3
RUNS_JS = "() => window.chatDebug.runs"


def finish_turn(page, before: int) -> dict:
    """Wait until run number ``before + 1`` has ended; its chatDebug.lastRun."""
    page.wait_for_function(f"() => window.chatDebug.runs > {before} && !window.chatDebug.streaming()", timeout=60000)
    return page.evaluate("() => window.chatDebug.lastRun")


def test_browser_soak_against_llmock(upstream, browser):
    process, url = start_llmock(*SOAK_OPTIONS)
    port = free_port()
    env = app_env(upstream, OPENAI_BASE_URL=url + "/v1", GUNICORN_BIND=f"127.0.0.1:{port}",
                  MAX_RETRIES="1", REQUEST_TIMEOUT="1.5", **NO_LIMITS)
    app = AppProcess(env, command=[sys.executable, "-m", "gunicorn", "chat_app:server"], port=port)
    counts = {"first_time": 0, "auto_retry": 0, "user_retry": 0, "failed": 0}
    typed = []
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        open_chat(page, app.url)
        started = time.monotonic()
        for turn in range(TURNS):
            text = f"turn {turn}: tell me something new"
            typed.append(text)
            before = page.evaluate(RUNS_JS)
            page.fill("#chat-input", text)
            page.press("#chat-input", "Enter")
            last = finish_turn(page, before)
            automatic = last["retries"]  # the server's own retries (retry events) before the reply
            presses = 0
            while last["error"] and presses < USER_RETRIES:
                page.locator("#chat-error").wait_for(state="visible")
                presses += 1
                before = page.evaluate(RUNS_JS)
                page.click("#chat-retry-button", timeout=45000)  # waits while it counts down
                last = finish_turn(page, before)
            if last["error"]:
                counts["failed"] += 1
                assert page.locator("#chat-error").is_visible(), turn  # a visible error, never silence
            elif presses:
                counts["user_retry"] += 1
            elif automatic:
                counts["auto_retry"] += 1
            else:
                counts["first_time"] += 1
        elapsed = time.monotonic() - started
        page.reload()
        open_chat(page, app.url)
        page.wait_for_function("() => window.chatDebug.history() !== null")
        kept = page.evaluate("() => window.chatDebug.history().conversations.flatMap(c => c.messages)"
                             ".filter(m => m.role === 'user').map(m => m.content)")
        missing = [t for t in typed if t not in kept]  # read back from IndexedDB after the reload
    finally:
        log = app.log()
        app.stop()
        context.close()
    try:
        code, verdict = llmock_report(url)
        journal = llmock_requests(url)
    finally:
        stop_llmock(process)
    summary = {"counts": counts, "elapsed_s": round(elapsed, 1), "verdict": verdict, "journal": journal}
    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    (ROOT / "test-artifacts" / "llmock-browser-soak.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary, indent=1))
    assert not missing, missing  # every typed message is there after a reload
    assert TEST_KEY not in log and "Traceback" not in log, log[-3000:]
    assert errors == [], errors
    assert sum(counts.values()) == TURNS
    assert code == 0 and verdict["passed"], json.dumps(verdict, indent=1)
