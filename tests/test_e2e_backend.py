"""Browser end-to-end: the whole chat page in front of ``CHAT_BACKEND=tests.backend_fixture:reply``.

One app process for the module (no API key, no upstream); the fixture backend writes
its calls and how each generator ended to a JSON-lines file this test reads
(``tests/backend_fixture.py``).
"""

from __future__ import annotations

import time

import pytest

from tests import backend_fixture
from tests.conftest import NO_LIMITS, ROOT, AppProcess
from tests.e2e_chat import REPLY_TIMEOUT_MS, active, assistant_texts, open_chat, send, user_texts, wait_idle

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def backend_app():
    """``python chat_app.py`` with the fixture backend and no OPENAI_API_KEY; yields
    ``(app, log path)``."""
    log_path = ROOT / "test-artifacts" / f"backend-fixture-{time.monotonic_ns()}.jsonl"
    log_path.parent.mkdir(exist_ok=True)
    app = AppProcess({"CHAT_BACKEND": "tests.backend_fixture:reply", "BACKEND_FIXTURE_LOG": str(log_path), **NO_LIMITS})
    yield app, str(log_path)
    log = app.log()
    app.stop()
    log_path.unlink(missing_ok=True)
    assert "sk-" not in log


def records(path: str, event: str | None = None) -> list[dict]:
    """The fixture's records (of one ``event`` kind)."""
    return [r for r in backend_fixture.read_log(path) if event is None or r["event"] == event]


def wait_record(path: str, event: str, count: int, timeout: float = 5.0) -> list[dict]:
    """Wait until the fixture wrote ``count`` records of ``event``; return them."""
    deadline = time.monotonic() + timeout
    while len(records(path, event)) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return records(path, event)


def start(page, text: str) -> int:
    """Type ``text`` and press Enter without waiting; returns runs before."""
    before = page.evaluate("() => window.chatDebug.runs")
    page.fill("#chat-input", text)
    page.press("#chat-input", "Enter")
    return before


def wait_partial(page, before: int) -> str:
    """Wait until the reply being streamed shows text (and has not ended)."""
    handle = page.wait_for_function(
        f"""() => {{
            if (window.chatDebug.runs !== {before}) return {{ended: window.chatDebug.lastRun}};
            const el = document.getElementById('chat-stream-markdown');
            const text = el ? el.innerText.trim() : '';
            return text ? {{text}} : null;
        }}""",
        timeout=REPLY_TIMEOUT_MS,
    )
    result = handle.json_value()
    assert "text" in result, f"the reply ended before any text was shown: {result}"
    return result["text"]


def test_replies_stream_and_the_second_turn_carries_the_first(page, backend_app):
    app, log = backend_app
    open_chat(page, app.url)
    # no API key, but a backend: the "no key" banner stays hidden
    assert not page.locator("#chat-no-key-alert").is_visible()
    before = start(page, "hello backend")
    wait_idle(page)
    page.wait_for_function(f"() => window.chatDebug.runs > {before}")
    last = page.evaluate("() => window.chatDebug.lastRun")
    assert last["error"] is None and last["finish_reason"] == "stop" and last["deltas"] == 3
    send(page, "second turn")
    assert user_texts(page) == ["hello backend", "second turn"]
    assert assistant_texts(page) == ["Reply to: hello backend", "Reply to: second turn"]
    second = records(log, "call")[-1]
    assert second["messages"] == [
        {"role": "user", "content": "hello backend"},
        {"role": "assistant", "content": "Reply to: hello backend"},
        {"role": "user", "content": "second turn"},
    ]
    assert second["settings"]["model"] == "fixture-a"
    stored = active(page)["messages"][-1]
    assert stored["model"] == "fixture-a" and stored["usage"]["completion_tokens"] > 0  # estimated usage
    assert page.errors == []


def test_stop_closes_the_backend_generator_and_keeps_the_partial_reply(page, backend_app):
    app, log = backend_app
    closed_before = len(records(log, "closed"))
    open_chat(page, app.url)
    before = start(page, "slow words please")
    wait_partial(page, before)
    page.wait_for_timeout(300)
    page.click("#chat-stop-button")
    wait_idle(page)
    assert page.evaluate("() => window.chatDebug.lastRun")["stopped"] is True
    closed = wait_record(log, "closed", closed_before + 1)
    assert len(closed) == closed_before + 1 and closed[-1]["sent"] < 60  # the backend's finally ran early
    reply = active(page)["messages"][-1]
    assert reply["role"] == "assistant" and reply["content"].startswith("word0 ") and reply.get("stopped") is True
    time.sleep(0.5)
    assert len(records(log, "finished")) == len(records(log, "call")) - len(records(log, "closed")) - len(records(log, "raised"))
    assert page.errors == []


def test_an_exception_mid_reply_shows_an_error_and_keeps_the_partial_text(page, backend_app):
    app, log = backend_app
    open_chat(page, app.url)
    before = start(page, "boom please")
    wait_idle(page)
    page.wait_for_function(f"() => window.chatDebug.runs > {before}")
    assert page.evaluate("() => window.chatDebug.lastRun")["error"] == "backend_error"
    error = page.locator("#chat-error")
    error.wait_for(state="visible")
    assert "RuntimeError" in error.inner_text() and "on purpose" not in error.inner_text()
    reply = active(page)["messages"][-1]
    assert reply["content"] == "Partial before boom. " and reply.get("incomplete") is True
    assert "Partial before boom." in assistant_texts(page)[-1]
    assert records(log)[-1] == {"event": "raised", "sent": 1}
    assert page.errors == []
