"""Browser tests: message actions (copy, regenerate, edit and resend, Stop, Continue),
usage and cost, context trimming, and safe Markdown rendering (code, tables, math,
mermaid), against the scriptable test upstream."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from chatcore.messages import CONTINUE_INSTRUCTION
from tests.conftest import AppProcess, app_env
from tests.e2e_chat import active, assistant_texts, open_chat, open_settings, save_settings, send, user_texts, wait_idle, wait_runs
from tests.upstream import Reply

pytestmark = pytest.mark.timeout(120)

PRICES = {"test-model": {"prompt": 2000.0, "completion": 4000.0}}


@pytest.fixture(scope="module")
def actions_app(upstream):
    """The app with a price for test-model and a tiny context window for tiny-model."""
    app = AppProcess(
        app_env(
            upstream,
            MODEL_PRICES=json.dumps(PRICES),
            OPENAI_MODELS="tiny-model",
            MODEL_CONTEXT_WINDOWS=json.dumps({"tiny-model": 400}),
        )
    )
    yield app
    app.stop()


def chat_bodies(upstream) -> list[dict]:
    """Bodies of the chat requests the upstream received, oldest first."""
    return [r["body"] for r in upstream.requests if r["path"].endswith("/chat/completions")]


def test_copy_message(browser, actions_app, fresh_upstream):
    """Copy puts the message's Markdown source on the clipboard."""
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    try:
        fresh_upstream.script(Reply("Here is **bold** and `code`."))
        open_chat(page, actions_app.url)
        send(page, "copy test")
        page.locator(".chat-message-assistant .chat-action-copy").click()
        expect(page.locator(".ant-message")).to_contain_text("Copied")
        assert page.evaluate("() => navigator.clipboard.readText()") == "Here is **bold** and `code`."
    finally:
        context.close()


def test_regenerate_replaces_the_last_reply(page, actions_app, fresh_upstream):
    """Regenerate drops the last reply and asks again with the same messages."""
    open_chat(page, actions_app.url)
    fresh_upstream.script(Reply("first answer"))
    send(page, "question")
    assert assistant_texts(page) == ["first answer"]
    fresh_upstream.script(Reply("second answer"))
    page.locator(".chat-message-assistant .chat-action-regenerate").click()
    wait_runs(page, 2)
    expect(page.locator(".chat-message-assistant .markdown-body")).to_have_text(["second answer"])
    bodies = chat_bodies(fresh_upstream)
    assert len(bodies) == 2
    assert bodies[1]["messages"] == bodies[0]["messages"] == [{"role": "user", "content": "question"}]
    assert [m["role"] for m in active(page)["messages"]] == ["user", "assistant"]
    # only the last reply offers Regenerate
    send(page, "another")
    expect(page.locator(".chat-action-regenerate")).to_have_count(1)


def test_edit_user_message_replaces_later_turns(page, actions_app, fresh_upstream):
    """Editing an earlier user message and resending replaces the turns after it."""
    open_chat(page, actions_app.url)
    send(page, "one")
    send(page, "two")
    assert user_texts(page) == ["one", "two"]
    page.locator(".chat-message-user").first.locator(".chat-action-edit").click()
    expect(page.locator("#chat-edit-input")).to_have_value("one")
    page.fill("#chat-edit-input", "uno")
    page.locator(".ant-modal-wrap:visible .ant-btn-primary").click()
    wait_runs(page, 3)
    expect(page.locator(".chat-message-user .chat-message-text")).to_have_text(["uno"])
    assert assistant_texts(page) == ["Echo: uno"]
    assert chat_bodies(fresh_upstream)[-1]["messages"] == [{"role": "user", "content": "uno"}]
    # the title follows the edited first message
    assert active(page)["title"] == "uno"


def test_stop_keeps_partial_reply(page, actions_app, fresh_upstream):
    """Stop aborts the stream and keeps what arrived, flagged as stopped."""
    open_chat(page, actions_app.url)
    page.fill("#chat-input", "!fault slow 150 a long enough message to stream for a while")
    page.press("#chat-input", "Enter")
    page.wait_for_function("() => (document.querySelector('#chat-stream-markdown') || {}).innerText?.length > 8")
    page.click("#chat-stop-button")
    wait_idle(page)
    expect(page.locator(".chat-message-assistant .chat-message-flag")).to_have_text("Stopped")
    message = active(page)["messages"][-1]
    assert message["stopped"] is True
    assert "Echo: !fault slow 150 a long enough message".startswith(message["content"][:20])
    assert 0 < len(message["content"]) < len("Echo: !fault slow 150 a long enough message to stream for a while")
    closed = fresh_upstream.wait_closed(count=1, timeout=5)
    assert closed[-1]["reason"] == "client_disconnected"  # Stop closed the upstream request too


def test_continue_appends_to_a_reply_cut_by_length(page, actions_app, fresh_upstream):
    """A reply that ended with finish_reason "length" offers Continue, which sends the
    partial reply plus a continue instruction and appends the new text to it."""
    open_chat(page, actions_app.url)
    fresh_upstream.script(Reply("The start of", finish_reason="length"))
    send(page, "tell me a story")
    expect(page.locator(".chat-message-length")).to_be_visible()
    fresh_upstream.script(Reply(" the end."))
    page.locator(".chat-action-continue").click()
    wait_runs(page, 2)
    expect(page.locator(".chat-message-assistant .markdown-body")).to_have_text(["The start of the end."])
    messages = active(page)["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assert messages[1]["finish_reason"] == "stop"
    assert chat_bodies(fresh_upstream)[-1]["messages"] == [
        {"role": "user", "content": "tell me a story"},
        {"role": "assistant", "content": "The start of"},
        {"role": "user", "content": CONTINUE_INSTRUCTION},
    ]
    expect(page.locator(".chat-action-continue")).to_have_count(0)


def test_usage_and_cost_are_shown(page, actions_app, fresh_upstream):
    """Each reply shows prompt/completion tokens from the usage chunk and, for a model
    with a price in config, its cost."""
    open_chat(page, actions_app.url)
    fresh_upstream.script(Reply("priced reply", usage={"prompt_tokens": 12, "completion_tokens": 3}))
    send(page, "how much?")
    usage = page.locator(".chat-message-assistant .chat-message-usage")
    expect(usage).to_contain_text("12 prompt + 3 completion tokens")
    # 12 × 2000 / 1e6 + 3 × 4000 / 1e6 = 0.036 USD
    expect(usage.locator(".chat-message-cost")).to_have_text("≈ $0.0360")
    assert chat_bodies(fresh_upstream)[-1]["stream_options"] == {"include_usage": True}
    # a provider that reports no usage: the app's estimate, marked as one
    fresh_upstream.script(Reply("unmetered reply", no_usage=True))
    send(page, "and now?")
    expect(page.locator(".chat-message-assistant .chat-message-usage").last).to_contain_text("(estimated: the provider reported none)")
    # a provider that reports what it cost (OpenRouter's usage.cost) is shown as it is
    fresh_upstream.script(Reply("metered reply", usage={"prompt_tokens": 1, "completion_tokens": 1, "cost": 0.5}))
    send(page, "and this?")
    expect(page.locator(".chat-message-assistant .chat-message-usage").last.locator(".chat-message-cost")).to_have_text("≈ $0.5000")


def test_context_trimming_is_reported(page, actions_app, fresh_upstream):
    """With a 400-token context window the oldest turns are left out, the newest
    message is kept, and the reply says how many were left out."""
    open_chat(page, actions_app.url)
    open_settings(page)
    page.locator("#chat-setting-model").click()
    page.locator(".ant-select-item-option", has_text="tiny-model").click()
    save_settings(page)
    expect(page.locator("#header-model-tag")).to_have_text("tiny-model")
    send(page, "A" * 600)
    expect(page.locator(".chat-message-trimmed")).to_have_count(0)
    send(page, "B" * 600)
    assert chat_bodies(fresh_upstream)[-1]["messages"] == [{"role": "user", "content": "B" * 600}]
    assert chat_bodies(fresh_upstream)[-1]["model"] == "tiny-model"
    expect(page.locator(".chat-message-trimmed")).to_have_text(
        "2 earlier message(s) were left out to fit the context window."
    )


MARKDOWN_REPLY = """Some `inline` code and a block:

```python
print("hi")
```

| col A | col B |
|-------|-------|
| 1     | 2     |

Math: $E = mc^2$ and

$$\\int_0^1 x^2 \\, dx = \\frac{1}{3}$$

[bad link](javascript:alert(1)) and [good link](https://example.com)

```mermaid
graph TD
  A["<img src=x onerror=window.__pwned=1>Start"] --> B[End]
  click A call alert("pwned")
  click B "javascript:window.__pwned=2"
```
"""


def test_markdown_code_table_math_and_safe_mermaid(page, actions_app, fresh_upstream):
    """Markdown renders code (with a copy button), tables, KaTeX math and a mermaid
    diagram; the diagram's HTML label and click handlers stay inert; javascript:
    links are neutralized."""
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    open_chat(page, actions_app.url)
    fresh_upstream.script(Reply(MARKDOWN_REPLY))
    send(page, "show me markdown")
    body = page.locator(".chat-message-assistant .markdown-body")
    expect(body.locator("table td").first).to_have_text("1")
    expect(body.locator(".copy-to-clipboard-button").first).to_be_attached()
    expect(body.locator(".katex").first).to_be_visible()
    expect(page.locator("._mermaid-container svg")).to_be_visible(timeout=10000)
    expect(page.locator("._mermaid-container")).to_contain_text("Start")
    assert body.locator("a", has_text="bad link").get_attribute("href") == "#"
    assert body.locator("a", has_text="good link").get_attribute("href") == "https://example.com"
    # click every node of the diagram: nothing runs
    for node in page.locator("._mermaid-container .node").all():
        node.click(force=True)
    page.wait_for_timeout(300)
    assert dialogs == []
    assert page.evaluate("() => window.__pwned") is None
    assert page.locator("._mermaid-container img[onerror]").count() == 0
    assert page.errors == []
