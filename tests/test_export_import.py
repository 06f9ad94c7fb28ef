"""Import of a Markdown export as a new conversation (``chatcore.export.import_markdown``):
a good import validates against ``chatcore.schema.Conversation`` with the system prompt,
reasoning, title, model and attachments (new ids); every refusal is a ``MarkdownImportError`` whose code has
texts in en-US and zh-CN; a file over the limit is refused before it is parsed.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest

from chatcore import export
from chatcore.export import FORMAT_VERSION, PLAIN_FORMAT, MarkdownImportError, import_markdown, new_id, to_markdown
from chatcore.i18n import SUPPORTED_LOCALES, TEXTS
from chatcore.schema import TITLE_MAX, Conversation

DATA = Path(__file__).parent / "data"
NOW = 1_767_323_045_000.0  # 2026-01-02 03:04:05 UTC in ms
ID = re.compile(r"^[cm]-[0-9a-z]+-[0-9a-z]{6}$")
MESSAGES = [
    {"role": "user", "content": "怎么写斐波那契？😀"},
    {"role": "assistant", "content": "Like this:\n```python\ndef fib(n):", "reasoning": "先想一想：\n\n```\n递归"},
    {"role": "user", "content": "| a | b |\n|---|---|\n| 1 | 2 |\r\n"},
    {"role": "assistant", "content": ""},
]


def _export(**kwargs) -> str:
    options = {"model": "gpt-4o-mini", "title": "斐波那契 😀", "system_prompt": "Be brief.\n```\nrules",
               "exported_at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)}
    options.update(kwargs)
    return to_markdown(MESSAGES, **options)


def test_good_import_is_a_valid_new_conversation():
    conversation = import_markdown(_export(), max_bytes=100_000, now_ms=NOW)
    Conversation.model_validate(conversation)
    assert ID.match(conversation["id"]) and conversation["id"].startswith("c-")
    assert conversation["title"] == "斐波那契 😀"
    assert conversation["created_at"] == conversation["updated_at"] == NOW
    assert conversation["settings"] == {"system_prompt": "Be brief.\n```\nrules", "model": "gpt-4o-mini"}
    assert conversation["error"] is None
    got = [{k: v for k, v in m.items() if k in ("role", "content", "reasoning")} for m in conversation["messages"]]
    assert got == MESSAGES  # content and reasoning byte-exact, no system message among them
    assert [m["seq"] for m in conversation["messages"]] == [1, 1, 2, 2]  # turns, as withSeq numbers them
    ids = [m["id"] for m in conversation["messages"]]
    assert len(set(ids)) == len(ids) and all(ID.match(i) and i.startswith("m-") for i in ids)
    assert all(m["created_at"] == NOW for m in conversation["messages"])


def test_import_gives_a_fresh_id_each_time():
    text = _export()
    assert import_markdown(text, max_bytes=100_000)["id"] != import_markdown(text, max_bytes=100_000)["id"]


def test_new_id_has_the_pages_shape():
    """``uid`` of assets/chat.js: prefix, ms since the epoch in base 36, 6 random chars."""
    made = new_id("c", now_ms=NOW)
    prefix, stamp, tail = made.split("-")
    assert prefix == "c" and int(stamp, 36) == int(NOW) and re.fullmatch(r"[0-9a-z]{6}", tail)


def test_import_without_system_prompt_and_with_bytes_bom_and_crlf_file():
    text = _export(system_prompt=None)
    data = "\ufeff".encode() + text.replace("\n", "\r\n").encode("utf-8")  # saved by a Windows editor
    conversation = import_markdown(data, max_bytes=100_000, now_ms=NOW)
    assert "system_prompt" not in conversation["settings"]
    assert [m["role"] for m in conversation["messages"]] == ["user", "assistant", "user", "assistant"]
    assert conversation["messages"][1]["reasoning"] == MESSAGES[1]["reasoning"]
    assert conversation["messages"][0]["content"] == MESSAGES[0]["content"]


def test_import_of_a_format1_export():
    """An export written before the format had a version imports exactly."""
    data = (DATA / "export-format1.md").read_bytes()
    expected = json.loads((DATA / "export-format1.json").read_text(encoding="utf-8"))
    conversation = import_markdown(data, max_bytes=100_000, now_ms=NOW)
    assert conversation["title"] == expected["title"]
    assert conversation["settings"] == {"system_prompt": expected["system_prompt"], "model": expected["model"]}
    got = [{k: v for k, v in m.items() if k in ("role", "content", "reasoning")} for m in conversation["messages"]]
    assert got == expected["messages"]


def test_long_title_is_cut_and_a_bad_model_name_left_out():
    text = _export(title="长" * (TITLE_MAX + 50), model="not a model name!")
    conversation = import_markdown(text, max_bytes=100_000, now_ms=NOW)
    assert conversation["title"] == "长" * TITLE_MAX
    assert "model" not in conversation["settings"]


def test_a_later_system_section_stays_a_system_message():
    text = to_markdown([{"role": "user", "content": "q"}, {"role": "system", "content": "mid"}], model="m")
    conversation = import_markdown(text, max_bytes=10_000, now_ms=NOW)
    assert "system_prompt" not in conversation["settings"]
    assert [(m["role"], m["content"]) for m in conversation["messages"]] == [("user", "q"), ("system", "mid")]


# ================================================================ refusals
def _refused(text, max_bytes=100_000) -> MarkdownImportError:
    with pytest.raises(MarkdownImportError) as info:
        import_markdown(text, max_bytes=max_bytes, now_ms=NOW)
    error = info.value
    assert error.code in TEXTS and set(TEXTS[error.code]) == set(SUPPORTED_LOCALES)
    for locale in SUPPORTED_LOCALES:
        assert "{" not in error.text(locale)  # every parameter filled in
    return error


@pytest.mark.parametrize(
    "text",
    [
        "",
        "just some notes\n\n## User\n\nhello",
        "# Title\n\n- Exported: 2026-01-02 03:04:05 UTC\n\nno markers",
        "<!-- chat:begin role=user -->\nno header\n<!-- chat:end -->",  # not our header
        "# T\n\n- Exported: x\n\n<!-- chat:begin role=user -->\nunterminated",
        "# T\n\n- Exported: x\n\n<!-- chat:begin role=system -->\nonly a prompt\n<!-- chat:end -->",
        "# T\n\n- Exported: x\n- Format: 2\n\n<!-- chat:begin role=user close=5 -->\nx\n<!-- chat:end -->",
    ],
    ids=["empty", "other-markdown", "no-markers", "no-header", "unterminated", "prompt-only", "bad-close"],
)
def test_not_an_export(text):
    error = _refused(text)
    assert error.code == "md_import_not_export"


def test_newer_format_is_refused():
    text = _export().replace(f"- Format: {PLAIN_FORMAT}\n", f"- Format: {FORMAT_VERSION + 1}\n")
    error = _refused(text)
    assert error.code == "md_import_too_new"
    assert str(FORMAT_VERSION + 1) in error.text("en-US") and str(FORMAT_VERSION + 1) in error.text("zh-CN")


def test_unknown_role_is_refused():
    text = _export().replace("<!-- chat:begin role=user -->", "<!-- chat:begin role=tool -->", 1)
    error = _refused(text)
    assert error.code == "md_import_unknown_role"
    assert error.params == {"role": "tool"} and "tool" in error.text("zh-CN")


@pytest.mark.parametrize("as_bytes", [False, True], ids=["text", "bytes"])
def test_too_large_is_refused_before_parsing(monkeypatch, as_bytes):
    text = _export()
    size = len(text.encode("utf-8"))

    def never(_text):
        raise AssertionError("parsed")

    monkeypatch.setattr(export, "parse_export", never)
    data = text.encode("utf-8") if as_bytes else text
    error = _refused(data, max_bytes=size - 1)
    assert error.code == "md_import_too_large" and error.params == {"limit": size - 1}
    assert str(size - 1) in error.text("en-US")
    monkeypatch.undo()
    assert import_markdown(data, max_bytes=size, now_ms=NOW)["title"] == "斐波那契 😀"  # the limit itself is fine


def test_multibyte_text_is_counted_in_utf8_bytes():
    text = _export()
    assert len(text) < len(text.encode("utf-8"))
    assert _refused(text, max_bytes=len(text)).code == "md_import_too_large"


def test_not_utf8_bytes_are_refused():
    assert _refused(b"# T\n\xff\xfe\n").code == "md_import_not_text"


# ================================================================ attachments (format 3)
from tests.test_export_attachments import ATT_ID, PNG, attached_conversation, document, image, without_ids  # noqa: E402


def test_import_with_attachments_is_a_valid_new_conversation():
    text = to_markdown(attached_conversation(), model="gpt-4o", title="附件", exported_at=datetime(2026, 1, 2, tzinfo=timezone.utc))
    conversation = import_markdown(text, max_bytes=10_000_000, now_ms=NOW)
    Conversation.model_validate(conversation)
    images = [a for m in conversation["messages"] for a in m.get("attachments", []) if a["kind"] == "image"]
    documents = [a for m in conversation["messages"] for a in m.get("attachments", []) if a["kind"] == "document"]
    assert images and documents
    # the contract's shape, in its order: id first, then what was exported
    assert all(list(a)[:5] == ["id", "kind", "name", "mime", "size"] and list(a)[-1] == "data" for a in images)
    assert all(set(a) <= {"id", "kind", "name", "mime", "size", "text", "tokens", "truncated"} and "text" in a for a in documents)
    assert all(ATT_ID.match(a["id"]) and int(a["id"].split("-")[1], 36) == int(NOW) for a in images + documents)
    assert [a.get("truncated") for a in documents].count(True) == 1  # only "cut.pdf"; false reads as absent


def test_import_of_attachments_from_a_windows_editor():
    """BOM and every line break CRLF: read with LF ones, documents' texts exact."""
    messages = [{"role": "user", "content": "q", "attachments": [image("照片.png"), document("a.md", "# a\n```\nb\n```\n")]}]
    text = to_markdown(messages, model="m")
    data = "\ufeff".encode() + text.replace("\n", "\r\n").encode("utf-8")
    stored = import_markdown(data, max_bytes=1_000_000, now_ms=NOW)["messages"][0]["attachments"]
    assert without_ids(stored) == without_ids(messages[0]["attachments"])
    assert stored[0]["data"] == PNG


def test_a_damaged_attachment_imports_nothing():
    text = to_markdown([{"role": "user", "content": "q", "attachments": [document("d.txt", "x")]}], model="m")
    error = _refused(text.replace("```text\nx\n```", "```text\nx", 1))
    assert error.code == "md_import_bad_attachment" and error.params["line"] > 0
