"""Markdown export (``chatcore.export``): byte-exact round trip, header and filename.

Also checks the server-side export callback (``callbacks.header.export_markdown``)
called directly, as Dash returns the undecorated function.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from chatcore.export import export_filename, from_markdown, to_markdown

FENCE4 = "````markdown\n```python\nprint('nested ``` fence')\n```\n````"
TABLE = "| 名称 | 值 |\n|:---|---:|\n| `a|b` | 1 |\n| emoji 😀 | 2 |"

TRICKY_MESSAGES = [
    {"role": "user", "content": "How do I nest fences?\n" + FENCE4},
    {"role": "assistant", "content": "Use a longer fence:\n\n" + FENCE4 + "\n\nand a table:\n\n" + TABLE},
    {"role": "user", "content": "中文内容：你好，世界！😀👩‍👩‍👧\n\n\n"},
    {"role": "assistant", "content": "<!-- chat:end -->"},
    {"role": "user", "content": "before\n<!-- chat:end -->\nafter <!-- chat:end:1 -->"},
    {"role": "assistant", "content": "   leading spaces\n\n\ttab and trailing   \n\n"},
    {"role": "user", "content": "\n\nstarts with blank lines"},
    {"role": "assistant", "content": "# looks like a heading\n## User\n<!-- chat:begin role=user -->\n- Model: fake"},
    {"role": "user", "content": ""},
    {"role": "assistant", "content": "windows\r\nline\rendings"},
    {"role": "user", "content": "~~~\n~~~~ tilde fences ~~~"},
]


def test_round_trip_tricky_content_byte_exact():
    text = to_markdown(TRICKY_MESSAGES, model="test-model", title="Fences & 表格")
    back = from_markdown(text)
    assert back == TRICKY_MESSAGES
    for original, parsed in zip(TRICKY_MESSAGES, back):
        assert parsed["content"].encode("utf-8") == original["content"].encode("utf-8")


@pytest.mark.parametrize("message", TRICKY_MESSAGES)
def test_round_trip_each_message_alone(message):
    assert from_markdown(to_markdown([message], model="m")) == [{"role": message["role"], "content": message["content"]}]


def test_round_trip_with_system_prompt_and_extra_keys_ignored():
    messages = [{"role": "user", "content": "q", "id": "m1", "created_at": 1}, {"role": "assistant", "content": "a", "usage": {}}]
    text = to_markdown(messages, model="m", system_prompt="Be brief.\n```\nrules\n```")
    assert from_markdown(text) == [
        {"role": "system", "content": "Be brief.\n```\nrules\n```"},
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": "a"},
    ]
    assert "## System prompt" in text


def test_end_marker_is_chosen_outside_all_contents():
    text = to_markdown(TRICKY_MESSAGES, model="m")
    # contents contain chat:end and chat:end:1, so the marker used is chat:end:2
    assert "<!-- chat:end-marker chat:end:2 -->" in text
    assert text.count("\n<!-- chat:end:2 -->\n") == len(TRICKY_MESSAGES)


def test_header_has_title_export_time_and_model():
    when = datetime(2026, 11, 21, 14, 3, 5, tzinfo=timezone.utc)
    text = to_markdown([{"role": "user", "content": "hi"}], model="gpt-4o-mini", title="  My\n chat  ", exported_at=when)
    lines = text.split("\n")
    assert lines[0] == "# My chat"
    assert "- Exported: 2026-11-21 14:03:05 UTC" in lines[:6]
    assert "- Model: gpt-4o-mini" in lines[:6]
    assert "## User" in lines


def test_header_time_defaults_to_now_utc():
    before = datetime.now(timezone.utc).replace(microsecond=0)
    text = to_markdown([{"role": "user", "content": "hi"}], model="m")
    stamp = re.search(r"^- Exported: (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC$", text, re.M).group(1)
    parsed = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)
    assert 0 <= (parsed - before).total_seconds() < 5


def test_filename_format():
    assert export_filename(datetime(2026, 1, 2, 3, 4, 5)) == "chat-20260102-030405.md"
    assert re.fullmatch(r"chat-\d{8}-\d{6}\.md", export_filename())


@pytest.mark.parametrize(
    "text",
    ["", "# Chat\n\nno markers", "<!-- chat:begin role=user -->\nunterminated", "<!-- chat:begin role=tool -->\nx\n<!-- chat:end -->"],
)
def test_from_markdown_rejects_non_exports(text):
    with pytest.raises(ValueError):
        from_markdown(text)


def test_export_callback_renders_the_requested_conversation(fresh_upstream):
    """The Dash export callback, called directly inside a Flask app context."""
    from chat_app import create_app
    from callbacks.header import export_markdown
    from tests.conftest import make_settings

    # SYSTEM_PROMPT_EDITABLE: the operator's prompt is the page's default and is recorded
    # (by default it never leaves the server: tests/test_system_prompt.py)
    app = create_app(make_settings(fresh_upstream, system_prompt="SYS", system_prompt_editable=True))
    request = {"title": "标题", "model": "test-model-2", "messages": TRICKY_MESSAGES + [{"role": "tool", "content": "dropped"}]}
    with app.server.app_context():
        result = export_markdown(request)
    assert re.fullmatch(r"chat-\d{8}-\d{6}\.md", result["filename"])
    content = result["content"]
    if result.get("base64"):
        import base64

        content = base64.b64decode(content).decode("utf-8")
    assert content.startswith("# 标题\n")
    assert "- Model: test-model-2" in content
    # no system prompt in the request: the server's is recorded
    assert from_markdown(content) == [{"role": "system", "content": "SYS"}] + TRICKY_MESSAGES


# Property: any contents (markers, fences, CJK, emoji, control characters) round-trip.
from hypothesis import given, settings, strategies as st  # noqa: E402

_pieces = st.sampled_from(["\n", "```", "````", "<!-- chat:end -->", "<!-- chat:end:1 -->", "<!-- chat:begin role=user -->",
                           "## User", "# ", "中文", "😀", " ", "\t", "\r", "|"])
_content = st.lists(st.one_of(st.text(max_size=8), _pieces), max_size=12).map("".join)
_message = st.fixed_dictionaries({"role": st.sampled_from(["user", "assistant"]), "content": _content})


@settings(max_examples=200, deadline=None)
@given(messages=st.lists(_message, min_size=1, max_size=5), system_prompt=_content, title=st.text(max_size=20))
def test_round_trip_property(messages, system_prompt, title):
    text = to_markdown(messages, model="m", title=title, system_prompt=system_prompt)
    expected = ([{"role": "system", "content": system_prompt}] if system_prompt else []) + messages
    assert from_markdown(text) == expected


# Property: attachments (format 3) with any names and document texts round-trip exactly,
# and export → import → export gives the same bytes.
from chatcore.export import import_markdown  # noqa: E402
from tests.test_export_attachments import GIF, JPEG, PNG, WEBP  # noqa: E402

_text_pieces = st.sampled_from(["\n", "\r\n", "\r", "`", "```", "````````", "~~~", "$$", "<pre>", "</pre>", "<!-- chat:end -->",
                                "<!-- chat:image mime=image/png size=1 -->", "<!-- chat:document mime=a/b size=1 -->",
                                "📄 **", "](", "![", "\\", "&#10;", "中文", "😀", "    ", "## User"])
_doc_text = st.lists(st.one_of(st.text(max_size=6), _text_pieces), max_size=14).map("".join)
_name = st.lists(st.one_of(st.text(max_size=6), _text_pieces), max_size=6).map(lambda p: "".join(p)[:255])
_count = st.integers(min_value=0, max_value=10**9)
_optional = st.one_of(st.none(), st.integers(min_value=0, max_value=100_000))
_image = st.builds(
    lambda name, kind, size, width, height: {"id": "att-x", "kind": "image", "name": name, "mime": kind[0], "size": size,
                                             "width": width, "height": height, "data": kind[1]},
    _name, st.sampled_from([("image/png", PNG), ("image/jpeg", JPEG), ("image/webp", WEBP), ("image/gif", GIF)]),
    _count, _optional, _optional)
_document = st.builds(
    lambda name, text, size, tokens, truncated: {"id": "att-y", "kind": "document", "name": name, "mime": "text/plain",
                                                 "size": size, "text": text, "tokens": tokens, "truncated": truncated},
    _name, _doc_text, _count, _optional, st.sampled_from([None, True, False]))
_attached = st.fixed_dictionaries({"role": st.sampled_from(["user", "assistant"]), "content": _content,
                                   "attachments": st.lists(st.one_of(_image, _document), max_size=4)})


@settings(max_examples=80, deadline=None)
@given(messages=st.lists(_attached, min_size=1, max_size=4), system_prompt=_content)
def test_attachments_round_trip_property(messages, system_prompt):
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    text = to_markdown(messages, model="m", system_prompt=system_prompt, exported_at=when)
    back = from_markdown(text)[1 if system_prompt else 0:]
    for original, parsed in zip(messages, back, strict=True):
        expected = [{k: v for k, v in a.items() if k != "id" and v is not None and v is not False} for a in original["attachments"]]
        assert parsed.get("attachments", []) == expected
        assert parsed["content"] == original["content"]
    conversation = import_markdown(text, max_bytes=10_000_000)
    settings_ = conversation["settings"]
    again = to_markdown(conversation["messages"], model="m", system_prompt=settings_.get("system_prompt"), exported_at=when)
    assert again == text
