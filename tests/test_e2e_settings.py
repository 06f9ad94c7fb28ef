"""Browser tests: the settings panel (defaults and per-conversation values, range
validation, model list), the user's own API key and base URL, language, theme and the
phone layout."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from tests.conftest import TEST_KEY, AppProcess, app_env
from tests.e2e_chat import fill_number, open_chat, open_settings, save_settings, send
from tests.upstream import UpstreamServer

pytestmark = pytest.mark.timeout(120)

USER_KEY = "sk-user-own-key-5f2a9c"


@pytest.fixture(scope="module")
def settings_app(upstream):
    """The app with user base URLs allowed (ALLOW_USER_BASE_URL=true); the test
    upstreams listen on 127.0.0.1, which the SSRF guard refuses unless allowlisted."""
    app = AppProcess(app_env(upstream, ALLOW_USER_BASE_URL="true", USER_BASE_URL_ALLOWLIST="127.0.0.1"))
    yield app
    app.stop()


def chat_bodies(upstream) -> list[dict]:
    """Bodies of the chat requests the upstream received, oldest first."""
    return [r["body"] for r in upstream.requests if r["path"].endswith("/chat/completions")]


def item_help(page, component_id: str) -> str:
    """The validation message under a settings field ('' when none)."""
    help_box = page.locator(f".{component_id}-item .ant-form-item-explain")
    return help_box.inner_text() if help_box.count() else ""


def test_ranges_are_validated_while_typing(page, settings_app, fresh_upstream):
    """Out-of-range values get a clear message at the field and Save is disabled."""
    open_chat(page, settings_app.url)
    open_settings(page)
    fill_number(page, "chat-setting-temperature", "3")
    expect(page.locator(".chat-setting-temperature-item .ant-form-item-explain")).to_have_text("Must be a number from 0 to 2.")
    expect(page.locator("#chat-settings-save")).to_be_disabled()
    fill_number(page, "chat-setting-top-p", "1.5")
    expect(page.locator(".chat-setting-top-p-item .ant-form-item-explain")).to_have_text("Must be a number from 0 to 1.")
    fill_number(page, "chat-setting-max-tokens", "0")
    expect(page.locator(".chat-setting-max-tokens-item .ant-form-item-explain")).to_have_text(
        "Must be a whole number from 1 to 1000000."
    )
    fill_number(page, "chat-setting-presence-penalty", "-2.5")
    expect(page.locator(".chat-setting-presence-penalty-item .ant-form-item-explain")).to_contain_text("-2 to 2")
    fill_number(page, "chat-setting-temperature", "0.5")
    fill_number(page, "chat-setting-top-p", "0.9")
    fill_number(page, "chat-setting-max-tokens", "50")
    fill_number(page, "chat-setting-presence-penalty", "0.1")
    expect(page.locator(".ant-form-item-explain-error")).to_have_count(0)
    expect(page.locator("#chat-settings-save")).to_be_enabled()
    page.fill("#chat-setting-system-prompt", "Be brief.")
    save_settings(page)
    send(page, "hello")
    body = chat_bodies(fresh_upstream)[-1]
    assert body["temperature"] == 0.5 and body["top_p"] == 0.9 and body["max_tokens"] == 50
    assert body["presence_penalty"] == 0.1
    assert body["messages"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hello"}]


def test_defaults_and_per_conversation_values(page, settings_app, fresh_upstream):
    """Defaults apply to every conversation; a conversation's own value wins; the
    history setting limits how many messages are sent."""
    open_chat(page, settings_app.url)
    open_settings(page, "global")
    fill_number(page, "chat-setting-temperature", "1.2")
    fill_number(page, "chat-setting-history", "1")
    save_settings(page)
    send(page, "first")
    send(page, "second")
    body = chat_bodies(fresh_upstream)[-1]
    assert body["temperature"] == 1.2
    assert body["messages"] == [{"role": "user", "content": "second"}]  # history = 1
    # this conversation only
    open_settings(page)
    fill_number(page, "chat-setting-temperature", "0.3")
    save_settings(page)
    send(page, "third")
    assert chat_bodies(fresh_upstream)[-1]["temperature"] == 0.3
    # a new conversation uses the defaults again
    page.click("#chat-new-button")
    send(page, "fresh")
    assert chat_bodies(fresh_upstream)[-1]["temperature"] == 1.2
    # the defaults survive a reload (browser storage)
    page.reload()
    open_chat(page, settings_app.url)
    open_settings(page, "global")
    expect(page.locator("#chat-setting-temperature")).to_have_value("1.2")


def test_model_select_lists_upstream_models(page, settings_app, fresh_upstream):
    """The model select holds the configured models plus the endpoint's GET /v1/models."""
    open_chat(page, settings_app.url)
    open_settings(page)
    page.locator("#chat-setting-model").click()
    options = page.locator(".ant-select-item-option")
    expect(options.filter(has_text="test-model-2")).to_have_count(1)  # only the upstream lists it
    options.filter(has_text="test-model-2").click()
    save_settings(page)
    expect(page.locator("#header-model-tag")).to_have_text("test-model-2")
    send(page, "which model?")
    assert chat_bodies(fresh_upstream)[-1]["model"] == "test-model-2"


def test_own_api_key_stays_in_the_browser(page, settings_app, fresh_upstream):
    """The user's key is used for their requests, kept across reloads, sent only in the
    stream request body, and never logged."""
    sent_with_key: list[str] = []
    page.on("request", lambda r: sent_with_key.append(r.url) if USER_KEY in (r.post_data or "") + r.url + json.dumps(r.headers) else None)
    open_chat(page, settings_app.url)
    open_settings(page, "global")
    page.fill("#chat-setting-api-key", USER_KEY)
    save_settings(page)
    send(page, "with my key")
    request = [r for r in fresh_upstream.requests if r["path"].endswith("/chat/completions")][-1]
    assert request["headers"]["Authorization"] == f"Bearer {USER_KEY}"
    assert sent_with_key and all(url.endswith("/api/chat/stream") for url in sent_with_key)
    page.reload()
    open_chat(page, settings_app.url)
    open_settings(page, "global")
    expect(page.locator("#chat-setting-api-key")).to_have_value(USER_KEY)
    assert USER_KEY not in settings_app.log()


def test_user_base_url_gets_only_the_users_key(page, settings_app, fresh_upstream):
    """A user base URL (allowed by the operator) receives the user's key; the server's
    key is never sent there, and without an own key the base URL is refused."""
    other = UpstreamServer().start()
    try:
        open_chat(page, settings_app.url)
        open_settings(page, "global")
        page.fill("#chat-setting-base-url", "ftp://nope")
        expect(page.locator(".chat-setting-base-url-item .ant-form-item-explain")).to_have_text(
            "Must start with http:// or https://."
        )
        page.fill("#chat-setting-base-url", other.url)
        save_settings(page)
        # no own key yet: the server refuses to use its key for a user URL
        page.fill("#chat-input", "via my url")
        page.press("#chat-input", "Enter")
        expect(page.locator("#chat-error-text")).to_contain_text("own API key")
        assert other.requests == []
        open_settings(page, "global")
        page.fill("#chat-setting-api-key", USER_KEY)
        save_settings(page)
        page.click("#chat-retry-button")
        expect(page.locator(".chat-message-assistant .markdown-body")).to_have_text(["Echo: via my url"])
        assert [r["headers"]["Authorization"] for r in other.requests] == [f"Bearer {USER_KEY}"]
        assert all(TEST_KEY not in json.dumps(r["headers"]) for r in other.requests)
        assert not [r for r in fresh_upstream.requests if r["path"].endswith("/chat/completions")]
    finally:
        other.stop()


def test_base_url_field_hidden_unless_enabled(page, app_server):
    """Without ALLOW_USER_BASE_URL the base URL field is not offered."""
    open_chat(page, app_server.url)
    open_settings(page, "global")
    expect(page.locator("#chat-setting-api-key")).to_be_visible()
    expect(page.locator("#chat-setting-base-url")).to_be_hidden()


def test_language_follows_browser_and_switches(browser, app_server):
    """The UI starts in the browser's language (zh-CN here) and the language button
    switches it (kept across reloads)."""
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    try:
        open_chat(page, app_server.url)
        expect(page.locator("#chat-send-button")).to_contain_text("发送")
        expect(page.locator("#chat-new-button")).to_contain_text("新建对话")
        expect(page.locator(".ant-empty, .chat-empty h2").first).to_contain_text("开始对话")
        page.click("#chat-language-button")
        page.wait_for_load_state()
        expect(page.locator("#chat-send-button")).to_contain_text("Send")
        page.reload()
        expect(page.locator("#chat-send-button")).to_contain_text("Send")
        page.click("#chat-language-button")
        expect(page.locator("#chat-send-button")).to_contain_text("发送")
    finally:
        context.close()


def test_dark_theme_toggles_and_persists(page, app_server):
    """The theme button switches to dark (antd dark algorithm and page colours) and
    the choice survives a reload."""
    open_chat(page, app_server.url)
    light = page.evaluate("() => getComputedStyle(document.querySelector('.chat-app')).backgroundColor")
    page.click("#chat-theme-button")
    expect(page.locator("html")).to_have_class("chat-dark")
    dark = page.evaluate("() => getComputedStyle(document.querySelector('.chat-app')).backgroundColor")
    assert light == "rgb(255, 255, 255)" and dark == "rgb(20, 20, 20)"
    page.reload()
    open_chat(page, app_server.url)
    expect(page.locator("html")).to_have_class("chat-dark")
    page.click("#chat-theme-button")
    expect(page.locator("html")).not_to_have_class("chat-dark")


def test_phone_layout_folds_the_sidebar(browser, app_server, fresh_upstream):
    """At 390 px the sidebar is off-screen until the menu button opens it; choosing a
    conversation closes it again."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        open_chat(page, app_server.url)
        send(page, "phone chat")
        box = page.locator("#chat-sidebar").bounding_box()
        assert box["x"] + box["width"] <= 0
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
        page.click("#chat-sidebar-toggle")
        page.wait_for_timeout(400)
        assert page.locator("#chat-sidebar").bounding_box()["x"] == 0
        page.locator(".chat-conv-item").first.click()
        page.wait_for_timeout(400)
        box = page.locator("#chat-sidebar").bounding_box()
        assert box["x"] + box["width"] <= 0
        expect(page.locator("#chat-send-button")).to_be_in_viewport()
    finally:
        context.close()
