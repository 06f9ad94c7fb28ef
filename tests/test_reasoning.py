"""Reasoning models: the thinking is read in every shape, sent as its own event, kept in
the export and never sent back upstream.

Covers ``chatcore.reasoning`` (``ThinkSplitter`` at every split point of representative
inputs, ``delta_reasoning``, ``ReasoningClock``), ``chatcore.client.stream_chat`` and
``POST /api/chat/stream`` against the test upstream with each shape
(``reasoning_content``, ``reasoning``, ``<think>`` tags split across deltas, whitespace
before ``<think>``, only ``</think>``, a think block never closed at a normal end, on a
cut stream and on Stop), ``usage.reasoning_tokens``, ``reasoning_effort``, the
``!think`` magic of the test upstream, and the Markdown export's reasoning block.
"""

from __future__ import annotations

import http.client
import json
from datetime import datetime, timezone
from itertools import combinations
from types import SimpleNamespace

import pytest
from hypothesis import given, settings, strategies as st
from openai.types.chat.chat_completion_chunk import ChoiceDelta

from chatcore import schema
from chatcore.client import ClientOptions, get_client, stream_chat
from chatcore.export import from_markdown, to_markdown
from chatcore.reasoning import ReasoningClock, ThinkSplitter, delta_reasoning, starts_in_reasoning
from chatcore.sse import parse_events
from tests.conftest import NO_LIMITS, TEST_KEY, AppProcess, app_env
from tests.test_stream_api import body, stream_then_close
from tests.upstream import Reply

REASONING = "Let me see: 1 < 2 and </b> is not a tag.\n\n中文推理 😀"
ANSWER = "The answer is **2**.\n```py\nprint('<think>')\n```"
_WHEN = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


# ================================================================ ThinkSplitter
# (id, content text, start_in_reasoning, reasoning, answer, unclosed)
SPLIT_CASES = [
    ("tags", "<think>\nLet me see: 1 < 2.\n</think>\n\nThe answer is **2**.", False,
     "Let me see: 1 < 2.", "The answer is **2**.", False),
    ("whitespace-before-open", " \n\t<think>a\n\nb</think>  c", False, "a\n\nb", "c", False),
    ("close-only-at-start", "</think>\n\nAnswer 中文😀", False, "", "Answer 中文😀", False),
    ("empty-block", "<think>\n\n</think>\n\nHi", False, "", "Hi", False),
    ("plain", "Hello <think>not a block</think>", False, "", "Hello <think>not a block</think>", False),
    ("plain-leading-whitespace", "  indented\n", False, "", "  indented\n", False),
    ("close-after-answer-text", "Answer first</think> rest", False, "", "Answer first</think> rest", False),
    ("other-tag", "<thinking>x</thinking>", False, "", "<thinking>x</thinking>", False),
    ("html-first", "<b>bold</b>", False, "", "<b>bold</b>", False),
    ("partial-open-tag-only", "<thi", False, "", "<thi", False),
    ("whitespace-only", " \n ", False, "", " \n ", False),
    ("unclosed", "<think>Stopped while thi", False, "Stopped while thi", "", True),
    ("unclosed-partial-close", "<think>almost </thi", False, "almost </thi", "", True),
    ("lookalikes-inside", "<think>a </b> c </thinker> d</th</think>e", False, "a </b> c </thinker> d</th", "e", False),
    ("double-close", "<think>x</think></think>y", False, "x", "</think>y", False),
    ("crlf", "<think>\r\nx\r\n</think>\r\n\r\nA\r\nB\r\n", False, "x", "A\r\nB\r\n", False),
    ("empty", "", False, "", "", False),
    ("prefilled", "I should add.\n</think>\n\n2", True, "I should add.", "2", False),
    ("prefilled-open-anyway", "\n<think>x</think>y", True, "x", "y", False),
    ("prefilled-unclosed", "still thinking ", True, "still thinking", "", True),
    ("prefilled-cjk", "先想一想。</think>答案😀", True, "先想一想。", "答案😀", False),
]


def split_run(pieces: list[str], start_in_reasoning: bool = False) -> tuple[list[tuple[str, str]], bool]:
    """Feed ``pieces`` to a new splitter, then close it: ``(all pieces out, unclosed)``."""
    splitter = ThinkSplitter(start_in_reasoning=start_in_reasoning)
    out: list[tuple[str, str]] = []
    for piece in pieces:
        fed = splitter.feed(piece)
        assert all(text for _, text in fed), fed  # never an empty piece
        assert all(a[0] != b[0] for a, b in zip(fed, fed[1:])), fed  # neighbours merged
        out += fed
    out += splitter.close()
    return out, splitter.unclosed


def every_split(text: str):
    """The text whole, cut once at every point, cut twice at every pair of points, and
    one character per piece."""
    yield [text]
    for i in range(len(text) + 1):
        yield [text[:i], text[i:]]
    for i, j in combinations(range(len(text) + 1), 2):
        yield [text[:i], text[i:j], text[j:]]
    yield list(text)


def joined(out: list[tuple[str, str]], kind: str) -> str:
    return "".join(text for k, text in out if k == kind)


@pytest.mark.parametrize("text,start,reasoning,answer,unclosed", [c[1:] for c in SPLIT_CASES], ids=[c[0] for c in SPLIT_CASES])
def test_splitter_every_split_point(text, start, reasoning, answer, unclosed):
    for pieces in every_split(text):
        out, was_unclosed = split_run(pieces, start)
        assert (joined(out, "reasoning"), joined(out, "content"), was_unclosed) == (reasoning, answer, unclosed), pieces
        # reasoning (if any) comes before the answer
        kinds = [kind for kind, _ in out]
        assert kinds == sorted(kinds, key=lambda k: k != "reasoning"), pieces


def test_splitter_holds_back_only_what_may_be_a_tag():
    splitter = ThinkSplitter()
    assert splitter.feed("Hello") == [("content", "Hello")]  # a plain reply: no delay
    assert splitter.feed(" <think>") == [("content", " <think>")]  # unchanged once the answer started
    splitter = ThinkSplitter()
    assert splitter.feed("  ") == [] and splitter.feed("<th") == []  # may still be <think>
    assert splitter.feed("ink>abc </th") == [("reasoning", "abc")]  # " </th" may be </think>
    assert splitter.in_reasoning
    assert splitter.feed("ink>\n\n") == [] and splitter.feed("Ans") == [("content", "Ans")]
    assert not splitter.in_reasoning
    assert splitter.close() == [] and splitter.close() == []
    assert splitter.feed("after close") == [("content", "after close")]


def test_splitter_whitespace_first_then_plain_text_is_byte_exact():
    splitter = ThinkSplitter()
    assert splitter.feed("\n ") == []
    assert splitter.feed("x") == [("content", "\n x")]


# ================================================================ delta fields
@pytest.mark.parametrize(
    "fields,expected",
    [
        ({"content": None, "reasoning_content": "deep"}, "deep"),  # DeepSeek, DashScope, vLLM <= 0.10
        ({"content": "", "reasoning": "router"}, "router"),  # OpenRouter, Ollama, vLLM >= 0.11
        ({"reasoning_content": "first", "reasoning": "first"}, "first"),  # both: read once
        ({"reasoning_content": None, "reasoning": "second"}, "second"),
        ({"reasoning_content": "", "reasoning": None}, None),
        ({"reasoning": {"text": "an object"}}, None),
        ({"reasoning_content": 5}, None),
        ({"content": "plain"}, None),
    ],
)
def test_delta_reasoning_reads_the_sdk_delta(fields, expected):
    assert delta_reasoning(ChoiceDelta.model_validate(fields)) == expected


def test_delta_reasoning_reads_plain_attributes():
    assert delta_reasoning(SimpleNamespace(reasoning="attr")) == "attr"
    assert delta_reasoning(SimpleNamespace(content="x")) is None


def test_starts_in_reasoning_matches_names_and_prefixes():
    assert starts_in_reasoning("qwq-32b", ["qwq"]) and starts_in_reasoning("qwq", ["qwq"])
    assert not starts_in_reasoning("deepseek-chat", ["qwq", "deepseek-r1"])
    assert not starts_in_reasoning("anything", []) and not starts_in_reasoning("anything", [""])


def test_reasoning_clock():
    clock = ReasoningClock(started=10.0)
    clock.see("meta", 10.0)
    assert clock.fields(11.0) == {}
    clock.see("reasoning", 10.5)
    clock.see("reasoning", 11.0)
    assert clock.fields(12.0) == {"ttft_reasoning_ms": 500.0, "reasoning_ms": 1500.0}  # still thinking at the end
    clock.see("delta", 12.25)
    clock.see("delta", 13.0)
    assert clock.fields(14.0) == {"ttft_reasoning_ms": 500.0, "reasoning_ms": 1750.0}


# ================================================================ stream_chat
@pytest.fixture
def client(fresh_upstream):
    """An SDK client for the test upstream, no retries, short timeout."""
    return get_client(ClientOptions(base_url=fresh_upstream.url, timeout=2.0, max_retries=0))


def run(client, **kw) -> list:
    """All events of one ``stream_chat`` call."""
    return list(stream_chat(client, api_key=TEST_KEY, model="test-model", messages=[{"role": "user", "content": "q"}], **kw))


def texts(events) -> tuple[str, str]:
    """``(reasoning, content)`` of StreamEvents or parsed SSE ``(name, data)`` pairs."""
    pairs = [(e.name, e.data) if hasattr(e, "name") else e for e in events]
    return (
        "".join(d["content"] for n, d in pairs if n == "reasoning"),
        "".join(d["content"] for n, d in pairs if n == "delta"),
    )


def check_page_schema(events: list[tuple[str, dict]]) -> None:
    """Every event validates against the page schema's model for its name."""
    for name, data in events:
        schema.PAGE_MODELS[schema.EVENT_SCHEMAS[name]].model_validate(data)


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning", "think"])
@pytest.mark.parametrize("chunk_size", [1, 2, 3, 7])
def test_stream_chat_each_shape(client, fresh_upstream, field, chunk_size):
    fresh_upstream.script(Reply(reasoning=REASONING, content=ANSWER, reasoning_field=field, chunk_size=chunk_size))
    events = run(client)
    assert texts(events) == (REASONING, ANSWER)
    names = [e.name for e in events]
    first_delta = names.index("delta")
    assert set(names[:first_delta]) == {"reasoning"} and "reasoning" not in names[first_delta:]
    assert names[-2:] == ["finish", "usage"] and events[-2].data == {"finish_reason": "stop"}
    assert events[-1].data["reasoning_tokens"] > 0
    check_page_schema([(e.name, e.data) for e in events])


def test_stream_chat_whitespace_before_think(client, fresh_upstream):
    fresh_upstream.script(Reply(reasoning="r", content="a", reasoning_field="think", think_prefix="\n \n", chunk_size=2))
    assert texts(run(client)) == ("r", "a")


def test_stream_chat_close_only_needs_the_hint(client, fresh_upstream):
    reply = Reply(reasoning="hidden steps", content="answer", reasoning_field="think", think_open=False)
    fresh_upstream.script(reply, reply)
    assert texts(run(client, start_in_reasoning=True)) == ("hidden steps", "answer")
    # without it, text before </think> is the answer (it was shown as such): kept as is
    assert texts(run(client)) == ("", "hidden steps</think>\n\nanswer")


def test_stream_chat_hint_is_ignored_when_reasoning_came_in_a_field(client, fresh_upstream):
    fresh_upstream.script(Reply(reasoning="parsed", content="answer", reasoning_field="reasoning_content"))
    assert texts(run(client, start_in_reasoning=True)) == ("parsed", "answer")


def test_stream_chat_unclosed_think_at_a_normal_end_is_incomplete(client, fresh_upstream):
    fresh_upstream.script(Reply(reasoning="never closed", reasoning_field="think", think_close=False))
    events = run(client)
    assert texts(events) == ("never closed", "")
    assert [e.data for e in events if e.name == "finish"] == [{"finish_reason": "stop", "incomplete": True}]


def test_stream_chat_cut_while_thinking_keeps_the_reasoning(client, fresh_upstream):
    fresh_upstream.script(Reply(reasoning="abcdefghij", content="zzz", reasoning_field="think", chunk_size=4,
                                fault="cut_mid_stream", fault_after=3))
    events = run(client)
    # 3 deltas: "<thi" "nk>a" "bcde" — all of it reasoning, then the error
    assert texts(events) == ("abcde", "")
    assert [(e.name, e.data.get("code")) for e in events][-1] == ("error", "stream_interrupted")


def test_stream_chat_usage_reasoning_tokens_only_when_reported(client, fresh_upstream):
    fresh_upstream.script(
        Reply(content="x", usage={"prompt_tokens": 3, "completion_tokens": 9}, reasoning_tokens=7),
        Reply(content="x", usage={"prompt_tokens": 3, "completion_tokens": 9}),
        Reply(content="x", usage={"prompt_tokens": 3, "completion_tokens": 9,
                                  "completion_tokens_details": {"reasoning_tokens": None, "audio_tokens": 0}}),
    )
    assert run(client)[-1].data == {"prompt_tokens": 3, "completion_tokens": 9, "total_tokens": 12, "reasoning_tokens": 7}
    for _ in range(2):
        assert run(client)[-1].data == {"prompt_tokens": 3, "completion_tokens": 9, "total_tokens": 12}


# ================================================================ the endpoint
def stream(client, payload: dict) -> list[tuple[str, dict]]:
    """POST to the stream endpoint; the parsed SSE events (checked against the page schema)."""
    response = client.post("/api/chat/stream", json=payload)
    assert response.status_code == 200, response.get_data(as_text=True)
    events = parse_events(response.get_data())
    check_page_schema(events)
    return events


@pytest.mark.parametrize(
    "reply",
    [
        Reply(reasoning=REASONING, content=ANSWER, reasoning_field="reasoning_content", chunk_size=2),
        Reply(reasoning=REASONING, content=ANSWER, reasoning_field="reasoning", chunk_size=2),
        Reply(reasoning=REASONING, content=ANSWER, reasoning_field="think", chunk_size=2),  # tags split across deltas
        Reply(reasoning=REASONING, content=ANSWER, reasoning_field="think", think_prefix=" \n", chunk_size=5),
        Reply(reasoning_field="think", chunks=["\n<", "th", "ink", ">", REASONING[:9], REASONING[9:], "</", "think>", "\n\n" + ANSWER]),
    ],
    ids=["reasoning_content", "reasoning", "tags-split", "whitespace-before", "one-char-tags"],
)
def test_endpoint_relays_each_shape(make_client, fresh_upstream, reply):
    fresh_upstream.script(reply)
    events = stream(make_client(), body("q"))
    assert texts(events) == (REASONING, ANSWER)
    names = [n for n, _ in events]
    assert names[0] == "meta" and names[-3:] == ["finish", "usage", "done"]
    first_delta = names.index("delta")
    assert set(names[1:first_delta]) == {"reasoning"} and "reasoning" not in names[first_delta:]
    done = events[-1][1]
    assert done["finish_reason"] == "stop"
    assert 0 <= done["ttft_reasoning_ms"] <= done["ttft_ms"] <= done["elapsed_ms"]
    assert done["reasoning_ms"] == pytest.approx(done["ttft_ms"] - done["ttft_reasoning_ms"], abs=0.2)


def test_endpoint_without_reasoning_sends_no_reasoning_fields(make_client, fresh_upstream):
    fresh_upstream.script(Reply(content="plain", usage={"prompt_tokens": 1, "completion_tokens": 2}))
    events = stream(make_client(), body("q"))
    assert ("usage", {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}) in events
    assert ("finish", {"finish_reason": "stop"}) in events
    assert set(events[-1][1]) == {"finish_reason", "ttft_ms", "elapsed_ms"}


def test_endpoint_close_only_at_the_start(make_client, fresh_upstream):
    fresh_upstream.script(Reply(chunks=["  </th", "ink>", "\n\nAnswer"]))
    assert texts(stream(make_client(), body("q"))) == ("", "Answer")


def test_endpoint_prefilled_think_models(make_client, fresh_upstream):
    """PREFILLED_THINK_MODELS: the template opened the block, only </think> arrives."""
    client = make_client(prefilled_think_models=["think-model"])
    reply = Reply(reasoning="steps", content="answer", reasoning_field="think", think_open=False)
    fresh_upstream.script(reply, reply)
    assert texts(stream(client, body("q", model="think-model-32b"))) == ("steps", "answer")
    assert texts(stream(client, body("q", model="other-model"))) == ("", "steps</think>\n\nanswer")


def test_endpoint_unclosed_think_at_a_normal_end(make_client, fresh_upstream):
    fresh_upstream.script(Reply(reasoning="thinking forever", reasoning_field="think", think_close=False))
    events = stream(make_client(), body("q"))
    assert texts(events) == ("thinking forever", "")
    assert ("finish", {"finish_reason": "stop", "incomplete": True}) in events
    done = events[-1][1]
    assert done["ttft_ms"] is None and done["reasoning_ms"] >= 0


@pytest.mark.parametrize("field", ["reasoning_content", "think"])
def test_endpoint_cut_while_thinking(make_client, fresh_upstream, field):
    fresh_upstream.script(Reply(reasoning="r" * 30, content="never", reasoning_field=field, chunk_size=3,
                                fault="cut_mid_stream", fault_after=5))
    events = stream(make_client(), body("q"))
    reasoning, content = texts(events)
    assert content == "" and reasoning and set(reasoning) == {"r"}
    assert [n for n, _ in events][-2:] == ["error", "done"]
    assert events[-2][1]["code"] == "stream_interrupted"


def test_endpoint_usage_reasoning_tokens(make_client, fresh_upstream):
    fresh_upstream.script(Reply(reasoning="abc", content="d", usage={"prompt_tokens": 5, "completion_tokens": 40}, reasoning_tokens=32))
    events = stream(make_client(), body("q"))
    assert ("usage", {"prompt_tokens": 5, "completion_tokens": 40, "total_tokens": 45, "reasoning_tokens": 32}) in events


def test_endpoint_reasoning_effort_forwarded_only_when_set(make_client, fresh_upstream):
    client = make_client()
    stream(client, body("q", reasoning_effort="high"))
    stream(client, body("q", reasoning_effort=None))
    stream(client, body("q"))
    sent = [r["body"] for r in fresh_upstream.requests]
    assert sent[0]["reasoning_effort"] == "high"
    assert "reasoning_effort" not in sent[1] and "reasoning_effort" not in sent[2]
    for bad in ("extreme", "HIGH", 1, True, ["low"]):
        response = client.post("/api/chat/stream", json=body("q", reasoning_effort=bad))
        assert response.status_code == 422 and "reasoning_effort" in response.get_json()["error"]["message"]
    assert len(fresh_upstream.requests) == 3


def test_reasoning_is_never_sent_back_upstream(make_client, fresh_upstream):
    secret_thought = "PRIVATE-CHAIN-OF-THOUGHT 推理"
    messages = [
        {"role": "user", "content": "q1", "reasoning": secret_thought},
        {"role": "assistant", "content": "a1", "reasoning": secret_thought, "reasoning_content": secret_thought,
         "reasoning_ms": 12, "usage": {"reasoning_tokens": 3}},
        {"role": "user", "content": "q2"},
    ]
    stream(make_client(), {"messages": messages})
    sent = fresh_upstream.requests[-1]["body"]
    assert sent["messages"] == [{"role": "user", "content": "q1"}, {"role": "assistant", "content": "a1"},
                                {"role": "user", "content": "q2"}]
    assert "PRIVATE-CHAIN-OF-THOUGHT" not in json.dumps(sent, ensure_ascii=False)


# --------------------------------------------------------------- the !think magic
@pytest.mark.parametrize(
    "words,incomplete",
    [("", False), ("reasoning_content", False), ("reasoning", False), ("tags", False), ("tags ws", False),
     ("unclosed", True), ("slow 1", False)],
)
def test_think_magic_typed_by_the_user(make_client, fresh_upstream, words, incomplete):
    message = f"!think {words}".strip()
    events = stream(make_client(), body(message, reasoning_effort="low"))
    reasoning, content = texts(events)
    assert reasoning == f"Thinking about {message!r}.\nreasoning_effort: low.\nThe answer is an echo."
    assert content == ("" if incomplete else "Echo: " + message)
    finish = [d for n, d in events if n == "finish"]
    assert finish == [{"finish_reason": "stop", "incomplete": True} if incomplete else {"finish_reason": "stop"}]
    assert [d for n, d in events if n == "usage"][0]["reasoning_tokens"] > 0


def test_think_magic_closeonly_cut_and_unknown_word(make_client, fresh_upstream):
    client = make_client(prefilled_think_models=["test-model"])
    reasoning, content = texts(stream(client, body("!think closeonly")))
    assert reasoning.endswith("reasoning_effort: unset.\nThe answer is an echo.") and content == "Echo: !think closeonly"
    events = stream(client, body("!think cut"))
    assert texts(events)[1] == "" and texts(events)[0] and events[-2][1]["code"] == "stream_interrupted"
    events = stream(client, body("!think loudly"))
    assert [(d["status"], d["code"]) for n, d in events if n == "error"] == [(400, "bad_request")]


# --------------------------------------------------------------- Stop while thinking
@pytest.fixture(scope="module")
def think_app(upstream):
    """`python chat_app.py` with PREFILLED_THINK_MODELS set."""
    app = AppProcess(app_env(upstream, PREFILLED_THINK_MODELS="prefilled-model", **NO_LIMITS))
    yield app
    app.stop()


def test_real_process_stop_while_thinking_closes_upstream(think_app, fresh_upstream):
    fresh_upstream.script(Reply(reasoning="r" * 200, content="never", reasoning_field="think", think_close=False,
                                chunk_size=1, chunk_delay=0.05))
    seconds, received = stream_then_close(think_app.port, fresh_upstream, b"event: reasoning", "think long")
    assert seconds < 1.0
    assert fresh_upstream.closed_events[0]["chunks_sent"] < 200
    assert b"event: delta" not in received


def test_real_process_prefilled_model(think_app, fresh_upstream):
    fresh_upstream.script(Reply(reasoning="steps", content="answer", reasoning_field="think", think_open=False))
    payload = json.dumps(body("q", model="prefilled-model")).encode()
    conn = http.client.HTTPConnection("127.0.0.1", think_app.port, timeout=10)
    conn.request("POST", "/api/chat/stream", body=payload, headers={"Content-Type": "application/json"})
    events = parse_events(conn.getresponse().read())
    assert texts(events) == ("steps", "answer")


# ================================================================ export
REASONING_TRICKY = [
    "plain",
    "line1\n\nline3\n",
    "\n",
    " ",
    ">",
    "> already quoted\n>\n> >",
    "<!-- chat:reasoning-end -->\n<!-- chat:end -->\n<!-- chat:begin role=user -->",
    "```\nunclosed fence",
    "windows\r\nline\rendings\r\n",
    "中文推理 😀👩‍👩‍👧",
    "## Assistant\n# heading\n- Model: fake",
]


@pytest.mark.parametrize("reasoning", REASONING_TRICKY)
def test_export_round_trip_with_reasoning(reasoning):
    messages = [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": "a\n<!-- chat:reasoning -->", "reasoning": reasoning},
        {"role": "user", "content": "<!-- chat:reasoning -->\n> x\n<!-- chat:reasoning-end -->"},
        {"role": "assistant", "content": ""},
    ]
    text = to_markdown(messages, model="m", system_prompt="S")
    assert from_markdown(text) == [{"role": "system", "content": "S"}] + messages
    assert "> **Reasoning**" in text


def test_export_reasoning_block_shape():
    text = to_markdown([{"role": "user", "content": "q"}, {"role": "assistant", "content": "A", "reasoning": "r1\n\nr2"}], model="m")
    assert text.endswith(
        "## Assistant\n\n<!-- chat:reasoning -->\n> **Reasoning**\n>\n> r1\n> \n> r2\n<!-- chat:reasoning-end -->\n\n"
        "<!-- chat:begin role=assistant -->\nA\n<!-- chat:end -->\n"
    )
    # an editor that strips trailing spaces leaves ">" lines: still read back
    assert from_markdown(text.replace("\n> \n", "\n>\n"))[1]["reasoning"] == "r1\n\nr2"


def test_export_without_reasoning_is_unchanged():
    plain = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]
    expected = to_markdown(plain, model="m", exported_at=_WHEN)
    for extra in ({"reasoning": None}, {"reasoning": ""}, {"reasoning": 5}, {"reasoning": {"type": "X"}}):
        messages = [{**plain[0], "reasoning": "a user's is ignored"}, {**plain[1], **extra}]
        assert to_markdown(messages, model="m", exported_at=_WHEN) == expected
    assert "chat:reasoning" not in expected


@pytest.mark.parametrize(
    "text",
    [
        "<!-- chat:reasoning -->\n> **Reasoning**\n>\n> never ends",
        "<!-- chat:reasoning -->\n> **Reasoning**\n>\nno quote\n<!-- chat:reasoning-end -->\n<!-- chat:begin role=assistant -->\na\n<!-- chat:end -->",
        "<!-- chat:reasoning -->\n> r\n<!-- chat:reasoning-end -->\n<!-- chat:begin role=assistant -->\na\n<!-- chat:end -->",
        "<!-- chat:reasoning -->\n> **Reasoning**\n>\n> r\n<!-- chat:reasoning-end -->\n<!-- chat:begin role=user -->\nq\n<!-- chat:end -->",
        "<!-- chat:begin role=user -->\nq\n<!-- chat:end -->\n<!-- chat:reasoning -->\n> **Reasoning**\n>\n> r\n<!-- chat:reasoning-end -->",
    ],
    ids=["unterminated", "unquoted-line", "no-label", "before-user", "no-message-after"],
)
def test_export_parser_rejects_malformed_reasoning(text):
    with pytest.raises(ValueError):
        from_markdown(text)


def test_export_callback_keeps_reasoning_strings_only(fresh_upstream):
    from callbacks.header import export_markdown, export_messages
    from chat_app import create_app
    from tests.conftest import make_settings

    request = {"messages": [
        {"role": "user", "content": "q", "reasoning": "not a reply's"},
        {"role": "assistant", "content": "a", "reasoning": "thought 中文"},
        {"role": "assistant", "content": "b", "reasoning": {"type": "FefferyExecuteJs", "props": {}}},
        {"role": "assistant", "content": "c", "reasoning": ""},
    ]}
    assert export_messages(request) == [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": "a", "reasoning": "thought 中文"},
        {"role": "assistant", "content": "b"},
        {"role": "assistant", "content": "c"},
    ]
    app = create_app(make_settings(fresh_upstream))
    with app.server.app_context():
        result = export_markdown(request)
    content = result["content"]
    if result.get("base64"):
        import base64

        content = base64.b64decode(content).decode("utf-8")
    assert from_markdown(content) == export_messages(request)


_pieces = st.sampled_from(["\n", "> ", ">", "```", "<!-- chat:end -->", "<!-- chat:reasoning -->", "<!-- chat:reasoning-end -->",
                           "<!-- chat:begin role=assistant -->", "## Assistant", "中文", "😀", " ", "\t", "\r", "</think>"])
_text = st.lists(st.one_of(st.text(max_size=8), _pieces), max_size=12).map("".join)
_user = st.fixed_dictionaries({"role": st.just("user"), "content": _text})
_assistant = st.fixed_dictionaries({"role": st.just("assistant"), "content": _text},
                                   optional={"reasoning": _text.filter(bool)})


@settings(max_examples=200, deadline=None)
@given(messages=st.lists(st.one_of(_user, _assistant), min_size=1, max_size=5), system_prompt=_text)
def test_export_round_trip_property_with_reasoning(messages, system_prompt):
    text = to_markdown(messages, model="m", system_prompt=system_prompt)
    expected = ([{"role": "system", "content": system_prompt}] if system_prompt else []) + messages
    assert from_markdown(text) == expected
