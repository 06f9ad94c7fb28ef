"""``CHAT_BACKEND``: the adapter (``chatcore.backend``), loading, and the endpoints with a backend.

Unit tests call ``stream_backend`` directly with small generators (strings, dicts,
wrong types, exceptions, async generators, close on Stop); a subprocess checks
that under gevent a blocking backend runs off the event loop. HTTP tests use the
Flask test client of ``create_app`` with ``tests.backend_fixture:reply``.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time

import pytest

from chatcore.backend import Backend, BackendLoadError, load_backend, stream_backend, to_event
from chatcore.context import estimate_tokens, message_tokens
from chatcore.errors import ChatError
from chatcore.i18n import TEXTS
from chatcore.messages import CONTINUE_INSTRUCTION
from chatcore.sse import parse_events
from config import SettingsError
from tests import backend_fixture
from tests.conftest import NO_LIMITS, ROOT, free_port, make_settings

MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello 世界"}]


def run(function, messages=MESSAGES, settings=None, locale=None) -> list[tuple[str, dict]]:
    """``(name, data)`` of every event of ``function`` through the adapter."""
    backend = Backend(spec="tests:function", function=function)
    return [(e.name, e.data) for e in stream_backend(backend, messages, settings or {"model": "m"}, locale=locale)]


def estimated_usage(messages, reply: str) -> dict:
    """The usage the adapter estimates with chatcore.context."""
    prompt = sum(message_tokens(m) for m in messages)
    completion = estimate_tokens(reply)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


class Tracked:
    """A sync backend that yields ``items`` and records how its generator ended.

    It keeps a reference to its generator, so only an explicit close (not garbage
    collection of a dropped generator) can run the generator's ``finally``.
    """

    def __init__(self, *items, delay: float = 0.0):
        self.items, self.delay = items, delay
        self.yielded = 0
        self.ended: str | None = None  # "finished" | "closed" | None (still open)
        self.generator = None

    def __call__(self, messages, settings):
        self.generator = self._generate()
        return self.generator

    def _generate(self):
        self.ended = "closed"
        try:
            for item in self.items:
                yield item
                self.yielded += 1
                time.sleep(self.delay)
            self.ended = "finished"
        finally:
            self.finally_ran = True


# ------------------------------------------------------------------ strings and dicts
def test_strings_become_deltas_then_stop_and_estimated_usage():
    pieces = ["Hello", ", ", "", "世界 😀", "\n```py\nx = 1\n```\n"]
    events = run(lambda m, s: iter(pieces))
    assert events == [
        *[("delta", {"content": p}) for p in pieces if p],
        ("finish", {"finish_reason": "stop"}),
        ("usage", estimated_usage(MESSAGES, "".join(pieces))),
    ]


def test_event_dicts_reasoning_apart_and_reported_usage_and_finish_sent_last():
    def backend(messages, settings):
        yield {"type": "usage", "prompt_tokens": 1, "completion_tokens": 1}  # replaced by the later one
        yield {"type": "reasoning", "content": "thinking…", "extra": "ignored"}
        yield {"type": "finish", "finish_reason": "length"}
        yield {"type": "delta", "content": "A"}
        yield "B"
        yield {"type": "usage", "prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 12}

    assert run(backend) == [
        ("reasoning", {"content": "thinking…"}),
        ("delta", {"content": "A"}),
        ("delta", {"content": "B"}),
        ("finish", {"finish_reason": "length"}),
        ("usage", {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 12}),
    ]


def test_estimated_usage_counts_reasoning_and_a_list_is_accepted():
    events = run(lambda m, s: [{"type": "reasoning", "content": "思考"}, "answer"])
    assert events[-1] == ("usage", estimated_usage(MESSAGES, "思考answer"))
    assert [n for n, _ in events] == ["reasoning", "delta", "finish", "usage"]


def test_backend_gets_copies_of_messages_and_settings_and_runs_in_a_worker_thread():
    seen = {}

    def backend(messages, settings):
        seen.update(messages=[dict(m) for m in messages], settings=dict(settings), thread=threading.get_ident())
        messages.clear()
        settings["model"] = "changed"
        yield "ok"

    messages = [dict(m) for m in MESSAGES]
    settings = {"model": "m", "temperature": 0.5}
    run(backend, messages, settings)
    assert seen["messages"] == MESSAGES and seen["settings"] == {"model": "m", "temperature": 0.5}
    assert messages == MESSAGES and settings["model"] == "m"
    assert seen["thread"] != threading.get_ident()


# ------------------------------------------------------------------ wrong types
WRONG = [
    (42, "a value of type int"),
    (None, "a value of type NoneType"),
    (b"bytes", "a value of type bytes"),
    ({"content": "x"}, "a dict without 'type'"),
    ({"type": "image", "url": "x"}, "a dict with type 'image'"),
    ({"type": "delta", "content": 5}, "a delta whose content is not a string"),
    ({"type": "reasoning"}, "a reasoning whose content is not a string"),
    ({"type": "usage", "prompt_tokens": 1}, "a usage without"),
    ({"type": "usage", "prompt_tokens": True, "completion_tokens": 1}, "a usage without"),
    ({"type": "usage", "prompt_tokens": -1, "completion_tokens": 1}, "a usage without"),
    ({"type": "usage", "prompt_tokens": 1, "completion_tokens": 1, "total_tokens": "2"}, "total_tokens"),
    ({"type": "finish", "finish_reason": ""}, "finish_reason"),
    ({"type": "finish", "finish_reason": "x" * 51}, "finish_reason"),
]


@pytest.mark.parametrize("value,detail", WRONG, ids=[d for _, d in WRONG])
def test_a_wrong_value_ends_the_reply_with_a_localized_error_and_closes_the_backend(value, detail):
    backend = Tracked("partial ", value, "never sent")
    events = run(backend, locale="zh-CN")
    assert events[0] == ("delta", {"content": "partial "})
    assert [n for n, _ in events] == ["delta", "error"]
    error = events[1][1]
    assert (error["status"], error["code"]) == (502, "backend_bad_value")
    assert detail in error["message"] and "聊天后端" in error["message"]
    assert "never sent" not in error["message"]
    assert backend.ended == "closed" and backend.finally_ran and backend.yielded == 1


@pytest.mark.parametrize(
    "result,detail",
    [("just a string", "a value of type str instead of a generator"), (None, "NoneType instead"), ({"type": "delta"}, "a dict")],
)
def test_a_function_that_returns_no_iterator_is_a_bad_value(result, detail):
    (name, error), = run(lambda m, s: result, locale="en-US")
    assert name == "error" and error["code"] == "backend_bad_value" and detail in error["message"]
    assert error["message"].startswith(TEXTS["backend_bad_value"]["en-US"].split("{")[0])


def test_an_async_function_that_does_not_yield_is_a_bad_value_without_warning(recwarn):
    async def coroutine(messages, settings):
        return "text"

    (name, error), = run(coroutine)
    assert error["code"] == "backend_bad_value" and "coroutine" in error["message"]
    assert not [w for w in recwarn if "never awaited" in str(w.message)]


def test_to_event_shapes():
    assert to_event("") is None and to_event({"type": "delta", "content": ""}) is None
    assert to_event({"type": "usage", "prompt_tokens": 2, "completion_tokens": 3}).data == {
        "prompt_tokens": 2, "completion_tokens": 3, "total_tokens": 5
    }


# ------------------------------------------------------------------ exceptions
class SecretError(Exception):
    pass


def test_an_exception_mid_reply_is_one_error_event_after_the_partial_reply(caplog):
    def backend(messages, settings):
        yield "first part"
        raise SecretError("details that must not reach the page: sk-abc123456789")

    events = run(backend, locale="en-US")
    assert events[0] == ("delta", {"content": "first part"})
    name, error = events[1]
    assert name == "error" and len(events) == 2
    assert (error["status"], error["code"]) == (502, "backend_error")
    assert "SecretError" in error["message"] and "sk-abc" not in error["message"]
    assert "SecretError" in caplog.text  # the traceback is in the server log


def test_an_exception_when_called_is_an_error_event():
    def backend(messages, settings):
        raise ValueError("no")

    assert run(backend) == [("error", {"status": 502, "code": "backend_error", "message": TEXTS["backend_error"]["en-US"].format(detail="ValueError"), "retry_after": None})]


def test_a_chat_error_from_the_backend_is_passed_on():
    def backend(messages, settings):
        yield "x"
        raise ChatError(status=429, code="quota", message="Daily quota used up.", retry_after=60)

    assert run(backend)[-1] == ("error", {"status": 429, "code": "quota", "message": "Daily quota used up.", "retry_after": 60})


# ------------------------------------------------------------------ async generators
def test_async_generator_items_exceptions_and_its_own_loop():
    loops = []

    async def backend(messages, settings):
        loops.append(asyncio.get_running_loop())
        await asyncio.sleep(0.01)
        yield "a"
        yield {"type": "reasoning", "content": "r"}
        await asyncio.sleep(0.01)
        yield {"type": "finish", "finish_reason": "stop"}
        yield "b"

    assert [d for _, d in run(backend)][:3] == [{"content": "a"}, {"content": "r"}, {"content": "b"}]

    async def failing(messages, settings):
        yield "partial"
        raise RuntimeError("boom")

    events = run(failing)
    assert events[0] == ("delta", {"content": "partial"}) and events[1][1]["code"] == "backend_error"
    assert loops and loops[0].is_closed()


def test_closing_an_async_generator_runs_its_finally():
    ended, kept = [], []

    async def generate():
        try:
            for index in range(100):
                await asyncio.sleep(0)
                yield f"w{index} "
            ended.append("finished")
        finally:
            ended.append("finally")

    def backend(messages, settings):
        kept.append(generate())  # a reference: no close by garbage collection
        return kept[-1]

    events = stream_backend(Backend("t:b", backend), MESSAGES, {"model": "m"})
    assert next(events).data == {"content": "w0 "} and next(events).data == {"content": "w1 "}
    events.close()
    assert ended == ["finally"]


# ------------------------------------------------------------------ Stop
def test_stop_closes_the_backend_at_its_next_yield_and_its_finally_runs():
    backend = Tracked(*[f"w{i} " for i in range(100)])
    events = stream_backend(Backend("t:b", backend), MESSAGES, {"model": "m"})
    assert [next(events).data["content"] for _ in range(3)] == ["w0 ", "w1 ", "w2 "]
    assert backend.ended == "closed" and not hasattr(backend, "finally_ran")
    events.close()
    assert backend.finally_ran and backend.ended == "closed"
    assert backend.yielded == 2  # not advanced past the last piece the client took


def test_a_generator_closed_before_its_first_step_never_calls_the_backend():
    calls = []
    events = stream_backend(Backend("t:b", lambda m, s: calls.append(1) or iter(["x"])), MESSAGES, {})
    events.close()
    assert calls == []


GEVENT_SCRIPT = r"""
import sys
sys.modules["trio"] = None  # as gunicorn.conf.py's post_fork does for gevent workers
from gevent import monkey
monkey.patch_all()
import asyncio, json
import gevent
from chatcore.backend import Backend, stream_backend

# an unpatched lock: waiting on it blocks the whole thread, like a C call
release = monkey.get_original("_thread", "allocate_lock")()
release.acquire()

def blocking(messages, settings):
    yield "waiting "
    # released by a greenlet: only possible if the event loop keeps running meanwhile
    if release.acquire(timeout=10):
        release.release()  # for the other backend
        yield "released"
    else:
        yield "timed out"

async def agen(messages, settings):
    for index in range(3):
        await asyncio.sleep(0.01)
        yield f"a{index}"

def releaser():
    for _ in range(5):
        gevent.sleep(0.02)
    release.release()

def consume(function):
    events = stream_backend(Backend("t:b", function), [{"role": "user", "content": "q"}], {"model": "m"})
    return "".join(e.data["content"] for e in events if e.name == "delta")

jobs = [gevent.spawn(consume, blocking), gevent.spawn(consume, blocking), gevent.spawn(consume, agen), gevent.spawn(releaser)]
gevent.joinall(jobs, raise_error=True)
print(json.dumps([job.value for job in jobs[:3]]))
"""


def test_under_gevent_a_blocking_backend_never_stalls_the_event_loop():
    result = subprocess.run(
        [sys.executable, "-c", GEVENT_SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    # two backends blocked their threads at once; a greenlet still ran and released them
    assert json.loads(result.stdout.strip().splitlines()[-1]) == ["waiting released", "waiting released", "a0a1a2"]


# ------------------------------------------------------------------ loading
def test_load_backend_with_declared_models():
    backend = load_backend(" tests.backend_fixture:reply ")
    assert backend.function is backend_fixture.reply and backend.models == ("fixture-a", "fixture-b")
    assert backend.offered_models("gpt-4o-mini", False) == ("fixture-a", ["fixture-b"])
    assert backend.offered_models("fixture-b", True) == ("fixture-b", ["fixture-a"])
    assert load_backend("examples.echo_backend:echo").models == ("echo",)
    assert load_backend("examples.retrieval_backend:answer").models == ("retrieval",)
    # no models declared: OPENAI_MODEL when it was set, else the function's name
    # (a lambda's "<lambda>" is no model name: the spec's last part instead)
    plain = Backend("m:answer", lambda m, s: iter(()))
    assert plain.offered_models("my-model", True) == ("my-model", [])
    assert plain.offered_models("gpt-4o-mini", False) == ("answer", [])


def test_a_backend_without_models_is_offered_under_its_name():
    backend = Backend("tests.x:answer", backend_fixture.read_log)
    assert backend.offered_models("gpt-4o-mini", False) == ("read_log", [])


@pytest.mark.parametrize(
    "spec,fragment",
    [
        ("tests.no_such_module_here:f", "does not import (ModuleNotFoundError"),
        ("tests.backend_fixture:missing", "has no attribute 'missing'"),
        ("tests.backend_fixture:NOT_CALLABLE", "is not callable (it is a int)"),
        ("no colon", "package.module:function"),
    ],
)
def test_load_backend_errors(spec, fragment):
    with pytest.raises(BackendLoadError) as info:
        load_backend(spec)
    assert fragment in str(info.value)


def test_a_module_that_fails_while_importing_and_bad_models(tmp_path, monkeypatch):
    (tmp_path / "broken_backend_mod.py").write_text("raise RuntimeError('bad import')\n")
    (tmp_path / "bad_models_mod.py").write_text("def f(m, s):\n    yield 'x'\nf.models = ['ok', 3]\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(BackendLoadError, match="does not import .RuntimeError: bad import"):
        load_backend("broken_backend_mod:f")
    with pytest.raises(BackendLoadError, match="models must be a list of model names"):
        load_backend("bad_models_mod:f")


def test_chat_backend_setting_is_checked_and_create_app_names_it():
    with pytest.raises(Exception) as info:
        make_settings(chat_backend="not a spec")
    assert "package.module:function" in str(info.value)
    from chat_app import create_app

    with pytest.raises(SettingsError) as info:
        create_app(make_settings(chat_backend="tests.backend_fixture:missing"))
    assert "CHAT_BACKEND" in str(info.value) and "missing" in str(info.value)


def test_start_up_stops_with_a_message_naming_chat_backend():
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env.update(CHAT_BACKEND="tests.no_such_backend:reply", PORT=str(free_port()))
    result = subprocess.run([sys.executable, "chat_app.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Invalid configuration" in output and "CHAT_BACKEND:" in output and "no_such_backend" in output
    assert "Traceback" not in output


# ------------------------------------------------------------------ HTTP (Flask test client)
@pytest.fixture
def backend_client(fresh_upstream):
    """Factory: a test client of an app with CHAT_BACKEND=tests.backend_fixture:reply and no API key."""
    from chat_app import create_app

    backend_fixture.RECORDS.clear()

    def factory(**overrides):
        values = {"openai_api_key": None, "chat_backend": "tests.backend_fixture:reply", **{k.lower(): v for k, v in NO_LIMITS.items()}}
        values.update(overrides)
        return create_app(make_settings(fresh_upstream, **values)).server.test_client()

    return factory


def calls() -> list[dict]:
    """The fixture's recorded calls."""
    return [r for r in backend_fixture.RECORDS if r["event"] == "call"]


def test_http_stream_without_a_key_sends_what_would_go_upstream(backend_client, fresh_upstream):
    client = backend_client(system_prompt="Operator prompt.")
    turns = [
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "Reply to: first"},
        {"role": "user", "content": "second 问题"},
    ]
    response = client.post(
        "/api/chat/stream",
        json={"messages": turns, "temperature": 0.3, "max_tokens": 50, "system_prompt": "User prompt.", "api_key": "sk-user-key-1234567890"},
    )
    assert response.status_code == 200 and response.headers["X-Accel-Buffering"] == "no"
    events = parse_events(response.get_data())
    names = [n for n, _ in events]
    assert names == ["meta", "delta", "delta", "delta", "finish", "usage", "done"]
    assert events[0][1]["model"] == "fixture-a"
    assert "".join(d["content"] for n, d in events if n == "delta") == "Reply to: second 问题"
    (call,) = calls()
    assert call["messages"][0]["role"] == "system" and call["messages"][0]["content"].startswith("Operator prompt.")
    assert "User prompt." in call["messages"][0]["content"]
    assert call["messages"][1:] == turns
    assert call["settings"] == {"model": "fixture-a", "temperature": 0.3, "max_tokens": 50}
    usage = dict(events)["usage"]
    assert usage["prompt_tokens"] == events[0][1]["prompt_tokens_est"]  # the estimate, as in meta
    assert usage["completion_tokens"] == estimate_tokens("Reply to: second 问题")
    assert fresh_upstream.requests == []  # the OpenAI API was never asked
    assert "sk-user-key" not in str(call)


def test_http_trimming_and_continue_reach_the_backend(backend_client):
    client = backend_client(default_context_window=256, context_reserve_tokens=0)
    long_turns = []
    for index in range(6):
        long_turns += [{"role": "user", "content": f"q{index} " + "x" * 200}, {"role": "assistant", "content": f"a{index}"}]
    long_turns.append({"role": "user", "content": "newest"})
    events = parse_events(client.post("/api/chat/stream", json={"messages": long_turns}).get_data())
    assert events[0][1]["trimmed"] > 0
    sent = calls()[-1]["messages"]
    assert sent[-1] == {"role": "user", "content": "newest"} and len(sent) == len(long_turns) - events[0][1]["trimmed"]
    body = {"messages": [{"role": "user", "content": "go on"}, {"role": "assistant", "content": "part"}], "continue_reply": True}
    response = client.post("/api/chat/stream", json=body)
    parse_events(response.get_data())
    assert calls()[-1]["messages"][-1] == {"role": "user", "content": CONTINUE_INSTRUCTION}


def test_http_reasoning_is_its_own_event_and_reported_usage_is_used(backend_client):
    events = parse_events(backend_client().post("/api/chat/stream", json={"messages": [{"role": "user", "content": "think"}]}).get_data())
    assert ("reasoning", {"content": "Thinking about it."}) in events
    assert "".join(d["content"] for n, d in events if n == "delta") == "Thought through."
    assert ("usage", {"prompt_tokens": 11, "completion_tokens": 22, "total_tokens": 33}) in events


@pytest.mark.parametrize("content,code", [("boom now", "backend_error"), ("bad value", "backend_bad_value")])
def test_http_backend_failures_are_error_events_after_the_partial_reply(backend_client, content, code):
    response = backend_client().post("/api/chat/stream", json={"messages": [{"role": "user", "content": content}]}, headers={"Accept-Language": "zh-CN"})
    events = parse_events(response.get_data())
    assert [n for n, _ in events] == ["meta", "delta", "error", "done"]
    error = dict(events)["error"]
    assert error["code"] == code and error["status"] == 502 and "聊天后端" in error["message"]
    assert backend_fixture.RECORDS[-1]["event"] in ("raised", "closed")


def test_http_stop_closes_the_backend_generator(backend_client):
    response = backend_client().post("/api/chat/stream", json={"messages": [{"role": "user", "content": "slow"}]}, buffered=False)
    received = b""
    chunks = iter(response.response)
    while received.count(b"event: delta") < 2:
        received += next(chunks)
    response.close()  # what the WSGI server does when the browser goes away
    ended = [r for r in backend_fixture.RECORDS if r["event"] != "call"]
    assert ended == [{"event": "closed", "sent": 1}]


def test_http_models_are_the_backends_and_the_page_shows_no_key_banner(backend_client, fresh_upstream):
    from components.layout import public_config
    from components.messages import render

    client = backend_client(openai_api_key="sk-test-server-key-but-unused-000")
    assert client.get("/api/models").get_json() == {"models": ["fixture-a", "fixture-b"], "default": "fixture-a"}
    assert fresh_upstream.requests == []  # no GET /models upstream with a backend
    settings = make_settings(openai_api_key=None, chat_backend="tests.backend_fixture:reply")
    assert not settings.has_server_key and settings.answers_without_user_key
    assert public_config(settings)["has_server_key"] is True
    alert = render(settings.answers_without_user_key).children.children[0]
    assert alert.style == {"display": "none"}
    assert public_config(make_settings(openai_api_key=None, provider="openai"))["has_server_key"] is False


def test_http_models_without_declared_ones(backend_client, tmp_path, monkeypatch):
    for name in list(os.environ):
        if name.startswith("OPENAI_"):
            monkeypatch.delenv(name)
    (tmp_path / "plain_backend_mod.py").write_text("def answer(messages, settings):\n    yield 'x'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    client = backend_client(chat_backend="plain_backend_mod:answer")
    assert client.get("/api/models").get_json() == {"models": ["test-model"], "default": "test-model"}  # OPENAI_MODEL set
    from chat_app import create_app
    from config import Settings

    settings = Settings(_env_file=None, chat_backend="plain_backend_mod:answer", **{k.lower(): v for k, v in NO_LIMITS.items()})
    client = create_app(settings).server.test_client()
    assert client.get("/api/models").get_json() == {"models": ["answer"], "default": "answer"}
    events = parse_events(client.post("/api/chat/stream", json={"messages": [{"role": "user", "content": "hi"}]}).get_data())
    assert events[0][1]["model"] == "answer" and dict(events)["delta"] == {"content": "x"}


# ------------------------------------------------------------------ the examples
def test_echo_example_repeats_and_honours_max_tokens():
    from examples.echo_backend import echo

    assert "".join(x for x in echo([{"role": "user", "content": "a b c"}], {"model": "echo"}) if isinstance(x, str)) == "You said: a b c"
    items = list(echo([{"role": "user", "content": "a b c"}], {"model": "echo", "max_tokens": 2}))
    assert items[-1] == {"type": "finish", "finish_reason": "length"} and "".join(items[:-1]) == "You said: a b"


def test_retrieval_example_scores_word_overlap(tmp_path):
    from examples.retrieval_backend import answer, search

    (tmp_path / "a.txt").write_text("Cats purr softly.\n\nDogs bark loudly at night.\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text("Night owls hunt at night; dogs sleep.\n", encoding="utf-8")
    assert search("why do dogs bark at night?", tmp_path) == [
        (3, "a.txt", "Dogs bark loudly at night."),
        (2, "b.txt", "Night owls hunt at night; dogs sleep."),
    ]
    assert search("quantum chromodynamics", tmp_path) == []
    events = run(answer, [{"role": "user", "content": "How do gunicorn workers stream replies?"}])
    assert events[0][0] == "reasoning" and "gunicorn" in "".join(d["content"] for n, d in events if n == "delta")
