"""Browser tests of everyday use (issue 15): the header's model switch, the sidebar's
date groups and pins, the streaming cursor's place, the composer's width while a reply
streams, and switching the language during a reply."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from tests.conftest import AppProcess, app_env
from tests.e2e_chat import active, history, open_chat, send, set_history, sidebar_titles, wait_idle
from tests.upstream import Reply

pytestmark = [pytest.mark.timeout(120), pytest.mark.browser]

DAY_MS = 24 * 3600 * 1000


@pytest.fixture(scope="module")
def everyday_app(upstream):
    """The app offering a second model."""
    app = AppProcess(app_env(upstream, OPENAI_MODELS="second-model,third-model"))
    yield app
    app.stop()


def chat_bodies(upstream) -> list[dict]:
    return [r["body"] for r in upstream.requests if r["path"].endswith("/chat/completions")]


def pick_model(page, name: str) -> None:
    page.click("#chat-model-select .ant-select-selector")
    page.keyboard.type(name[:4])
    page.locator(f".ant-select-item-option[title='{name}']").click()


def test_model_switch_in_the_header_sets_the_conversations_model(page, everyday_app, fresh_upstream):
    """The header's select shows the model; a pick is this conversation's model and the
    next request uses it; another conversation keeps the default."""
    open_chat(page, everyday_app.url)
    select = page.locator("#chat-model-select .ant-select-selection-item")
    expect(select).to_have_text("test-model")
    pick_model(page, "second-model")
    expect(select).to_have_text("second-model")
    expect(page.locator("#header-model-tag")).to_have_text("second-model")
    send(page, "which model?")
    assert chat_bodies(fresh_upstream)[-1]["model"] == "second-model"
    assert active(page)["settings"]["model"] == "second-model"
    # a new conversation starts on the default, the old one keeps its pick
    page.click("#chat-new-button")
    expect(select).to_have_text("test-model")
    send(page, "and now?")
    assert chat_bodies(fresh_upstream)[-1]["model"] == "test-model"
    page.locator(".chat-conv-item", has_text="which model?").click()
    expect(select).to_have_text("second-model")


def test_sidebar_groups_by_date_and_pins_stay_on_top(page, everyday_app):
    """Today / Yesterday / Previous 7 days / Previous 30 days / months, pinned on top;
    a pin is stored and survives a reload."""
    open_chat(page, everyday_app.url)
    now = page.evaluate("() => Date.now()")
    today_noon = page.evaluate("() => { const d = new Date(); d.setHours(12, 0, 0, 0); return d.getTime(); }")

    def conv(cid, title, updated):
        return {"id": cid, "title": title, "created_at": updated, "updated_at": updated, "settings": {}, "error": None,
                "messages": [{"id": cid + "-m", "role": "user", "content": title, "seq": updated, "created_at": updated}]}

    set_history(page, {"version": 2, "active_id": "c-today", "conversations": [
        conv("c-today", "talk today", now - 1000),
        conv("c-yesterday", "talk yesterday", today_noon - DAY_MS),
        conv("c-week", "talk this week", today_noon - 4 * DAY_MS),
        conv("c-month", "talk this month", today_noon - 20 * DAY_MS),
        conv("c-old", "talk long ago", today_noon - 120 * DAY_MS),
    ]})
    groups = page.locator(".chat-conv-group")
    expect(groups).to_have_count(5)
    labels = groups.all_inner_texts()
    assert labels[:4] == ["Today", "Yesterday", "Previous 7 days", "Previous 30 days"]
    assert any(str(y) in labels[4] for y in range(2025, 2028)), labels
    assert sidebar_titles(page) == ["talk today", "talk yesterday", "talk this week", "talk this month", "talk long ago"]

    # pin the oldest: it moves to the top under "Pinned"
    item = page.locator(".chat-conv-item", has_text="talk long ago")
    item.hover()
    item.locator(".chat-action-pin").click()
    expect(page.locator(".chat-conv-group").first).to_have_text("Pinned")
    assert sidebar_titles(page)[0] == "talk long ago"
    expect(page.locator(".chat-conv-item-pinned")).to_have_count(1)
    # pinning does not open the conversation
    assert history(page)["active_id"] != "c-old" or page.evaluate("() => window.chatDebug.history().active_id") == "c-today"
    # stored: a reload keeps it
    page.wait_for_timeout(300)
    open_chat(page, everyday_app.url)
    expect(page.locator(".chat-conv-group").first).to_have_text("Pinned")
    assert sidebar_titles(page)[0] == "talk long ago"
    assert [c for c in history(page)["conversations"] if c["id"] == "c-old"][0]["pinned"] is True
    # unpin: back in its month
    item = page.locator(".chat-conv-item", has_text="talk long ago")
    item.hover()
    item.locator(".chat-action-pin").click()
    expect(page.locator(".chat-conv-item-pinned")).to_have_count(0)
    assert sidebar_titles(page)[-1] == "talk long ago"


def test_streaming_cursor_follows_the_last_list_item_and_code_line(page, everyday_app, fresh_upstream):
    """While a list or a code block streams, the cursor is drawn after its last text
    (inside the last <li> / the <code>), not on a line of its own after the block."""
    open_chat(page, everyday_app.url)
    fresh_upstream.script(Reply(chunks=["Steps:\n\n", "- one\n", "- two\n"] + [" more"] * 40, chunk_delay=0.05))
    page.fill("#chat-input", "a list please")
    page.press("#chat-input", "Enter")
    page.wait_for_function("() => document.querySelector('#chat-stream-markdown li:nth-child(2)')")
    page.wait_for_timeout(200)
    tail = page.evaluate("() => { const t = document.querySelector('.chat-stream-active .chat-stream-tail'); return t && t.tagName; }")
    assert tail == "LI"
    # a reply without reasoning shows no "Thought for …" block while it streams
    expect(page.locator("#chat-stream-reasoning")).to_be_hidden()
    # the cursor sits on the last item's line: its box is within the <li>'s box
    inside = page.evaluate("""() => {
        const li = document.querySelector('#chat-stream-markdown li:last-child');
        const after = getComputedStyle(li, '::after').content;
        return after.includes('\u258d');
    }""")
    assert inside
    wait_idle(page)

    fresh_upstream.script(Reply(chunks=["```python\n", "x = 1\n", "y = 2\n"] + ["z = 3\n"] * 30, chunk_delay=0.05))
    page.fill("#chat-input", "code please")
    page.press("#chat-input", "Enter")
    page.wait_for_function("() => document.querySelector('#chat-stream-markdown pre')")
    page.wait_for_timeout(200)
    inside_code = page.evaluate("""() => { const t = document.querySelector('.chat-stream-active .chat-stream-tail');
        return !!(t && t.closest('pre')); }""")
    assert inside_code
    wait_idle(page)


def test_the_input_keeps_its_width_when_send_and_stop_swap(page, everyday_app, fresh_upstream):
    open_chat(page, everyday_app.url)
    idle = page.evaluate("() => document.querySelector('#chat-input').getBoundingClientRect().width")
    fresh_upstream.script(Reply(chunks=["slow "] * 30, chunk_delay=0.1))
    page.fill("#chat-input", "wide?")
    page.press("#chat-input", "Enter")
    expect(page.locator("#chat-stop-button")).to_be_visible()
    streaming = page.evaluate("() => document.querySelector('#chat-input').getBoundingClientRect().width")
    page.click("#chat-stop-button")
    wait_idle(page)
    assert abs(idle - streaming) < 0.5, (idle, streaming)


def test_language_switch_during_a_reply_waits_for_it_and_keeps_the_draft(browser, everyday_app, fresh_upstream):
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    try:
        open_chat(page, everyday_app.url)
        fresh_upstream.script(Reply(chunks=["word "] * 20, chunk_delay=0.1))
        page.fill("#chat-input", "tell me a story")
        page.press("#chat-input", "Enter")
        page.wait_for_function("() => window.chatDebug.streaming()")
        page.fill("#chat-input", "my next question")
        started = time.monotonic()
        with page.expect_navigation(timeout=15000):
            page.click(".chat-language-button")
            expect(page.locator(".ant-message")).to_contain_text("when this reply has finished")
        # the page reloaded only after the reply had finished (20 deltas × 0.1 s)
        assert time.monotonic() - started > 1.0
        page.wait_for_selector("#chat-input")
        page.wait_for_function("() => window.chatDebug && window.chatDebug.lastRender !== null")
        assert page.locator("html").get_attribute("lang") in ("zh-CN", None) or page.locator(".chat-app").get_attribute("lang") == "zh-CN"
        expect(page.locator(".chat-app")).to_have_attribute("lang", "zh-CN")
        expect(page.locator("#chat-input")).to_have_value("my next question")
        reply = [m for m in active(page)["messages"] if m["role"] == "assistant"][-1]
        assert reply["content"].strip() == ("word " * 20).strip()
        assert "stopped" not in reply and "incomplete" not in reply
    finally:
        context.close()


def test_the_switch_shows_the_default_model_without_pinning_it(browser, everyday_app, fresh_upstream):
    """With a browser default model (Settings → Defaults), a new conversation shows and
    uses it; loading the page does not write the server's model into the conversation."""
    context = browser.new_context()
    page = context.new_page()
    try:
        open_chat(page, everyday_app.url)
        page.evaluate("() => localStorage.setItem('chat-prefs-store', JSON.stringify({defaults: {model: 'third-model'}}))")
        open_chat(page, everyday_app.url)
        expect(page.locator("#chat-model-select .ant-select-selection-item")).to_have_text("third-model")
        send(page, "default please")
        assert chat_bodies(fresh_upstream)[-1]["model"] == "third-model"
        assert "model" not in (active(page).get("settings") or {})
    finally:
        context.close()
