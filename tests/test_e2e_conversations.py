"""Browser tests: the conversation sidebar, persistence (reload, server restart,
20 MB), long conversations, and the Markdown export's header."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.conftest import AppProcess, app_env
from tests.e2e_chat import (
    IDB_HOLDS_JS,
    assistant_texts,
    history,
    open_chat,
    send,
    set_history,
    sidebar_titles,
    user_texts,
)

pytestmark = pytest.mark.timeout(180)


def test_sidebar_new_switch_rename_search_delete(page, app_server, fresh_upstream):
    """New / switch / rename / search (title and content) / delete with confirm;
    titles come from the first user message; newest first."""
    open_chat(page, app_server.url)
    send(page, "Alpha question about pandas")
    page.click("#chat-new-button")
    expect(page.locator("#chat-empty-state")).to_be_visible()
    send(page, "Beta question about numpy")
    assert sidebar_titles(page) == ["Beta question about numpy", "Alpha question about pandas"]
    assert user_texts(page) == ["Beta question about numpy"]

    # switch to the older conversation
    page.locator(".chat-conv-item", has_text="Alpha").click()
    expect(page.locator(".chat-message-user .chat-message-text")).to_have_text(["Alpha question about pandas"])
    assert assistant_texts(page) == ["Echo: Alpha question about pandas"]
    # a new message makes it the newest
    send(page, "more pandas")
    assert sidebar_titles(page)[0] == "Alpha question about pandas"

    # rename
    item = page.locator(".chat-conv-item", has_text="Alpha")
    item.hover()
    item.locator(".chat-action-rename").click()
    page.wait_for_selector("#chat-rename-input")
    page.fill("#chat-rename-input", "Pandas notes")
    page.locator(".ant-modal-wrap:visible .ant-btn-primary").click()
    expect(page.locator(".chat-conv-item .chat-conv-title").first).to_have_text("Pandas notes")

    # search by title, then by message content
    page.fill("#chat-search-input", "pandas notes")
    expect(page.locator(".chat-conv-item")).to_have_count(1)
    page.fill("#chat-search-input", "NUMPY")
    expect(page.locator(".chat-conv-item .chat-conv-title")).to_have_text(["Beta question about numpy"])
    page.fill("#chat-search-input", "no-such-words")
    expect(page.locator(".chat-conv-empty")).to_be_visible()
    page.fill("#chat-search-input", "")
    expect(page.locator(".chat-conv-item")).to_have_count(2)

    # delete: cancel keeps it, OK removes it
    item = page.locator(".chat-conv-item", has_text="Beta")
    item.hover()
    item.locator(".chat-action-delete").click()
    page.locator(".ant-modal-wrap:visible .ant-btn", has_text="Cancel").click()
    expect(page.locator(".chat-conv-item")).to_have_count(2)
    item.hover()
    item.locator(".chat-action-delete").click()
    page.locator(".ant-modal-wrap:visible .ant-btn-dangerous").click()
    expect(page.locator(".chat-conv-item")).to_have_count(1)
    assert [c["title"] for c in history(page)["conversations"]] == ["Pandas notes"]
    assert page.errors == []


def test_history_survives_reload_and_server_restart(browser, upstream):
    """Conversations live in IndexedDB: a reload and a restart of the server (same
    origin) bring them all back, with the active one drawn."""
    upstream.reset()
    app = AppProcess(app_env(upstream))
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        open_chat(page, app.url)
        send(page, "first conversation")
        page.click("#chat-new-button")
        send(page, "second conversation 你好 🎉")
        before = history(page)
        page.reload()
        open_chat(page, app.url)
        expect(page.locator(".chat-conv-item")).to_have_count(2)
        expect(page.locator(".chat-message-user .chat-message-text")).to_have_text(["second conversation 你好 🎉"])

        port = app.port
        app.stop()
        app = AppProcess(app_env(upstream), port=port)
        page.reload()
        open_chat(page, app.url)
        expect(page.locator(".chat-conv-item")).to_have_count(2)
        after = history(page)
        # every conversation comes back as it was (the list order is the sidebar's)
        assert {c["id"]: c for c in after["conversations"]} == {c["id"]: c for c in before["conversations"]}
        assert after["active_id"] == before["active_id"]
    finally:
        context.close()
        app.stop()


# 20 conversations of 200 messages × 5,000 characters ≈ 20 MB of text, plus one
# conversation of 1,000 messages (the active one).
BIG_HISTORY_JS = """
(() => {
  const filler = 'lorem ipsum dolor sit amet 中文 ' .repeat(200).slice(0, 5000);
  const conversations = [];
  const now = Date.now();
  for (let c = 0; c < 20; c++) {
    const messages = [];
    for (let m = 0; m < 200; m++) {
      messages.push({id: `m-${c}-${m}`, role: m % 2 ? 'assistant' : 'user', content: `c${c} m${m} ` + filler, created_at: now,
        seq: Math.floor(m / 2) + 1});
    }
    conversations.push({id: `big-${c}`, title: `Big ${c}`, created_at: now - 100000 + c, updated_at: now - 100000 + c, settings: {}, error: null, messages});
  }
  const long = [];
  for (let m = 0; m < 1000; m++) {
    long.push({id: `l-${m}`, role: m % 2 ? 'assistant' : 'user',
      content: m % 2 ? `Reply **${m}**\\n\\n\\`\\`\\`python\\nprint(${m})\\n\\`\\`\\`\\n\\n| a | b |\\n|---|---|\\n| ${m} | x |` : `Question ${m}`,
      created_at: now, seq: Math.floor(m / 2) + 1});
  }
  conversations.push({id: 'long', title: 'Thousand', created_at: now, updated_at: now, settings: {}, error: null, messages: long});
  return {version: 2, active_id: 'long', conversations};
})()
"""


def test_twenty_megabytes_of_history_survive_a_reload(browser, app_server):
    """A 20 MB history is written to IndexedDB without a quota error and comes back
    whole after a reload."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    try:
        open_chat(page, app_server.url)
        set_history(page, BIG_HISTORY_JS)
        size = page.evaluate("() => JSON.stringify(window.chatDebug.history()).length")
        assert size > 20_000_000
        expect(page.locator(".chat-conv-item")).to_have_count(21)
        page.wait_for_function(IDB_HOLDS_JS, arg=21, timeout=60000, polling=500)
        page.reload()
        open_chat(page, app_server.url)
        expect(page.locator(".chat-conv-item")).to_have_count(21, timeout=30000)
        expect(page.locator(".chat-message-user").last).to_contain_text("Question 998", timeout=30000)
        assert page.evaluate("() => JSON.stringify(window.chatDebug.history()).length") == size
        # a big conversation opens from the sidebar
        page.locator(".chat-conv-item", has_text="Big 3").click()
        expect(page.locator(".chat-message-assistant").last).to_contain_text("c3 m199")
        assert errors == []
    finally:
        context.close()


LONG_ONLY_JS = BIG_HISTORY_JS.replace("c < 20", "c < 0")


def test_thousand_message_conversation_opens_and_scrolls(page, app_server):
    """A 1,000-message conversation opens with its newest messages drawn; scrolling to
    the top draws earlier ones while the reader keeps their place, and "show earlier"
    says how many are not drawn yet."""
    open_chat(page, app_server.url)
    set_history(page, LONG_ONLY_JS)
    expect(page.locator(".chat-message-user .chat-message-text").last).to_have_text("Question 998")
    drawn = page.locator(".chat-message").count()
    assert 20 <= drawn < 100
    label = page.locator(".chat-show-earlier").inner_text()
    assert label == f"Show {1000 - drawn} earlier messages"
    first_text = page.locator(".chat-message-user .chat-message-text").first.inner_text()
    assert first_text.startswith("Question ")
    # scroll to the top: earlier messages are drawn, the reader stays on the same message
    page.evaluate("() => { document.getElementById('chat-scroll').scrollTop = 0; }")
    page.wait_for_function(f"() => document.querySelectorAll('.chat-message').length > {drawn}")
    page.wait_for_timeout(300)
    anchor = page.locator(".chat-message-user .chat-message-text").get_by_text(first_text, exact=True)
    box = anchor.bounding_box()
    assert box is not None and -50 < box["y"] < 900
    more = page.locator(".chat-message").count()
    # the button draws more as well
    page.evaluate("() => { document.getElementById('chat-scroll').scrollTop = 400; }")
    page.locator(".chat-show-earlier").click()
    page.wait_for_function(f"() => document.querySelectorAll('.chat-message').length > {more}")
    total_drawn = page.locator(".chat-message").count()
    assert page.locator(".chat-show-earlier").inner_text() == f"Show {1000 - total_drawn} earlier messages"
    # the newest message is still the last one, and sending still works at the bottom
    expect(page.locator(".chat-message-user .chat-message-text").last).to_have_text("Question 998")
    assert page.errors == []


def test_a_commit_redraws_only_the_messages_it_changes(page, app_server):
    """Appending a message (as a send or a finished reply does) leaves the drawn messages
    before it mounted (the same DOM nodes, a code block highlighted once), draws the new
    one, and each drawn message is one Dash component (render.mjs shells, messageview.mjs)."""
    open_chat(page, app_server.url)
    messages = [{"id": f"m{i}", "role": "user" if i % 2 == 0 else "assistant", "seq": 1 + i // 2,
                 "content": f"question {i}" if i % 2 == 0 else f"answer {i}\n\n```python\nprint({i})\n```"} for i in range(30)]
    set_history(page, {"version": 5, "active_id": "c-keep", "conversations": [
        {"id": "c-keep", "title": "keep", "created_at": 1, "updated_at": 2, "messages": messages}]})
    expect(page.locator(".chat-message")).to_have_count(30)
    # drawn as Markdown (fmc's bundle loads on first need, then the messages are drawn again)
    expect(page.locator(".chat-message .markdown-body pre")).to_have_count(15)
    page.evaluate("() => { window.keptNodes = Array.from(document.querySelectorAll('.chat-message')); }")
    rebuilds = page.evaluate("window.chatDebug.shellRebuilds")
    page.evaluate("""() => {
      const h = window.chatDebug.history();
      const c = Object.assign({}, h.conversations[0]);
      c.messages = c.messages.concat([{id: 'm30', role: 'user', content: 'one more', seq: 99}]);
      window.chatDebug.commit(Object.assign({}, h, {conversations: [c]}));
    }""")
    expect(page.locator(".chat-message")).to_have_count(31)
    expect(page.locator(".chat-message-user .chat-message-text").last).to_have_text("one more")
    kept = page.evaluate("() => window.keptNodes.map((node) => node.isConnected)")
    # only the messages sharing the new message's shell (at most 4) are drawn again
    assert kept[:28] == [True] * 28, kept
    # the shells were updated in place (set_props), not made again
    assert page.evaluate("window.chatDebug.shellRebuilds") == rebuilds
    assert page.errors == []


def test_markdown_export_records_model_and_system_prompt(page, app_server, fresh_upstream):
    """The per-conversation Markdown export names the conversation's model and system prompt."""
    open_chat(page, app_server.url)
    send(page, "export me")
    data = history(page)
    data["conversations"][0]["settings"] = {"model": "test-model-2", "system_prompt": "You are terse."}
    set_history(page, data)
    page.wait_for_timeout(300)
    with page.expect_download() as info:
        page.click("#chat-export-button")
    text = open(info.value.path(), encoding="utf-8").read()
    assert "- Model: test-model-2" in text
    assert "## System prompt" in text and "You are terse." in text
    assert "export me" in text and "Echo: export me" in text
    assert info.value.suggested_filename.endswith(".md")
