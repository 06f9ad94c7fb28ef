"""Helpers shared by the browser tests of the chat page (not a test module).

They drive the page the way a person does (typing, clicking) and read the history
the page keeps in IndexedDB through ``window.chatDebug.history()``.
"""

from __future__ import annotations

import json
import re

from playwright.sync_api import Page, expect

REPLY_TIMEOUT_MS = 15000


# No Markdown is drawn as plain text: fmc's bundle loads on first need (components/bundles.py)
# and whatever was drawn meanwhile as plain text (.chat-md-plain) is drawn again once it is there.
MARKDOWN_DRAWN_JS = "() => !Array.from(document.querySelectorAll('.chat-md-plain')).some((e) => e.textContent)"


def open_chat(page: Page, url: str) -> None:
    """Load the page and wait until the history has been read and drawn once (as Markdown)."""
    page.goto(url)
    page.wait_for_selector("#chat-input")
    page.wait_for_function("() => window.chatDebug && window.chatDebug.lastRender !== null")
    page.wait_for_function(MARKDOWN_DRAWN_JS, timeout=REPLY_TIMEOUT_MS)


def history(page: Page) -> dict | None:
    """The page's history store value (what IndexedDB holds)."""
    return page.evaluate("() => window.chatDebug.history()")


def active(page: Page) -> dict:
    """The active conversation of the history store."""
    data = history(page) or {}
    for conversation in data.get("conversations", []):
        if conversation["id"] == data.get("active_id"):
            return conversation
    raise AssertionError("no active conversation")


def wait_idle(page: Page) -> None:
    """Wait until no reply is streaming and the messages are drawn as Markdown."""
    page.wait_for_function("() => !window.chatDebug.streaming()", timeout=REPLY_TIMEOUT_MS)
    page.wait_for_function(MARKDOWN_DRAWN_JS, timeout=REPLY_TIMEOUT_MS)


def send(page: Page, text: str) -> None:
    """Type ``text`` into the composer, press Enter and wait for the reply to finish."""
    runs = page.evaluate("() => window.chatDebug.runs")
    page.fill("#chat-input", text)
    page.press("#chat-input", "Enter")
    page.wait_for_function(f"() => window.chatDebug.runs > {runs}", timeout=REPLY_TIMEOUT_MS)
    wait_idle(page)


def wait_runs(page: Page, count: int) -> None:
    """Wait until ``count`` replies in total have finished on this page."""
    page.wait_for_function(f"() => window.chatDebug.runs >= {count}", timeout=REPLY_TIMEOUT_MS)
    wait_idle(page)


def set_history(page: Page, data: dict | str) -> None:
    """Replace the page's history (coerced against the schema, then committed and
    written to IndexedDB as the page writes its own); ``data`` may be a JS expression
    string that builds the value in the page."""
    if isinstance(data, str):
        page.evaluate(f"() => window.chatDebug.replaceHistory({data})")
    else:
        page.evaluate("(d) => window.chatDebug.replaceHistory(d)", data)


def user_texts(page: Page) -> list[str]:
    """Texts of the drawn user messages."""
    return page.locator(".chat-message-user .chat-message-text").all_inner_texts()


def assistant_texts(page: Page) -> list[str]:
    """Texts of the drawn assistant messages (rendered Markdown)."""
    return [t.strip() for t in page.locator(".chat-message-assistant .markdown-body").all_inner_texts()]


def sidebar_titles(page: Page) -> list[str]:
    """Titles in the conversation list, top to bottom."""
    return [t.strip() for t in page.locator(".chat-conv-item .chat-conv-title").all_inner_texts()]


def open_settings(page: Page, scope: str = "conversation") -> None:
    """Open the settings drawer on ``scope`` ("conversation" or "global")."""
    page.click("#chat-settings-button")
    page.wait_for_selector(".ant-drawer-open #chat-settings-save")
    items = page.locator("#chat-settings-scope .ant-segmented-item")
    items.nth(1 if scope == "global" else 0).click()
    expect(items.nth(1 if scope == "global" else 0)).to_have_class(re.compile("ant-segmented-item-selected"))
    page.wait_for_timeout(150)


# The settings drawer's closing motion has ended: antd hides the panel and gives the focus
# back to the button that opened it (#chat-settings-button) only then.
DRAWER_CLOSED_JS = """() => !document.querySelector('.ant-drawer-open')
    && !document.querySelector('.ant-drawer-content-wrapper:not(.ant-drawer-content-wrapper-hidden)')"""


def save_settings(page: Page) -> None:
    """Click Save and wait until the drawer's closing motion has ended: antd moves the
    focus back to the settings button at its end, so a key pressed in the composer before
    that (on a slow machine) would go to that button and open the drawer again."""
    page.click("#chat-settings-save")
    page.wait_for_function(DRAWER_CLOSED_JS)


def fill_number(page: Page, component_id: str, value: str) -> None:
    """Type into an AntdInputNumber (the id sits on the <input>)."""
    field = page.locator(f"#{component_id}")
    field.fill("")
    field.type(value)


def backup_doc(conversations: list[dict]) -> str:
    """A backup file body in the page's format."""
    return json.dumps({"format": "dash-chat-backup", "version": 1, "exported_at": "2026-01-01T00:00:00Z", "conversations": conversations})


# JS for page.wait_for_function: does the page's IndexedDB (assets/storage.js, one record
# per conversation) hold `count` conversations?
IDB_HOLDS_JS = """async (count) => {
    const open = indexedDB.open('dash-chat');
    const db = await new Promise((ok, no) => { open.onsuccess = () => ok(open.result); open.onerror = no; });
    if (!db.objectStoreNames.contains('conversations')) { db.close(); return false; }
    const req = db.transaction('conversations', 'readonly').objectStore('conversations').count();
    const n = await new Promise((ok) => { req.onsuccess = () => ok(req.result); });
    db.close();
    return n === count;
}"""


def storage_page(page: Page, url: str) -> None:
    """Open a page of the app's origin that runs none of the app (``/healthz``) but has
    Dexie and ``assets/storage.js`` loaded, to build stored data as an earlier release
    (or another tab) left it, before the app is opened."""
    page.goto(url + "/healthz")
    page.add_script_tag(url=url + "/assets/vendor/dexie-4.4.7.min.js")
    page.add_script_tag(url=url + "/assets/storage.js")
    page.wait_for_function("() => !!window.Dexie && !!window.chatStorage")


# JS: write a version-1 history value where fuc.FefferyLocalLargeStorage (localforage)
# kept it: database 'localforage', store 'keyvaluepairs', key 'chat-history-store', JSON text.
WRITE_LEGACY_JS = """async (text) => {
    const open = indexedDB.open('localforage', 2);
    open.onupgradeneeded = () => { if (!open.result.objectStoreNames.contains('keyvaluepairs')) open.result.createObjectStore('keyvaluepairs'); };
    const db = await new Promise((ok, no) => { open.onsuccess = () => ok(open.result); open.onerror = no; });
    const tx = db.transaction('keyvaluepairs', 'readwrite');
    tx.objectStore('keyvaluepairs').put(text, 'chat-history-store');
    await new Promise((ok, no) => { tx.oncomplete = ok; tx.onerror = no; });
    db.close();
}"""


# JS for page.evaluate on a storage_page: write records as a release of `format` left
# them. Argument: {format, conversations: [records without messages], messages: [records
# with conv_id and seq]}.
WRITE_RECORDS_JS = """async ({format, conversations, messages}) => {
    const db = window.chatStorage.database();
    await db.open();
    await db.meta.put({key: 'format', version: format});
    await db.conversations.bulkPut(conversations);
    await db.messages.bulkPut(messages);
    db.close();
}"""


def records(conversations: list[dict]) -> dict:
    """Conversations as the page holds them → ``{conversations, messages}`` records
    (messages without a seq get their position)."""
    metas, messages = [], []
    for conversation in conversations:
        metas.append({k: v for k, v in conversation.items() if k != "messages"})
        for index, message in enumerate(conversation.get("messages", [])):
            messages.append({"seq": index, **message, "conv_id": conversation["id"]})
    return {"conversations": metas, "messages": messages}
