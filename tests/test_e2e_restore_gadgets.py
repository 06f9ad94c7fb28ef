"""Browser tests: a crafted backup file or tampered browser storage cannot run script.

Dash renders any ``{type, namespace, props}`` object placed in a children-like prop as
a live component. Each case puts such a dict — FefferyExecuteJs (runs ``jsString``),
FefferyMarkdown (evals ``linkTransformFunc``), Iframe (``srcDoc``) — into one field
that the page draws or keeps (message model, content, finish_reason, usage, ttft_ms;
conversation title, settings values, error message), restores it (one file per case),
opens the conversation and asserts that no dialog opened, no payload ran
(``window.__pwned``), no gadget element exists, the restore result counts the dropped
values, and the conversations already stored are intact. The same gadgets written
straight into IndexedDB records and localStorage are dropped when the page loads them.
"""

from __future__ import annotations

import copy
import json

import pytest
from playwright.sync_api import expect

from tests.e2e_chat import WRITE_RECORDS_JS, backup_doc, history, open_chat, records, send, storage_page

pytestmark = [pytest.mark.timeout(180), pytest.mark.browser]

FLAG = "window.__pwned=(window.__pwned||0)+1"
GADGETS = {
    "execute-js": {
        "type": "FefferyExecuteJs", "namespace": "feffery_utils_components",
        "props": {"id": "gadget-js", "jsString": FLAG + ";alert('pwned')"},
    },
    "markdown-link-func": {
        "type": "FefferyMarkdown", "namespace": "feffery_markdown_components",
        "props": {"id": "gadget-md", "markdownStr": "[x](https://example.invalid/) gadget-md",
                  "linkTransformFunc": "(h) => { " + FLAG + "; alert('pwned'); return h; }"},
    },
    "iframe": {
        "type": "Iframe", "namespace": "dash_html_components",
        "props": {"id": "gadget-frame", "srcDoc": "<script>parent.__pwned=1</script><b>gadget-frame</b>"},
    },
}
# field → where the gadget goes in a conversation (path of keys/indexes)
FIELDS = {
    "message-model": ("messages", 1, "model"),
    "user-content": ("messages", 0, "content"),
    "assistant-content": ("messages", 1, "content"),
    "finish-reason": ("messages", 1, "finish_reason"),
    "usage": ("messages", 1, "usage", "prompt_tokens"),
    "ttft": ("messages", 1, "ttft_ms"),
    "title": ("title",),
    "settings-model": ("settings", "model"),
    "settings-system-prompt": ("settings", "system_prompt"),
    "settings-temperature": ("settings", "temperature"),
    "error-message": ("error", "message"),
}
NO_GADGET_JS = """() => !document.querySelector('#gadget-js, #gadget-md, #gadget-frame, iframe')
    && !document.body.innerText.includes('gadget-md') && !document.body.innerText.includes('gadget-frame')"""


def conversation(case: str) -> dict:
    """A valid conversation of two messages, as the page writes them."""
    return {
        "id": f"c-{case}", "title": f"case {case}", "created_at": 1.7e12, "updated_at": 1.7e12,
        "settings": {"model": "test-model", "temperature": 0.5, "system_prompt": "be brief"},
        "error": {"status": 500, "code": "upstream_error", "message": "old error", "retry_after": None},
        "messages": [
            {"id": f"u-{case}", "role": "user", "content": f"question {case}", "created_at": 1.7e12},
            {"id": f"a-{case}", "role": "assistant", "content": f"answer {case}", "finish_reason": "stop",
             "model": "test-model", "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7},
             "ttft_ms": 12, "created_at": 1.7e12},
        ],
    }


def with_gadget(case: str, field_path: tuple, gadget: dict) -> dict:
    """``conversation(case)`` with ``gadget`` placed at ``field_path``."""
    doc = conversation(case)
    node = doc
    for key in field_path[:-1]:
        node = node[key]
    node[field_path[-1]] = copy.deepcopy(gadget)
    return doc


def watched_page(browser):
    """A new context and page that collects (and dismisses) every dialog and records
    page errors; returns ``(context, page, dialogs)``."""
    context = browser.new_context()
    page = context.new_page()
    dialogs: list[str] = []
    page.errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))  # type: ignore[attr-defined]
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    return context, page, dialogs


def open_conversation(page, conv_id: str) -> None:
    """Click the conversation in the sidebar and wait until it is drawn."""
    page.click(f".chat-conv-item[data-conv-id='{conv_id}']")
    page.wait_for_function(
        "(id) => window.chatDebug.lastRender && window.chatDebug.lastRender.conversation === id", arg=conv_id
    )
    page.wait_for_timeout(150)


def assert_inert(page, dialogs: list[str], where: str) -> None:
    assert dialogs == [], f"{where}: a dialog opened: {dialogs}"
    assert page.evaluate("() => window.__pwned") is None, f"{where}: the payload ran"
    assert page.evaluate(NO_GADGET_JS), f"{where}: a gadget component was drawn"


def upload(page, name: str, body: str) -> None:
    page.locator("#chat-backup-upload input[type=file]").set_input_files(
        files=[{"name": name, "mimeType": "application/json", "buffer": body.encode("utf-8")}]
    )


@pytest.mark.parametrize("gadget_name", list(GADGETS))
def test_restore_drops_component_dicts_in_every_field(browser, app_server, fresh_upstream, gadget_name):
    gadget = GADGETS[gadget_name]
    context, page, dialogs = watched_page(browser)
    try:
        open_chat(page, app_server.url)
        send(page, "already here")
        before = copy.deepcopy(history(page)["conversations"])
        for index, (field, path) in enumerate(FIELDS.items()):
            case = f"{gadget_name}-{field}"
            upload(page, f"{case}.json", backup_doc([with_gadget(case, path, gadget)]))
            notice = page.locator(".ant-message-notice", has_text="Imported 1").last
            expect(notice).to_contain_text("invalid values were dropped")
            expect(page.locator(".chat-conv-item")).to_have_count(len(before) + index + 1)
            open_conversation(page, f"c-{case}")
            assert_inert(page, dialogs, case)
            stored = {c["id"]: c for c in history(page)["conversations"]}[f"c-{case}"]
            assert gadget["type"] not in json.dumps(stored), f"{case}: the gadget was stored"
            if field == "title":
                expect(page.locator(f".chat-conv-item[data-conv-id='c-{case}'] .chat-conv-title")).to_have_text("New conversation")
        # every other field of each case came through; the earlier conversation is intact
        conversations = {c["id"]: c for c in history(page)["conversations"]}
        for c in before:
            assert conversations[c["id"]] == c
        kept = conversations[f"c-{gadget_name}-message-model"]
        assert [m["content"] for m in kept["messages"]] == [f"question {gadget_name}-message-model", f"answer {gadget_name}-message-model"]
        assert "model" not in kept["messages"][1] and kept["messages"][1]["usage"]["total_tokens"] == 7
        assert [m["role"] for m in conversations[f"c-{gadget_name}-user-content"]["messages"]] == ["assistant"]
        assert conversations[f"c-{gadget_name}-settings-model"]["settings"] == {"temperature": 0.5, "system_prompt": "be brief"}
        # after a reload the stored conversations still draw inert
        page.reload()
        page.wait_for_function("() => window.chatDebug && window.chatDebug.lastRender !== null")
        for field in FIELDS:
            open_conversation(page, f"c-{gadget_name}-{field}")
        assert_inert(page, dialogs, "after reload")
        assert not page.errors  # type: ignore[attr-defined]
    finally:
        context.close()


def test_tampered_browser_storage_is_coerced_on_load(browser, app_server, fresh_upstream):
    """Gadgets written straight into IndexedDB (history) and localStorage (prefs) are
    dropped when the page loads them, written back clean, and reported once."""
    context, page, dialogs = watched_page(browser)
    try:
        open_chat(page, app_server.url)
        send(page, "kept message")
        good = history(page)["conversations"][0]
        tampered = []
        for gadget_name, gadget in GADGETS.items():
            for field, path in FIELDS.items():
                tampered.append(with_gadget(f"{gadget_name}-{field}", path, gadget))
        active_id = tampered[0]["id"]
        storage_page(page, app_server.url)
        page.evaluate(WRITE_RECORDS_JS, {"format": 2, **records(tampered)})
        tampered.insert(0, good)
        prefs = {"theme": GADGETS["execute-js"], "defaults": {"model": GADGETS["iframe"], "temperature": 1}}
        page.evaluate("(p) => { localStorage.setItem('chat-prefs-store', JSON.stringify(p)); "
                      "localStorage.setItem('chat-active-store', JSON.stringify(p.active)); }", {**prefs, "active": active_id})
        page.goto(app_server.url)
        page.wait_for_function("() => window.chatDebug && window.chatDebug.lastRender !== null")
        expect(page.locator(".ant-message-notice", has_text="were invalid and were dropped").first).to_be_visible()
        for conv in tampered[1:]:
            open_conversation(page, conv["id"])
        assert_inert(page, dialogs, "storage load")
        data = history(page)
        assert len(data["conversations"]) == len(tampered)
        assert {c["id"]: c for c in data["conversations"]}[good["id"]] == good
        for gadget in GADGETS.values():
            assert gadget["type"] not in json.dumps(data)
        stored_prefs = page.evaluate("() => JSON.parse(localStorage.getItem('chat-prefs-store'))")
        assert stored_prefs == {"defaults": {"temperature": 1}}
        expect(page.locator("#header-model-tag")).to_have_text("test-model")
        # written back clean: the next load has nothing to drop
        dropped = page.evaluate("() => window.chatDebug.dropped")
        assert dropped >= len(tampered) - 1
        page.wait_for_timeout(1500)  # let the coerced history reach IndexedDB
        page.reload()
        page.wait_for_function("() => window.chatDebug && window.chatDebug.lastRender !== null")
        page.wait_for_timeout(300)
        assert page.evaluate("() => window.chatDebug.dropped || 0") == 0
        assert_inert(page, dialogs, "second load")
        assert not page.errors  # type: ignore[attr-defined]
    finally:
        context.close()
