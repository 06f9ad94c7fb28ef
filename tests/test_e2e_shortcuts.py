"""Browser tests: the keyboard shortcuts (components/shortcuts.py → assets/js/shortcuts.mjs).

Every shortcut of the key map does its job (new chat, focus the input, Esc stops a
streaming reply, regenerate and copy the last reply, search, toggle the sidebar, the
dialog), with Ctrl elsewhere and ⌘ on macOS; none fires while typing in a text field
except Esc and the send keys; the dialog opens with ``?``, Ctrl+/ and the header button and
lists the map from the page config, in the page's locale.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from components.shortcuts import SHORTCUTS, page as shortcut_map
from components.texts import UI_TEXTS
from tests.conftest import AppProcess, app_env
from tests.e2e_chat import active, history, open_chat, send, set_history, wait_idle, wait_runs
from tests.upstream import Reply

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

# the page thinks it runs on macOS (⌘ is the modifier there)
MAC_PLATFORM = """Object.defineProperty(Navigator.prototype, 'platform', { get: () => 'MacIntel' });
Object.defineProperty(Navigator.prototype, 'userAgentData', { get: () => undefined });"""


@pytest.fixture(scope="module")
def keys_app(upstream):
    """The app against the session upstream (one process for the module)."""
    app = AppProcess(app_env(upstream))
    yield app
    app.stop()


def seeded(title: str = "Seeded", pairs: int = 1) -> dict:
    """A history with one conversation of ``pairs`` question/answer turns."""
    messages = []
    for i in range(pairs):
        messages.append({"id": f"u{i}", "role": "user", "content": f"question {i}", "created_at": 1000 + 2 * i, "seq": 2 * i})
        messages.append({"id": f"a{i}", "role": "assistant", "content": f"answer **{i}**", "created_at": 1001 + 2 * i, "seq": 2 * i + 1})
    return {"version": 3, "active_id": "c1", "conversations": [
        {"id": "c1", "title": title, "created_at": 1000, "updated_at": 2000, "settings": {}, "error": None, "messages": messages}
    ]}


def new_page(context):
    """A page of ``context`` collecting its script errors in ``page.errors``."""
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    return page


def blur(page) -> None:
    """Leave any text field (focus on the page itself)."""
    page.evaluate("() => { if (document.activeElement) document.activeElement.blur(); }")


def focused_id(page) -> str:
    return page.evaluate("() => document.activeElement ? document.activeElement.id : ''")


def chat_requests(upstream) -> int:
    return len([r for r in upstream.requests if r["path"].endswith("/chat/completions")])


def dialog_rows(page) -> list[tuple[str, str]]:
    """(label, keys) of each row of the shortcuts dialog, as drawn."""
    rows = page.evaluate("""() => Array.from(document.querySelectorAll('#chat-shortcuts-list .chat-shortcut-row')).map(
        (row) => [row.querySelector('.chat-shortcut-label').textContent,
                  Array.from(row.querySelectorAll('.chat-shortcut-keys > *')).map((k) => k.textContent).join(' ')])""")
    return [tuple(row) for row in rows]


def expected_rows(locale: str, where: str) -> list[tuple[str, str]]:
    """The rows the config's key map should give in ``locale`` on ``where`` (mac/default)."""
    texts = UI_TEXTS[locale]
    rows = []
    for entry in shortcut_map():
        parts = []
        for i, combo in enumerate(entry["combos"][where]):
            parts += ([texts["shortcut_or"]] if i else []) + combo["labels"]
        rows.append((texts[entry["label"]], " ".join(parts)))
    return rows


def test_dialog_lists_the_key_map_from_the_config(page, keys_app):
    """``?`` (outside a text field), Ctrl+/ and the header button open the dialog; it lists
    every entry of the config's key map with its Ctrl keys; Esc closes it."""
    open_chat(page, keys_app.url)
    dialog = page.locator(".ant-modal-wrap:has(#chat-shortcuts-list)")
    expect(dialog).to_be_hidden()
    blur(page)
    page.keyboard.press("?")
    expect(dialog).to_be_visible()
    expect(dialog.locator(".ant-modal-title")).to_have_text("Keyboard shortcuts")
    assert dialog_rows(page) == expected_rows("en-US", "default")
    assert len(dialog_rows(page)) == len(SHORTCUTS) and "Ctrl Shift O" in dict(dialog_rows(page)).values()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    blur(page)
    page.keyboard.press("Control+/")
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    page.click("#chat-shortcuts-button")
    expect(dialog).to_be_visible()
    assert page.errors == []


def test_dialog_in_chinese_on_a_mac(browser, keys_app):
    """In zh-CN on macOS the dialog says it in Chinese with ⌘ and ⇧; ⌘K searches there and
    Ctrl+K does not (the Ctrl combos are not the Mac's)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    context.add_init_script(MAC_PLATFORM)
    page = new_page(context)
    try:
        open_chat(page, keys_app.url)
        page.click("#chat-shortcuts-button")
        expect(page.locator(".ant-modal-wrap:has(#chat-shortcuts-list) .ant-modal-title")).to_have_text("键盘快捷键")
        rows = dialog_rows(page)
        assert rows == expected_rows("zh-CN", "mac")
        assert dict(rows)["新建对话"] == "⌘ ⇧ O" and dict(rows)["显示键盘快捷键"] == "? 或 ⌘ /"
        page.keyboard.press("Escape")
        blur(page)
        page.keyboard.press("Control+k")
        assert focused_id(page) != "chat-search-input"
        page.keyboard.press("Meta+k")
        assert focused_id(page) == "chat-search-input"
        set_history(page, seeded())
        blur(page)
        page.keyboard.press("Control+Shift+O")
        page.wait_for_timeout(300)
        assert len(history(page)["conversations"]) == 1
        page.keyboard.press("Meta+Shift+O")
        page.wait_for_function("() => window.chatDebug.history().conversations.length === 2")
        assert active(page)["messages"] == []
    finally:
        context.close()


def test_new_chat_focus_search_and_sidebar(page, keys_app):
    """Ctrl+Shift+O opens a new conversation and focuses the input; Shift+Esc focuses the
    input; Ctrl+K the sidebar search; Ctrl+Shift+S hides and shows the sidebar."""
    open_chat(page, keys_app.url)
    set_history(page, seeded("Old talk"))
    expect(page.locator(".chat-message-assistant")).to_have_count(1)
    blur(page)
    page.keyboard.press("Control+Shift+O")
    page.wait_for_function("() => window.chatDebug.history().conversations.length === 2")
    assert active(page)["messages"] == []
    expect(page.locator(".chat-message")).to_have_count(0)
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'chat-input'")
    blur(page)
    page.keyboard.press("Control+k")
    assert focused_id(page) == "chat-search-input"
    blur(page)
    page.keyboard.press("Shift+Escape")
    assert focused_id(page) == "chat-input"
    blur(page)
    sidebar = page.locator("#chat-sidebar")
    expect(sidebar).to_be_visible()
    page.keyboard.press("Control+Shift+S")
    expect(sidebar).to_be_hidden()
    # the menu button (shown while it is hidden) brings it back, and so does the shortcut
    page.click("#chat-sidebar-toggle")
    expect(sidebar).to_be_visible()
    page.keyboard.press("Control+Shift+S")
    expect(sidebar).to_be_hidden()
    page.keyboard.press("Control+k")  # searching shows the sidebar again
    expect(sidebar).to_be_visible()
    assert focused_id(page) == "chat-search-input"
    assert page.errors == []


def test_sidebar_shortcut_on_a_phone(browser, keys_app):
    """At 390 px Ctrl+Shift+S slides the sidebar in and out."""
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = new_page(context)
    try:
        open_chat(page, keys_app.url)
        box = page.locator("#chat-sidebar").bounding_box()
        assert box["x"] + box["width"] <= 0
        blur(page)
        page.keyboard.press("Control+Shift+S")
        page.wait_for_timeout(400)
        assert page.locator("#chat-sidebar").bounding_box()["x"] == 0
        page.keyboard.press("Control+Shift+S")
        page.wait_for_timeout(400)
        box = page.locator("#chat-sidebar").bounding_box()
        assert box["x"] + box["width"] <= 0
    finally:
        context.close()


def test_regenerate_and_copy_the_last_reply(browser, keys_app, fresh_upstream):
    """Ctrl+Shift+E regenerates the last reply; Ctrl+Shift+; copies it (with a toast)."""
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    page = new_page(context)
    try:
        open_chat(page, keys_app.url)
        blur(page)
        page.keyboard.press("Control+Shift+E")  # nothing to regenerate yet: says so
        expect(page.locator(".ant-message")).to_contain_text("no reply to regenerate")
        fresh_upstream.script(Reply("first answer"))
        send(page, "question")
        fresh_upstream.script(Reply("second **answer**"))
        blur(page)
        page.keyboard.press("Control+Shift+E")
        wait_runs(page, 2)
        expect(page.locator(".chat-message-assistant .markdown-body")).to_have_text(["second answer"])
        assert chat_requests(fresh_upstream) == 2
        page.keyboard.press("Control+Shift+;")
        expect(page.locator(".ant-message")).to_contain_text("Copied")
        assert page.evaluate("() => navigator.clipboard.readText()") == "second **answer**"
    finally:
        context.close()


def test_esc_stops_the_reply_from_the_input(page, keys_app, fresh_upstream):
    """Esc stops a streaming reply even while the input has focus (the partial reply is kept)."""
    open_chat(page, keys_app.url)
    page.fill("#chat-input", "!fault slow 150 a long enough message to stream for a while")
    page.press("#chat-input", "Enter")
    page.wait_for_function("() => (document.querySelector('#chat-stream-markdown') || {}).innerText?.length > 8")
    assert focused_id(page) == "chat-input"
    page.keyboard.press("Escape")
    wait_idle(page)
    expect(page.locator(".chat-message-assistant .chat-message-flag")).to_have_text("Stopped")
    assert active(page)["messages"][-1]["stopped"] is True
    fresh_upstream.wait_closed(count=1, timeout=5)


def test_nothing_but_esc_and_send_fires_while_typing(browser, keys_app, fresh_upstream):
    """With the input (or the search box) focused, every other shortcut leaves the page as
    it is — the typed text stays, no dialog, no new chat, no request, the clipboard
    untouched — while Enter still sends."""
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    page = new_page(context)
    try:
        open_chat(page, keys_app.url)
        set_history(page, seeded("Typing", pairs=1))
        expect(page.locator(".chat-action-regenerate")).to_have_count(1)
        page.evaluate("() => navigator.clipboard.writeText('untouched')")
        requests = chat_requests(fresh_upstream)
        page.click("#chat-input")
        page.keyboard.type("draft")
        for key in ("Control+Shift+O", "Control+Shift+E", "Control+Shift+;", "Control+k", "Control+Shift+S", "Control+/", "?", "Shift+Escape"):
            page.keyboard.press(key)
        page.wait_for_timeout(400)
        assert focused_id(page) == "chat-input"
        expect(page.locator("#chat-input")).to_have_value("draft?")  # "?" was typed, not taken
        expect(page.locator(".ant-modal-wrap:has(#chat-shortcuts-list)")).to_be_hidden()
        expect(page.locator("#chat-sidebar")).to_be_visible()
        assert len(history(page)["conversations"]) == 1
        assert chat_requests(fresh_upstream) == requests
        assert page.evaluate("() => navigator.clipboard.readText()") == "untouched"
        expect(page.locator(".ant-message-notice")).to_have_count(0)
        # the search box is a text field too
        page.click("#chat-search-input")
        page.keyboard.press("Shift+Escape")
        page.keyboard.press("?")
        assert focused_id(page) == "chat-search-input"
        expect(page.locator("#chat-search-input")).to_have_value("?")
        page.fill("#chat-search-input", "")
        # the send key still works from the input
        fresh_upstream.script(Reply("sent"))
        page.fill("#chat-input", "draft")
        page.press("#chat-input", "Enter")
        wait_runs(page, 1)
        assert active(page)["messages"][-2]["content"] == "draft"
        assert page.errors == []
    finally:
        context.close()
