"""The streaming reply is painted directly (assets/js/streamview.mjs), not through Dash:
finished blocks are drawn once and left alone, the growing tail is drawn on every paint,
and the stored message replaces the stream at the end (issue 16)."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e_chat import open_chat, wait_idle
from tests.upstream import Reply

STREAM_IDS = ("chat-stream-markdown", "chat-stream-markdown-done", "chat-stream-markdown-tail",
              "chat-stream-reasoning-markdown")


def paragraphs(n: int) -> list[str]:
    return [f"Paragraph {i}: " + "several words of a long reply " * 12 + "\n\n" for i in range(n)]


def test_finished_blocks_are_drawn_once_and_paints_do_not_go_through_dash(page, app_server, fresh_upstream):
    open_chat(page, app_server.url)
    # count the Dash updates of the streaming reply's Markdown (set_props on its ids)
    page.evaluate("""(ids) => {
      window.__streamSetProps = 0;
      const original = window.dash_clientside.set_props;
      window.dash_clientside.set_props = function (componentId, props) {
        if (ids.includes(componentId) && props && ('markdownStr' in props)) { window.__streamSetProps += 1; }
        return original.apply(this, arguments);
      };
    }""", list(STREAM_IDS))
    chunks = [piece for para in paragraphs(24) for piece in (para[:120], para[120:])]
    fresh_upstream.script(Reply(chunks=chunks, chunk_delay=0.03))
    page.fill("#chat-input", "a long answer")
    page.press("#chat-input", "Enter")
    # two finished blocks: watch the first one for the rest of the reply
    page.wait_for_function("() => document.querySelectorAll('#chat-stream-markdown-done > .markdown-body').length >= 2",
                           timeout=20000)
    page.evaluate("""() => {
      const first = document.querySelector('#chat-stream-markdown-done > .markdown-body');
      window.__firstBlock = { node: first, text: first.textContent, mutations: 0 };
      new MutationObserver((records) => { window.__firstBlock.mutations += records.length; })
        .observe(first, { childList: true, subtree: true, characterData: true, attributes: true });
    }""")
    page.wait_for_function("() => document.querySelectorAll('#chat-stream-markdown-done > .markdown-body').length >= 3",
                           timeout=20000)
    # the tail holds only the paragraph still growing, not the whole reply
    tail = page.evaluate("() => document.getElementById('chat-stream-markdown-tail').textContent.length")
    assert tail < 400, tail
    wait_idle(page)
    first = page.evaluate("() => ({ mutations: window.__firstBlock.mutations, text: window.__firstBlock.text })")
    assert first["mutations"] == 0, first
    assert first["text"].startswith("Paragraph 0:")
    assert page.evaluate("window.__streamSetProps") == 0
    assert page.evaluate("window.chatDebug.lastRun.flushes") > 3
    # the stored message replaces the stream: all 24 paragraphs, the stream emptied
    expect(page.locator("#chat-messages .chat-message-assistant .markdown-body p")).to_have_count(24)
    assert page.evaluate("() => document.getElementById('chat-stream-markdown').textContent.trim()") == ""
    assert page.errors == []


def test_dark_theme_reaches_the_streamed_code(page, app_server, fresh_upstream):
    """The code theme follows light/dark in the streamed reply too (setStreamTheme)."""
    open_chat(page, app_server.url)
    page.click("#chat-theme-button")
    page.wait_for_function("() => document.documentElement.classList.contains('chat-dark')")
    fresh_upstream.script(Reply(chunks=["```python\n", "x = 1\n"] + ["y = 2\n"] * 40, chunk_delay=0.05))
    page.fill("#chat-input", "dark code")
    page.press("#chat-input", "Enter")
    page.wait_for_function("() => document.querySelector('#chat-stream-markdown pre')", timeout=20000)
    # a11y-dark paints the code block's background dark
    dark = page.evaluate("""() => {
      const pre = document.querySelector('#chat-stream-markdown pre');
      const rgb = getComputedStyle(pre).backgroundColor.match(/\\d+/g).map(Number);
      return rgb[0] + rgb[1] + rgb[2] < 200;
    }""")
    assert dark
    wait_idle(page)
    assert page.errors == []
