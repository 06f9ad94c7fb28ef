"""Browser end-to-end tests: a real app process, the test upstream, headless Chromium.

Each test opens a fresh browser context (empty IndexedDB) on the session app
(`app_server`), scripts the upstream, and drives the page through its stable hooks
(#chat-input, #chat-send-button, #chat-stop-button, #chat-clear-button,
#chat-export-button, #chat-messages, .chat-message-user / .chat-message-assistant).
"""

from __future__ import annotations

import re
import time

import pytest

from chatcore.export import from_markdown
from tests.conftest import AppProcess, app_env
from tests.upstream import Reply

pytestmark = pytest.mark.browser

USER_SEL = "#chat-messages .chat-message-user"
ASSISTANT_SEL = "#chat-messages .chat-message-assistant"


def open_chat(page, url: str) -> None:
    """Load the page and wait until the composer and the history store are ready."""
    page.goto(url)
    page.wait_for_selector("#chat-input")
    page.wait_for_function("() => window.chatDebug && window.dash_clientside && window.dash_clientside.chat")


def runs(page) -> int:
    """How many replies the page has finished (chatDebug.runs)."""
    return page.evaluate("window.chatDebug.runs")


def send(page, content: str) -> int:
    """Type ``content`` into the input and press Enter; return runs before sending."""
    before = runs(page)
    page.fill("#chat-input", content)
    page.press("#chat-input", "Enter")
    return before


def wait_reply_done(page, before: int, timeout: float = 15000) -> dict:
    """Wait until the reply started after ``before`` finished; return chatDebug.lastRun."""
    page.wait_for_function(f"window.chatDebug.runs > {before}", timeout=timeout)
    return page.evaluate("window.chatDebug.lastRun")


def wait_streaming_text(page, before: int) -> str:
    """Wait until the streaming reply shows some text while the run is still open.

    Fails with the finished run's details if the reply ended before any partial text
    was seen (e.g. it errored).
    """
    handle = page.wait_for_function(
        f"""() => {{
            const el = document.getElementById('chat-stream-markdown');
            const text = el ? el.innerText.trim() : '';
            if (window.chatDebug.runs !== {before}) return {{ended: window.chatDebug.lastRun}};
            return text.length > 0 ? {{text}} : null;
        }}""",
        timeout=15000,
    )
    result = handle.json_value()
    assert "text" in result, f"the reply ended before any partial text was shown: {result['ended']}"
    return result["text"]


def stored_messages(page) -> list[dict]:
    """``[{role, content}]`` of the active conversation, read from the rendered page's store."""
    return page.evaluate(
        """() => {
            const data = window.chatDebug.history ? window.chatDebug.history() : null;
            if (!data) return [];
            const conv = data.conversations.find(c => c.id === data.active_id) || data.conversations[0];
            return (conv ? conv.messages : []).map(m => ({role: m.role, content: m.content}));
        }"""
    )


def assistant_texts(page) -> list[str]:
    return page.locator(ASSISTANT_SEL).all_inner_texts()


def slow(content: str, delay: float = 0.15, size: int = 3) -> Reply:
    """A reply streamed in deltas of ``size`` characters, ``delay`` seconds apart."""
    return Reply(content=content, chunk_delay=delay, chunk_size=size)


def test_three_turns_stream_and_carry_history(page, app_server, fresh_upstream):
    open_chat(page, app_server.url)
    # Shift+Enter inserts a new line and sends nothing
    page.fill("#chat-input", "line one")
    page.press("#chat-input", "Shift+Enter")
    page.keyboard.type("line two")
    page.wait_for_timeout(300)
    assert page.input_value("#chat-input") == "line one\nline two"
    assert fresh_upstream.requests == [] and page.locator(USER_SEL).count() == 0

    replies = ["First reply, streamed slowly.", "Second reply: 第二个回答。", "Third reply 😀 done."]
    fresh_upstream.script(*(slow(r) for r in replies))
    users = ["line one\nline two", "second question", "third question"]
    for turn, (question, reply) in enumerate(zip(users, replies)):
        if turn == 0:
            before = runs(page)
            page.press("#chat-input", "Enter")
        else:
            before = send(page, question)
        partial = wait_streaming_text(page, before)
        assert reply.startswith(partial.rstrip("▍").strip()[:3])  # reply visible before the stream ends
        last = wait_reply_done(page, before)
        assert last["error"] is None and last["finish_reason"] == "stop"
        assert last["deltas"] > 1
        page.wait_for_function(f"document.querySelectorAll('{ASSISTANT_SEL}').length === {turn + 1}")
        assert page.input_value("#chat-input") == ""

    assert page.locator(USER_SEL).count() == 3
    assert "Third reply 😀 done." in assistant_texts(page)[-1]
    third = fresh_upstream.requests[2]["body"]["messages"]
    assert third == [
        {"role": "user", "content": users[0]},
        {"role": "assistant", "content": replies[0]},
        {"role": "user", "content": users[1]},
        {"role": "assistant", "content": replies[1]},
        {"role": "user", "content": users[2]},
    ]
    assert page.errors == []


def test_markdown_renders_without_raw_html(page, app_server, fresh_upstream):
    open_chat(page, app_server.url)
    reply = (
        "Code:\n\n```python\nprint('hi')\n```\n\n| col A | col B |\n|---|---|\n| 1 | 2 |\n\n"
        "Raw: <b>x</b> <img src=x onerror=\"window.__pwned=1\"> and [link](javascript:window.__pwned=2)"
    )
    fresh_upstream.script(Reply(content=reply))
    wait_reply_done(page, send(page, "show <b>y</b> please"))
    assistant = page.locator(ASSISTANT_SEL).last
    assert assistant.locator("pre").count() >= 1
    assert "print('hi')" in assistant.locator("pre").first.inner_text()
    assert assistant.locator("table").count() == 1
    assert assistant.locator("table td").all_inner_texts() == ["1", "2"]
    # HTML in content shows as text and never becomes elements
    assert assistant.locator("b").count() == 0 and assistant.locator("img").count() == 0
    assert "<b>x</b>" in assistant.inner_text()
    user = page.locator(USER_SEL).last
    assert user.locator("b").count() == 0 and "show <b>y</b> please" in user.inner_text()
    hrefs = assistant.locator("a").evaluate_all("els => els.map(a => a.getAttribute('href') || '')")
    assert not any(h.lower().startswith("javascript") for h in hrefs)
    assert page.evaluate("window.__pwned") is None
    assert page.errors == []


def test_stop_keeps_partial_answer_and_closes_upstream(page, app_server, fresh_upstream):
    open_chat(page, app_server.url)
    full = "".join(f"word{i} " for i in range(200))
    fresh_upstream.script(slow(full, delay=0.1, size=6))
    before = send(page, "write a lot")
    wait_streaming_text(page, before)
    page.wait_for_timeout(300)
    page.click("#chat-stop-button")
    last = wait_reply_done(page, before)
    assert last["stopped"] is True
    closed = fresh_upstream.wait_closed(1, timeout=5)
    assert closed and closed[0]["reason"] == "client_disconnected"
    assert closed[0]["chunks_sent"] < len(full) // 6
    page.wait_for_function(f"document.querySelectorAll('{ASSISTANT_SEL}').length === 1")
    messages = stored_messages(page)
    assert [m["role"] for m in messages] == ["user", "assistant"]
    partial = messages[1]["content"]
    assert partial and full.startswith(partial) and len(partial) < len(full)
    assert "word0" in page.locator(ASSISTANT_SEL).last.inner_text()
    # the Send button is back and the next message works
    fresh_upstream.script(Reply(content="after stop"))
    wait_reply_done(page, send(page, "again"))
    assert fresh_upstream.requests[-1]["body"]["messages"][1] == {"role": "assistant", "content": partial}
    assert page.errors == []


def confirm_clear(page) -> None:
    """Click Clear, then the confirm button of its popconfirm."""
    page.click("#chat-clear-button")
    page.locator(".ant-popconfirm .ant-popconfirm-buttons button").last.click()


def test_clear_empties_conversation_and_next_request_has_no_old_turns(page, app_server, fresh_upstream):
    open_chat(page, app_server.url)
    wait_reply_done(page, send(page, "old question"))
    page.wait_for_selector(ASSISTANT_SEL)
    confirm_clear(page)
    page.wait_for_function(f"document.querySelectorAll('{USER_SEL}, {ASSISTANT_SEL}').length === 0")
    assert stored_messages(page) == []
    wait_reply_done(page, send(page, "new question"))
    assert fresh_upstream.requests[-1]["body"]["messages"] == [{"role": "user", "content": "new question"}]
    assert page.errors == []


def test_export_round_trips_byte_exact(page, app_server, fresh_upstream):
    open_chat(page, app_server.url)
    question = "  中文问题：如何嵌套代码块？😀\n\n````md\n```py\nprint('```')\n```\n````\n<!-- chat:end -->\n  "
    answer = "回答 👩‍👩‍👧:\n\n````markdown\n```js\nconsole.log(`x`)\n```\n````\n\n| 表 | b |\n|---|---|\n| 1 | 2 |\n\n\n"
    fresh_upstream.script(Reply(content=answer))
    wait_reply_done(page, send(page, question))
    fresh_upstream.script(Reply(content="second 第二"))
    wait_reply_done(page, send(page, "next"))
    with page.expect_download() as info:
        page.click("#chat-export-button")
    download = info.value
    assert re.fullmatch(r"chat-\d{8}-\d{6}\.md", download.suggested_filename)
    text = open(download.path(), encoding="utf-8", newline="").read()
    assert "- Model: test-model" in text
    assert from_markdown(text) == stored_messages(page)
    assert from_markdown(text) == [
        {"role": "user", "content": question},
        {"role": "assistant", "content": answer},
        {"role": "user", "content": "next"},
        {"role": "assistant", "content": "second 第二"},
    ]
    assert page.errors == []


def test_history_survives_reload(page, app_server, fresh_upstream):
    open_chat(page, app_server.url)
    fresh_upstream.script(Reply(content="remember 记住 me"))
    wait_reply_done(page, send(page, "persist this 保存"))
    page.wait_for_selector(ASSISTANT_SEL)
    page.wait_for_timeout(500)  # IndexedDB write
    page.reload()
    page.wait_for_selector(ASSISTANT_SEL, timeout=10000)
    assert "persist this 保存" in page.locator(USER_SEL).last.inner_text()
    assert "remember 记住 me" in page.locator(ASSISTANT_SEL).last.inner_text()
    # and the conversation continues with its history
    wait_reply_done(page, send(page, "and then"))
    assert len(fresh_upstream.requests[-1]["body"]["messages"]) == 3
    assert page.errors == []


def test_empty_input_cannot_be_sent(page, app_server, fresh_upstream):
    open_chat(page, app_server.url)
    page.press("#chat-input", "Enter")
    page.fill("#chat-input", "   \n  ")
    page.press("#chat-input", "Enter")
    page.click("#chat-send-button")
    page.wait_for_timeout(500)
    assert fresh_upstream.requests == []
    assert page.locator(USER_SEL).count() == 0
    assert runs(page) == 0
    assert page.errors == []


def test_rate_limit_error_keeps_message_and_retry_works(page, app_server, fresh_upstream):
    open_chat(page, app_server.url)
    fresh_upstream.script(Reply(status=429, headers={"Retry-After": "2"}), Reply(content="finally an answer"))
    last = wait_reply_done(page, send(page, "please answer"))
    assert last["error"] == "rate_limited"
    error = page.locator("#chat-error")
    error.wait_for(state="visible")
    assert "429" in error.inner_text() and "2" in error.inner_text()
    assert page.locator(USER_SEL).count() == 1 and "please answer" in page.locator(USER_SEL).inner_text()
    assert page.locator(ASSISTANT_SEL).count() == 0
    # Retry honours Retry-After: disabled, counting down, until the wait is over
    retry = page.locator("#chat-retry-button")
    assert retry.is_disabled() and re.search(r"Retry in [12] s", retry.inner_text()), retry.inner_text()
    failed_at = len(fresh_upstream.requests)
    started = time.monotonic()
    before = runs(page)
    page.click("#chat-retry-button")  # waits until it is enabled
    assert time.monotonic() - started > 1.0
    wait_reply_done(page, before)
    assert len(fresh_upstream.requests) == failed_at + 1
    page.wait_for_selector(ASSISTANT_SEL)
    assert "finally an answer" in page.locator(ASSISTANT_SEL).inner_text()
    error.wait_for(state="hidden")
    assert page.locator(USER_SEL).count() == 1
    assert fresh_upstream.requests[-1]["body"]["messages"] == [{"role": "user", "content": "please answer"}]
    assert page.errors == []


def test_the_draft_survives_a_reload_until_it_is_sent(page, app_server, fresh_upstream):
    open_chat(page, app_server.url)
    page.fill("#chat-input", "half a thought, 半句话")
    page.reload()
    page.wait_for_selector("#chat-input")
    page.wait_for_function("document.querySelector('#chat-input').value === 'half a thought, 半句话'", timeout=10000)
    wait_reply_done(page, send(page, "sent now"))
    page.reload()
    page.wait_for_selector("#chat-input")
    page.wait_for_selector(USER_SEL)
    page.wait_for_timeout(500)
    assert page.input_value("#chat-input") == ""
    assert page.errors == []


def test_page_without_api_key_says_how_to_set_it(page, upstream):
    env = app_env(upstream)
    env["OPENAI_API_KEY"] = ""
    env["PROVIDER"] = "openai"  # a provider that needs a key (a bare loopback URL needs none)
    app = AppProcess(env)
    try:
        open_chat(page, app.url)
        alert = page.locator("#chat-no-key-alert")
        alert.wait_for(state="visible")
        assert "OPENAI_API_KEY" in alert.inner_text() and ".env" in alert.inner_text()
        last = wait_reply_done(page, send(page, "hello?"))
        assert last["error"] == "no_api_key"
        error = page.locator("#chat-error")
        error.wait_for(state="visible")
        assert "OPENAI_API_KEY" in error.inner_text()
        assert page.locator(USER_SEL).count() == 1
        # first run: the exact .env lines, and a key of the user's own pasted right there
        panel = page.locator("#chat-first-run")
        assert "PROVIDER=openai" in panel.inner_text() and "OPENAI_API_KEY=" in panel.inner_text()
        page.fill("#chat-first-run-key", "sk-user-own-key-123")
        page.click("#chat-first-run-save")
        page.wait_for_function("document.querySelector('#chat-first-run-key').value === ''")
        before = runs(page)
        page.click("#chat-retry-button")
        wait_reply_done(page, before)
        request = [r for r in upstream.requests if r["path"].endswith("/chat/completions")][-1]
        assert request["headers"]["Authorization"] == "Bearer sk-user-own-key-123"
        alert.wait_for(state="hidden")  # the banner goes once the user's key worked
        assert page.errors == []
    finally:
        app.stop()


def test_long_fast_reply_arrives_complete_and_throttled(page, app_server, fresh_upstream):
    """~750 deltas as fast as the upstream can send them: none lost, merged or reordered."""
    open_chat(page, app_server.url)
    line = "第{i:04d}行 😀 `code` | cell |\n"
    content = "```text\n" + "".join(line.format(i=i) for i in range(200)) + "```\n"
    fresh_upstream.script(Reply(content=content, chunk_size=7, chunk_delay=0))
    last = wait_reply_done(page, send(page, "long"), timeout=30000)
    assert last["error"] is None and last["finish_reason"] == "stop"
    assert last["deltas"] == len(range(0, len(content), 7))
    assert last["flushes"] < last["deltas"] / 4, "Markdown updates are throttled"
    assert stored_messages(page)[-1] == {"role": "assistant", "content": content}
    assert page.errors == []
