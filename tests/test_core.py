"""Unit tests of the chat core, called directly (no Dash, no Flask).

Covers ``chatcore.messages`` (ChatRequest validation, build_messages),
``chatcore.errors`` (map_exception for each openai error class, redact),
``chatcore.sse`` (encode/parse round trip) and ``chatcore.client.stream_chat``
against the local test upstream (tests/upstream.py).
"""

from __future__ import annotations

import copy
import json

import httpx2
import openai
import pytest
from pydantic import ValidationError

from chatcore.client import ClientOptions, get_client, stream_chat
from chatcore.errors import ChatError, map_exception, redact
from chatcore.i18n import TEXTS, normalize_locale, text
from chatcore.messages import ChatRequest, Limits, build_messages
from chatcore.sse import encode_comment, encode_event, parse_events
from tests.conftest import TEST_KEY
from tests.upstream import Reply

TRICKY = [
    "plain",
    "",
    "line1\nline2\r\nline3\rend",
    "```python\nprint('```')\n```",
    "data: not a field\n\nevent: fake\n\n",
    ": a comment line\n",
    "中文，标点。😀👩‍👩‍👧 emoji ZWJ",
    '"quotes" \\ backslash \t tab \u2028 \u2029 \x00 nul',
    "  leading and trailing  \n\n",
]


def user(content: str = "hi") -> dict:
    """A user message dict."""
    return {"role": "user", "content": content}


# ---------------------------------------------------------------- ChatRequest
def test_chat_request_minimal_and_extra_message_keys_ignored():
    req = ChatRequest.model_validate({"messages": [{"role": "user", "content": "hi", "id": "m1", "created_at": 1}]})
    assert req.messages[0].role == "user" and req.messages[0].content == "hi"
    assert req.sampling_params() == {}


@pytest.mark.parametrize(
    "field,good,bad",
    [
        ("temperature", [0, 0.7, 2], [-0.01, 2.01, "1", True]),
        ("top_p", [0, 0.5, 1], [-0.1, 1.1, "0.5", False]),
        ("presence_penalty", [-2, 0, 2], [-2.1, 2.1, "x"]),
        ("frequency_penalty", [-2, 1.5, 2], [-3, 2.5, [1]]),
        ("max_tokens", [1, 4096], [0, -5, 1.5, "10", True]),
    ],
)
def test_chat_request_parameter_ranges(field, good, bad):
    for value in good:
        req = ChatRequest.model_validate({"messages": [user()], field: value})
        assert req.sampling_params() == {field: value}
    for value in bad:
        with pytest.raises(ValidationError) as info:
            ChatRequest.model_validate({"messages": [user()], field: value})
        assert info.value.errors()[0]["loc"][0] == field


@pytest.mark.parametrize(
    "messages",
    [
        [],
        [{"role": "tool", "content": "x"}],
        [{"role": "developer", "content": "x"}],
        [{"role": "user"}],
        [{"role": "user", "content": 5}],
        [{"role": "user", "content": None}],
        [{"content": "x"}],
        ["hi"],
        "hi",
    ],
)
def test_chat_request_rejects_bad_messages(messages):
    with pytest.raises(ValidationError):
        ChatRequest.model_validate({"messages": messages})


@pytest.mark.parametrize("last", ["assistant", "system"])
def test_chat_request_last_message_must_be_user(last):
    with pytest.raises(ValidationError, match="last message must have role 'user'"):
        ChatRequest.model_validate({"messages": [user(), {"role": last, "content": "x"}]})
    # the same roles are fine earlier in the conversation
    ChatRequest.model_validate({"messages": [{"role": last, "content": "x"}, user()]})


def test_chat_request_unknown_fields_and_bad_model():
    with pytest.raises(ValidationError):
        ChatRequest.model_validate({"messages": [user()], "stream": False})
    for model in ["", "gpt 4", "a" * 201, "x;rm"]:
        with pytest.raises(ValidationError):
            ChatRequest.model_validate({"messages": [user()], "model": model})
    assert ChatRequest.model_validate({"messages": [user()], "model": "org/gpt-4o-mini:2024@v1"}).model


def test_chat_request_limits():
    limits = Limits(max_message_chars=10, max_messages=3)
    ChatRequest.model_validate({"messages": [user("x" * 10)] * 3}).check_limits(limits)
    with pytest.raises(ValueError, match="too many messages"):
        ChatRequest.model_validate({"messages": [user()] * 4}).check_limits(limits)
    with pytest.raises(ValueError, match="message 1 is longer than 10"):
        ChatRequest.model_validate({"messages": [user(), user("x" * 11)]}).check_limits(limits)
    with pytest.raises(ValueError, match="system_prompt is longer"):
        ChatRequest.model_validate({"messages": [user()], "system_prompt": "y" * 11}).check_limits(limits)
    # CJK characters count as characters, not bytes
    ChatRequest.model_validate({"messages": [user("中" * 10)]}).check_limits(limits)


# ---------------------------------------------------------------- build_messages
def test_build_messages_system_prompt_first_and_input_not_mutated():
    history = [user("a"), {"role": "assistant", "content": "b", "id": "x"}, user("c")]
    before = copy.deepcopy(history)
    out = build_messages("Be brief.", history)
    assert out == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": "b"},
        {"role": "user", "content": "c"},
    ]
    assert history == before
    out[1]["content"] = "changed"
    assert history[0]["content"] == "a"


@pytest.mark.parametrize("prompt", [None, "", "  \n "])
def test_build_messages_without_system_prompt(prompt):
    assert build_messages(prompt, [user("q")]) == [{"role": "user", "content": "q"}]


def test_build_messages_from_chat_request():
    req = ChatRequest.model_validate({"messages": [user("1"), {"role": "assistant", "content": "2"}, user("3")]})
    out = build_messages("S", req.messages)
    assert [m["role"] for m in out] == ["system", "user", "assistant", "user"]
    assert all(type(m) is dict for m in out)


# ---------------------------------------------------------------- map_exception
REQUEST = httpx2.Request("POST", "http://127.0.0.1:9/v1/chat/completions")


def status_error(cls, status: int, headers: dict | None = None, message: str = "upstream says no"):
    """An openai ``APIStatusError`` subclass instance as the SDK builds it."""
    body = {"error": {"message": message, "type": "x", "code": "y"}}
    response = httpx2.Response(status, headers=headers or {}, json=body, request=REQUEST)
    return cls(message, response=response, body=body["error"])


@pytest.mark.parametrize(
    "exc,status,code",
    [
        (status_error(openai.AuthenticationError, 401), 401, "auth"),
        (status_error(openai.PermissionDeniedError, 403), 403, "permission"),
        (status_error(openai.NotFoundError, 404), 404, "not_found"),
        (status_error(openai.BadRequestError, 400), 400, "bad_request"),
        (status_error(openai.UnprocessableEntityError, 422), 422, "bad_request"),
        (status_error(openai.InternalServerError, 500), 500, "upstream_error"),
        (status_error(openai.InternalServerError, 503), 503, "upstream_error"),
        (openai.APITimeoutError(request=REQUEST), 504, "timeout"),
        (openai.APIConnectionError(request=REQUEST), 502, "connection"),
        (ValueError("boom"), 500, "internal"),
    ],
)
@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_map_exception_classes(exc, status, code, locale):
    error = map_exception(exc, locale, TEST_KEY)
    assert isinstance(error, ChatError)
    assert (error.status, error.code) == (status, code)
    assert error.retry_after is None
    assert error.message
    # localized: the zh-CN text has CJK characters, the en-US text has none
    has_cjk = any("\u4e00" <= ch <= "\u9fff" for ch in error.message)
    assert has_cjk == (locale == "zh-CN")
    assert "{" not in error.message and TEST_KEY not in error.message


@pytest.mark.parametrize("locale,hint", [("en-US", "in 7 s"), ("zh-CN", "7 秒后")])
def test_map_exception_rate_limit_retry_after(locale, hint):
    error = map_exception(status_error(openai.RateLimitError, 429, {"Retry-After": "7"}), locale)
    assert (error.status, error.code, error.retry_after) == (429, "rate_limited", 7.0)
    assert "429" in error.message and hint in error.message
    assert error.to_dict() == {"status": 429, "code": "rate_limited", "message": error.message, "retry_after": 7.0}


def test_map_exception_rate_limit_fractional_retry_after_rounds_up():
    error = map_exception(status_error(openai.RateLimitError, 429, {"Retry-After": "0.4"}), "en-US")
    assert error.retry_after == 0.4 and "in 1 s" in error.message


def test_map_exception_rate_limit_without_or_with_bad_retry_after():
    for headers in ({}, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}):
        error = map_exception(status_error(openai.RateLimitError, 429, headers), "en-US")
        assert error.code == "rate_limited" and error.retry_after is None
        assert " in " not in error.message


def test_map_exception_bad_request_detail_is_redacted():
    exc = status_error(openai.BadRequestError, 400, message=f"context too long; key {TEST_KEY} and sk-abcdefghijkl123")
    error = map_exception(exc, "en-US", TEST_KEY)
    assert "context too long" in error.message
    assert TEST_KEY not in error.message and "sk-abcdefghijkl123" not in error.message


def test_map_exception_keeps_chat_errors_and_unknown_locale_falls_back():
    original = ChatError.make(413, "payload_too_large", "zh-CN", limit=10)
    assert map_exception(original) is original
    assert "10" in original.message and "字节" in original.message
    assert map_exception(openai.APIConnectionError(request=REQUEST), "fr-FR").message == TEXTS["connection"]["en-US"]


def test_i18n_every_code_in_both_locales():
    for code, table in TEXTS.items():
        assert set(table) == {"en-US", "zh-CN"}, code
    assert normalize_locale("zh-Hans-CN") == "zh-CN" and normalize_locale(None) == "en-US"
    assert text("no_such_code", "en-US") == TEXTS["internal"]["en-US"]
    assert "OPENAI_API_KEY" in text("no_api_key", "zh-CN") and "OPENAI_API_KEY" in text("no_api_key", "en-US")


# ---------------------------------------------------------------- redact
@pytest.mark.parametrize(
    "secret",
    [TEST_KEY, "sk-proj-AbC_dEf-0123456789xyz", "plainsecretwithoutprefix", "rk-live-12345678", "pk-12345678abcd"],
)
def test_redact_never_leaks_a_key(secret):
    for template in ["{k}", "Bearer {k}", "key={k}&x=1", "'{k}'", "{k}{k}", "x\n{k}\n", "前缀{k}后缀"]:
        value = template.format(k=secret)
        out = redact(value, secret)
        assert secret not in out
        assert "***" in out
    # without naming the secret, key-shaped strings are still caught
    assert "sk-proj-AbC_dEf-0123456789xyz" not in redact("x sk-proj-AbC_dEf-0123456789xyz y")


def test_redact_leaves_ordinary_text_and_ignores_empty_secrets():
    assert redact("sky-high task-list sk-short", None, "") == "sky-high task-list sk-short"


# ---------------------------------------------------------------- SSE
@pytest.mark.parametrize("content", TRICKY)
def test_sse_round_trip(content):
    events = [("meta", {"model": "m"}), ("delta", {"content": content}), ("done", {"finish_reason": "stop"})]
    raw = b"".join(encode_event(name, data) for name, data in events) + encode_comment("keep-alive")
    assert parse_events(raw) == events
    assert parse_events(raw.decode("utf-8")) == events
    # one event is exactly one `event:` line, one `data:` line and a blank line
    frame = encode_event("delta", {"content": content})
    assert frame.count(b"\n") == 3 and frame.endswith(b"\n\n")


def test_sse_parse_spec_details():
    raw = "event: a\r\ndata: {\"x\":\r\ndata: 1}\r\n\r\n: c\n\ndata:{\"y\":2}\n\nevent: lone\n\n"
    assert parse_events(raw) == [("a", {"x": 1}), ("message", {"y": 2})]


def test_sse_bytes_grow_linearly():
    one = len(encode_event("delta", {"content": "abc"}))
    assert sum(len(encode_event("delta", {"content": "abc"})) for _ in range(1000)) == 1000 * one


# ---------------------------------------------------------------- stream_chat
@pytest.fixture
def client(fresh_upstream):
    """An SDK client for the test upstream, no retries, short timeout."""
    return get_client(ClientOptions(base_url=fresh_upstream.url, timeout=2.0, max_retries=0))


def run(client, content: str = "hi", locale: str = "en-US", **kw) -> list:
    """All events of one ``stream_chat`` call."""
    return list(stream_chat(client, api_key=TEST_KEY, model="test-model", messages=[user(content)], locale=locale, **kw))


def test_stream_chat_deltas_in_order_byte_exact(client, fresh_upstream):
    chunks = ["```py\n", "print('```')\n", "```\n", "中文", "😀", "👩‍👩‍👧", "\r\n", "  ", "\u2028", "end"]
    fresh_upstream.script(Reply(chunks=chunks, usage={"prompt_tokens": 11, "completion_tokens": 10}))
    events = run(client, params={"temperature": 0.3})
    deltas = [e.data["content"] for e in events if e.name == "delta"]
    assert deltas == chunks
    assert [e.name for e in events] == ["delta"] * len(chunks) + ["finish", "usage"]
    assert events[-2].data == {"finish_reason": "stop"}
    assert events[-1].data == {"prompt_tokens": 11, "completion_tokens": 10, "total_tokens": 21}
    body = fresh_upstream.requests[-1]["body"]
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["temperature"] == 0.3 and body["messages"] == [user("hi")]
    assert fresh_upstream.requests[-1]["headers"]["authorization"] == f"Bearer {TEST_KEY}"


def test_stream_chat_finish_reason_length(client, fresh_upstream):
    fresh_upstream.script(Reply(content="abcdef", finish_reason="length"))
    events = run(client)
    assert "".join(e.data["content"] for e in events if e.name == "delta") == "abcdef"
    assert [e.data for e in events if e.name == "finish"] == [{"finish_reason": "length"}]


@pytest.mark.parametrize(
    "reply,status,code",
    [
        (Reply(status=401), 401, "auth"),
        (Reply(status=403), 403, "permission"),
        (Reply(status=404), 404, "not_found"),
        (Reply(status=429, headers={"Retry-After": "7"}), 429, "rate_limited"),
        (Reply(status=400), 400, "bad_request"),
        (Reply(status=500), 500, "upstream_error"),
        (Reply(status=503), 503, "upstream_error"),
        (Reply(fault="hang_before_first_token"), 504, "timeout"),
        (Reply(content="abcdefghijkl", fault="stall_mid_stream"), 504, "timeout"),
        (Reply(content="abcdefghijkl", fault="cut_mid_stream"), 502, "stream_interrupted"),
        (Reply(content="abcdefghijkl", fault="no_finish_reason"), 502, "stream_interrupted"),
        (Reply(content="abcdefghijkl", finish_reason=None), 502, "stream_interrupted"),
        (Reply(content="abcdefghijkl", fault="malformed_chunk"), 502, "stream_interrupted"),
    ],
)
def test_stream_chat_faults_become_one_error_event(client, fresh_upstream, reply, status, code):
    fresh_upstream.script(reply)
    events = run(client, locale="zh-CN")
    errors = [e for e in events if e.name == "error"]
    assert len(errors) == 1 and events[-1] is errors[0]
    assert (errors[0].data["status"], errors[0].data["code"]) == (status, code)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in errors[0].data["message"])
    assert TEST_KEY not in json.dumps([e.data for e in events], ensure_ascii=False)
    if code == "rate_limited":
        assert errors[0].data["retry_after"] == 7.0
    if reply.fault in ("cut_mid_stream", "stall_mid_stream", "no_finish_reason"):
        # the deltas before the fault are kept, in order
        assert "".join(e.data["content"] for e in events if e.name == "delta").startswith("abc")


def test_stream_chat_bad_request_passes_upstream_detail_redacted(client, fresh_upstream):
    detail = f"This model's maximum context length is 8192 tokens (key {TEST_KEY})"
    fresh_upstream.script(Reply(status=400, error_body={"error": {"message": detail, "type": "invalid_request_error"}}))
    events = run(client, locale="en-US")
    assert [e.name for e in events] == ["error"]
    message = events[0].data["message"]
    assert events[0].data["code"] == "bad_request" and "(400)" in message
    assert "maximum context length is 8192 tokens" in message and TEST_KEY not in message


def test_stream_chat_connection_refused(free_port_url):
    client = get_client(ClientOptions(base_url=free_port_url, timeout=2.0, max_retries=0))
    events = list(stream_chat(client, api_key=TEST_KEY, model="m", messages=[user()], locale="en-US"))
    assert [(e.name, e.data["code"]) for e in events] == [("error", "connection")]


@pytest.fixture
def free_port_url():
    """A base URL where nothing listens."""
    from tests.conftest import free_port

    return f"http://127.0.0.1:{free_port()}/v1"


def test_stream_chat_close_closes_upstream(client, fresh_upstream):
    fresh_upstream.script(Reply(content="x" * 300, chunk_delay=0.05, chunk_size=1))
    events = stream_chat(client, api_key=TEST_KEY, model="test-model", messages=[user()])
    first = next(events)
    assert first.name == "delta"
    assert fresh_upstream.wait_for(lambda s: s.open_streams == 1, 2)
    events.close()
    closed = fresh_upstream.wait_closed(1, timeout=2)
    assert len(closed) == 1
    assert closed[0]["reason"] == "client_disconnected"
    assert closed[0]["chunks_sent"] < 300
    assert closed[0]["t_closed"] - closed[0]["t_opened"] < 1.5
    assert fresh_upstream.open_streams == 0
