"""Unit tests: context-window trimming, its settings, Continue support in the request
model, and the server applying both (meta event), plus the UI helpers in Python."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from chatcore.context import (
    MESSAGE_OVERHEAD_TOKENS,
    context_window_for,
    estimate_tokens,
    message_tokens,
    trim_messages,
)
from chatcore.messages import CONTINUE_INSTRUCTION, ChatRequest
from chatcore.sse import parse_events
from config import SettingsError, load_settings
from tests.conftest import TEST_KEY, make_settings
from tests.upstream import Reply


def msg(role: str, content: str) -> dict:
    """A message dict."""
    return {"role": role, "content": content}


# --- token estimate ---------------------------------------------------------------


def test_estimate_tokens_counts_cjk_as_one_and_latin_by_four():
    assert estimate_tokens("") == 0
    assert estimate_tokens("abcd") == 1
    assert estimate_tokens("abcde") == 2
    assert estimate_tokens("你好世界") == 4
    assert estimate_tokens("你好ab") == 3
    assert message_tokens(msg("user", "abcd")) == 1 + MESSAGE_OVERHEAD_TOKENS


# --- trimming ------------------------------------------------------------------------


def test_nothing_trimmed_when_it_fits():
    messages = [msg("system", "be brief"), msg("user", "hi"), msg("assistant", "hello"), msg("user", "again")]
    result = trim_messages(messages, context_window=8192, reserve_tokens=1024)
    assert result.messages == messages and result.dropped == 0
    assert result.prompt_tokens == sum(message_tokens(m) for m in messages)


def test_oldest_turns_go_first_and_system_and_newest_stay():
    history = []
    for i in range(10):
        history += [msg("user", f"question {i} " + "x" * 400), msg("assistant", f"answer {i} " + "y" * 400)]
    history.append(msg("user", "newest"))
    messages = [msg("system", "sys")] + history
    result = trim_messages(messages, context_window=1000, reserve_tokens=200)
    assert result.messages[0] == msg("system", "sys")
    assert result.messages[-1] == msg("user", "newest")
    assert result.dropped > 0
    assert len(result.messages) == len(messages) - result.dropped
    # what is kept is the newest contiguous tail, starting with a user message
    tail = result.messages[1:]
    assert tail == history[len(history) - len(tail):]
    assert tail[0]["role"] == "user"
    assert result.prompt_tokens <= result.budget
    # one more message would not have fitted
    previous = history[len(history) - len(tail) - 1]
    assert result.prompt_tokens + message_tokens(previous) > result.budget or previous["role"] == "assistant"


def test_newest_message_kept_even_if_too_big():
    messages = [msg("system", "s"), msg("user", "old"), msg("assistant", "reply"), msg("user", "z" * 10000)]
    result = trim_messages(messages, context_window=500, reserve_tokens=100)
    assert result.messages == [msg("system", "s"), msg("user", "z" * 10000)]
    assert result.dropped == 2


def test_reserve_is_capped_at_half_the_window():
    messages = [msg("user", "a" * 400), msg("assistant", "b" * 400), msg("user", "c")]
    # max_tokens of a million must not empty the history of a 2,000-token model
    result = trim_messages(messages, context_window=2000, reserve_tokens=1_000_000)
    assert result.dropped == 0 and result.budget == 2000 - 1000 - 3


def test_no_orphan_assistant_reply_at_the_start():
    messages = [msg("user", "q" * 2000), msg("assistant", "short"), msg("user", "new")]
    result = trim_messages(messages, context_window=400, reserve_tokens=0)
    assert result.messages == [msg("user", "new")]
    assert result.dropped == 2


def test_bad_window_rejected():
    with pytest.raises(ValueError):
        trim_messages([msg("user", "x")], context_window=0, reserve_tokens=0)


def test_context_window_lookup_exact_prefix_default():
    table = {"gpt-4o": 128000, "gpt-4o-mini": 64000, "tiny": 400}
    assert context_window_for("gpt-4o-mini", table, 8192) == 64000
    assert context_window_for("gpt-4o-2024-08-06", table, 8192) == 128000
    assert context_window_for("gpt-4o-mini-2024", table, 8192) == 64000
    assert context_window_for("unknown", table, 8192) == 8192


# --- settings --------------------------------------------------------------------------


def test_context_and_price_settings_from_env(monkeypatch):
    monkeypatch.setenv("MODEL_CONTEXT_WINDOWS", json.dumps({"my-model": 32768}))
    monkeypatch.setenv("MODEL_PRICES", json.dumps({"my-model": {"prompt": 0.5, "completion": 1.5}}))
    monkeypatch.setenv("DEFAULT_CONTEXT_WINDOW", "4096")
    settings = load_settings(_env_file=None)
    assert settings.context_window("my-model-v2") == 32768
    assert settings.context_window("other") == 4096
    assert settings.model_prices["my-model"].completion == 1.5


def test_defaults_cover_common_models():
    settings = make_settings()
    assert settings.context_window("gpt-4o-mini") == 128000
    assert settings.model_prices["gpt-4o-mini"].prompt == 0.15


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MODEL_CONTEXT_WINDOWS", '{"m": 10}'),
        ("MODEL_CONTEXT_WINDOWS", "not json"),
        ("MODEL_PRICES", '{"m": {"prompt": -1, "completion": 1}}'),
        ("MODEL_PRICES", '{"m": {"prompt": 1}}'),
    ],
)
def test_bad_context_or_price_settings_stop_startup(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as info:
        load_settings(_env_file=None)
    assert name in str(info.value)


# --- Continue ---------------------------------------------------------------------------


def test_continue_needs_a_partial_assistant_message_last():
    request = ChatRequest.model_validate(
        {"messages": [msg("user", "q"), msg("assistant", "partial")], "continue_reply": True}
    )
    assert request.continue_reply
    with pytest.raises(ValidationError):
        ChatRequest.model_validate({"messages": [msg("user", "q")], "continue_reply": True})
    with pytest.raises(ValidationError):
        ChatRequest.model_validate({"messages": [msg("user", "q"), msg("assistant", "partial")]})


def test_prepare_upstream_appends_the_continue_instruction_after_trimming():
    from chatcore.context import prepare_upstream

    history = [msg("user", "x" * 4000), msg("assistant", "y" * 4000), msg("user", "q"), msg("assistant", "partial")]
    request = ChatRequest.model_validate({"messages": history, "continue_reply": True, "system_prompt": "mine"})
    settings = make_settings(system_prompt="sys", model_context_windows={"test-model": 1200})
    out = prepare_upstream(request, settings)
    assert out.model == "test-model" and out.context_window == 1200
    assert out.trim.dropped == 2  # the long first turn did not fit; the instruction is never trimmed
    assert out.messages == [msg("system", "sys\n\nmine"), msg("user", "q"), msg("assistant", "partial"), msg("user", CONTINUE_INSTRUCTION)]
    plain = prepare_upstream(ChatRequest.model_validate({"messages": [msg("user", "q")], "temperature": 0.5}), settings)
    assert plain.messages == [msg("system", "sys"), msg("user", "q")] and plain.params == {"temperature": 0.5}


# --- the endpoint -------------------------------------------------------------------------


def stream(client, body: dict) -> list[tuple[str, dict]]:
    """POST the body to the stream endpoint and parse the SSE answer."""
    response = client.post("/api/chat/stream", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    return parse_events(response.get_data())


def test_endpoint_trims_and_reports_in_meta(make_client, fresh_upstream):
    client = make_client(model_context_windows={"test-model": 400})
    history = [msg("user", "a" * 600), msg("assistant", "b" * 600), msg("user", "newest question")]
    events = stream(client, {"messages": history, "system_prompt": "sys"})
    meta = dict(events)["meta"]
    assert meta["trimmed"] == 2 and meta["context_window"] == 400
    sent = fresh_upstream.requests[-1]["body"]["messages"]
    assert sent == [msg("system", "sys"), msg("user", "newest question")]


def test_endpoint_sends_everything_when_it_fits(make_client, fresh_upstream):
    client = make_client()
    history = [msg("user", "hi"), msg("assistant", "hello"), msg("user", "again")]
    events = stream(client, {"messages": history})
    assert dict(events)["meta"]["trimmed"] == 0
    assert fresh_upstream.requests[-1]["body"]["messages"] == history


def test_endpoint_continue(make_client, fresh_upstream):
    client = make_client()
    fresh_upstream.script(Reply(" and the rest."))
    events = stream(
        client, {"messages": [msg("user", "story"), msg("assistant", "Once upon")], "continue_reply": True}
    )
    assert "".join(data["content"] for name, data in events if name == "delta") == " and the rest."
    assert fresh_upstream.requests[-1]["body"]["messages"] == [
        msg("user", "story"),
        msg("assistant", "Once upon"),
        msg("user", CONTINUE_INSTRUCTION),
    ]


# --- UI helpers (Python side) ------------------------------------------------------------------


def test_resolve_locale_one_rule():
    from chatcore.i18n import resolve_locale

    assert resolve_locale("zh-CN", "en-US") == "zh-CN"  # the language the user picked wins
    assert resolve_locale(None, "zh-TW, en") == "zh-CN"
    assert resolve_locale("fr-FR", "de, en-GB") == "en-US"
    assert resolve_locale(None, "") == "en-US" and resolve_locale() == "en-US"
    assert resolve_locale(None, "fr, zh-CN;q=0.8, en;q=0.5") == "zh-CN"  # by preference, not only the first tag
    assert resolve_locale(None, "en;q=0.2, zh;q=0.9") == "zh-CN"
    assert resolve_locale(None, "zh;q=0, en") == "en-US"  # q=0: not acceptable
    assert resolve_locale("en-US", "zh", chosen="zh-CN") == "zh-CN"  # the request's own locale first
    assert resolve_locale(None, None, chosen="zh-Hans") == "zh-CN"


def test_public_config_has_prices_and_no_secret():
    from components.layout import public_config

    config = public_config(make_settings(model_prices={"m": {"prompt": 1, "completion": 2}}), "zh-CN")
    assert config["prices"] == {"m": {"prompt": 1.0, "completion": 2.0, "symbol": "$"}}
    assert config["locale"] == "zh-CN"
    assert TEST_KEY not in json.dumps(config)


def test_both_locales_have_every_text():
    from components.texts import UI_TEXTS

    assert set(UI_TEXTS["en-US"]) == set(UI_TEXTS["zh-CN"])


def test_markdown_export_callback_records_model_and_system_prompt(make_client):
    from callbacks.header import export_markdown

    client = make_client(openai_model="server-model", system_prompt="server prompt")
    with client.application.test_request_context():
        request = {"title": "T", "model": "m-1", "system_prompt": "be terse", "messages": [msg("user", "hi"), {"role": "x"}]}
        result = export_markdown(request)
        assert "- Model: m-1" in result["content"] and "be terse" in result["content"]
        # no model / prompt in the request: the server's model; the operator's prompt
        # stays on the server (SYSTEM_PROMPT_EDITABLE=false)
        result = export_markdown({"messages": [msg("user", "hi")]})
        assert "- Model: server-model" in result["content"] and "server prompt" not in result["content"]
