"""Tests of the OpenAI-compatible test upstream (tests/upstream.py), driven by
the real ``openai`` SDK (and raw ``httpx2`` where the SDK hides the wire)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx2
import openai
import pytest

from tests.upstream import DIRECTIVES, Reply, UpstreamServer, lorem

pytestmark = pytest.mark.timeout(30)

TRICKY = (
    "Line one\nline two\r\n\n"
    "```python\nprint(`tick` + '```')  # ``` inside a fence\n```\n"
    "中文：你好，世界！ emoji 😀👩‍💻🇫🇷 tab\tend \\n not-a-newline \"quotes\" </s> data: [DONE]"
)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def server():
    with UpstreamServer(api_key="sk-test") as s:
        yield s


@pytest.fixture(autouse=True)
def _reset(server, caplog):
    server.reset()
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        yield
    server.reset()
    # the server's loop must not have logged unhandled exceptions
    errors = [r.getMessage() for r in caplog.records if r.name == "asyncio" and r.levelno >= logging.ERROR]
    assert not errors, errors


def client(server, key="sk-test", **kw) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url, api_key=key, max_retries=0, **kw)


def user(text: str) -> list[dict]:
    return [{"role": "system", "content": "be brief"}, {"role": "user", "content": text}]


def collect(stream) -> tuple[str, list]:
    parts, chunks = [], []
    for ch in stream:
        chunks.append(ch)
        if ch.choices and ch.choices[0].delta.content:
            parts.append(ch.choices[0].delta.content)
    return "".join(parts), chunks


def test_streaming_echo_is_byte_exact(server):
    c = client(server)
    text, chunks = collect(c.chat.completions.create(model="test-model", messages=user(TRICKY), stream=True))
    assert text == "Echo: " + TRICKY
    assert text.encode("utf-8") == ("Echo: " + TRICKY).encode("utf-8")
    first = chunks[0].choices[0]
    assert first.delta.role == "assistant" and first.delta.content == ""
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(ch.object == "chat.completion.chunk" and ch.model == "test-model" for ch in chunks)
    # default chunk size is 3 characters
    assert all(len(ch.choices[0].delta.content) <= 3 for ch in chunks[1:-1])
    req = server.requests[-1]
    assert req["body"]["messages"][-1]["content"] == TRICKY
    assert req["body"]["stream"] is True
    assert req["headers"]["authorization"] == "Bearer sk-test"


def test_non_streaming_echo(server):
    r = client(server).chat.completions.create(model="test-model-2", messages=user(TRICKY))
    assert r.object == "chat.completion"
    assert r.choices[0].message.content == "Echo: " + TRICKY
    assert r.choices[0].finish_reason == "stop"
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens


def test_usage_chunk_with_include_usage(server):
    c = client(server)
    msgs = user("hello world")
    _, chunks = collect(c.chat.completions.create(
        model="test-model", messages=msgs, stream=True, stream_options={"include_usage": True}))
    last = chunks[-1]
    assert last.choices == [] and last.usage is not None
    n_deltas = len("Echo: hello world") // 3 + 1
    chars = len("be brief") + len("hello world")
    assert last.usage.completion_tokens == n_deltas
    assert last.usage.prompt_tokens == chars // 4 + 1
    assert last.usage.total_tokens == last.usage.prompt_tokens + n_deltas
    # without include_usage there is no usage chunk
    _, chunks = collect(c.chat.completions.create(model="test-model", messages=msgs, stream=True))
    assert chunks[-1].choices and chunks[-1].choices[0].finish_reason == "stop"
    assert all(ch.usage is None for ch in chunks)


def raw_deltas(server, payload: dict) -> list[dict]:
    """The ``choices[0].delta`` objects of a streamed reply, as JSON on the wire."""
    with httpx2.Client(timeout=10) as http:
        response = http.post(server.url + "/chat/completions", json=payload, headers={"Authorization": "Bearer sk-test"})
    out = []
    for line in response.text.split("\n"):
        if line.startswith("data: {"):
            chunk = json.loads(line[6:])
            if chunk["choices"]:
                out.append(chunk["choices"][0]["delta"])
    return out


@pytest.mark.parametrize(
    "field,empty",
    [("reasoning_content", None), ("reasoning", "")],
)
def test_reasoning_in_a_delta_field(server, field, empty):
    server.script(Reply(reasoning="abcdef", content="xyz", reasoning_field=field, reasoning_tokens=4))
    deltas = raw_deltas(server, {"model": "m", "messages": user("q"), "stream": True})
    assert deltas[1:3] == [{"content": empty, field: "abc"}, {"content": empty, field: "def"}]
    assert deltas[3] == {"content": "xyz", field: None} and deltas[-1] == {}
    # the SDK keeps the unknown field on its ChoiceDelta
    server.script(Reply(reasoning="abcdef", content="xyz", reasoning_field=field, reasoning_tokens=4))
    _, chunks = collect(client(server).chat.completions.create(
        model="m", messages=user("q"), stream=True, stream_options={"include_usage": True}))
    assert "".join(getattr(ch.choices[0].delta, field, None) or "" for ch in chunks if ch.choices) == "abcdef"
    assert chunks[-1].usage.completion_tokens_details.reasoning_tokens == 4
    assert server.closed_events[-1]["chunks_sent"] == 3  # two reasoning deltas, one content delta


def test_reasoning_as_think_tags_in_the_content(server):
    cases = [
        (Reply(reasoning="why", content="ok", reasoning_field="think"), "<think>why</think>\n\nok"),
        (Reply(reasoning="why", content="ok", reasoning_field="think", think_prefix="\n "), "\n <think>why</think>\n\nok"),
        (Reply(reasoning="why", content="ok", reasoning_field="think", think_open=False), "why</think>\n\nok"),
        (Reply(reasoning="why", content="", reasoning_field="think", think_close=False), "<think>why"),
    ]
    for reply, text in cases:
        server.script(reply)
        deltas = raw_deltas(server, {"model": "m", "messages": user("q"), "stream": True})
        assert "".join(d.get("content") or "" for d in deltas) == text
        assert all(len(d["content"]) <= 3 for d in deltas[1:-1])  # the tags are split across deltas


def test_reasoning_in_a_non_streamed_reply(server):
    server.script(Reply(reasoning="abc", content="xyz", reasoning_field="reasoning_content"),
                  Reply(reasoning="abc", content="xyz", reasoning_field="think"))
    r = client(server).chat.completions.create(model="m", messages=user("q"))
    assert r.choices[0].message.content == "xyz" and r.choices[0].message.reasoning_content == "abc"
    r = client(server).chat.completions.create(model="m", messages=user("q"))
    assert r.choices[0].message.content == "<think>abc</think>\n\nxyz"


def test_think_directive_records_the_request_and_echoes_the_effort(server):
    c = client(server)
    text, chunks = collect(c.chat.completions.create(
        model="m", messages=user("!think reasoning"), stream=True, reasoning_effort="medium"))
    assert text == "Echo: !think reasoning"
    thought = "".join(getattr(ch.choices[0].delta, "reasoning", None) or "" for ch in chunks if ch.choices)
    assert thought == "Thinking about '!think reasoning'.\nreasoning_effort: medium.\nThe answer is an echo."
    assert server.requests[-1]["body"]["reasoning_effort"] == "medium"
    with pytest.raises(openai.BadRequestError, match="Unknown !think word"):
        c.chat.completions.create(model="m", messages=user("!think nonsense"))
    with pytest.raises(ValueError, match="reasoning_field"):
        Reply(reasoning_field="thinking")


def test_scripted_replies_fifo_and_finish_length(server):
    server.script(
        Reply(chunks=["Hel", "lo", ", wor", "ld"], finish_reason="length",
              usage={"prompt_tokens": 5, "completion_tokens": 4}),
        Reply(content="second", finish_reason=None),
    )
    c = client(server)
    text, chunks = collect(c.chat.completions.create(
        model="test-model", messages=user("x"), stream=True, stream_options={"include_usage": True}))
    assert text == "Hello, world"
    assert [ch.choices[0].delta.content for ch in chunks[1:5]] == ["Hel", "lo", ", wor", "ld"]
    assert chunks[-2].choices[0].finish_reason == "length"
    assert chunks[-1].usage.total_tokens == 9
    text, chunks = collect(c.chat.completions.create(model="test-model", messages=user("x"), stream=True))
    assert text == "second"
    assert all(ch.choices[0].finish_reason is None for ch in chunks)
    assert server.pending_replies == 0
    # queue empty again -> echo
    text, _ = collect(c.chat.completions.create(model="test-model", messages=user("x"), stream=True))
    assert text == "Echo: x"


def test_429_rate_limit_with_retry_after(server):
    server.script(Reply(fault="http_error", status=429, headers={"Retry-After": "7"}))
    with pytest.raises(openai.RateLimitError) as ei:
        client(server).chat.completions.create(model="test-model", messages=user("x"), stream=True)
    e = ei.value
    assert e.status_code == 429
    assert e.response.headers["retry-after"] == "7"
    assert e.code == "rate_limit_exceeded"
    assert server.closed_events[-1]["status"] == 429


def test_401_wrong_key(server):
    with pytest.raises(openai.AuthenticationError) as ei:
        client(server, key="sk-wrong").chat.completions.create(model="test-model", messages=user("x"))
    assert ei.value.status_code == 401
    assert ei.value.body["code"] == "invalid_api_key"
    assert server.requests[-1]["headers"]["Authorization"] == "Bearer sk-wrong"
    with pytest.raises(openai.AuthenticationError):
        client(server, key="sk-wrong").models.list()
    ids = [m.id for m in client(server).models.list()]
    assert ids == ["test-model", "test-model-2"]


def test_cut_stream_raises_in_iteration(server):
    server.script(Reply(content="abcdefghijklmnop", fault="cut_mid_stream", fault_after=2))
    got = []
    with pytest.raises(openai.APIConnectionError):
        for ch in client(server).chat.completions.create(model="test-model", messages=user("x"), stream=True):
            if ch.choices and ch.choices[0].delta.content:
                got.append(ch.choices[0].delta.content)
    assert got == ["abc", "def"]
    ev = server.wait_closed(1)[-1]
    assert ev["reason"] == "cut" and ev["chunks_sent"] == 2


def test_malformed_chunk_raises(server):
    server.script(Reply(content="abcdefghij", fault="malformed_chunk"))
    with pytest.raises(json.JSONDecodeError):
        collect(client(server).chat.completions.create(model="test-model", messages=user("x"), stream=True))


def test_fault_directives(server):
    c = client(server, timeout=1.0)
    with pytest.raises(openai.NotFoundError) as ei:
        c.chat.completions.create(model="nope", messages=user("!fault 404"), stream=True)
    assert ei.value.code == "model_not_found" and "nope" in ei.value.message
    with pytest.raises(openai.RateLimitError) as ei:
        c.chat.completions.create(model="test-model", messages=user("!fault 429 12"), stream=True)
    assert ei.value.response.headers["Retry-After"] == "12"
    for code, exc in [("401", openai.AuthenticationError), ("403", openai.PermissionDeniedError),
                      ("500", openai.InternalServerError), ("503", openai.InternalServerError)]:
        with pytest.raises(exc) as ei:
            c.chat.completions.create(model="test-model", messages=user(f"!fault {code}"))
        assert ei.value.status_code == int(code)
    with pytest.raises(openai.APIConnectionError):
        collect(c.chat.completions.create(model="test-model", messages=user("!fault cut"), stream=True))
    text, chunks = collect(c.chat.completions.create(model="test-model", messages=user("!fault nofinish"), stream=True))
    assert text == "Echo: !fault nofinish"
    assert all(ch.choices[0].finish_reason is None for ch in chunks)
    text, _ = collect(c.chat.completions.create(model="test-model", messages=user("!fault long 5000"), stream=True))
    assert len(text) == 5000 and text == lorem(5000) and "```python\n" in text and "\n\n" in text
    t0 = time.monotonic()
    text, _ = collect(c.chat.completions.create(model="test-model", messages=user("!fault slow 30"), stream=True))
    assert text == "Echo: !fault slow 30" and time.monotonic() - t0 >= 6 * 0.03
    with pytest.raises(openai.BadRequestError):
        c.chat.completions.create(model="test-model", messages=user("!fault bogus"))
    # hang / stall / hangheaders: the client's read timeout fires, the server sees the disconnect
    for directive in ("hang", "stall", "hangheaders"):
        server.reset()
        hc = client(server, timeout=httpx2.Timeout(5.0, read=0.3))
        with pytest.raises(openai.APITimeoutError):
            collect(hc.chat.completions.create(model="test-model", messages=user(f"!fault {directive}"), stream=True))
        ev = server.wait_closed(1, timeout=2)
        assert ev and ev[-1]["reason"] == "client_disconnected", directive
        assert ev[-1]["chunks_sent"] == (2 if directive == "stall" else 0)
    assert set(DIRECTIVES) >= {"401", "403", "404", "429", "500", "503", "hang", "stall", "cut",
                               "malformed", "nofinish", "slow", "long"}


def test_first_token_delay_headers_immediate(server):
    server.script(Reply(content="late", first_token_delay=0.6))
    with httpx2.Client(timeout=5) as h:
        t0 = time.monotonic()
        with h.stream("POST", server.url + "/chat/completions", headers={"Authorization": "Bearer sk-test"},
                      json={"model": "test-model", "messages": user("x"), "stream": True}) as r:
            t_headers = time.monotonic() - t0
            assert r.status_code == 200
            assert r.headers["content-type"].startswith("text/event-stream")
            lines = [ln for ln in r.iter_lines() if ln]
            t_total = time.monotonic() - t0
    assert t_headers < 0.4 and t_total >= 0.6
    assert lines[-1] == "data: [DONE]"
    assert all(ln.startswith("data: ") for ln in lines)


def test_client_stop_seen_as_disconnect_quickly(server):
    server.script(Reply(content="x" * 300, chunk_delay=0.2))
    stream = client(server).chat.completions.create(model="test-model", messages=user("x"), stream=True)
    it = iter(stream)
    next(it), next(it)  # role chunk + first delta
    assert server.open_streams == 1
    t_abort = time.monotonic()
    stream.close()
    ev = server.wait_closed(1, timeout=2)
    assert ev, "no closed event"
    assert ev[0]["reason"] == "client_disconnected"
    assert ev[0]["t_closed"] - t_abort < 0.5
    assert ev[0]["chunks_sent"] < 100
    assert server.wait_for(lambda s: s.open_streams == 0, 1)


def test_200_concurrent_streams():
    n = 200
    with UpstreamServer(default_chunk_delay=0.02, default_first_token_delay=0.05) as s:
        async def one(h: httpx2.AsyncClient, i: int) -> str:
            body = {"model": "test-model", "messages": [{"role": "user", "content": f"stream {i:03d} ok"}],
                    "stream": True}
            parts = []
            async with h.stream("POST", s.url + "/chat/completions", json=body) as r:
                assert r.status_code == 200
                async for line in r.aiter_lines():
                    if line.startswith("data: ") and line != "data: [DONE]":
                        ch = json.loads(line[6:])
                        parts.append(ch["choices"][0]["delta"].get("content") or "")
            return "".join(parts)

        async def run() -> list[str]:
            limits = httpx2.Limits(max_connections=n + 10, max_keepalive_connections=n + 10)
            async with httpx2.AsyncClient(limits=limits, timeout=20) as h:
                return await asyncio.gather(*(one(h, i) for i in range(n)))

        # Run the client loop in its own thread: a session-wide Playwright browser
        # (sync API) may already own a running loop in this thread.
        box: dict = {}
        worker = threading.Thread(target=lambda: box.update(results=asyncio.run(run())))
        t0 = time.monotonic()
        worker.start()
        worker.join(60)
        results = box.get("results")
        elapsed = time.monotonic() - t0
        assert results == [f"Echo: stream {i:03d} ok" for i in range(n)]
        assert s.max_open_streams >= n * 3 // 4  # they really were concurrent
        assert elapsed < 15
        ev = s.wait_closed(n, timeout=5)
        assert len(ev) == n and all(e["reason"] == "completed" for e in ev)
        assert s.open_streams == 0


def test_server_stop_closes_open_streams():
    s = UpstreamServer().start()
    s.script(Reply(content="abc", fault="hang_before_first_token"))
    c = openai.OpenAI(base_url=s.url, api_key="k", max_retries=0, timeout=5)
    stream = c.chat.completions.create(model="test-model", messages=user("x"), stream=True)
    assert s.wait_for(lambda x: x.open_streams == 1, 2)
    s.stop()
    with pytest.raises(openai.APIConnectionError):
        collect(stream)
    assert s.closed_events[-1]["reason"] == "server_stopped"


def test_cli_runs_in_foreground():
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.upstream", "--port", "0", "--api-key", "K", "--chunk-size", "5"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("upstream listening on http://127.0.0.1:") and line.endswith("/v1")
        url = line.split()[-1]
        c = openai.OpenAI(base_url=url, api_key="K", max_retries=0, timeout=5)
        text, chunks = collect(c.chat.completions.create(model="test-model", messages=user("hello"), stream=True))
        assert text == "Echo: hello"
        assert chunks[1].choices[0].delta.content == "Echo:"
    finally:
        proc.terminate()
        proc.wait(5)


def test_reset_isolates_in_flight_responses(server):
    server.script(Reply(content="x" * 60, chunk_delay=0.1))
    stream = client(server).chat.completions.create(model="test-model", messages=user("x"), stream=True)
    next(iter(stream))
    server.reset()
    assert server.requests == [] and server.open_streams == 1
    stream.close()
    assert server.wait_for(lambda s: s.open_streams == 0, 2)
    assert server.closed_events == []  # the pre-reset request records nothing
    text, _ = collect(client(server).chat.completions.create(model="test-model", messages=user("y"), stream=True))
    assert text == "Echo: y"
    assert [e["request_index"] for e in server.wait_closed(1)] == [0]
