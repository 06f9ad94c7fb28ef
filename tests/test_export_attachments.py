"""Attachments in the Markdown export (``chatcore.export``, format 3; issue 13): images
as ``![name](data:image/...;base64,...)``, documents as a name line and a fenced block.

The round trip is exact (export → import → export gives the same bytes; the attachments
come back with every field but ``id``, which is new, and ``data`` identical); an export
without attachments is still format 2, byte for byte what the format-2 exporter wrote
(``tests/data/export-format2.md``); the writer never writes an image that is not a
``data:`` URL of png/jpeg/webp/gif; a block that does not read back is refused with
``md_import_bad_attachment`` (en-US and zh-CN, with its line) and nothing is imported.
Samples here are shared with tests/test_export_viewer.py, test_export.py,
test_export_import.py, test_export_api.py and test_export_js.py.
"""

from __future__ import annotations

import base64
import json
import re
import struct
import zlib
from datetime import datetime, timezone
from pathlib import Path

import pytest

from chatcore.export import (
    ATTACHMENTS_FORMAT,
    PLAIN_FORMAT,
    MarkdownImportError,
    escape_name,
    from_markdown,
    import_markdown,
    parse_export,
    to_markdown,
    unescape_name,
)
from chatcore.i18n import SUPPORTED_LOCALES, TEXTS
from chatcore.schema import ATTACHMENTS_MAX, Conversation, StoredMessage

DATA = Path(__file__).parent / "data"
AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
NOW = 1_767_323_045_000.0
ATT_ID = re.compile(r"^att-[0-9a-z]+-[0-9a-z]{6}$")


def png(width: int = 2, height: int = 2, rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A real PNG of ``width`` × ``height`` pixels of one colour (no library)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def data_url(mime: str, raw: bytes) -> str:
    return f"data:{mime};base64," + base64.b64encode(raw).decode("ascii")


PNG = data_url("image/png", png(3, 2))
JPEG = data_url("image/jpeg", b"\xff\xd8\xff\xe0" + bytes(range(256)) * 3 + b"\xff\xd9")
WEBP = data_url("image/webp", b"RIFF\x1a\x00\x00\x00WEBPVP8 " + bytes(14))
GIF = data_url("image/gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;")

# names that try to leave the alt text, make markup or break the line
TRICKY_NAMES = [
    "a](javascript:x)",
    "<img src=x onerror=alert(1)>",
    "x\\](y) \\\\ end\\",
    "*b* _i_ `c` ~~s~~ $m$ ==h== ^s^ {.c} #t +p !x |p|",
    "&amp; &#65; & &#x41;",
    "[r]: /u \"t\"",
    "![i](javascript:alert(1))",
    "<!-- chat:end --> -->",
    "图片 照片（1）.png",
    "😀👩‍👩‍👧 emoji.webp",
    "line\nbreak\ttab\r\x00\x7f\x85\u2028\u2029.gif",
    "",
    "   spaces around   ",
    "www.example.com http://x.example/a?b=c",
]
# document texts: fences and backtick runs, markers, HTML, CJK, CRLF, edge lines
TRICKY_TEXTS = [
    "```python\nprint('hi')\n```",
    "a run of ten: `````````` and `one`",
    "``````````",
    "no newline at the end",
    "",
    "\n",
    "trailing blank lines\n\n",
    "中文文档：你好，世界！\r\nCRLF line\r\nand a lone \r in it",
    "<!-- chat:end -->\n<!-- chat:begin role=user -->\n## User\n<!-- chat:image mime=image/png size=1 -->\n![x](data:image/png;base64,AA==)",
    "</pre></code><script>alert(1)</script>\n<style>",
    "$$\n\\sum",
    "~~~\ntilde fence",
    "    indented code",
    "```text",
    "📄 **fake.pdf**\n```text\n```",
]


def image(name: str = "photo.png", data: object = PNG, mime: str = "image/png", **extra) -> dict:
    size = len(base64.b64decode(data.split(",", 1)[1])) if isinstance(data, str) and data.startswith("data:image/png;b") else 7
    return {"id": "att-old-aaaaaa", "kind": "image", "name": name, "mime": mime, "size": size,
            "width": 3, "height": 2, "data": data, **extra}


def document(name: str = "report.pdf", text: str = "Quarterly report\n\n| a | b |", **extra) -> dict:
    values = {"id": "att-old-bbbbbb", "kind": "document", "name": name, "mime": "application/pdf", "size": 91234,
              "text": text, "tokens": 812}
    values.update(extra)
    return values


def attached_conversation() -> list[dict]:
    """Messages with every kind of attachment, next to the content rules of format 2."""
    images = [image(name, data, mime) for name, (data, mime) in zip(
        TRICKY_NAMES, [(PNG, "image/png"), (JPEG, "image/jpeg"), (WEBP, "image/webp"), (GIF, "image/gif")] * 4)]
    documents = [document(f"doc {n} `{n}`.txt", text, mime="text/plain", size=len(text.encode("utf-8")), tokens=n)
                 for n, text in enumerate(TRICKY_TEXTS)]
    return [
        {"role": "user", "content": "看这张图和文档 😀", "attachments": [images[0], documents[0], images[1]]},
        {"role": "assistant", "content": "Here:\n```python\ndef f():", "reasoning": "先看图\n```\n未闭合"},
        {"role": "user", "content": "", "attachments": images[2:8]},  # images only
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": "<pre>\n```", "attachments": documents[1:9]},  # content with closing lines
        {"role": "assistant", "content": "<!-- chat:end -->"},
        {"role": "user", "content": "the rest", "attachments": images[8:] + documents[9:] + [
            document("cut.pdf", "一" * 50, truncated=True),
            document("no-tokens.md", "# md", mime="text/markdown", tokens=None),
            image("no-size.jpg", JPEG, "image/jpeg", width=None, height=None),
        ]},
    ]


def export(messages: list[dict], **options) -> str:
    options = {"model": "gpt-4o", "title": "附件 attachments", "system_prompt": "Describe images.", "exported_at": AT,
               **options}
    return to_markdown(messages, **options)


def without_ids(attachments: list[dict]) -> list[dict]:
    """The attachments as they come back: no ``id``, nothing null, ``truncated`` only when true."""
    return [{k: v for k, v in a.items() if k != "id" and v is not None and not (k == "truncated" and v is False)}
            for a in attachments]


# ================================================================ round trip
def test_export_import_export_is_byte_exact():
    messages = attached_conversation()
    text = export(messages)
    conversation = import_markdown(text, max_bytes=10_000_000, now_ms=NOW)
    Conversation.model_validate(conversation)
    again = to_markdown(conversation["messages"], model=conversation["settings"]["model"], title=conversation["title"],
                        system_prompt=conversation["settings"]["system_prompt"], exported_at=AT)
    assert again.encode("utf-8") == text.encode("utf-8")
    for original, stored in zip(messages, conversation["messages"]):
        StoredMessage.model_validate(stored)
        assert (stored["role"], stored["content"]) == (original["role"], original["content"])
        if "attachments" not in original:
            assert "attachments" not in stored
            continue
        assert without_ids(stored["attachments"]) == without_ids(original["attachments"])
        for before, after in zip(original["attachments"], stored["attachments"]):
            assert after.get("data") == before.get("data")  # the very data URL
            assert after.get("text") == before.get("text")
            assert ATT_ID.match(after["id"]) and after["id"] != before["id"]  # recreated
    ids = [a["id"] for m in conversation["messages"] for a in m.get("attachments", [])]
    assert len(ids) == len(set(ids)) == sum(len(m.get("attachments", [])) for m in messages)


def test_from_markdown_gives_the_attachments_without_ids():
    messages = attached_conversation()
    back = from_markdown(export(messages))
    assert back[0] == {"role": "system", "content": "Describe images."}
    for original, parsed in zip(messages, back[1:]):
        assert parsed.get("attachments", []) == without_ids(original.get("attachments", []))
        assert parsed["content"] == original["content"]
        assert parsed.get("reasoning") == original.get("reasoning")


def test_layout_of_an_image_and_a_document():
    """The exact lines: the marker comment, the image or the name line and the fence."""
    messages = [{"role": "user", "content": "q", "attachments": [
        image("my_photo (1).png", width=640, height=480, size=48213),
        document("a.txt", "x\n````\ny", mime="text/plain", size=9, tokens=3, truncated=True)]}]
    text = export(messages, system_prompt=None)
    assert text.endswith(
        "<!-- chat:begin role=user -->\nq\n<!-- chat:end -->\n\n"
        "<!-- chat:image mime=image/png size=48213 width=640 height=480 -->\n"
        f"![my\\_photo \\(1\\).png]({PNG})\n\n"
        "<!-- chat:document mime=text/plain size=9 tokens=3 truncated=1 -->\n"
        "📄 **a.txt**\n`````text\nx\n````\ny\n`````\n"
    )
    assert "\n- Format: 3\n" in text


def test_format_line_says_3_only_with_attachments():
    plain = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    assert f"\n- Format: {PLAIN_FORMAT}\n" in export(plain)
    assert f"\n- Format: {ATTACHMENTS_FORMAT}\n" in export(plain[:1] + [{**plain[1], "attachments": [document()]}])
    # none, null and [] write the same bytes as a message without the key
    for empty in (None, []):
        assert export([{**plain[0], "attachments": empty}, plain[1]]) == export(plain)
    assert parse_export(export(plain)).version == PLAIN_FORMAT


def test_an_export_without_attachments_is_what_format_2_wrote():
    """tests/data/export-format2.md was written by the exporter before attachments."""
    data = json.loads((DATA / "export-format2.json").read_text(encoding="utf-8"))
    with open(DATA / "export-format2.md", encoding="utf-8", newline="") as f:
        old = f.read()
    new = to_markdown(data["messages"], model=data["model"], title=data["title"], system_prompt=data["system_prompt"],
                      exported_at=datetime.fromisoformat(data["exported_at"]))
    assert new == old
    conversation = import_markdown(old.encode("utf-8"), max_bytes=100_000, now_ms=NOW)
    got = [{k: m[k] for k in ("role", "content", "reasoning") if k in m} for m in conversation["messages"]]
    assert got == data["messages"] and conversation["settings"]["system_prompt"] == data["system_prompt"]


@pytest.mark.parametrize("name", TRICKY_NAMES + ["\ud800 lone surrogate \udfff", "a" * 255])
def test_names_escape_and_read_back(name):
    written = escape_name(name)
    assert "\n" not in written and "\r" not in written and "\u2028" not in written
    plain = re.sub(r"&#[0-9]+;", "", written.replace("\\\\", ""))
    assert not re.search(r"(?<!\\)[\[\]()<>&`*_]", plain)  # all escaped
    assert unescape_name(written) == name


@pytest.mark.parametrize("written", ["a]b", "&#65;", "\\a", "a\\", "&amp;", "&#99999999;", "x&#10"])
def test_names_the_exporter_did_not_write_are_refused(written):
    assert unescape_name(written) is None


# ================================================================ writer refusals
def refused_attachments() -> list:
    """Attachments no exporter writes (Python raises ValueError, the JS one throws)."""
    return [
        image(data="data:image/svg+xml;base64,PHN2Zy8+"),
        image(mime="image/svg+xml"),
        image(data="javascript:alert(1)"),
        image(data="data:image/png;base64,AA==) ![x](javascript:alert(1)"),
        image(data="data:image/png;base64,AA AA"),
        image(data="data:image/png,rawbytes"),
        image(data=PNG + "\n"),
        image(data=None),
        image(size=-1),
        image(size=True),
        image(size=1.5),
        image(width="640"),
        {k: v for k, v in image().items() if k != "size"},
        image(name=None),
        document(mime="Text/Plain"),
        document(mime="text/plain; charset=utf-8"),
        document(text=None),
        document(truncated="yes"),
        document(tokens=2**53),
        {**document(), "kind": "audio"},
        "not an object",
    ]


@pytest.mark.parametrize("attachment", refused_attachments())
def test_writer_never_writes_an_attachment_outside_the_stored_shape(attachment):
    with pytest.raises(ValueError):
        export([{"role": "user", "content": "q", "attachments": [attachment]}])


def test_attachments_must_be_a_list():
    with pytest.raises(ValueError):
        export([{"role": "user", "content": "q", "attachments": {"0": image()}}])


# ================================================================ import refusals
def _good() -> str:
    return export([{"role": "user", "content": "q", "attachments": [image("p.png"), document("d.txt", "t\nu")]},
                   {"role": "assistant", "content": "a"}])


MARKER_LINE = {"image": "<!-- chat:image mime=image/png", "document": "<!-- chat:document mime=application/pdf"}


def _line_of(text: str, start: str) -> int:
    return next(n for n, line in enumerate(text.split("\n"), 1) if line.startswith(start))


@pytest.mark.parametrize(
    ("kind", "old", "new"),
    [
        ("image", PNG, "data:image/svg+xml;base64,PHN2Zy8+"),
        ("image", PNG, PNG[:30] + "!" + PNG[31:]),
        ("image", PNG, "javascript:alert(1)"),
        ("image", f"({PNG})", f"({PNG}"),
        ("image", "![p.png]", "![p]png]"),
        ("image", "![p.png]", "![p&#46;png]"),
        ("image", "size=", "size=0"),  # a leading zero
        ("image", "width=3", "width=3 depth=8"),
        ("image", "width=3 height=2", "height=2 width=3"),
        ("image", "mime=image/png", "mime=image/svg+xml"),
        ("image", f"({PNG})\n", f"({PNG})\nmore text\n"),
        ("document", "📄 **d.txt**", "**d.txt**"),
        ("document", "```text\nt\nu\n```\n", "```text\nt\nu\n"),
        ("document", "```text\nt\nu\n```\n", "```text\nt\n```\nu\n```\n"),  # its fence inside the text
        ("document", "```text", "```python"),
        ("document", "```text\nt\nu\n```\n", "```text\nt\nu\n```\nafter\n"),
        ("document", "tokens=812", "tokens=-1"),
        ("document", "tokens=812", "truncated=1 tokens=812"),
        ("document", "mime=application/pdf", "mime=Application/PDF"),
    ],
)
def test_a_block_that_does_not_read_back_is_refused(kind, old, new):
    text = _good()
    assert old in text
    bad = text.replace(old, new, 1)
    with pytest.raises(MarkdownImportError) as info:
        import_markdown(bad, max_bytes=1_000_000, now_ms=NOW)
    error = info.value
    assert error.code == "md_import_bad_attachment"
    assert error.params == {"line": _line_of(text, MARKER_LINE[kind])}
    assert set(TEXTS[error.code]) == set(SUPPORTED_LOCALES)
    assert f"line {error.params['line']}" in error.text("en-US") and "Nothing was imported" in error.text("en-US")
    assert f"第 {error.params['line']} 行" in error.text("zh-CN") and "未导入任何内容" in error.text("zh-CN")


def test_an_attachment_that_follows_no_message_is_refused():
    text = _good()
    block = text[text.index("<!-- chat:image "): text.index("\n\n", text.index("<!-- chat:image ")) + 2]
    moved = text.replace("## System prompt\n", block + "## System prompt\n", 1)
    with pytest.raises(MarkdownImportError) as info:
        from_markdown(moved)
    assert info.value.code == "md_import_bad_attachment"


def test_an_image_longer_than_the_schema_allows_is_refused(monkeypatch):
    from chatcore import export as export_module

    text = export([{"role": "user", "content": "q", "attachments": [image()]}])
    monkeypatch.setattr(export_module, "IMAGE_DATA_MAX", len(PNG) - 1)
    with pytest.raises(MarkdownImportError) as info:
        import_markdown(text, max_bytes=1_000_000, now_ms=NOW)
    assert info.value.code == "md_import_bad_attachment"
    monkeypatch.setattr(export_module, "IMAGE_DATA_MAX", len(PNG))
    assert import_markdown(text, max_bytes=1_000_000, now_ms=NOW)["messages"][0]["attachments"][0]["data"] == PNG


def test_attachments_beyond_the_schema_bounds_are_refused():
    too_many = export([{"role": "user", "content": "q", "attachments": [image()] * (ATTACHMENTS_MAX + 1)}])
    long_name = export([{"role": "user", "content": "q", "attachments": [image("n" * 256)]}])
    for text in (too_many, long_name):
        with pytest.raises(MarkdownImportError) as info:
            import_markdown(text, max_bytes=10_000_000, now_ms=NOW)
        assert info.value.code == "md_import_bad_attachment"
    block = too_many[too_many.index("<!-- chat:image "):too_many.index(f"({PNG})\n\n") + len(PNG) + 4]
    fewer = too_many.replace(block, "", 1)  # one block less: fine
    assert len(import_markdown(fewer, max_bytes=10_000_000, now_ms=NOW)["messages"][0]["attachments"]) == ATTACHMENTS_MAX


def test_a_format2_file_reads_attachment_lines_as_it_always_did():
    """Before format 3, lines between messages were skipped: a format-2 file still reads so."""
    text = _good().replace("- Format: 3", "- Format: 2")
    messages = from_markdown(text)
    assert [m["content"] for m in messages] == ["Describe images.", "q", "a"]
    assert all("attachments" not in m for m in messages)


def test_newer_than_format_3_is_refused():
    with pytest.raises(MarkdownImportError) as info:
        from_markdown(_good().replace("- Format: 3", "- Format: 4"))
    assert info.value.code == "md_import_too_new" and info.value.params == {"version": 4, "supported": 3}
