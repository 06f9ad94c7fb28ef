"""Markdown export in viewers (``chatcore.export``, format 2): whatever a message's
content leaves open, every message heading renders as a top-level ``<h2>`` and the next
message is still rendered, and ``from_markdown(to_markdown(x)) == x`` byte for byte.

Content: the 652 examples of the CommonMark spec 0.31.2 (``tests/data/commonmark/``), as
user and as assistant content, plain and as a reply stopped inside an open
```` ```python ```` fence; hand-picked open blocks (fences, HTML blocks of types 1–7,
``$$`` math, containers, lazy lines, CRLF); GFM tables, CJK, emoji, markers inside
content, empty content, reasoning; exports of format 1; random Markdown-ish text
(hypothesis).

Renderers: markdown-it-py with the ``commonmark`` preset, "gfm-like" (the same with GFM
tables and strikethrough), CommonMark without raw HTML (markdown-it's default), and
CommonMark with ``$$`` math (flow) as micromark-extension-math reads it (markdown-it-py's
own fence rule with ``$``). No browser here: docs/export_render.py draws one.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st
from markdown_it import MarkdownIt
from markdown_it.rules_block.fence import make_fence_rule

from chatcore.export import (
    FORMAT_VERSION,
    PLAIN_FORMAT,
    MarkdownImportError,
    ROLE_HEADINGS,
    from_markdown,
    parse_export,
    to_markdown,
)

DATA = Path(__file__).parent / "data"
STOP = "\n```python\ndef f():\n    return 1"  # a reply stopped inside a code block
_BEGIN = re.compile(r"^<!-- chat:begin (.*) -->$", re.M)


def spec_examples() -> list[str]:
    """The Markdown of every example of ``tests/data/commonmark/spec.txt``, read as the
    spec's own ``test/spec_tests.py`` does ("→" stands for a tab)."""
    fence = "`" * 32
    examples, lines, state = [], [], 0
    with open(DATA / "commonmark" / "spec.txt", encoding="utf-8", newline="\n") as spec:
        for line in spec:
            stripped = line.strip()
            if stripped == fence + " example":
                state, lines = 1, []
            elif state == 1 and stripped == ".":
                state = 2
            elif state == 2 and stripped == fence:
                examples.append("".join(lines).replace("→", "\t"))
                state = 0
            elif state == 1:
                lines.append(line)
    return examples


EXAMPLES = spec_examples()


def _math(md: MarkdownIt) -> MarkdownIt:
    """``md`` with ``$$`` math (flow): fenced like CommonMark §4.5 with two or more "$"."""
    rule = make_fence_rule(markers=("$",), token_type="math_block", min_markers=2, disallow_marker_in_info=("$",))
    md.block.ruler.after("fence", "math_block", rule, {"alt": ["paragraph", "reference", "blockquote", "list"]})
    return md


def _renderer(name: str) -> MarkdownIt:
    """A renderer by name (module docstring)."""
    if name == "commonmark":
        return MarkdownIt("commonmark")
    if name == "gfm-like":
        return MarkdownIt("commonmark").enable(["table", "strikethrough"])
    if name == "no-raw-html":
        return MarkdownIt("commonmark", {"html": False})
    return _math(MarkdownIt("commonmark"))


RENDERERS = {name: _renderer(name) for name in ("commonmark", "gfm-like", "no-raw-html", "math")}
# the same without the inline pass: the block structure (headings, paragraphs, code) is
# the same, and an inline token's content is its raw text; four times faster
BLOCKS = {name: md.disable(["inline", "text_join"]) for name, md in ((n, _renderer(n)) for n in RENDERERS)}


@cache
def own_h2(renderer: str, content: str) -> tuple[str, ...]:
    """The titles of the top-level ``<h2>`` headings of ``content`` rendered alone."""
    if "##" not in content and "-" not in content:
        return ()  # an <h2> is "## …" (§4.2) or a "-" underline (§4.3)
    tokens = BLOCKS[renderer].parse(content)
    return tuple(tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open" and t.tag == "h2" and t.level == 0)


def check_rendering(renderer: str, text: str, messages: list[dict], sentinels: dict[int, str] | None = None) -> None:
    """Rendered with ``renderer``, ``text`` (an export of ``messages``, system prompt
    included) has as top-level ``<h2>`` headings each message's heading followed by the
    content's own ones, in order; each message ``i`` of ``sentinels`` is still a
    paragraph (its text in a top-level inline token, not in a code or HTML block)."""
    tokens = BLOCKS[renderer].parse(text)
    got = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open" and t.tag == "h2" and t.level == 0]
    expected: list[str] = []
    owner: list[int] = []
    for n, m in enumerate(messages):
        expected += [ROLE_HEADINGS[m["role"]], *own_h2(renderer, m["content"])]
        owner += [n] * (1 + len(own_h2(renderer, m["content"])))
    if got != expected:
        first = next(i for i in range(len(expected) + 1) if i >= len(expected) or i >= len(got) or got[i] != expected[i])
        n = owner[min(first, len(owner) - 1)]
        pytest.fail(f"{renderer}: heading {first} is {got[first:first + 1]}, expected {expected[first:first + 1]}; "
                    f"message {n}: {messages[n]['content'][:200]!r}, before it: {messages[max(n - 1, 0)]['content'][:200]!r}")
    paragraphs = "\n\n".join(t.content for t in tokens if t.type == "inline" and t.level == 1)
    for n, sentinel in (sentinels or {}).items():
        assert sentinel in paragraphs, f"{renderer}: message {n} ({sentinel!r}) not rendered as a paragraph"


def check_html(text: str, messages: list[dict]) -> None:
    """The HTML of ``text`` (commonmark preset) has each message's ``<h2>`` in order."""
    html = RENDERERS["commonmark"].render(text)
    at = 0
    for m in messages:
        at = html.find(f"<h2>{ROLE_HEADINGS[m['role']]}</h2>", at)
        assert at >= 0, f"no <h2> for {m['content'][:100]!r}"
        at += 1


def begin_attrs(text: str) -> list[str]:
    """The attributes of every begin marker of an export, in order."""
    return _BEGIN.findall(text)


# ================================================================ the spec examples
SPEC_RENDERERS = ("commonmark", "gfm-like", "no-raw-html")  # math: see test_spec_examples_are_all_there


@pytest.mark.parametrize("stopped", [False, True], ids=["plain", "stopped"])
@pytest.mark.parametrize("role", ["user", "assistant"])
def test_spec_examples_round_trip_and_render(role, stopped):
    """All 652 examples in one export, each followed by a sentinel message of the other
    role: exact round trip; every heading and every sentinel rendered, four renderers."""
    other = "assistant" if role == "user" else "user"
    messages, sentinels = [], {}
    for n, example in enumerate(EXAMPLES, 1):
        messages.append({"role": role, "content": example + STOP if stopped else example})
        sentinels[len(messages)] = f"Sentinel after example {n}."
        messages.append({"role": other, "content": sentinels[len(messages)]})
    text = to_markdown(messages, model="m", title="CommonMark spec 0.31.2")
    assert from_markdown(text) == messages
    for renderer in SPEC_RENDERERS:
        check_rendering(renderer, text, messages, sentinels)
    if stopped:  # every stopped reply needed its fence closed
        assert all("close=" in attrs for attrs in begin_attrs(text)[0::2])


def test_spec_examples_are_all_there():
    assert len(EXAMPLES) == 652
    assert EXAMPLES[0] == "\tfoo\tbaz\t\tbim\n"
    # no line of them starts with $$: the math renderer reads them as commonmark does
    assert not any(re.search(r"^[ >*+\-0-9.)]*\$\$", example, re.M) for example in EXAMPLES)


def test_spec_example_alone_with_system_prompt_and_reasoning():
    """Each example as system prompt, reasoning and content of one reply (a sample of
    every 7th, to stay fast): exact, and the next heading renders."""
    for example in EXAMPLES[::7]:
        messages = [{"role": "assistant", "content": example + STOP, "reasoning": example}, {"role": "user", "content": "Next."}]
        text = to_markdown(messages, model="m", system_prompt=example)
        expected = [{"role": "system", "content": example}] + messages
        assert from_markdown(text) == expected
        for renderer in ("commonmark", "no-raw-html"):
            check_rendering(renderer, text, expected, {2: "Next."})


# ================================================================ chosen open blocks
OPEN_BLOCKS = [
    # (id, content, closing lines the exporter adds)
    ("backtick-fence", "Look:\n```python\ndef f():", ["```"]),
    ("tilde-fence-indented", "  ~~~~ sh\necho 1\n~~~", ["~~~~"]),
    ("long-fence", "``````\n`````\n", ["``````"]),
    ("fence-crlf", "```\r\ncode\r\n", ["```"]),
    ("fence-cr-only", "x\r```\rcode", ["```"]),
    ("fence-closed-then-open", "```\na\n```\n~~~\nb", ["~~~"]),
    ("closed-fence", "```\na\n```", []),
    ("closed-fence-trailing-newline", "```\na\n```\n", []),
    ("fence-in-blockquote", "> ```\n> code", []),
    ("fence-in-list", "- ```\n  code", []),
    ("lazy-blockquote", "> quote\nlazy line", []),
    ("list-then-fence-line", "- item\n```", ["```"]),
    ("indented-code", "    code\n    more", []),
    ("html-script", "<script>\nlet a = 1;", ["</script>"]),
    ("html-pre", "<pre>\nkeep\n\n## not a heading", ["</pre>"]),
    ("html-style-upper", "<STYLE type=\"text/css\">\n\nh1 {}", ["</style>"]),
    ("html-textarea", "<textarea>\n\ntext", ["</textarea>"]),
    ("html-comment", "<!-- never closed\n\nstill comment", []),  # the end marker's --> ends it
    ("html-processing", "<?php\n\necho 1;", ["?>"]),
    ("html-declaration", "<!DOCTYPE html\n\nx", []),  # ended by the end marker's >
    ("html-cdata", "<![CDATA[\n\nraw", ["]]>"]),
    ("html-div", "<div>\n*not emphasis*", []),  # ends at the blank line after the end marker
    ("html-open-tag", "<a href=\"x\">\ntext", []),
    ("math", "The sum:\n$$\n\\sum_i x_i", ["$$"]),
    ("math-long", "$$$ meta\nx\n$$", ["$$$"]),
    ("math-closed", "$$\nx\n$$", []),
    ("math-in-text", "costs $$5 and $$6", []),
    ("pre-then-fence", "<pre>\n```", ["```", "</pre>"]),  # raw HTML on: in <pre>; off: in the fence
    ("table", "| a | b |\n|---|---|\n| 1 | 2 |", []),
    ("empty", "", []),
    ("only-fence", "```", ["```"]),
]


@pytest.mark.parametrize("content,closers", [c[1:] for c in OPEN_BLOCKS], ids=[c[0] for c in OPEN_BLOCKS])
def test_open_block_is_closed_exactly(content, closers):
    messages = [{"role": "user", "content": "q"}, {"role": "assistant", "content": content}, {"role": "user", "content": "After."}]
    text = to_markdown(messages, model="m")
    assert from_markdown(text) == messages
    attrs = begin_attrs(text)[1]
    assert re.fullmatch(r"role=assistant( gap=1)?" + (f" close={len(closers)}" if closers else ""), attrs)
    lines = text.split("\n")
    begin = lines.index(f"<!-- chat:begin {attrs} -->")
    end = lines.index("<!-- chat:end -->", begin)
    gap = [""] if "gap=1" in attrs else []
    assert lines[begin + 1 : end] == gap + content.split("\n") + closers
    for renderer in RENDERERS:
        check_rendering(renderer, text, messages, {2: "After."})
    check_html(text, messages)


@pytest.mark.parametrize(
    "content,gap",
    [
        ("A", False),
        ("plain paragraph\nof two lines", False),
        ("# heading", False),
        ("- list", False),
        ("```\ncode\n```", False),
        ("\nstarts blank", False),
        ("---", True),  # "<!-- chat:begin -->\n---" is a setext heading without raw HTML
        ("===\ntext", True),
        ("text\n---", True),
        ("    indented code", True),
        ("[a]: /url\n\n[a]", True),
        ("2. ordered from two", True),
        ("-\n  empty item", True),
        ("| a |\n|---|", False),  # a table may interrupt a paragraph: it stays a table
    ],
)
def test_gap_after_begin_marker_only_where_needed(content, gap):
    """Without raw HTML the begin marker is paragraph text: a blank line (``gap=1``)
    keeps the content's first lines from continuing it (CommonMark §4.3, §4.4, §4.7, §5.2)."""
    messages = [{"role": "user", "content": content}, {"role": "assistant", "content": "After."}]
    text = to_markdown(messages, model="m")
    assert from_markdown(text) == messages
    assert ("gap=1" in begin_attrs(text)[0]) is gap
    for renderer in RENDERERS:
        check_rendering(renderer, text, messages, {1: "After."})


def test_stopped_reply_layout():
    """The exact text of a stopped reply: the fence closed, its count on the marker."""
    text = to_markdown([{"role": "user", "content": "q"}, {"role": "assistant", "content": "Here:" + STOP}], model="m")
    assert text.endswith(
        "## Assistant\n\n<!-- chat:begin role=assistant close=1 -->\nHere:\n```python\ndef f():\n    return 1\n```\n"
        "<!-- chat:end -->\n"
    )
    assert f"\n- Format: {PLAIN_FORMAT}\n" in text  # no attachments: the format-2 reader reads it


# ================================================================ everyday content
EVERYDAY = [
    {"role": "user", "content": "表格和代码？😀👩‍👩‍👧\n"},
    {"role": "assistant", "content": "| 名称 | 值 |\n|:---|---:|\n| `a|b` | 1 |\n| emoji 😀 | 2 |\n\n~~删除~~", "reasoning": "先想一想\n```\n未闭合"},
    {"role": "user", "content": "before\n<!-- chat:end -->\n```\nafter <!-- chat:end:1 -->"},
    {"role": "assistant", "content": "windows\r\n```\r\nline\rendings\r\n"},
    {"role": "user", "content": ""},
    {"role": "assistant", "content": "ends with newline\n\n"},
    {"role": "user", "content": "## User\n<!-- chat:begin role=user -->\n- Format: 9"},
    {"role": "assistant", "content": "$$\nE = mc^2", "reasoning": "> quoted\n<pre>"},
]


def test_everyday_content_round_trip_and_render():
    text = to_markdown(EVERYDAY, model="gpt-4o-mini", title="日常 😀", system_prompt="规则：\n```\n1. 简短")
    expected = [{"role": "system", "content": "规则：\n```\n1. 简短"}] + EVERYDAY
    assert from_markdown(text) == expected
    assert "<!-- chat:end-marker chat:end:2 -->" in text
    for renderer in RENDERERS:
        check_rendering(renderer, text, expected)
    check_html(text, expected)
    # the table is a table where GFM is on
    assert any(t.type == "table_open" for t in RENDERERS["gfm-like"].parse(text))


def test_reasoning_before_a_stopped_reply_renders():
    messages = [{"role": "assistant", "content": "Answer" + STOP, "reasoning": "```\nopen in the quote"}, {"role": "user", "content": "Next."}]
    text = to_markdown(messages, model="m")
    assert from_markdown(text) == messages
    for renderer in RENDERERS:
        check_rendering(renderer, text, messages, {1: "Next."})


# ================================================================ formats
def _format1() -> tuple[str, list[dict]]:
    with open(DATA / "export-format1.md", encoding="utf-8", newline="") as f:  # keep its CR and CRLF
        text = f.read()
    data = json.loads((DATA / "export-format1.json").read_text(encoding="utf-8"))
    return text, [{"role": "system", "content": data["system_prompt"]}] + data["messages"]


def test_format1_export_still_reads_exactly():
    text, expected = _format1()
    assert "- Format:" not in text and "\r" in text
    parsed = parse_export(text)
    assert parsed.version == 1 and parsed.messages == expected and parsed.model == "gpt-4o-mini"


def test_format1_rewritten_as_format2_renders():
    """The same conversation exported again: now every heading renders."""
    text, expected = _format1()
    again = to_markdown(expected[1:], model="gpt-4o-mini", system_prompt=expected[0]["content"])
    assert from_markdown(again) == expected
    for renderer in RENDERERS:
        check_rendering(renderer, again, expected)
    with pytest.raises(pytest.fail.Exception):
        check_rendering("commonmark", text, expected)  # format 1 lost headings after the stopped reply


@pytest.mark.parametrize("version", [FORMAT_VERSION + 1, 99])
def test_newer_format_is_refused(version):
    text = to_markdown([{"role": "user", "content": "hi"}], model="m").replace(f"- Format: {PLAIN_FORMAT}", f"- Format: {version}")
    with pytest.raises(MarkdownImportError) as info:
        from_markdown(text)
    assert info.value.code == "md_import_too_new"
    assert info.value.params == {"version": version, "supported": FORMAT_VERSION}
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    "text",
    [
        "- Format: 2\n\n<!-- chat:begin role=user gap=1 -->\nnot blank\n<!-- chat:end -->",
        "- Format: 2\n\n<!-- chat:begin role=user close=2 -->\nx\n<!-- chat:end -->",
        "- Format: 2\n\n<!-- chat:begin role=user close=0 -->\nx\n<!-- chat:end -->",
        "- Format: 2\n\n<!-- chat:begin role=user extra=1 -->\nx\n<!-- chat:end -->",
        "<!-- chat:begin role=user close=1 -->\nx\n```\n<!-- chat:end -->",  # format 1 has no close=
    ],
    ids=["gap-not-blank", "close-too-many", "close-zero", "unknown-attribute", "close-in-format-1"],
)
def test_malformed_markers_are_refused(text):
    with pytest.raises(MarkdownImportError) as info:
        from_markdown(text)
    assert info.value.code == "md_import_not_export"


# ================================================================ property
_pieces = st.sampled_from([
    "\n", "\n\n", "\r", "\r\n", " ", "   ", "    ", "\t", "```", "````", "~~~", "```py", "$$", "$$$", "<", ">", "> ", "-", "- ",
    "---", "===", "1. ", "2) ", "|", "|---|", "<pre>", "</pre>", "<script>", "<!--", "-->", "<?", "?>", "<![CDATA[", "]]>",
    "<!X", "<div>", "[a]: /u", "## User", "<!-- chat:end -->", "<!-- chat:begin role=user -->", "中文", "😀", "\\", "*",
])
_content = st.lists(st.one_of(_pieces, st.text(max_size=4)), max_size=16).map("".join)
_message = st.fixed_dictionaries({"role": st.sampled_from(["user", "assistant"]), "content": _content})


@settings(max_examples=100, deadline=None)
@given(messages=st.lists(_message, min_size=1, max_size=4), system_prompt=_content, stopped=st.booleans())
def test_round_trip_and_headings_property(messages, system_prompt, stopped):
    """Random Markdown-ish text: exact round trip; CommonMark (raw HTML on, the one
    every export satisfies) renders every heading and the message after it."""
    if stopped:
        messages = messages[:-1] + [{"role": "assistant", "content": messages[-1]["content"] + STOP}]
    messages = messages + [{"role": "user", "content": "Sentinel."}]
    text = to_markdown(messages, model="m", system_prompt=system_prompt)
    expected = ([{"role": "system", "content": system_prompt}] if system_prompt else []) + messages
    assert from_markdown(text) == expected
    check_rendering("commonmark", text, expected, {len(expected) - 1: "Sentinel."})


# ================================================================ attachments (format 3)
from html.parser import HTMLParser  # noqa: E402

from tests.test_export_attachments import TRICKY_NAMES, TRICKY_TEXTS, attached_conversation, document, image  # noqa: E402

ATTACHMENT_TAGS = {"h1", "h2", "ul", "li", "p", "img", "pre", "code", "strong"}


class _Html(HTMLParser):
    """Every start tag with its attributes, and the text of each ``<p>`` and ``<code>``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.texts: dict[str, list[str]] = {"p": [], "code": []}
        self._open: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag in self.texts:
            self.texts[tag].append("")
            self._open.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if self._open and self._open[-1] == tag:
            self._open.pop()

    def handle_data(self, data):
        for tag in self._open[-1:]:
            self.texts[tag][-1] += data

    def handle_comment(self, data):
        self.tags.append(("!--", {}))


def _as_rendered(value: str) -> str:
    """What a CommonMark renderer makes of a code block's text: line breaks "\\n", NUL as
    U+FFFD (§2.3)."""
    return re.sub(r"\r\n?", "\n", value).replace("\x00", "\ufffd")


def _as_named(name: str) -> str:
    """What markdown-it makes of an escaped name: the name, with the control characters
    its ``isValidEntityCode`` refuses as U+FFFD (they were character references)."""
    return re.sub(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]", "\ufffd", name)


def _tricky_attachments() -> list[dict]:
    names = TRICKY_NAMES  # (a lone surrogate cannot be stored: chatcore.schema's strings are Unicode)
    return [
        {"role": "user", "content": "Images:", "attachments": [image(name) for name in names]},
        {"role": "assistant", "content": "Seen."},
        {"role": "user", "content": "Documents:", "attachments": [document(name, text) for name, text in zip(names * 2, TRICKY_TEXTS)]},
        {"role": "user", "content": "Named documents:", "attachments": [document(name, "x") for name in names]},
        {"role": "assistant", "content": "Sentinel after the attachments."},
    ]


@pytest.mark.parametrize("renderer", list(RENDERERS))
def test_attachments_render_as_images_and_code_only(renderer):
    """Rendered, an export's attachments are images (``src`` the data URL, ``alt`` the
    name exactly) and code blocks (the text exactly), and nothing else: no tag, attribute
    or link from a name or a text, in every renderer, raw HTML on or off."""
    messages = _tricky_attachments()
    text = to_markdown(messages, model="m")
    assert from_markdown(text) == [{**m, "attachments": [{k: v for k, v in a.items() if k != "id"} for a in m["attachments"]]}
                                   if "attachments" in m else m for m in messages]
    check_rendering(renderer, text, messages, {4: "Sentinel after the attachments."})
    html = _Html()
    html.feed(RENDERERS[renderer].render(text))
    assert {tag for tag, _ in html.tags} - {"!--"} <= ATTACHMENT_TAGS
    images = [attrs for tag, attrs in html.tags if tag == "img"]
    expected_images = messages[0]["attachments"]
    assert [set(attrs) for attrs in images] == [{"src", "alt"}] * len(expected_images)
    assert [attrs["src"] for attrs in images] == [a["data"] for a in expected_images]
    assert [attrs["alt"] for attrs in images] == [_as_named(a["name"]) for a in expected_images]
    assert all(not attrs for tag, attrs in html.tags if tag not in ("img", "code"))
    documents = messages[2]["attachments"] + messages[3]["attachments"]
    codes = html.texts["code"]
    assert codes == [_as_rendered(d["text"]) + "\n" for d in documents]
    assert all(attrs == {"class": "language-text"} for tag, attrs in html.tags if tag == "code")
    named = [p for p in html.texts["p"] if "📄" in p]
    for doc, paragraph in zip(documents, named):
        name = _as_named(doc["name"])
        assert paragraph.endswith("📄 " + name) or paragraph.endswith("📄 **" + name + "**"), (paragraph, name)
    assert len(named) == len(documents)


def test_attachments_beside_open_blocks_render():
    """Attachments after contents that needed closing lines, and with reasoning: every
    heading renders and so does the message after them."""
    messages = attached_conversation() + [{"role": "assistant", "content": "Sentinel."}]
    text = to_markdown(messages, model="m", system_prompt="S")
    expected = [{"role": "system", "content": "S"}] + messages
    for renderer in RENDERERS:
        check_rendering(renderer, text, expected, {len(expected) - 1: "Sentinel."})
    check_html(text, expected)
