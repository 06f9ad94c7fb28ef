"""Browser tests of reasoning replies: the thinking shows live in its own block, folds
when the answer starts ("Thought for N s"), is kept with the message (reload), keeps
the reader's open/close choice, is never sent back to the model, and
``reasoning_effort`` reaches the upstream only when set.

The test upstream (tests/upstream.py) thinks when the message starts with ``!think``
(``reasoning_content`` by default; ``tags`` for ``<think>…</think>`` in the content).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e_chat import REPLY_TIMEOUT_MS, history, open_chat, open_settings, save_settings, send, wait_idle

pytestmark = [pytest.mark.timeout(150), pytest.mark.browser]

STREAM_BLOCK = "#chat-stream-reasoning"
STORED_BLOCK = ".chat-message-assistant details.chat-reasoning"


def test_reasoning_streams_live_folds_and_is_kept(page, app_server, fresh_upstream):
    open_chat(page, app_server.url)
    runs = page.evaluate("() => window.chatDebug.runs")
    page.fill("#chat-input", "!think slow 100")
    page.press("#chat-input", "Enter")
    # live: the block is shown, open, and fills while the model thinks; no answer yet
    expect(page.locator(STREAM_BLOCK)).to_be_visible()
    expect(page.locator(STREAM_BLOCK)).to_contain_text("Thinking about", timeout=REPLY_TIMEOUT_MS)
    assert page.evaluate(f"() => document.querySelector('{STREAM_BLOCK}').open") is True
    expect(page.locator("#chat-stream-reasoning-summary")).to_have_text("Thinking…")
    # the answer starts: the block folds, the answer is outside it
    expect(page.locator("#chat-stream-markdown")).to_contain_text("Echo:", timeout=REPLY_TIMEOUT_MS)
    page.wait_for_function(f"() => document.querySelector('{STREAM_BLOCK}').open === false")
    expect(page.locator("#chat-stream-reasoning-summary")).to_contain_text("Thought for")
    page.wait_for_function(f"() => window.chatDebug.runs > {runs}", timeout=REPLY_TIMEOUT_MS)
    wait_idle(page)

    stored = page.locator(STORED_BLOCK)
    expect(stored).to_have_count(1)
    assert page.evaluate(f"() => document.querySelector('{STORED_BLOCK}').open") is False
    expect(stored.locator("summary")).to_contain_text("Thought for")
    assert "Thinking about" in stored.text_content()  # kept in the DOM while folded
    answer = page.locator(".chat-message-assistant .markdown-body").last.inner_text()
    assert answer == "Echo: !think slow 100" and "Thinking about" not in answer
    expect(page.locator(".chat-message-reasoning-tokens")).to_contain_text("reasoning tokens")
    message = history(page)["conversations"][0]["messages"][-1]
    assert message["reasoning"].startswith("Thinking about")
    assert message["reasoning_ms"] >= 0 and message["ttft_reasoning_ms"] <= message["ttft_ms"]

    # the reader opens it; a later reply does not fold it again
    stored.locator("summary").click()
    send(page, "plain follow-up")
    assert page.evaluate(f"() => document.querySelector('{STORED_BLOCK}').open") is True
    # the follow-up request carried the answer but not the thinking
    sent = fresh_upstream.requests[-1]["body"]["messages"]
    assert any(m["content"].startswith("Echo: !think") for m in sent if m["role"] == "assistant")
    assert not any("Thinking about" in m["content"] for m in sent)
    assert all(set(m) == {"role", "content"} for m in sent)

    # kept across a reload
    page.reload()
    open_chat(page, app_server.url)
    expect(page.locator(STORED_BLOCK)).to_have_count(1)
    assert "Thinking about" in page.locator(STORED_BLOCK).text_content()


def test_think_tags_and_reasoning_effort(page, app_server, fresh_upstream):
    """<think> tags in the content become the reasoning block, not answer text; the
    conversation's reasoning_effort is sent only once it is set."""
    open_chat(page, app_server.url)
    send(page, "!think tags")
    assert "reasoning_effort" not in fresh_upstream.requests[-1]["body"]
    answer = page.locator(".chat-message-assistant .markdown-body").last.inner_text()
    assert "<think>" not in answer and "Thinking about" not in answer
    assert "Thinking about" in page.locator(STORED_BLOCK).last.text_content()

    open_settings(page)
    page.click("#chat-setting-reasoning-effort")
    page.locator(".ant-select-item-option", has_text="high").click()
    save_settings(page)
    send(page, "!think")
    assert fresh_upstream.requests[-1]["body"]["reasoning_effort"] == "high"
    assert "reasoning_effort: high" in page.locator(STORED_BLOCK).last.text_content()
