"""Browser tests: prompt presets (issue 14) — a preset starts a chat with its system prompt
and parameters, the "/" picker works with the keyboard alone, a malformed preset file
changes nothing, own presets (create, edit, delete, search) survive a reload, and a preset
naming a model this server does not offer falls back to the default with a notice."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from chatcore.presets import STORAGE_KEY, builtin_presets
from tests.conftest import NO_LIMITS, AppProcess, app_env
from tests.e2e_chat import active, history, open_chat, send, wait_runs

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

WEEKLY = next(p for p in builtin_presets("en-US") if p["id"] == "builtin-weekly-report")
SQL = next(p for p in builtin_presets("en-US") if p["id"] == "builtin-sql-helper")
MODAL = ".ant-modal-wrap:has(.chat-presets)"


@pytest.fixture(scope="module")
def presets_app(upstream):
    """One app for the module (the upstream also lists test-model-2 in /api/models)."""
    app = AppProcess(app_env(upstream, **NO_LIMITS))
    yield app
    app.stop()


def chat_bodies(upstream) -> list[dict]:
    """Bodies of the chat requests the upstream received, oldest first."""
    return [r["body"] for r in upstream.requests if r["path"].endswith("/chat/completions")]


def stream_bodies(page) -> list[dict]:
    """Record the bodies the page POSTs to /api/chat/stream (appended as they go)."""
    bodies: list[dict] = []
    page.on("request", lambda r: bodies.append(r.post_data_json) if r.url.endswith("/api/chat/stream") else None)
    return bodies


def open_presets(page) -> None:
    page.click("#chat-presets-button")
    expect(page.locator(MODAL)).to_be_visible()
    expect(page.locator("#chat-presets-list .chat-preset-item").first).to_be_visible()


def stored(page) -> dict | None:
    """The own presets as this browser keeps them (localStorage)."""
    raw = page.evaluate("(key) => localStorage.getItem(key)", STORAGE_KEY)
    return json.loads(raw) if raw else None


def item(page, name: str):
    return page.locator("#chat-presets-list .chat-preset-item", has=page.locator(".chat-preset-name", has_text=name))


def test_a_preset_starts_a_chat_with_its_prompt_and_parameters(page, presets_app, fresh_upstream):
    """Start chat on a built-in: a new conversation (the open one has messages) whose
    settings are the preset's; its first message waits in the composer; the first request
    carries the system prompt and the temperature, and the upstream gets the system message."""
    bodies = stream_bodies(page)
    open_chat(page, presets_app.url)
    send(page, "an earlier chat")
    before = active(page)["id"]
    open_presets(page)
    expect(page.locator("#chat-presets-list .chat-preset-item")).to_have_count(len(builtin_presets("en-US")))
    item(page, "Weekly report").locator(".chat-preset-button-primary").click()
    expect(page.locator(MODAL)).to_be_hidden()
    expect(page.locator(".ant-message")).to_contain_text("New chat with “Weekly report”")
    expect(page.locator("#chat-input")).to_have_value(WEEKLY["first_message"])
    conversation = active(page)
    assert conversation["id"] != before and conversation["messages"] == []
    assert conversation["settings"] == {"system_prompt": WEEKLY["system_prompt"], "temperature": 0.5}
    assert len(history(page)["conversations"]) == 2
    # not sent by itself: the user adds to it and sends
    assert len(chat_bodies(fresh_upstream)) == 1
    page.locator("#chat-input").press("End")
    page.locator("#chat-input").type("shipped presets")
    page.press("#chat-input", "Enter")
    wait_runs(page, 2)
    body = bodies[-1]
    assert body["system_prompt"] == WEEKLY["system_prompt"] and body["temperature"] == 0.5
    assert body["messages"][0]["content"].startswith(WEEKLY["first_message"])
    upstream_body = chat_bodies(fresh_upstream)[-1]
    assert upstream_body["messages"][0] == {"role": "system", "content": WEEKLY["system_prompt"]}
    assert upstream_body["temperature"] == 0.5
    assert page.errors == []


def test_slash_picks_a_preset_with_the_keyboard(page, presets_app, fresh_upstream):
    """"/" in the empty box opens the picker; typing filters, ↓/↑ move, Enter picks
    (applied to the empty open conversation); Esc closes it and Enter sends again; an
    IME's Enter is never taken."""
    open_chat(page, presets_app.url)
    box = page.locator("#chat-input")
    box.focus()
    page.keyboard.type("/")
    picker = page.locator("#chat-preset-picker")
    expect(picker).to_be_visible()
    expect(picker.locator(".chat-preset-picker-item")).to_have_count(len(builtin_presets("en-US")))
    page.keyboard.type("helper")  # SQL helper, Regex helper, Plotly Dash helper
    names = picker.locator(".chat-preset-picker-item .chat-preset-name")
    expect(names).to_have_text(["SQL helper", "Regex helper", "Plotly Dash helper"])
    page.keyboard.press("ArrowDown")
    expect(picker.locator(".chat-preset-picker-item-active .chat-preset-name")).to_have_text("Regex helper")
    page.keyboard.press("ArrowUp")
    expect(picker.locator(".chat-preset-picker-item-active .chat-preset-name")).to_have_text("SQL helper")
    # an IME composing: its Enter is not the picker's (nor a send)
    page.evaluate("""() => document.getElementById('chat-input').dispatchEvent(
        new KeyboardEvent('keydown', {key: 'Enter', keyCode: 229, isComposing: true, bubbles: true, cancelable: true}))""")
    expect(picker).to_be_visible()
    page.keyboard.press("Enter")
    expect(picker).to_be_hidden()
    expect(box).to_have_value("")
    conversation = active(page)
    assert conversation["settings"]["system_prompt"] == SQL["system_prompt"]
    assert conversation["settings"]["temperature"] == 0.2
    assert len(history(page)["conversations"]) == 1  # the empty open conversation took it
    # Esc closes the picker, the text stays, and Enter sends as always
    page.keyboard.type("/")
    expect(picker).to_be_visible()
    page.keyboard.press("Escape")
    expect(picker).to_be_hidden()
    page.keyboard.type("etc is a folder")
    expect(picker).to_be_hidden()
    page.keyboard.press("Enter")
    wait_runs(page, 1)
    assert [m["content"] for m in active(page)["messages"]] == ["/etc is a folder", "Echo: /etc is a folder"]
    assert chat_bodies(fresh_upstream)[-1]["messages"][0]["content"] == SQL["system_prompt"]
    assert page.errors == []


def write_file(tmp_path, name: str, content: str):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return str(path)


def test_a_malformed_preset_file_changes_nothing(page, presets_app, tmp_path):
    """Bad JSON, another format, another version or one bad value: a localized error, and
    the own presets stay as they were; a good file then imports (and once only)."""
    open_chat(page, presets_app.url)
    own = {"version": 1, "presets": [{"id": "p-keep", "name": "Keep me", "system_prompt": "Stay."}]}
    page.evaluate("([key, value]) => localStorage.setItem(key, value)", [STORAGE_KEY, json.dumps(own)])
    page.reload()
    open_chat(page, presets_app.url)
    open_presets(page)
    expect(item(page, "Keep me")).to_have_count(1)
    upload = page.locator("#chat-preset-import input[type=file]")
    gadget = {"type": "Iframe", "namespace": "dash_html_components", "props": {"srcDoc": "<script>alert(1)</script>"}}
    good = {"id": "p-new", "name": "Imported one", "system_prompt": "Hello from a file.", "parameters": {"temperature": 1.1}}
    bad_files = {
        "broken.json": ("{not json", "not valid JSON"),
        "backup.json": (json.dumps({"format": "dash-chat-backup", "version": 1, "conversations": []}), "not a preset file"),
        "future.json": (json.dumps({"format": "dash-chat-presets", "version": 7, "presets": []}), "version 7"),
        "gadget.json": (json.dumps({"format": "dash-chat-presets", "version": 1, "presets": [good, {**good, "id": "p-x", "name": gadget}]}), "presets[1]"),
        "range.json": (json.dumps({"format": "dash-chat-presets", "version": 1, "presets": [{**good, "parameters": {"temperature": 9}}]}), "does not fit"),
    }
    for name, (content, reason) in bad_files.items():
        upload.set_input_files(write_file(tmp_path, name, content))
        message = page.locator(".ant-message-notice", has_text="cannot be imported").last
        expect(message).to_contain_text(reason)
        expect(message).to_contain_text("Nothing was changed")
        assert stored(page) == own, name
        expect(page.locator("#chat-presets-list .chat-preset-item-own")).to_have_count(1)
        page.evaluate("() => document.querySelectorAll('.ant-message-notice').forEach((n) => n.remove())")
    assert "alert(1)" not in page.content()
    doc = json.dumps({"format": "dash-chat-presets", "version": 1, "presets": [good]})
    upload.set_input_files(write_file(tmp_path, "good.json", doc))
    expect(page.locator(".ant-message")).to_contain_text("Imported 1 presets (0 already there)")
    expect(item(page, "Imported one")).to_have_count(1)
    assert [p["name"] for p in stored(page)["presets"]] == ["Imported one", "Keep me"]
    upload.set_input_files(write_file(tmp_path, "again.json", doc))
    expect(page.locator(".ant-message")).to_contain_text("Imported 0 presets (1 already there)")
    assert len(stored(page)["presets"]) == 2
    # Export writes the own presets as a preset file
    with page.expect_download() as download:
        page.click("#chat-preset-export")
    exported = json.loads(open(download.value.path(), encoding="utf-8").read())
    assert exported["format"] == "dash-chat-presets" and exported["version"] == 1
    assert [p["name"] for p in exported["presets"]] == ["Imported one", "Keep me"]
    assert page.errors == []


def test_own_presets_are_created_edited_searched_deleted_and_survive_a_reload(page, presets_app):
    """New → Save (a bad value refused in place) → reload: there; Edit → reload: changed;
    search by name and by prompt; a built-in copied to edit; Delete (asks twice) → reload: gone."""
    open_chat(page, presets_app.url)
    open_presets(page)
    page.click("#chat-preset-new")
    form = page.locator(".chat-preset-form")
    expect(form).to_be_visible()
    # the model choice: the default, the configured model and /api/models' list (test-model-2)
    expect(form.locator("select[name=model] option[value='test-model-2']")).to_have_count(1)
    form.locator("input[name=name]").fill("Haiku poet")
    form.locator("input[name=emoji]").fill("🌸")
    form.locator("textarea[name=system_prompt]").fill("Answer every question as a haiku of 5-7-5 syllables.")
    form.locator("input[name=temperature]").fill("5")
    form.locator(".chat-preset-button-primary").click()
    expect(form.locator("[data-field=temperature] .chat-preset-error")).to_contain_text("from 0 to 2")
    assert stored(page) is None  # nothing saved
    form.locator("input[name=temperature]").fill("1.2")
    form.locator(".chat-preset-button-primary").click()
    expect(page.locator(".ant-message")).to_contain_text("Preset saved")
    expect(item(page, "Haiku poet")).to_have_count(1)

    page.reload()
    open_chat(page, presets_app.url)
    open_presets(page)
    poet = item(page, "Haiku poet")
    expect(poet).to_have_count(1)
    expect(poet.locator(".chat-preset-params")).to_contain_text("1.2")
    poet.locator("[data-preset-action=edit]").click()
    expect(form.locator("input[name=temperature]")).to_have_value("1.2")
    form.locator("input[name=name]").fill("Haiku master")
    form.locator(".chat-preset-button-primary").click()
    expect(item(page, "Haiku master")).to_have_count(1)

    # a built-in copied to edit becomes an own preset; the built-in stays
    item(page, "SQL helper").locator("[data-preset-action=copy]").click()
    expect(form.locator("input[name=name]")).to_have_value("SQL helper (copy)")
    form.locator(".chat-preset-button-primary").click()
    expect(page.locator("#chat-presets-list .chat-preset-item-own")).to_have_count(2)

    page.reload()
    open_chat(page, presets_app.url)
    open_presets(page)
    assert [p["name"] for p in stored(page)["presets"]] == ["SQL helper (copy)", "Haiku master"]
    search = page.locator("#chat-presets-search")
    search.fill("haiku")
    expect(page.locator("#chat-presets-list .chat-preset-item .chat-preset-name")).to_have_text(["Haiku master"])
    search.fill("5-7-5 SYLLABLES")  # the prompt, any case
    expect(page.locator("#chat-presets-list .chat-preset-item .chat-preset-name")).to_have_text(["Haiku master"])
    search.fill("zzz no such preset")
    expect(page.locator("#chat-presets-list")).to_contain_text("No preset matches")
    search.fill("")
    delete = item(page, "Haiku master").locator("[data-preset-action=delete]")
    delete.click()
    expect(delete).to_have_text("Click again to delete")
    assert len(stored(page)["presets"]) == 2
    delete.click()
    expect(item(page, "Haiku master")).to_have_count(0)

    page.reload()
    open_chat(page, presets_app.url)
    open_presets(page)
    expect(item(page, "Haiku master")).to_have_count(0)
    expect(item(page, "SQL helper (copy)")).to_have_count(1)
    assert page.errors == []


def test_a_preset_with_an_unknown_model_falls_back_with_a_notice(page, presets_app, fresh_upstream):
    """A model neither configured nor in /api/models' list: left out (the default answers),
    with a notice; one that /api/models lists (test-model-2) is kept."""
    own = {"version": 1, "presets": [
        {"id": "p-ghost", "name": "Ghost", "system_prompt": "Boo.", "parameters": {"model": "ghost-model-9", "temperature": 0.1}},
        {"id": "p-two", "name": "Second model", "system_prompt": "Two.", "parameters": {"model": "test-model-2"}},
    ]}
    open_chat(page, presets_app.url)
    page.evaluate("([key, value]) => localStorage.setItem(key, value)", [STORAGE_KEY, json.dumps(own)])
    page.reload()
    open_chat(page, presets_app.url)
    open_presets(page)
    item(page, "Ghost").locator(".chat-preset-button-primary").click()
    notice = page.locator(".ant-message-notice", has_text="ghost-model-9")
    expect(notice).to_contain_text("does not offer")
    expect(notice).to_contain_text("test-model answers instead")
    assert active(page)["settings"] == {"system_prompt": "Boo.", "temperature": 0.1}
    send(page, "who answers?")
    assert chat_bodies(fresh_upstream)[-1]["model"] == "test-model"
    open_presets(page)
    item(page, "Second model").locator(".chat-preset-button-primary").click()
    expect(page.locator(".ant-message")).to_contain_text("New chat with “Second model”")
    assert active(page)["settings"] == {"system_prompt": "Two.", "model": "test-model-2"}
    assert page.errors == []


def test_the_builtins_speak_the_page_locale(browser, presets_app):
    """zh-CN: the dialog, the built-ins and the picker are Chinese."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        open_chat(page, presets_app.url)
        expect(page.locator("#chat-presets-button")).to_contain_text("预设")
        open_presets(page)
        expect(item(page, "中英互译")).to_have_count(1)
        expect(page.locator("#chat-presets-list")).to_contain_text("内置")
        page.locator(MODAL).locator(".ant-modal-close").click()
        expect(page.locator(MODAL)).to_be_hidden()
        page.locator("#chat-input").focus()
        page.keyboard.type("/周报")
        expect(page.locator("#chat-preset-picker .chat-preset-picker-item .chat-preset-name")).to_have_text(["周报生成"])
        page.keyboard.press("Enter")
        expect(page.locator("#chat-input")).to_have_value(next(p for p in builtin_presets("zh-CN") if p["id"] == "builtin-weekly-report")["first_message"])
    finally:
        context.close()
