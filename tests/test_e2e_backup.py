"""Browser tests: backup of all conversations as one JSON file, restore by merging,
and clear errors (with nothing changed) for malformed or foreign files."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from tests.e2e_chat import backup_doc, history, open_chat, send, sidebar_titles

pytestmark = pytest.mark.timeout(120)


def upload(page, name: str, body: str | bytes) -> None:
    """Choose ``body`` as the restore file."""
    data = body.encode("utf-8") if isinstance(body, str) else body
    page.locator("#chat-backup-upload input[type=file]").set_input_files(
        files=[{"name": name, "mimeType": "application/json", "buffer": data}]
    )


def toast_text(page) -> str:
    """Text of the newest toast message."""
    notice = page.locator(".ant-message-notice").last
    notice.wait_for()
    return notice.inner_text()


def test_backup_then_restore_into_another_browser(browser, app_server, fresh_upstream):
    """Back up all → one JSON file with every conversation; restoring it elsewhere
    brings them back; restoring it again adds nothing."""
    source = browser.new_context(accept_downloads=True)
    page = source.new_page()
    try:
        open_chat(page, app_server.url)
        send(page, "backup one 中文")
        page.click("#chat-new-button")
        send(page, "backup two")
        with page.expect_download() as info:
            page.click("#chat-backup-export-button")
        assert info.value.suggested_filename.startswith("chat-backup-") and info.value.suggested_filename.endswith(".json")
        raw = open(info.value.path(), encoding="utf-8").read()
        original = history(page)["conversations"]
    finally:
        source.close()
    doc = json.loads(raw)
    assert doc["format"] == "dash-chat-backup" and doc["version"] == 3  # 3: branches (2: attachments)
    assert sorted(c["title"] for c in doc["conversations"]) == ["backup one 中文", "backup two"]

    target = browser.new_context()
    page = target.new_page()
    try:
        open_chat(page, app_server.url)
        send(page, "already here")
        upload(page, "backup.json", raw)
        expect(page.locator(".chat-conv-item")).to_have_count(3)
        assert "Imported 2" in toast_text(page)
        restored = {c["id"]: c for c in history(page)["conversations"]}
        for conversation in original:
            assert restored[conversation["id"]]["messages"] == conversation["messages"]
        assert "already here" in sidebar_titles(page)
        # the same file again: nothing new, nothing overwritten
        page.evaluate("() => document.querySelectorAll('.ant-message-notice').forEach(n => n.remove())")
        upload(page, "backup-again.json", raw)
        expect(page.locator(".ant-message-notice").last).to_contain_text("Imported 0 conversation(s); 2 already present.")
        expect(page.locator(".chat-conv-item")).to_have_count(3)
    finally:
        target.close()


def test_a_version_1_backup_still_restores(page, app_server, fresh_upstream):
    """A file written before attachments existed (version 1) restores as it is."""
    open_chat(page, app_server.url)
    upload(page, "old.json", backup_doc([{"id": "v1", "title": "from version 1", "messages": [
        {"id": "v1-q", "role": "user", "content": "old question"},
        {"id": "v1-a", "role": "assistant", "content": "old answer", "finish_reason": "stop"}]}]))
    expect(page.locator(".chat-conv-item", has_text="from version 1")).to_have_count(1)
    restored = [c for c in history(page)["conversations"] if c["id"] == "v1"][0]
    assert [m["content"] for m in restored["messages"]] == ["old question", "old answer"]
    assert "Imported 1" in toast_text(page)


def test_restore_merges_without_overwriting(page, app_server, fresh_upstream):
    """A backup conversation with an id that exists here but other content is added as
    a copy; the local conversation is untouched."""
    open_chat(page, app_server.url)
    send(page, "local text")
    local = history(page)["conversations"][0]
    incoming = dict(local, title="from backup", messages=[{"id": "x1", "role": "user", "content": "backup text"}])
    upload(page, "merge.json", backup_doc([incoming]))
    expect(page.locator(".chat-conv-item")).to_have_count(2)
    conversations = history(page)["conversations"]
    same_id = [c for c in conversations if c["id"] == local["id"]]
    assert len(same_id) == 1 and same_id[0]["messages"] == local["messages"]
    copy = [c for c in conversations if c["id"] != local["id"]][0]
    assert copy["title"] == "from backup" and copy["messages"][0]["content"] == "backup text"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"\x89PNG\r\n\x1a\n not json", "not a Dash Chat backup"),
        ("{ this is not json", "not valid JSON"),
        (json.dumps({"version": 1, "conversations": []}), 'no "format"'),
        (json.dumps([{"role": "user", "content": "a list, not a backup"}]), 'no "format"'),
        (json.dumps({"format": "dash-chat-backup", "version": 9, "conversations": []}), "unsupported version 9"),
        (json.dumps({"format": "dash-chat-backup", "version": 1, "conversations": {"id": "x"}}), "no list of conversations"),
    ],
)
def test_malformed_or_foreign_file_changes_nothing(page, app_server, fresh_upstream, body, reason):
    """A malformed or foreign file gets a clear error and the history stays as it was
    (no partial import)."""
    open_chat(page, app_server.url)
    send(page, "keep me")
    before = history(page)
    upload(page, "bad.json", body)
    notice = page.locator(".ant-message-notice").last
    expect(notice).to_contain_text("Nothing was changed")
    expect(notice).to_contain_text(reason)
    assert history(page) == before
    expect(page.locator(".chat-conv-item")).to_have_count(1)


def test_invalid_values_are_dropped_and_counted(page, app_server, fresh_upstream):
    """A backup with some invalid values imports the rest: a message of an unknown role
    is skipped, a conversation left with no message is not added, and the result says
    how many values were dropped."""
    open_chat(page, app_server.url)
    send(page, "keep me")
    before = history(page)["conversations"]
    upload(page, "partly-bad.json", backup_doc([
        {"id": "ok", "title": 42, "messages": [{"role": "user", "content": "fine"}, {"role": "user", "content": {"x": 1}}]},
        {"id": "bad", "messages": [{"role": "wizard", "content": 5}]},
    ]))
    notice = page.locator(".ant-message-notice").last
    expect(notice).to_contain_text("Imported 1 conversation(s); 0 already present. 3 field(s) with invalid values were dropped.")
    conversations = {c["id"]: c for c in history(page)["conversations"]}
    assert set(conversations) == {before[0]["id"], "ok"}
    assert conversations[before[0]["id"]] == before[0]
    assert [m["content"] for m in conversations["ok"]["messages"]] == ["fine"]
    assert conversations["ok"]["title"] == ""
