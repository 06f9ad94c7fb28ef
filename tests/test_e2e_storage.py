"""Browser tests of the storage (assets/storage.js): several tabs of one browser chat at
once without losing a message, other tabs' changes show within a second, the
version-1 value (one localforage record) migrates into records — also a 20 MB one and
an interrupted one — and storage that is missing, full or newer is said so while the
page keeps working in memory."""

from __future__ import annotations

import json
import time

import pytest
from playwright.sync_api import expect

from tests.e2e_chat import (
    WRITE_LEGACY_JS,
    WRITE_RECORDS_JS,
    history,
    open_chat,
    records,
    send,
    sidebar_titles,
    storage_page,
    wait_runs,
)
from tests.upstream import Reply

pytestmark = [pytest.mark.timeout(240), pytest.mark.browser]


def contents(page) -> dict[str, list[str]]:
    """Conversation id → its message contents in order, as the page holds them."""
    return {c["id"]: [m["content"] for m in c["messages"]] for c in (history(page) or {}).get("conversations", [])}


def loaded(page) -> None:
    page.wait_for_function("() => window.chatDebug && window.chatDebug.lastRender !== null")


def two_tabs(context, url: str, first: str):
    """Tabs A and B of one browser; A sends ``first`` and B shows its conversation."""
    a, b = context.new_page(), context.new_page()
    open_chat(a, url)
    open_chat(b, url)
    send(a, first)
    b.wait_for_function("() => (window.chatDebug.history() || {conversations: []}).conversations.length === 1", timeout=3000)
    return a, b


def test_tabs_share_conversations_and_lose_nothing(browser, app_server, fresh_upstream):
    """Tab A sends, tab B sends, tab A sends: every message is kept; a conversation made
    in A shows in B within 1 s; a third tab and B after a reload see everything."""
    context = browser.new_context()
    try:
        a, b = two_tabs(context, app_server.url, "from A 1")
        send(b, "from B 1")
        a.wait_for_function("() => JSON.stringify(window.chatDebug.history()).includes('from B 1')", timeout=3000)
        send(a, "from A 2")
        expected = ["from A 1", "Echo: from A 1", "from B 1", "Echo: from B 1", "from A 2", "Echo: from A 2"]
        b.wait_for_function("() => JSON.stringify(window.chatDebug.history()).includes('Echo: from A 2')", timeout=3000)
        assert list(contents(a).values()) == [expected]
        assert list(contents(b).values()) == [expected]
        # a conversation created in A appears in B's sidebar within a second
        a.click("#chat-new-button")
        a.wait_for_function("() => window.chatDebug.history().conversations.length === 2")
        started = time.monotonic()
        send(a, "brand new in A")
        sent = time.monotonic()
        expect(b.locator(".chat-conv-item", has_text="brand new in A")).to_have_count(1, timeout=3000)
        seen_after = time.monotonic() - sent
        assert seen_after < 1.0, f"B showed A's new conversation {seen_after:.2f} s after A's reply ended"
        assert time.monotonic() - started < 10
        # a third tab, and B after a reload, read every conversation from IndexedDB
        c = context.new_page()
        open_chat(c, app_server.url)
        b.reload()
        loaded(b)
        for page in (b, c):
            assert sorted(map(tuple, contents(page).values())) == sorted([tuple(expected), ("brand new in A", "Echo: brand new in A")])
    finally:
        context.close()


def test_two_tabs_streaming_into_one_conversation(browser, app_server, fresh_upstream):
    """Both tabs send into the same conversation while the other's reply streams: both
    replies are kept, each right after its own question (no interleaving)."""
    context = browser.new_context()
    try:
        a, b = two_tabs(context, app_server.url, "start")
        fresh_upstream.script(Reply(content="slow answer for A " * 4, chunk_size=4, chunk_delay=0.05))
        fresh_upstream.script(Reply(content="slow answer for B " * 4, chunk_size=4, chunk_delay=0.05))
        a.fill("#chat-input", "question A")
        a.press("#chat-input", "Enter")
        a.wait_for_function("() => window.chatDebug.streaming()")
        b.fill("#chat-input", "question B")
        b.press("#chat-input", "Enter")
        wait_runs(a, 2)
        wait_runs(b, 1)
        for page in (a, b):
            page.wait_for_function(
                "() => JSON.stringify(window.chatDebug.history()).split('slow answer for').length === 9", timeout=5000
            )
        messages = list(contents(a).values())[0]
        assert messages[:2] == ["start", "Echo: start"]
        turns = [messages[2:4], messages[4:6]]
        assert sorted(t[0] for t in turns) == ["question A", "question B"]
        for question, answer in turns:
            assert answer.startswith("slow answer for " + question[-1])
        b.reload()
        loaded(b)
        assert list(contents(b).values())[0] == messages
    finally:
        context.close()


def legacy_history(conversations: int, messages: int, size: int) -> dict:
    """A version-1 history value: ``conversations`` × ``messages`` of ``size`` characters."""
    filler = ("lorem ipsum 中文 😀 " * (size // 18 + 1))[:size]
    return {
        "version": 1,
        "active_id": "old-0",
        "conversations": [
            {
                "id": f"old-{i}", "title": f"old conversation {i}", "created_at": 1.7e12 + i, "updated_at": 1.7e12 + i,
                "settings": {"temperature": 0.3} if i == 0 else {}, "error": None,
                "messages": [
                    {"id": f"old-{i}-{j}", "role": "user" if j % 2 == 0 else "assistant",
                     "content": f"c{i} m{j} " + filler, "created_at": 1.7e12 + j}
                    for j in range(messages)
                ],
            }
            for i in range(conversations)
        ],
    }


def test_migration_from_the_single_value_of_version_1(browser, app_server, fresh_upstream):
    """A 20 MB version-1 value becomes records on first load, is deleted once verified,
    and an old tab writing the old value afterwards changes nothing."""
    value = legacy_history(conversations=200, messages=50, size=2000)
    text = json.dumps(value)
    assert len(text.encode("utf-8")) > 20_000_000
    context = browser.new_context()
    try:
        page = context.new_page()
        storage_page(page, app_server.url)
        page.evaluate(WRITE_LEGACY_JS, text)
        started = time.monotonic()
        page.goto(app_server.url)
        page.wait_for_function("() => window.chatDebug && window.chatDebug.lastRender !== null", timeout=120000)
        print(f"\nmigrated 200 conversations / 10,000 messages ({len(text) / 1e6:.1f} MB) in {time.monotonic() - started:.1f} s")
        data = history(page)
        assert len(data["conversations"]) == 200
        by_id = {c["id"]: c for c in data["conversations"]}
        for original in (value["conversations"][0], value["conversations"][199]):
            migrated = by_id[original["id"]]
            assert [m["content"] for m in migrated["messages"]] == [m["content"] for m in original["messages"]]
            assert migrated["title"] == original["title"]
        assert by_id["old-0"]["settings"] == {"temperature": 0.3}
        # the old value is gone; an old tab writing it again is ignored
        assert page.evaluate("""async () => { const db = await new Promise(ok => { const o = indexedDB.open('localforage');
            o.onsuccess = () => ok(o.result); }); const r = db.transaction('keyvaluepairs').objectStore('keyvaluepairs')
            .get('chat-history-store'); return await new Promise(ok => { r.onsuccess = () => { db.close(); ok(r.result === undefined); }; }); }""")
        page.evaluate(WRITE_LEGACY_JS, json.dumps(legacy_history(conversations=1, messages=2, size=10)))
        page.reload()
        loaded(page)
        assert len(history(page)["conversations"]) == 200
        send(page, "after the migration")
        page.reload()
        loaded(page)
        assert any(m["content"] == "after the migration" for c in history(page)["conversations"] for m in c["messages"])
    finally:
        context.close()


def test_interrupted_migration_resumes(browser, app_server, fresh_upstream):
    """Records of the first conversations were written but the migration never
    finished (no format record, the old value still there): the next load completes
    it, every conversation once with all its messages."""
    value = legacy_history(conversations=120, messages=6, size=50)
    context = browser.new_context()
    try:
        page = context.new_page()
        storage_page(page, app_server.url)
        page.evaluate(WRITE_LEGACY_JS, json.dumps(value))
        page.evaluate("""async (conversations) => {
            const db = window.chatStorage.database();
            await db.open();
            await db.conversations.bulkPut(conversations.map(window.chatStorage.conversationRecord));
            const half = conversations[conversations.length - 1];
            await db.messages.bulkPut(half.messages.slice(0, 3).map(m => window.chatStorage.messageRecord(half.id, m)));
            db.close();
        }""", value["conversations"][:51])
        page.goto(app_server.url)
        loaded(page)
        data = history(page)
        assert sorted(c["id"] for c in data["conversations"]) == sorted(c["id"] for c in value["conversations"])
        for conversation in data["conversations"]:
            assert len(conversation["messages"]) == 6, conversation["id"]
    finally:
        context.close()


def test_newer_format_is_left_untouched(browser, app_server, fresh_upstream):
    """Data written by a newer release is shown, never written, and the page says so."""
    context = browser.new_context()
    try:
        page = context.new_page()
        storage_page(page, app_server.url)
        page.evaluate(WRITE_RECORDS_JS, {"format": 99, **records([{
            "id": "future", "title": "from the future", "updated_at": 1,
            "messages": [{"id": "f1", "seq": 1, "role": "user", "content": "hello from v99"}]}])})
        page.goto(app_server.url)
        loaded(page)
        expect(page.locator("#chat-storage-alert")).to_contain_text("newer version")
        assert sidebar_titles(page) == ["from the future"]
        send(page, "kept in memory only")
        counts = page.evaluate("""async () => { const db = window.chatStorage.database(); await db.open();
            const r = [await db.conversations.count(), await db.messages.count()]; db.close(); return r; }""")
        assert counts == [1, 1]
    finally:
        context.close()


def test_no_indexeddb_keeps_working_in_memory(browser, app_server, fresh_upstream):
    context = browser.new_context()
    context.add_init_script("Object.defineProperty(window, 'indexedDB', {value: undefined, configurable: true})")
    try:
        page = context.new_page()
        open_chat(page, app_server.url)
        expect(page.locator("#chat-storage-alert")).to_contain_text("cannot save chats")
        send(page, "memory only")
        assert list(contents(page).values()) == [["memory only", "Echo: memory only"]]
    finally:
        context.close()


def test_full_storage_mid_reply_keeps_the_messages(browser, app_server, fresh_upstream):
    """A write that fails (quota) is said once; the messages stay in the tab and are
    written with the next change that succeeds."""
    context = browser.new_context()
    try:
        page = context.new_page()
        open_chat(page, app_server.url)
        send(page, "before")
        page.evaluate("() => window.chatDebug.failWrites('QuotaExceededError')")
        send(page, "while full")
        expect(page.locator("#chat-storage-alert")).to_contain_text("storage is full")
        assert list(contents(page).values())[0][-2:] == ["while full", "Echo: while full"]
        page.evaluate("() => window.chatDebug.failWrites(null)")
        send(page, "space again")
        expect(page.locator("#chat-storage-alert")).to_be_hidden()
        page.reload()
        loaded(page)
        assert list(contents(page).values())[0] == [
            "before", "Echo: before", "while full", "Echo: while full", "space again", "Echo: space again"
        ]
    finally:
        context.close()


def test_data_of_the_previous_format_is_upgraded(browser, app_server, fresh_upstream):
    """Records written by the previous release (format 2) load unchanged and the
    database is marked with the current format, so older code then leaves it alone."""
    context = browser.new_context()
    try:
        page = context.new_page()
        storage_page(page, app_server.url)
        page.evaluate(WRITE_RECORDS_JS, {"format": 2, **records([{
            "id": "v2", "title": "from format 2", "updated_at": 5, "settings": {"temperature": 0.2}, "error": None,
            "messages": [
                {"id": "q", "seq": 1, "role": "user", "content": "old question", "created_at": 1},
                {"id": "a", "seq": 1, "role": "assistant", "content": "old answer", "created_at": 2, "finish_reason": "stop"}]}])})
        page.goto(app_server.url)
        loaded(page)
        assert list(contents(page).values()) == [["old question", "old answer"]]
        version = page.evaluate("""async () => { const db = window.chatStorage.database(); await db.open();
            const f = await db.meta.get('format'); db.close(); return f.version; }""")
        assert version == history(page)["version"] and version > 2
    finally:
        context.close()


# JS for page.evaluate on a storage_page: write records as the release of format 3 did —
# its IndexedDB schema (Dexie version 1: conversations, messages, meta; no images table).
WRITE_FORMAT_3_JS = """async ({conversations, messages}) => {
    const db = new window.Dexie('dash-chat');
    db.version(1).stores(window.chatStorage.TABLES);
    await db.open();
    await db.meta.put({key: 'format', version: 3});
    await db.conversations.bulkPut(conversations);
    await db.messages.bulkPut(messages);
    db.close();
}"""


def test_data_of_format_3_is_upgraded_to_4_and_takes_images(browser, app_server, fresh_upstream):
    """Records written by the format-3 release (no images table, reasoning fields) load
    unchanged; the database becomes the current format (4 added the images table, 5
    changes no record), and an image attachment then stored comes back after a reload."""
    context = browser.new_context()
    try:
        page = context.new_page()
        storage_page(page, app_server.url)
        page.evaluate(WRITE_FORMAT_3_JS, records([{
            "id": "v3", "title": "from format 3", "updated_at": 5, "settings": {"reasoning_effort": "high"}, "error": None,
            "messages": [
                {"id": "q3", "seq": 1, "role": "user", "content": "old question", "created_at": 1},
                {"id": "a3", "seq": 1, "role": "assistant", "content": "old answer", "created_at": 2,
                 "reasoning": "thought", "reasoning_ms": 1200, "usage": {"prompt_tokens": 3, "completion_tokens": 4, "reasoning_tokens": 2}}]}]))
        page.goto(app_server.url)
        loaded(page)
        conversation = history(page)["conversations"][0]
        assert [m["content"] for m in conversation["messages"]] == ["old question", "old answer"]
        assert conversation["messages"][1]["reasoning"] == "thought" and conversation["settings"] == {"reasoning_effort": "high"}
        state = page.evaluate("""async () => { const db = window.chatStorage.database(); await db.open();
            const f = await db.meta.get('format'); const r = { format: f.version, verno: db.verno,
            tables: db.tables.map((t) => t.name).sort(), messages: await db.messages.count() }; db.close(); return r; }""")
        assert state == {"format": 5, "verno": 2, "tables": ["conversations", "images", "messages", "meta"], "messages": 2}
        assert history(page)["version"] == 5
        # an image attachment is now stored as a Blob and read back as its data URL
        pixel = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
        page.evaluate("""(data) => { const h = window.chatDebug.history(); const c = h.conversations[0];
            const m = Object.assign({}, c.messages[0], { attachments: [{ id: 'att-x', kind: 'image', name: 'p.png',
              mime: 'image/png', size: 68, width: 1, height: 1, data: data }] });
            window.chatDebug.replaceHistory(Object.assign({}, h, { conversations: [Object.assign({}, c, { messages: [m, c.messages[1]] })] })); }""", pixel)
        page.wait_for_function("""async () => { const db = window.chatStorage.database(); await db.open();
            const n = await db.images.count(); db.close(); return n === 1; }""")
        page.reload()
        loaded(page)
        assert history(page)["conversations"][0]["messages"][0]["attachments"][0]["data"] == pixel
    finally:
        context.close()


WRITE_FORMAT_4_JS = """async ({conversations, messages, images}) => {
    const db = new window.Dexie('dash-chat');
    db.version(1).stores(window.chatStorage.TABLES);
    db.version(2).stores({images: 'id, conv_id, msg_id'});
    await db.open();
    await db.meta.put({key: 'format', version: 4});
    await db.conversations.bulkPut(conversations);
    await db.messages.bulkPut(messages);
    const bytes = Uint8Array.from(atob(images.data), (c) => c.charCodeAt(0));
    await db.images.put({id: images.id, conv_id: images.conv_id, msg_id: images.msg_id, blob: new Blob([bytes], {type: 'image/png'})});
    db.close();
}"""


def test_data_of_format_4_is_upgraded_to_5_and_keeps_branches(browser, app_server, fresh_upstream):
    """Records of the format-4 release (an image as a Blob) load unchanged; the database
    becomes format 5, and versions kept by Regenerate (branches) then survive a reload."""
    pixel = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
    context = browser.new_context()
    try:
        page = context.new_page()
        storage_page(page, app_server.url)
        data = records([{
            "id": "v4", "title": "from format 4", "updated_at": 5, "settings": {}, "error": None,
            "messages": [
                {"id": "q4", "seq": 1, "role": "user", "content": "look", "created_at": 1,
                 "attachments": [{"id": "att-4", "kind": "image", "name": "p.png", "mime": "image/png", "size": 68, "width": 1, "height": 1}]},
                {"id": "a4", "seq": 1, "role": "assistant", "content": "a pixel", "created_at": 2}]}])
        data["images"] = {"id": "att-4", "conv_id": "v4", "msg_id": "q4", "data": pixel}
        page.evaluate(WRITE_FORMAT_4_JS, data)
        page.goto(app_server.url)
        loaded(page)
        conversation = history(page)["conversations"][0]
        assert [m["content"] for m in conversation["messages"]] == ["look", "a pixel"]
        assert conversation["messages"][0]["attachments"][0]["data"] == "data:image/png;base64," + pixel
        fmt = page.evaluate("""async () => { const db = window.chatStorage.database(); await db.open();
            const f = await db.meta.get('format'); db.close(); return f.version; }""")
        assert fmt == 5
        fresh_upstream.script(Reply("another pixel"))
        page.locator(".chat-message-assistant .chat-action-regenerate").click()
        page.wait_for_function("() => window.chatDebug.runs >= 1 && !window.chatDebug.streaming()")
        expect(page.locator(".chat-branch-label")).to_have_text("2 / 2")
        page.wait_for_timeout(300)
        page.reload()
        loaded(page)
        expect(page.locator(".chat-branch-label")).to_have_text("2 / 2")
        page.locator(".chat-branch-prev").click()
        expect(page.locator(".chat-message-assistant .markdown-body")).to_have_text(["a pixel"])
        assert history(page)["conversations"][0]["messages"][0]["attachments"][0]["data"] == "data:image/png;base64," + pixel
    finally:
        context.close()
