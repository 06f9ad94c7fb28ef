"""The relay of issue 16: the upstream's SSE parsed by the app (chatcore.sse.SSEDecoder,
chatcore.client._Reply over orjson) instead of the SDK's typed chunks, and the
coalescing of chatserver/stream_api.py (the events of one upstream read in one write).
"""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatcore.client import ClientOptions, StreamEvent, _Malformed, _Reply, _StreamError, get_client, stream_chat, usage_data
from chatcore.sse import SSEDecoder, parse_events
from tests.conftest import TEST_KEY
from tests.upstream import Reply

STREAM = (
    b'data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}\n\n'
    b": keep-alive comment\n\n"
    b'data: {"choices":[{"index":0,"delta":{"content":"a\\nb \xe4\xb8\xad \xf0\x9f\x98\x80"},"finish_reason":null}]}\r\n\r\n'
    b'event: message\rdata: {"choices":[{"index":0,"delta":{"content":"c"},\rdata: "finish_reason":null}]}\r\r'
    b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}\n\n'
    b'data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}\n\n'
    b"data: [DONE]\n\n"
)


def decode_all(pieces: list[bytes]) -> list[tuple[str, bytes]]:
    """Every event of ``pieces`` fed to one decoder in order."""
    decoder = SSEDecoder()
    return [event for piece in pieces for event in decoder.feed(piece)]


def test_decoder_events_and_line_endings():
    events = decode_all([STREAM])
    assert [name for name, _ in events] == ["", "", "message", "", "", ""]
    assert events[2][1] == b'{"choices":[{"index":0,"delta":{"content":"c"},\n"finish_reason":null}]}'
    assert events[-1] == ("", b"[DONE]")
    assert json.loads(events[1][1])["choices"][0]["delta"]["content"] == "a\nb 中 😀"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=12))
def test_decoder_does_not_depend_on_where_the_bytes_are_split(cuts):
    points = sorted(set(cuts))
    pieces = [STREAM[a:b] for a, b in zip([0, *points], [*points, len(STREAM)])]
    assert decode_all(pieces) == decode_all([STREAM])


def test_decoder_refuses_an_endless_line():
    decoder = SSEDecoder(max_line=1000)
    decoder.feed(b"data: " + b"x" * 900)
    with pytest.raises(ValueError):
        decoder.feed(b"x" * 200)


def parse(*payloads) -> list[StreamEvent]:
    """``_Reply.chunk`` over JSON-encoded ``payloads``."""
    reply, out = _Reply(False), []
    for payload in payloads:
        reply.chunk(payload if isinstance(payload, bytes) else json.dumps(payload).encode(), out)
    return out


def test_chunk_shapes_become_typed_events():
    events = parse(
        {"choices": [{"delta": {"content": None, "reasoning_content": "think"}}]},
        {"choices": [{"delta": {"content": "", "reasoning": "more"}}]},
        {"choices": [{"delta": {"content": "answer"}, "finish_reason": None}]},
        {"choices": [{"delta": {}, "finish_reason": "length"}], "usage": None},
        {"choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3,
                                  "completion_tokens_details": {"reasoning_tokens": 1}}},
        {"id": "x"},  # no choices, no usage: nothing
    )
    assert [(e.name, e.data) for e in events] == [
        ("reasoning", {"content": "think"}),
        ("reasoning", {"content": "more"}),
        ("delta", {"content": "answer"}),
        ("finish", {"finish_reason": "length"}),
        ("usage", {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3, "reasoning_tokens": 1}),
    ]


@pytest.mark.parametrize(
    "payload",
    [
        b"{not json",
        b"[1, 2]",
        b'"text"',
        {"choices": "oops"},
        {"choices": [1]},
        {"choices": [{"delta": "text"}]},
        {"choices": [{"delta": {"content": 5}}]},
        {"choices": [{"delta": {"content": ["part"]}}]},
        {"choices": [{"delta": {}, "finish_reason": 1}]},
        {"choices": [], "usage": "none"},
    ],
)
def test_unexpected_shapes_are_malformed(payload):
    with pytest.raises(_Malformed):
        parse(payload)


def test_an_error_object_is_a_stream_error():
    with pytest.raises(_StreamError) as caught:
        parse({"error": {"code": 502, "message": "Provider returned error"}})
    assert caught.value.args[0]["code"] == 502


def test_usage_data_reads_dicts_and_sdk_objects_alike():
    from openai.types import CompletionUsage

    raw = {"prompt_tokens": 4, "completion_tokens": 6, "total_tokens": 10,
           "completion_tokens_details": {"reasoning_tokens": 2}}
    assert usage_data(raw) == usage_data(CompletionUsage.model_validate(raw)) == {
        "prompt_tokens": 4, "completion_tokens": 6, "total_tokens": 10, "reasoning_tokens": 2}
    assert usage_data({"prompt_tokens": "4", "completion_tokens": -1, "total_tokens": True}) == {
        "prompt_tokens": None, "completion_tokens": None, "total_tokens": None}


def test_stream_chat_keeps_each_upstream_delta(fresh_upstream):
    chunks = ["a", "\n", "```", "中文", "😀", " "]
    fresh_upstream.script(Reply(chunks=chunks))
    client = get_client(ClientOptions(base_url=fresh_upstream.url, timeout=2.0, max_retries=0))
    events = list(stream_chat(client, api_key=TEST_KEY, model="m", messages=[{"role": "user", "content": "q"}]))
    assert [e.data["content"] for e in events if e.name == "delta"] == chunks


# ------------------------------------------------------------------ coalescing
def writes(client, payload: dict) -> list[tuple[float, bytes]]:
    """What the endpoint's generator yields (one item = one write), with arrival times."""
    response = client.post("/api/chat/stream", json=payload, buffered=False)
    out = []
    for item in response.response:
        out.append((time.monotonic(), item))
    response.close()
    return out


def test_a_burst_of_deltas_goes_out_in_few_writes(make_client, fresh_upstream):
    chunks = [f"d{i} " for i in range(200)]
    fresh_upstream.script(Reply(chunks=chunks, first_token_delay=0.05))
    items = writes(make_client(), {"messages": [{"role": "user", "content": "q"}]})
    body = b"".join(item for _, item in items)
    assert [d["content"] for n, d in parse_events(body) if n == "delta"] == chunks  # nothing lost, merged or reordered
    delta_writes = [item for _, item in items if b"event: delta" in item]
    assert len(delta_writes) < len(chunks) / 4, len(delta_writes)  # several deltas per write
    for _, item in items:  # every write is whole events
        assert item.endswith(b"\n\n") and parse_events(item)


def test_a_slow_stream_is_never_held_back(make_client, fresh_upstream):
    fresh_upstream.script(Reply(chunks=["one", "two", "three"], chunk_delay=0.3))
    items = writes(make_client(), {"messages": [{"role": "user", "content": "q"}]})
    delta_writes = [(at, item) for at, item in items if b"event: delta" in item]
    assert len(delta_writes) == 3  # each delta written when it came, not held for the next
    assert delta_writes[1][0] - delta_writes[0][0] > 0.2 and delta_writes[2][0] - delta_writes[1][0] > 0.2


# ------------------------------------------------------------------ the request itself
PIXEL = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


def long_payload(turns: int) -> dict:
    """A request body of ``turns`` earlier exchanges, sampling parameters, a system prompt
    and an image in the newest message."""
    messages = []
    for i in range(turns):
        messages += [{"role": "user", "content": f"question {i} " * 20}, {"role": "assistant", "content": f"answer {i} " * 40}]
    messages.append({"role": "user", "content": [{"type": "text", "text": "what is this?"},
                                                 {"type": "image_url", "image_url": {"url": PIXEL}}]})
    return {"messages": messages, "system_prompt": "Be brief.", "temperature": 0.5, "top_p": 0.9,
            "max_tokens": 200, "presence_penalty": 0.1, "reasoning_effort": "low"}


def test_the_upstream_gets_the_body_the_sdk_would_send(make_client, fresh_upstream):
    """The body goes out through ``client.post`` as the app built it; the SDK's own
    ``chat.completions.create`` would have passed it through its ``maybe_transform`` walk
    first, which leaves such a body as it is."""
    from openai._utils import maybe_transform
    from openai.types.chat.completion_create_params import CompletionCreateParamsStreaming

    client = make_client(model_capabilities={"test-model": {"vision": True, "reasoning": True}})
    items = writes(client, long_payload(3))
    assert b"event: done" in b"".join(item for _, item in items)
    sent = [r["body"] for r in fresh_upstream.requests if r["path"].endswith("/chat/completions")][-1]
    assert sent["messages"][-1]["content"][1] == {"type": "image_url", "image_url": {"url": PIXEL}}
    assert sent["temperature"] == 0.5 and sent["reasoning_effort"] == "low" and sent["stream"] is True
    assert maybe_transform(sent, CompletionCreateParamsStreaming) == sent


def test_a_long_conversation_costs_the_worker_little_cpu_before_the_request(make_client, fresh_upstream):
    """201 messages: the app's own CPU in the request's thread (validation, trimming,
    the request) stays far below what it was with the SDK's typed walk of the body (about
    50 ms on a 2-core machine, 8.5 ms without it): a worker serving other streams is not held up."""
    client = make_client(model_capabilities={"test-model": {"vision": True, "reasoning": True}})
    payload = long_payload(100)
    writes(client, payload)  # warm-up (imports, first-use caches)
    costs = []
    for _ in range(3):
        fresh_upstream.script(Reply(chunks=["ok"]))
        started = time.thread_time()
        items = writes(client, payload)
        costs.append(time.thread_time() - started)
        assert b"event: done" in b"".join(item for _, item in items)
    assert min(costs) < 0.025, costs
