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


def test_a_long_code_block_streams_in_joined_parts_and_ends_as_one(page, app_server, fresh_upstream):
    """A code block growing at the tail is cut every CODE_LINES lines (blocks.mjs): the
    parts show as one block with one copy button; the stored message has one block."""
    open_chat(page, app_server.url)
    lines = [f"value_{k} = {k} * 2\n" for k in range(80)]
    fresh_upstream.script(Reply(chunks=["Code:\n\n", "```python\n"] + lines + ["```\n\nDone."], chunk_delay=0.03))
    page.fill("#chat-input", "long code")
    page.press("#chat-input", "Enter")
    page.wait_for_function("() => document.querySelectorAll('#chat-stream-markdown .chat-stream-cut').length >= 2", timeout=20000)
    shown = page.evaluate("""() => {
      const buttons = Array.from(document.querySelectorAll('#chat-stream-markdown pre button'));
      const visible = buttons.filter((b) => getComputedStyle(b).display !== 'none').length;
      const boxes = Array.from(document.querySelectorAll('#chat-stream-markdown pre')).map((p) => p.getBoundingClientRect());
      // each part starts where the one before it ends (no gap between them)
      const gaps = boxes.slice(1).map((b, i) => Math.round(b.top - boxes[i].bottom));
      return { parts: boxes.length, visible: visible, gaps: gaps };
    }""")
    assert shown["parts"] >= 3 and shown["visible"] == 1, shown
    assert all(gap <= 1 for gap in shown["gaps"]), shown
    wait_idle(page)
    stored = page.locator("#chat-messages .chat-message-assistant pre")
    expect(stored).to_have_count(1)
    assert "value_79 = 79 * 2" in stored.inner_text()
    assert page.errors == []


def test_the_markdown_bundle_loads_on_first_need_not_with_the_page(page, app_server, fresh_upstream):
    """fmc's bundle (components/bundles.py) is not requested by an empty first screen; typing
    in the composer loads it, and a stored conversation is drawn as Markdown."""
    fmc = []
    page.on("request", lambda r: fmc.append(r.url) if "feffery_markdown_components" in r.url else None)
    open_chat(page, app_server.url)
    page.wait_for_timeout(500)
    assert fmc == [] and not page.evaluate("!!window.feffery_markdown_components")
    page.fill("#chat-input", "typing means a reply is coming")
    page.wait_for_function("() => !!(window.feffery_markdown_components && window.feffery_markdown_components.FefferyMarkdown)")
    assert len(fmc) == 1 and ".min.js" in fmc[0]
    # a reload with a stored conversation draws it as Markdown (loaded because it is needed)
    fresh_upstream.script(Reply(chunks=["# Title\n\n", "- one\n", "- two\n"]))
    page.press("#chat-input", "Enter")
    wait_idle(page)
    page.reload()
    page.wait_for_selector("#chat-input")
    expect(page.locator("#chat-messages .chat-message-assistant .markdown-body li")).to_have_count(2)
    expect(page.locator("#chat-messages .chat-message-assistant .markdown-body h1")).to_have_text("Title")
    assert page.errors == []
