"""The page schema (chatcore/schema.py): the committed JSON Schema matches the pydantic
models, the page's walker (assets/schema_walk.js) supports every keyword in it, its
coercion agrees with pydantic, and the models refuse Dash component dicts in text."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from chatcore import schema
from tests.conftest import ROOT

NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="node is not installed (.ci/run installs nodejs)")
GADGETS = [
    {"type": "FefferyExecuteJs", "namespace": "feffery_utils_components", "props": {"jsString": "window.pwned=1"}},
    {"type": "FefferyMarkdown", "namespace": "feffery_markdown_components", "props": {"linkTransformFunc": "alert(1)"}},
    {"type": "Iframe", "namespace": "dash_html_components", "props": {"srcDoc": "<script>alert(1)</script>"}},
]


def test_committed_schema_matches_the_models():
    """Regenerate with `python -m chatcore.schema` when a model changes."""
    assert schema.SCHEMA_PATH.read_text(encoding="utf-8") == schema.render_schema()


def test_page_config_carries_the_committed_schema():
    from components.layout import public_config
    from tests.conftest import make_settings

    assert public_config(make_settings())["schema"] == schema.committed_schema()


def _keywords(node, found: set[str]) -> set[str]:
    """Every schema keyword used under ``node`` (property names are not keywords)."""
    if isinstance(node, dict):
        for key, value in node.items():
            found.add(key)
            if key in ("properties", "$defs"):
                for sub in value.values():
                    _keywords(sub, found)
            elif key not in ("enum", "const", "default", "required", "examples"):
                _keywords(value, found)
    elif isinstance(node, list):
        for item in node:
            _keywords(item, found)
    return found


@needs_node
def test_walker_supports_every_keyword_in_the_schema():
    out = subprocess.run(
        [NODE, "-e", "const w=require('./assets/schema_walk.js');console.log(JSON.stringify(w.KEYWORDS.concat(w.ANNOTATIONS)))"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )
    supported = set(json.loads(out.stdout))
    used = set()
    for definition in schema.committed_schema()["$defs"].values():
        _keywords(definition, used)
    assert used <= supported, used - supported


@needs_node
def test_node_unit_tests_of_the_walker_pass():
    files = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests" / "js").glob("*.test.js"))
    result = subprocess.run([NODE, "--test", *files], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout and "# pass 0" not in result.stdout


@pytest.mark.parametrize("gadget", GADGETS, ids=["execute-js", "link-func", "iframe"])
@pytest.mark.parametrize(
    "model, place",
    [
        (schema.StoredMessage, {"id": "m", "role": "assistant", "content": "GADGET"}),
        (schema.StoredMessage, {"id": "m", "role": "assistant", "content": "x", "model": "GADGET"}),
        (schema.StoredMessage, {"id": "m", "role": "assistant", "content": "x", "finish_reason": "GADGET"}),
        (schema.StoredMessage, {"id": "m", "role": "assistant", "content": "x", "ttft_ms": "GADGET"}),
        (schema.StoredMessage, {"id": "m", "role": "assistant", "content": "x", "usage": {"prompt_tokens": "GADGET"}}),
        (schema.StoredMessage, {"id": "m", "role": "assistant", "content": "x", "reasoning": "GADGET"}),
        (schema.StoredMessage, {"id": "m", "role": "assistant", "content": "x", "reasoning_ms": "GADGET"}),
        (schema.StoredMessage, {"id": "m", "role": "assistant", "content": "x", "usage": {"reasoning_tokens": "GADGET"}}),
        (schema.Conversation, {"id": "c", "settings": {"reasoning_effort": "GADGET"}}),
        (schema.ReasoningEvent, {"content": "GADGET"}),
        (schema.Conversation, {"id": "c", "title": "GADGET"}),
        (schema.Conversation, {"id": "c", "settings": {"model": "GADGET"}}),
        (schema.Conversation, {"id": "c", "settings": {"system_prompt": "GADGET"}}),
        (schema.Conversation, {"id": "c", "error": {"status": 500, "code": "x", "message": "GADGET"}}),
        (schema.ModelList, {"models": ["GADGET"]}),
        (schema.DeltaEvent, {"content": "GADGET"}),
    ],
)
def test_models_refuse_component_dicts_in_every_drawn_field(model, place, gadget):
    raw = json.loads(json.dumps(place).replace('"GADGET"', json.dumps(gadget)))
    with pytest.raises(ValidationError):
        model.model_validate(raw)


def test_models_accept_what_the_page_writes():
    message = {
        "id": "m2", "role": "assistant", "content": "hi", "created_at": 1.7e12, "finish_reason": "length",
        "model": "gpt-4o-mini", "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
        "ttft_ms": 12, "trimmed": 2, "stopped": True, "incomplete": True,
    }
    history = {
        "version": 1, "active_id": "c1",
        "conversations": [{
            "id": "c1", "title": "t", "created_at": 1, "updated_at": 2, "error": None,
            "settings": {"model": "deepseek/deepseek-r1:free", "temperature": 0.7, "max_tokens": 100, "history": 0},
            "messages": [{"id": "m1", "role": "user", "content": "q", "edited": True}, message],
        }],
    }
    assert schema.History.model_validate(history).model_dump(exclude_unset=True) == history
    backup = {"format": "dash-chat-backup", "version": 1, "exported_at": "2026-01-01T00:00:00Z",
              "conversations": history["conversations"]}
    assert schema.Backup.model_validate(backup).conversations[0].messages[1].usage.total_tokens == 3


def test_models_accept_reasoning_fields_of_store_version_3():
    """Version 3 (reasoning models): the reply's thinking, its timings and token count,
    the conversation's reasoning_effort; the reasoning stream event."""
    assert schema.STORE_VERSION >= 3 and schema.committed_schema()["store_version"] == schema.STORE_VERSION
    message = {
        "id": "m", "role": "assistant", "content": "answer", "reasoning": "thought 中文", "reasoning_ms": 1234.5,
        "ttft_reasoning_ms": 80, "usage": {"prompt_tokens": 1, "completion_tokens": 9, "total_tokens": 10, "reasoning_tokens": 7},
    }
    assert schema.StoredMessage.model_validate(message).model_dump(exclude_unset=True) == message
    assert schema.StoredSettings.model_validate({"reasoning_effort": "medium"}).reasoning_effort == "medium"
    for bad in ({"reasoning_ms": -1}, {"ttft_reasoning_ms": -0.5}, {"reasoning": 5}, {"usage": {"reasoning_tokens": -1}}):
        with pytest.raises(ValidationError):
            schema.StoredMessage.model_validate({"role": "assistant", "content": "x", **bad})
    for bad in ("max", "HIGH", 1, True):
        with pytest.raises(ValidationError):
            schema.StoredSettings.model_validate({"reasoning_effort": bad})
    assert schema.EVENT_SCHEMAS["reasoning"] == "ReasoningEvent"
    defs = schema.committed_schema()["$defs"]
    assert defs["ReasoningEvent"]["additionalProperties"] is False
    assert schema.ReasoningEvent.model_validate({"content": "x", "later": 1}).content == "x"
    assert schema.FinishEvent.model_validate({"finish_reason": "stop", "incomplete": True}).incomplete is True


def test_models_are_strict_about_types_and_keys():
    for bad in ({"temperature": "0.5"}, {"temperature": 2.5}, {"max_tokens": 1.5}, {"history": True}, {"colour": "red"}):
        with pytest.raises(ValidationError):
            schema.StoredSettings.model_validate(bad)
    with pytest.raises(ValidationError):
        schema.Backup.model_validate({"format": "dash-chat-backup", "version": 4, "conversations": []})


IMAGE = {"id": "att-1", "kind": "image", "name": "cat.jpg", "mime": "image/jpeg", "size": 3, "width": 2, "height": 1,
         "data": "data:image/jpeg;base64,/9j/4AAQ=="}
DOCUMENT = {"id": "att-2", "kind": "document", "name": "report.pdf", "mime": "application/pdf", "size": 9000,
            "text": "extracted 中文", "tokens": 5, "truncated": True}


def test_store_version_4_and_backup_version_2_carry_attachments():
    """Version 4 (issue 13): a user message's attachments in the contract's shape; a
    version-2 backup carries them and version-1 files still restore."""
    assert schema.STORE_VERSION >= 4 and schema.committed_schema()["store_version"] == schema.STORE_VERSION
    assert schema.BACKUP_VERSION >= 2 and {1, 2} <= set(schema.committed_schema()["backup_versions"])
    message = {"id": "m", "role": "user", "content": "", "attachments": [IMAGE, DOCUMENT]}
    assert schema.StoredMessage.model_validate(message).model_dump(exclude_unset=True) == message
    for version in (1, 2):
        schema.Backup.model_validate({"format": "dash-chat-backup", "version": version, "conversations": [
            {"id": "c", "messages": [message] if version == 2 else [{"role": "user", "content": "q"}]}]})


@pytest.mark.parametrize("bad", [
    {"data": "data:image/svg+xml;base64,PHN2Zz4="},        # never svg
    {"data": "javascript:alert(1)"},
    {"data": "data:image/png;base64,AAAA<script>"},
    {"data": "https://example.test/a.png"},
    {"mime": "image/svg+xml"},
    {"kind": "video"},
    {"size": -1},
    {"width": 1.5},
    {"name": "x" * 256},
    {"id": ""},
    {"onload": "alert(1)"},                                   # unknown keys are refused
    {"data": None},
])
def test_an_image_attachment_is_only_a_base64_data_url_of_the_image_types(bad):
    with pytest.raises(ValidationError):
        schema.ImageAttachment.model_validate({**IMAGE, **bad})
    with pytest.raises(ValidationError):
        schema.StoredMessage.model_validate({"role": "user", "content": "", "attachments": [{**IMAGE, **bad}]})


@pytest.mark.parametrize("bad", [{"text": None}, {"text": GADGETS[0]}, {"mime": "Application/PDF "}, {"tokens": -2}, {"truncated": "yes"}])
def test_a_document_attachment_is_strict(bad):
    with pytest.raises(ValidationError):
        schema.DocumentAttachment.model_validate({**DOCUMENT, **bad})


def test_ranges_are_the_request_ranges():
    """Stored settings and the stream request share one definition of each range."""
    from chatcore.messages import ChatRequest

    request_props = ChatRequest.model_json_schema()["properties"]
    stored_props = schema.StoredSettings.model_json_schema()["properties"]
    for name in ("temperature", "top_p", "presence_penalty", "frequency_penalty", "max_tokens", "model", "reasoning_effort"):
        assert request_props[name]["anyOf"][0] == stored_props[name]["anyOf"][0], name


# --- the page's coercion agrees with pydantic ---------------------------------------
anything = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 10**7) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8) | st.sampled_from(["user", "assistant", "system", "stop", "gpt-4o", "dark", ""]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.sampled_from(["type", "props", "x"]), children, max_size=2),
    max_leaves=6,
)


def _maybe(value_strategy):
    return st.one_of(value_strategy, anything, st.sampled_from(GADGETS))


message_st = st.fixed_dictionaries(
    {"role": _maybe(st.sampled_from(["user", "assistant", "system"])), "content": _maybe(st.text(max_size=20))},
    optional={
        "id": _maybe(st.text(min_size=1, max_size=5)),
        "model": _maybe(st.sampled_from(["gpt-4o", "m" * 300])),
        "finish_reason": _maybe(st.sampled_from(["stop", "length", None])),
        "usage": _maybe(st.fixed_dictionaries({}, optional={"prompt_tokens": _maybe(st.integers(0, 9)),
                                                            "completion_tokens": _maybe(st.integers(-1, 9))})),
        "ttft_ms": _maybe(st.floats(0, 1e4)),
        "reasoning": _maybe(st.text(max_size=20)),
        "reasoning_ms": _maybe(st.floats(-1, 1e4)),
        "stopped": _maybe(st.booleans()),
        "attachments": _maybe(st.lists(st.one_of(
            st.sampled_from([IMAGE, DOCUMENT, {**IMAGE, "data": "data:image/svg+xml;base64,AA=="}, {**DOCUMENT, "kind": "image"}]),
            anything), max_size=3)),
        "extra": anything,
    },
)
conversation_st = st.fixed_dictionaries(
    {"id": _maybe(st.text(min_size=1, max_size=5))},
    optional={
        "title": _maybe(st.text(max_size=10)),
        "settings": _maybe(st.fixed_dictionaries({}, optional={
            "model": _maybe(st.sampled_from(["gpt-4o", "bad model"])),
            "temperature": _maybe(st.floats(-1, 3)),
            "max_tokens": _maybe(st.integers(-1, 10)),
            "reasoning_effort": _maybe(st.sampled_from(["low", "medium", "high", "max"])),
        })),
        "error": _maybe(st.none()),
        "messages": _maybe(st.lists(message_st, max_size=4)),
    },
)


@needs_node
@settings(max_examples=1, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(conversation_st, min_size=300, max_size=300))
def test_page_coercion_output_always_validates_in_pydantic(conversations):
    """300 generated conversations (valid, broken, component dicts) coerced by the page's
    walker: every result validates with the pydantic model, and an input pydantic
    accepts as it is comes back unchanged with nothing dropped."""
    script = (
        "const w=require('./assets/schema_walk.js');const fs=require('fs');"
        "const doc=JSON.parse(fs.readFileSync('chatcore/page_schema.json','utf8'));"
        "const items=JSON.parse(fs.readFileSync(0,'utf8'));"
        "console.log(JSON.stringify(items.map(v=>w.coerce(doc,'Conversation',v))));"
    )
    result = subprocess.run([NODE, "-e", script], cwd=ROOT, input=json.dumps(conversations),
                            capture_output=True, text=True, timeout=60, check=True)
    outcomes = json.loads(result.stdout)
    kept = 0
    for raw, outcome in zip(conversations, outcomes):
        try:
            schema.Conversation.model_validate_json(json.dumps(raw))
            valid_as_is = True
        except ValidationError:
            valid_as_is = False
        if valid_as_is:
            assert outcome == {"ok": True, "value": raw, "dropped": 0, "paths": []}
        if outcome["ok"]:
            kept += 1
            schema.Conversation.model_validate_json(json.dumps(outcome["value"]))
        else:
            assert not valid_as_is
    assert kept > 0


def test_store_version_5_and_backup_version_3_carry_branches():
    """Version 5 (issue 14): a message, or the conversation, holds the versions kept by
    Edit & resend and Regenerate (branches.mjs) — nested, each version a list of stored
    messages, the one on screen null; backup version 3 carries them, 1 and 2 restore."""
    assert schema.STORE_VERSION == 5 and schema.committed_schema()["store_version"] == 5
    assert schema.BACKUP_VERSION == 3 and schema.committed_schema()["backup_versions"] == [1, 2, 3]
    inner = {"id": "a1c", "role": "assistant", "content": "third",
             "branches": {"current": 0, "tails": [None, [{"id": "u9", "role": "user", "content": "deeper"}]]}}
    holder = {"id": "u1", "role": "user", "content": "q", "attachments": [IMAGE],
              "branches": {"current": 1, "tails": [[{"id": "a1", "role": "assistant", "content": "first"}], None, [inner]]}}
    conversation = {"id": "c", "messages": [holder, {"id": "a1b", "role": "assistant", "content": "second"}],
                    "branches": {"current": 1, "tails": [[{"id": "u0", "role": "user", "content": "old start"}], None]}}
    assert schema.Conversation.model_validate(conversation).model_dump(exclude_unset=True) == conversation
    for version in (1, 2, 3):
        schema.Backup.model_validate({"format": "dash-chat-backup", "version": version, "conversations": [conversation]})
    for bad in ({"current": 0, "tails": [None]},                      # one version is no branch
                {"current": 100, "tails": [None, []]},
                {"current": 0, "tails": [None, [{"role": "user"}]]},  # a message without content
                {"current": 0, "tails": [None, "text"]}):
        with pytest.raises(ValidationError):
            schema.Branches.model_validate(bad)
