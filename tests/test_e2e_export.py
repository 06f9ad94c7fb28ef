"""Browser tests of the ways out and back in (issue 19): a conversation holding a
stopped code reply is exported as Markdown and re-imported (Restore) in another
browser context with the same messages; Export all downloads a .zip with one readable
.md per conversation (safe, unique file names; the very bytes the server's exporter
writes) and the JSON backup; Export selected exports only the ticked messages; a
Markdown file that cannot be imported gets a localized error and changes nothing."""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import datetime, timezone

import pytest
from playwright.sync_api import expect

from chatcore.export import from_markdown, parse_export, to_markdown
from tests.e2e_chat import active, history, open_chat, set_history, sidebar_titles

pytestmark = pytest.mark.timeout(120)

STOPPED = "Here is the code:\n```python\ndef fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)"


def _conversation(conv_id: str, title: str, messages: list[dict], **extra) -> dict:
    return {"id": conv_id, "title": title, "created_at": 1, "updated_at": 1, "settings": {}, "error": None,
            "messages": [{"id": f"{conv_id}-m{i}", "seq": i, **m} for i, m in enumerate(messages)], **extra}


CODE_CHAT = _conversation("c-code", "斐波那契 code", [
    {"role": "user", "content": "写一个 fib 函数 😀"},
    {"role": "assistant", "content": STOPPED, "stopped": True, "reasoning": "Think first:\n\n```\nrecursion"},
], settings={"system_prompt": "Answer with code.\n<pre>"})


def _upload(page, name: str, body: str | bytes) -> None:
    data = body.encode("utf-8") if isinstance(body, str) else body
    page.locator("#chat-backup-upload input[type=file]").set_input_files(
        files=[{"name": name, "mimeType": "text/markdown", "buffer": data}])


def _roles_contents(messages: list[dict]) -> list[dict]:
    return [{k: m[k] for k in ("role", "content", "reasoning") if k in m} for m in messages]


def _toast(page):
    notice = page.locator(".ant-message-notice").last
    notice.wait_for()
    return notice


def test_stopped_code_reply_exported_and_reimported_in_a_new_context(browser, app_server):
    """Export → .md (the stopped fence closed for viewers); Restore of that file in a new
    context → a new conversation with the same messages and the user's system prompt."""
    source = browser.new_context(accept_downloads=True)
    page = source.new_page()
    try:
        open_chat(page, app_server.url)
        set_history(page, {"version": 2, "active_id": CODE_CHAT["id"], "conversations": [CODE_CHAT]})
        expect(page.locator(".chat-message")).to_have_count(2)
        with page.expect_download() as info:
            page.click("#chat-export-button")
        assert re.fullmatch(r"chat-\d{8}-\d{6}\.md", info.value.suggested_filename)
        markdown = open(info.value.path(), encoding="utf-8").read()
    finally:
        source.close()
    assert "close=1" in markdown
    expected = _roles_contents(CODE_CHAT["messages"])
    assert from_markdown(markdown) == [{"role": "system", "content": "Answer with code.\n<pre>"}] + expected

    target = browser.new_context()
    page = target.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        open_chat(page, app_server.url)
        _upload(page, "chat-export.md", markdown)
        expect(_toast(page)).to_contain_text("as a new conversation")
        expect(page.locator(".chat-message")).to_have_count(2)
        imported = active(page)
        assert _roles_contents(imported["messages"]) == expected
        assert imported["title"] == "斐波那契 code"
        assert imported["settings"]["system_prompt"] == "Answer with code.\n<pre>"
        assert "斐波那契 code" in sidebar_titles(page)
        expect(page.locator(".chat-message-assistant .markdown-body").last).to_contain_text("def fib(n):")
        assert errors == []
    finally:
        target.close()


def test_export_all_is_a_zip_of_readable_exports_and_the_backup(page, app_server):
    """One .md per conversation (CJK kept; unsafe, reserved and repeated names made safe
    and unique ignoring case), byte for byte what the server's exporter writes, plus the
    JSON backup; an empty conversation is left out."""
    conversations = [
        CODE_CHAT,
        _conversation("c-2", "Notes: a/b?", [{"role": "user", "content": "| a |\n|---|\n<script>\nx"}]),
        _conversation("c-3", "notes: A/B?", [{"role": "user", "content": "again"}, {"role": "assistant", "content": "$$\nx"}]),
        _conversation("c-4", "CON", [{"role": "user", "content": "reserved"}]),
        _conversation("c-5", "长" * 100, [{"role": "user", "content": "long title"}]),
        _conversation("c-6", "empty", []),
    ]
    open_chat(page, app_server.url)
    set_history(page, {"version": 2, "active_id": "c-2", "conversations": conversations})
    with page.expect_download() as info:
        page.click("#chat-export-all-button")
    assert re.fullmatch(r"chat-all-\d{8}-\d{6}\.zip", info.value.suggested_filename)
    archive = zipfile.ZipFile(io.BytesIO(open(info.value.path(), "rb").read()))
    assert archive.testzip() is None
    names = archive.namelist()
    md_names = [n for n in names if n.endswith(".md")]
    assert md_names == ["斐波那契 code.md", "Notes_ a_b_.md", "notes_ A_B_ (2).md", "CON_.md", "长" * 80 + ".md"]
    backups = [n for n in names if n.endswith(".json")]
    assert len(backups) == 1 and backups[0].startswith("chat-backup-")
    backup = json.loads(archive.read(backups[0]).decode("utf-8"))
    assert [c["id"] for c in backup["conversations"]] == ["c-code", "c-2", "c-3", "c-4", "c-5"]
    for name, conversation in zip(md_names, conversations):
        text = archive.read(name).decode("utf-8")
        system = conversation["settings"].get("system_prompt")
        read_back = from_markdown(text)
        assert read_back == ([{"role": "system", "content": system}] if system else []) + _roles_contents(conversation["messages"])
        # the browser's exporter writes what the server's writes
        stamp = re.search(r"^- Exported: (.*) UTC$", text, re.M).group(1)
        at = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)
        assert text == to_markdown(_roles_contents(conversation["messages"]), model="test-model", title=conversation["title"],
                                   system_prompt=system, exported_at=at)
        assert parse_export(text).title == conversation["title"]
    expect(_toast(page)).to_contain_text("Exported 5 conversation(s)")


def test_export_selected_exports_only_the_ticked_messages(page, app_server):
    """Nothing ticked → a notice; ticked messages → a chat-YYYYMMDD-HHMMSS.md with only
    those, through the server's export; the ticks survive a redraw."""
    messages = [{"role": "user", "content": f"question {i}"} if i % 2 == 0 else {"role": "assistant", "content": f"answer {i}"}
                for i in range(4)]
    open_chat(page, app_server.url)
    set_history(page, {"version": 2, "active_id": "c-sel", "conversations": [_conversation("c-sel", "ticks", messages)]})
    boxes = page.locator(".chat-message-select")
    expect(boxes).to_have_count(4)
    page.click("#chat-export-selected-button")
    expect(_toast(page)).to_contain_text("Tick the messages to export first")
    boxes.nth(1).check()
    boxes.nth(2).check()
    # a redraw that reuses the memoized messages (one message more) keeps the ticks: they
    # live in the page state (state.selected), and a ticked message is drawn anew
    set_history(page, {"version": 2, "active_id": "c-sel", "conversations": [
        _conversation("c-sel", "ticks", messages + [{"role": "user", "content": "one more"}])]})
    expect(boxes).to_have_count(5)
    expect(page.locator(".chat-message-select:checked")).to_have_count(2)
    assert [boxes.nth(i).is_checked() for i in range(5)] == [False, True, True, False, False]
    with page.expect_download() as info:
        page.click("#chat-export-selected-button")
    assert re.fullmatch(r"chat-\d{8}-\d{6}\.md", info.value.suggested_filename)
    text = open(info.value.path(), encoding="utf-8").read()
    assert from_markdown(text) == [messages[1], messages[2]]
    assert "- Messages: 2" in text


def _export_text(**kwargs) -> str:
    return to_markdown([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}], model="m", title="T", **kwargs)


IMPORT_ERRORS = [
    ("# Notes\n\nJust some Markdown, not an export.\n", "is not a Markdown export of this chat app"),
    (_export_text().replace("- Format: 2", "- Format: 7"), "uses format 7, which is newer"),
    (_export_text().replace("role=assistant", "role=wizard"), "unknown role (wizard)"),
    (_export_text() + "x" * 20_000_001, "too large to import"),  # above MAX_CHAT_BODY_BYTES (20 MB by default: exports hold images)
]


def test_a_markdown_file_that_cannot_be_imported_changes_nothing(page, app_server):
    """Not an export, a newer format, an unknown role, too large: each gets its clear
    error and the history stays as it was."""
    open_chat(page, app_server.url)
    set_history(page, {"version": 2, "active_id": "c-keep", "conversations": [
        _conversation("c-keep", "keep me", [{"role": "user", "content": "keep"}])]})
    expect(page.locator(".chat-conv-item")).to_have_count(1)
    before = history(page)
    for n, (body, message) in enumerate(IMPORT_ERRORS):
        page.evaluate("() => document.querySelectorAll('.ant-message-notice').forEach(n => n.remove())")
        _upload(page, f"notes-{n}.md", body)
        notice = _toast(page)
        expect(notice).to_contain_text(message)
        expect(notice).to_contain_text("Nothing was")
        assert history(page) == before
        expect(page.locator(".chat-conv-item")).to_have_count(1)


def test_import_errors_speak_chinese(page, app_server):
    """The server's error text follows the page's language."""
    open_chat(page, app_server.url)
    page.click("#chat-language-button")
    page.wait_for_selector("#chat-input")
    page.wait_for_function("() => window.chatDebug && window.chatDebug.lastRender !== null")
    expect(page.locator(".chat-app")).to_have_attribute("lang", "zh-CN")
    _upload(page, "notes.md", "# 笔记\n\n不是导出文件。\n")
    expect(_toast(page)).to_contain_text("未导入任何内容")
