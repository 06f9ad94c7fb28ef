"""Browser tests of branches (issue 14): Regenerate and Edit & resend keep the earlier
versions (‹ 2 / 3 ›), the request carries the branch on screen, versions survive a
reload and a backup round trip, and switching is refused while a reply streams."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from tests.conftest import AppProcess, app_env
from tests.e2e_chat import active, history, open_chat, send, wait_idle, wait_runs
from tests.upstream import Reply

pytestmark = [pytest.mark.timeout(150), pytest.mark.browser]


@pytest.fixture(scope="module")
def branches_app(upstream):
    app = AppProcess(app_env(upstream))
    yield app
    app.stop()


def chat_bodies(upstream) -> list[dict]:
    return [r["body"] for r in upstream.requests if r["path"].endswith("/chat/completions")]


def label(page, role: str = "assistant") -> str:
    return page.locator(f".chat-message-{role} .chat-branch-label").last.inner_text()


def shows(page, answers: list[str]) -> None:
    """Wait until the drawn replies are ``answers`` (a switch redraws asynchronously)."""
    expect(page.locator(".chat-message-assistant .markdown-body")).to_have_text(answers)


def shows_questions(page, questions: list[str]) -> None:
    expect(page.locator(".chat-message-user .chat-message-text")).to_have_text(questions)


def regenerate(page, reply: str, upstream, runs: int) -> None:
    upstream.script(Reply(reply))
    page.locator(".chat-message-assistant .chat-action-regenerate").last.click()
    wait_runs(page, runs)


def test_regenerate_twice_then_back_to_the_first_answer(page, branches_app, fresh_upstream):
    open_chat(page, branches_app.url)
    fresh_upstream.script(Reply("first answer"))
    send(page, "question")
    expect(page.locator(".chat-branch-label")).to_have_count(0)  # one version: no pager
    regenerate(page, "second answer", fresh_upstream, 2)
    expect(page.locator(".chat-message-assistant .chat-branch-label")).to_have_text("2 / 2")
    regenerate(page, "third answer", fresh_upstream, 3)
    expect(page.locator(".chat-message-assistant .chat-branch-label")).to_have_text("3 / 3")
    shows(page, ["third answer"])
    expect(page.locator(".chat-message-assistant .chat-branch-next")).to_be_disabled()

    page.locator(".chat-message-assistant .chat-branch-prev").click()
    page.locator(".chat-message-assistant .chat-branch-prev").click()
    expect(page.locator(".chat-message-assistant .chat-branch-label")).to_have_text("1 / 3")
    shows(page, ["first answer"])
    expect(page.locator(".chat-message-assistant .chat-branch-prev")).to_be_disabled()
    # the next request carries the branch on screen
    fresh_upstream.script(Reply("follow-up answer"))
    send(page, "and then?")
    assert chat_bodies(fresh_upstream)[-1]["messages"][-3:] == [
        {"role": "user", "content": "question"}, {"role": "assistant", "content": "first answer"},
        {"role": "user", "content": "and then?"}]
    # the other versions are still there, and a version keeps what followed it
    page.locator(".chat-message-assistant .chat-branch-next").first.click()
    expect(page.locator(".chat-message-assistant .chat-branch-label")).to_have_text("2 / 3")
    shows(page, ["second answer"])
    page.locator(".chat-message-assistant .chat-branch-prev").first.click()
    shows(page, ["first answer", "follow-up answer"])

    # versions survive a reload (IndexedDB)
    page.wait_for_timeout(300)
    open_chat(page, branches_app.url)
    expect(page.locator(".chat-message-assistant .chat-branch-label").first).to_have_text("1 / 3")
    shows(page, ["first answer", "follow-up answer"])
    page.locator(".chat-message-assistant .chat-branch-next").first.click()
    page.locator(".chat-message-assistant .chat-branch-next").first.click()
    expect(page.locator(".chat-message-assistant .chat-branch-label")).to_have_text("3 / 3")
    shows(page, ["third answer"])
    # the Markdown export writes the branch on screen only
    with page.expect_download() as info:
        page.click("#chat-export-button")
    markdown = open(info.value.path(), encoding="utf-8").read()
    assert "third answer" in markdown and "first answer" not in markdown and "follow-up" not in markdown


def test_editing_a_middle_message_makes_a_branch_and_keeps_the_old_one(page, branches_app, fresh_upstream):
    open_chat(page, branches_app.url)
    page.click("#chat-new-button")
    for question in ("one", "two", "three"):
        fresh_upstream.script(Reply(f"answer {question}"))
        send(page, question)
    runs = page.evaluate("window.chatDebug.runs")
    page.locator(".chat-message-user .chat-action-edit").nth(1).click()
    expect(page.locator("#chat-edit-input")).to_have_value("two")
    page.fill("#chat-edit-input", "two, edited")
    fresh_upstream.script(Reply("answer two edited"))
    page.locator(".ant-modal-wrap:visible .ant-btn-primary").click()
    wait_runs(page, runs + 1)
    shows_questions(page, ["one", "two, edited"])
    expect(page.locator(".chat-message-user .chat-branch-label")).to_have_text("2 / 2")
    assert chat_bodies(fresh_upstream)[-1]["messages"][-1] == {"role": "user", "content": "two, edited"}
    # the old branch, with the turns after it
    page.locator(".chat-message-user .chat-branch-prev").click()
    shows_questions(page, ["one", "two", "three"])
    shows(page, ["answer one", "answer two", "answer three"])
    expect(page.locator(".chat-message-user .chat-branch-label")).to_have_text("1 / 2")
    # editing the first message: the conversation itself holds the versions
    runs = page.evaluate("window.chatDebug.runs")
    page.locator(".chat-message-user .chat-action-edit").first.click()
    expect(page.locator("#chat-edit-input")).to_have_value("one")
    page.fill("#chat-edit-input", "a new start")
    fresh_upstream.script(Reply("fresh answer"))
    page.locator(".ant-modal-wrap:visible .ant-btn-primary").click()
    wait_runs(page, runs + 1)
    shows_questions(page, ["a new start"])
    page.locator(".chat-message-user .chat-branch-prev").first.click()
    shows_questions(page, ["one", "two", "three"])


def test_switching_while_a_reply_streams_is_refused(page, branches_app, fresh_upstream):
    open_chat(page, branches_app.url)
    page.click("#chat-new-button")
    fresh_upstream.script(Reply("v1"))
    send(page, "q")
    regenerate(page, "v2", fresh_upstream, page.evaluate("window.chatDebug.runs") + 1)
    fresh_upstream.script(Reply(chunks=["slow "] * 40, chunk_delay=0.1))
    page.fill("#chat-input", "streaming now")
    page.press("#chat-input", "Enter")
    page.wait_for_function("() => window.chatDebug.streaming()")
    page.locator(".chat-message-assistant .chat-branch-prev").first.click()
    expect(page.locator(".ant-message")).to_contain_text("Stop it first")
    expect(page.locator(".chat-message-assistant .chat-branch-label").first).to_have_text("2 / 2")
    page.click("#chat-stop-button")
    wait_idle(page)


def test_backup_round_trip_keeps_every_branch(browser, branches_app, fresh_upstream):
    source = browser.new_context(accept_downloads=True)
    page = source.new_page()
    try:
        open_chat(page, branches_app.url)
        fresh_upstream.script(Reply("answer A"))
        send(page, "backup me")
        regenerate(page, "answer B", fresh_upstream, 2)
        with page.expect_download() as info:
            page.click("#chat-backup-export-button")
        raw = open(info.value.path(), encoding="utf-8").read()
        original = active(page)
    finally:
        source.close()
    doc = json.loads(raw)
    assert doc["version"] == 3
    target = browser.new_context()
    page = target.new_page()
    try:
        open_chat(page, branches_app.url)
        page.locator("#chat-backup-upload input[type=file]").set_input_files(
            files=[{"name": "backup.json", "mimeType": "application/json", "buffer": raw.encode()}])
        page.wait_for_function("(id) => ((window.chatDebug.history() || {}).conversations || []).some(c => c.id === id)", arg=original["id"])
        page.locator(".chat-conv-item", has_text="backup me").click()
        expect(page.locator(".chat-message-assistant .chat-branch-label")).to_have_text("2 / 2")
        page.locator(".chat-message-assistant .chat-branch-prev").click()
        shows(page, ["answer A"])
        restored = [c for c in history(page)["conversations"] if c["id"] == original["id"]][0]
        assert len(restored["messages"]) == 2
    finally:
        target.close()
