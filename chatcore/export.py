"""Markdown export of a conversation, the parser that reads it back, and the import of
such a file as a new conversation.

Format 2 (clean Markdown; the HTML comments are invisible when rendered and make the
round trip exact)::

    # <title>

    - Exported: 2026-11-21 14:03:05 UTC
    - Model: gpt-4o-mini
    - Messages: 2
    - Format: 2

    ## System prompt            (only when one is set)

    <!-- chat:begin role=system -->
    <content, byte-exact>
    <!-- chat:end -->

    ## User

    <!-- chat:begin role=user -->
    ...

    ## Assistant

    <!-- chat:reasoning -->      (only for a reply with reasoning)
    > **Reasoning**
    >
    > <each line of the reasoning, after "> ">
    <!-- chat:reasoning-end -->

    <!-- chat:begin role=assistant close=1 -->
    Stopped in the middle of
    ```python
    def f():
        return 1
    ```
    <!-- chat:end -->

A message's content is written unchanged between its markers; if some content
contains the end marker, a suffix (``<!-- chat:end:1 -->`` …) is chosen that no
content contains, and the header records it (``<!-- chat:end-marker chat:end:1 -->``).

Viewer safety (format 2). A content that ends inside a block that runs to the end of
the document would swallow every later heading in a viewer: a fenced code block
(CommonMark 0.31.2 §4.5: "If the end of the containing block (or document) is reached
and no closing code fence has been found, the code block contains all of the lines
after the opening code fence"), an HTML block of types 1, 3 and 5 (§4.6: ``<script``/
``<pre``/``<style``/``<textarea``, ``<?``, ``<![CDATA[`` end only at their end
condition; types 2 ``<!--`` and 4 ``<!X`` end at the end marker's own ``-->``, types
6 and 7 at the blank line after it), or a ``$$`` math block (math (flow) of
micromark-extension-math, which remark-math, GitHub-style renderers and this app's
Markdown follow: fenced like §4.5 with ``$``, two or more). The exporter finds such a
block with markdown-it-py's block parser: the content, the end marker, a blank line
and a probe ``## heading`` are parsed; when the probe is not a top-level heading, the
top-level fence / math / HTML block token whose ``map`` covers it is the open one
(only a leaf block at the top level can hold an unindented heading after a blank line).
It asks several parsers, as viewers differ: CommonMark with raw HTML (GitHub, GitLab),
with math (remark-math), with markdown-it's GFM tables (markdown-it tries a table
before a fence, so a fence line can be a table's header row: VS Code), and without raw
HTML (markdown-it's default: ``<pre>`` is text there, so a fence after it is open),
also with math or tables; a parser is asked only when the content has a line it reads
otherwise. The exporter appends the shortest list of closing lines that closes every
open block in all of them (breadth-first over the fence's own ``markup``; an end tag,
``?>`` or ``]]>`` that the block's end condition, markdown-it's ``HTML_SEQUENCES``,
accepts; ``$$``; and ``<!--``, which where raw HTML is on hides the lines after it up
to the end marker's ``-->``, so that a fence only a no-HTML parser sees open can be
closed), at most four lines, and records their number on the begin marker: ``close=N``
means the last N lines before the end marker are not content. Where no list satisfies
every parser (contents open in different fences in different parsers), parsers are
dropped from the least used until one does; CommonMark with raw HTML is always
satisfied (one line closes its open block).

The end marker is an HTML block of type 2, which may interrupt a paragraph (§4.6), so
it is never a lazy continuation line (§5.1, §5.2) and it ends every open list or
block quote of the content (its line has no indentation and no ``>``); a blank line
separates it from the next heading, which ends HTML blocks of types 6 and 7. Where
raw HTML is off, the begin marker is paragraph text and the content's first lines
could continue it (a ``---`` line would make it a setext heading, §4.3; an indented
line or a link reference definition would become its text, §4.4, §4.7, §4.8): then a
blank line follows the begin marker, recorded as ``gap=1``. So the begin marker is
``<!-- chat:begin role=R[ gap=1][ close=N] -->``.

Format 1 (exports without a ``- Format:`` line) had neither; they read back exactly
as before. A file with a newer format is refused (``md_import_too_new``).

An assistant message's reasoning (the model's thinking, a non-empty string) comes
before its content as a blockquote, so GitHub and VS Code show it as a labelled
quote above the answer: every line of it gets ``"> "`` in front (no line of it can
then look like a marker), and the parser removes exactly that (a bare ``>`` line,
as an editor that strips trailing spaces leaves it, reads as an empty line).
Messages without reasoning are written exactly as before.
"""

from __future__ import annotations

import functools
import itertools
import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

from markdown_it import MarkdownIt
from markdown_it.rules_block.fence import make_fence_rule
from markdown_it.rules_block.html_block import HTML_SEQUENCES

from . import i18n
from .messages import MODEL_NAME_MAX, MODEL_NAME_PATTERN, Message
from .schema import TITLE_MAX, Conversation

FORMAT_VERSION = 2  # the newest format this module writes and reads
ROLE_HEADINGS = {"system": "System prompt", "user": "User", "assistant": "Assistant"}
END_MARKER = "<!-- chat:end -->"
REASONING_BEGIN = "<!-- chat:reasoning -->"
REASONING_END = "<!-- chat:reasoning-end -->"
REASONING_LABEL = ("> **Reasoning**", ">")  # the quote's first lines, before the text
MAX_CLOSING_LINES = 4
# parsing spent per message on closing lines that satisfy several parsers, in characters
# (a parse costs at least MIN_PARSE_COST): 500 parses of a short content (~50 ms), 5 of
# 200 kB; most content needs one parse per parser that reads it apart
MAX_PARSED_CHARS = 1_000_000
MIN_PARSE_COST = 2_000

_BEGIN = re.compile(r"^<!-- chat:begin (.*) -->$")
_BEGIN_ATTRS_V1 = re.compile(r"role=(\S+)")
_BEGIN_ATTRS_V2 = re.compile(r"role=(\S+)( gap=1)?(?: close=([1-9][0-9]*))?")
_FORMAT_LINE = re.compile(r"^- Format: ([0-9]+)$", re.M)
_END_MARKER_LINE = re.compile(r"^<!-- chat:end-marker (chat:end(?::\d+)?) -->$", re.M)
# markdown-it's line breaks (its ``normalize`` core rule): "\r\n", "\r" and "\n"
_LINE_BREAKS = re.compile(r"\r\n?|\n")
_PROBE = "## probe"
# an HTML block of type 2 that the end marker's "-->" ends: where raw HTML is on, the
# closing lines after it are hidden in it (and cannot open anything), where it is off
# they close what only that parser has open
_SHIELD = "<!--"


class ExportedMessage(Message, total=False):
    """A message of an export: ``{"role", "content"}`` and, for an assistant reply
    that has it, ``"reasoning"`` (never sent upstream: ``chatcore.messages.ChatMessage``)."""

    reasoning: str


class MarkdownImportError(ValueError):
    """A text that cannot be read back as an export.

    ``code`` is a key of ``chatcore.i18n.TEXTS`` (``md_import_not_export``,
    ``md_import_too_new``, ``md_import_unknown_role``, ``md_import_too_large``,
    ``md_import_not_text``), ``params`` its format values, ``detail`` an English note
    for logs and tests (never shown as the user's text: use ``text(locale)``). A
    ``ValueError``, so callers of ``from_markdown`` that catch that keep working.
    """

    def __init__(self, code: str, detail: str = "", **params: object) -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail
        self.params = params

    def text(self, locale: str | None = None) -> str:
        """The user-facing text in ``locale`` (zh-CN or en-US)."""
        return i18n.text(self.code, locale, **self.params)


def _not_export(detail: str) -> MarkdownImportError:
    return MarkdownImportError("md_import_not_export", detail)


def _reasoning_of(message: dict) -> str | None:
    """The reasoning to export with ``message``: a non-empty string of an assistant's."""
    reasoning = message.get("reasoning")
    return reasoning if message.get("role") == "assistant" and isinstance(reasoning, str) and reasoning else None


def export_filename(now: datetime | None = None) -> str:
    """``chat-YYYYMMDD-HHMMSS.md`` for ``now`` (local time of the server by default)."""
    now = now or datetime.now()
    return now.strftime("chat-%Y%m%d-%H%M%S.md")


def _end_marker(messages: list[ExportedMessage]) -> str:
    """The shortest ``<!-- chat:end[:n] -->`` that appears in no message content."""
    marker, n = END_MARKER, 0
    while any(marker in m["content"] for m in messages):
        n += 1
        marker = f"<!-- chat:end:{n} -->"
    return marker


# --------------------------------------------------------------- open blocks
def _block_parser(*, html: bool, math: bool = False, table: bool = False) -> MarkdownIt:
    """A markdown-it-py CommonMark parser that builds block tokens only (no inline
    pass), with raw HTML on or off, ``$$`` math (flow) and GFM tables optional."""
    md = MarkdownIt("commonmark", {"html": html}).disable(["inline", "text_join"])
    if table:
        md.enable("table")
    if math:
        # math (flow) of micromark-extension-math: a fence of two or more "$", no "$"
        # after it on its line, closed by at least as many (CommonMark §4.5 otherwise)
        rule = make_fence_rule(markers=("$",), token_type="math_block", min_markers=2, disallow_marker_in_info=("$",))
        md.block.ruler.after("fence", "math_block", rule, {"alt": ["paragraph", "reference", "blockquote", "list"]})
    return md


# what a line starts with after container markers and indentation (§5.1, §5.2), for the
# quick tests below: a parser is only asked when the content has a line it reads apart
_LINE_START = r"^[ \t>*+\-0-9.)]*"
_NEEDS_MATH = re.compile(_LINE_START + r"\$\$", re.M)
_NEEDS_HTML = re.compile(_LINE_START + "<", re.M)
_NEEDS_TABLE = re.compile(_LINE_START + r"[ \t|:]*-[ \t|:\-]*$", re.M)  # a delimiter row


@functools.cache
def _closing_parsers() -> tuple[tuple[MarkdownIt, frozenset[str]], ...]:
    """The parsers whose open blocks the exporter closes, most used first, each with what
    a content needs (``math``, ``html``, ``table`` lines) for it to read the content
    otherwise than the first one: CommonMark with raw HTML (GitHub, GitLab), with math
    (remark-math, this app), with GFM tables (markdown-it tries a table before a fence:
    VS Code), without raw HTML (markdown-it's default), math or tables without it."""
    return (
        (_block_parser(html=True), frozenset()),
        (_block_parser(html=True, math=True), frozenset({"math"})),
        (_block_parser(html=True, table=True), frozenset({"table"})),
        (_block_parser(html=False), frozenset({"html"})),
        (_block_parser(html=False, math=True), frozenset({"math", "html"})),
        (_block_parser(html=False, table=True), frozenset({"table", "html"})),
    )


@functools.cache
def _no_html_parser() -> MarkdownIt:
    """CommonMark without raw HTML, GFM tables on: where the begin marker is text."""
    return _block_parser(html=False, table=True)


def _line_count(src: str) -> int:
    """The number of lines markdown-it sees in ``src`` (it reads "\\r" as a line break)."""
    return len(_LINE_BREAKS.findall(src)) + 1


def _line_offset(text: str, line: int) -> int:
    """Where line ``line`` (0-based, as markdown-it counts) of ``text`` starts. The
    text is cut there, not split and joined: a "\\r" at its end and the "\\n" written
    after it are one line break, "\\r\\n"."""
    if line <= 0:
        return 0
    for n, match in enumerate(_LINE_BREAKS.finditer(text), 1):
        if n == line:
            return match.end()
    return len(text)


def _html_closer(opening_line: str) -> str | None:
    """A line that ends the HTML block whose first line is ``opening_line``: one its end
    condition (CommonMark §4.6, markdown-it's ``HTML_SEQUENCES``) accepts, the end tag of
    its own start tag for type 1; ``None`` for types 6 and 7 (they end at a blank line)."""
    line = opening_line.lstrip(" ")
    for start, end, _ in HTML_SEQUENCES:
        match = start.search(line)
        if not match:
            continue
        tag = match.group(1).lower() if match.groups() and match.group(1) else None
        candidates = ([f"</{tag}>"] if tag else []) + [">", "?>", "-->", "]]>"]
        return next((c for c in candidates if end.search(c) and not end.search("")), None)
    return None


@dataclass
class _Probe:
    """What one parser makes of a body followed by the end marker, a blank line and a
    probe heading: whether the heading is inside a block, a line that closes that block
    (``None``: closed, or no closing line known), and the first line of the body's last
    top-level block: parsing may start there, as nothing before it is open and
    markdown-it's block rules look from their line onwards, never back (the spec's
    appendix "A parsing strategy" reads lines the same way)."""

    open: bool
    closer: str | None
    last_block: int


def _probe(md: MarkdownIt, body: str, end: str) -> _Probe:
    """Parse ``body`` + end marker + blank line + ``## probe`` with ``md``.

    The open block is the top-level fence, math or HTML block token whose ``map`` (the
    lines it spans) covers the probe heading: only a leaf block at the top level can
    hold an unindented heading after a blank line (containers end there, §5.1, §5.2).
    """
    src = f"{body}\n{end}\n\n{_PROBE}"
    body_lines = _line_count(body)
    probe_line = _line_count(src) - 1
    tokens = md.parse(src)
    starts = [t for t in tokens if t.level == 0 and t.nesting >= 0 and t.map]
    last_block = max((t.map[0] for t in starts if t.map[0] < body_lines), default=0)  # type: ignore[index]
    last = starts[-1] if starts else None
    if last is None or (last.type == "heading_open" and last.map[0] == probe_line):  # type: ignore[index]
        return _Probe(False, None, last_block)
    if not last.map[0] <= probe_line < last.map[1]:  # type: ignore[index]
        return _Probe(True, None, last_block)
    if last.type in ("fence", "math_block"):
        return _Probe(True, last.markup, last_block)
    if last.type == "html_block":
        return _Probe(True, _html_closer(last.content.split("\n", 1)[0]), last_block)
    return _Probe(True, None, last_block)


def _features(text: str) -> set[str]:
    """What lines of ``text`` other parsers than plain CommonMark with raw HTML may read
    otherwise: ``math`` (a line starting with ``$$``), ``html`` (with ``<``), ``table``
    (a ``|`` somewhere and a line that can be a delimiter row)."""
    if "\r" in text:
        text = _LINE_BREAKS.sub("\n", text)
    found = {name for name, test in (("math", _NEEDS_MATH), ("html", _NEEDS_HTML)) if test.search(text)}
    if "|" in text and _NEEDS_TABLE.search(text):
        found.add("table")
    return found


def _closing_lines(content: str, end: str) -> list[str]:
    """The lines to write after ``content`` so that nothing it opened runs past its end
    marker, in any of the closing parsers (module docstring); ``[]`` for most content.

    Breadth-first over the closing lines the parsers ask for (and ``_SHIELD``), at most
    ``MAX_CLOSING_LINES`` of them and ``MAX_PARSED_CHARS`` of parsing; when no list
    satisfies all parsers, the least used are dropped one by one (one line always
    satisfies CommonMark alone).
    """
    if not any(ch in content for ch in "`~<$"):
        return []  # a fence needs ` or ~, an HTML block <, math $
    parsers = list(_closing_parsers())
    features = _features(content)
    budget = [MAX_PARSED_CHARS]
    for n in range(len(parsers), 0, -1):
        found = _search_closing(content, features, end, parsers[:n], budget if n > 1 else None)
        if found is not None:
            return found
    return []  # not reached


def _search_closing(
    content: str, features: set[str], end: str, parsers: list[tuple[MarkdownIt, frozenset[str]]], budget: list[int] | None
) -> list[str] | None:
    """The shortest list of closing lines after which no parser in ``parsers`` (those
    the content and the lines need, ``_features``) has a block open, or ``None`` (none
    within ``MAX_CLOSING_LINES``, or ``budget[0]`` characters parsed; ``None``: no limit).

    Each parser reads the whole content once; with closing lines after it, only from the
    content's last top-level block on (``_Probe.last_block``)."""
    tails: dict[int, str] = {}  # parser index → the content from its last top-level block
    frontier: list[list[str]] = [[]]
    while frontier:
        following: list[list[str]] = []
        for closers in frontier:
            present = features | _features("\n".join(closers))
            wanted: list[str] = []
            stuck = False
            for index, (md, needs) in enumerate(parsers):
                if not needs <= present:
                    continue
                body = "\n".join([tails.get(index, content), *closers])
                if budget is not None:
                    budget[0] -= max(len(body), MIN_PARSE_COST)
                    if budget[0] < 0:
                        return None
                probe = _probe(md, body, end)
                if index not in tails:
                    tails[index] = content[_line_offset(content, probe.last_block) :] if closers == [] else content
                if probe.open and probe.closer is None:
                    stuck = True
                elif probe.open and probe.closer not in wanted:
                    wanted.append(probe.closer)  # type: ignore[arg-type]
            if not wanted and not stuck:
                return closers
            if wanted and len(closers) < MAX_CLOSING_LINES:
                following += [closers + [c] for c in [*wanted, _SHIELD] if c not in closers[-1:]]
        frontier = following
    return None


def _needs_gap(begin: str, content: str) -> bool:
    """Whether the content's first lines would continue the begin marker's paragraph in a
    renderer without raw HTML and so change what they are (a setext underline, §4.3; an
    indented code line, §4.4; a link reference definition, §4.7; a table's delimiter row):
    true when the marker's paragraph takes other lines than the content's own leading
    paragraph (§4.8). Only the lines before the content's first blank line matter."""
    lead: list[str] = []
    start = 0
    for match in itertools.chain(_LINE_BREAKS.finditer(content), [None]):  # markdown-it's lines
        line = content[start : match.start() if match else len(content)]
        if not line.strip(" \t"):  # a blank line: spaces and tabs only
            break
        lead.append(line)
        if match is None:
            break
        start = match.end()
    if not lead:
        return False
    if all(line[:1].isalpha() for line in lead):
        # no block starts with a letter (§4–§5: markers are punctuation, digits or
        # indentation; GFM table delimiter rows are made of | - :), so these lines are a
        # plain paragraph either way: the same lines with the marker line as without it
        return False
    md = _no_html_parser()
    joined = md.parse(begin + "\n" + "\n".join(lead))
    if not joined or joined[0].type != "paragraph_open" or not joined[0].map or joined[0].map[0] != 0:
        return True
    if joined[0].map[1] == 1:
        return False  # the first line interrupts the paragraph: a block of its own
    alone = md.parse("\n".join(lead))
    own = alone[0].map[1] if alone and alone[0].type == "paragraph_open" and alone[0].map and alone[0].map[0] == 0 else 0
    return joined[0].map[1] - 1 != own


def _message_lines(message: ExportedMessage, end: str) -> list[str]:
    """One message's section: heading, reasoning quote, begin marker, content, end."""
    out = [f"## {ROLE_HEADINGS[message['role']]}", ""]
    if "reasoning" in message:
        out += [REASONING_BEGIN, *REASONING_LABEL]
        out += ["> " + line for line in message["reasoning"].split("\n")]
        out += [REASONING_END, ""]
    content = message["content"]
    closers = _closing_lines(content, end)
    begin = f"<!-- chat:begin role={message['role']} -->"
    gap = _needs_gap(begin, content)
    attrs = f"role={message['role']}" + (" gap=1" if gap else "") + (f" close={len(closers)}" if closers else "")
    out.append(f"<!-- chat:begin {attrs} -->")
    if gap:
        out.append("")
    out += [content, *closers, end, ""]
    return out


def to_markdown(
    messages: list[Message],
    *,
    model: str,
    title: str = "Chat",
    system_prompt: str | None = None,
    exported_at: datetime | None = None,
) -> str:
    """Render a conversation as Markdown, format ``FORMAT_VERSION`` (module docstring).

    ``from_markdown(to_markdown(m, ...))`` gives back every message's role, content
    and reasoning exactly (the system prompt first), and every message heading renders
    as a top-level ``<h2>`` in a CommonMark or GFM viewer, raw HTML on or off, ``$$``
    math on or off.

    Args:
        messages: ``{"role", "content"}`` dicts, oldest first, an assistant's maybe
            with ``"reasoning"`` (a non-empty string; other extra keys ignored).
        model: model name recorded in the header (whitespace runs become one space).
        title: document title (first line, ``# title``; whitespace runs become one space).
        system_prompt: recorded as the first section when non-empty.
        exported_at: export time (UTC now by default), written as ``YYYY-MM-DD HH:MM:SS UTC``.

    Returns:
        The Markdown text, ``"\\n"`` line breaks, ending with a blank line.
    """
    exported_at = exported_at or datetime.now(timezone.utc)
    body: list[ExportedMessage] = []
    if system_prompt:
        body.append({"role": "system", "content": system_prompt})
    for m in messages:
        entry: ExportedMessage = {"role": m["role"], "content": m["content"]}
        reasoning = _reasoning_of(m)  # type: ignore[arg-type]
        if reasoning is not None:
            entry["reasoning"] = reasoning
        body.append(entry)
    end = _end_marker(body)
    stamp = exported_at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    title_line = " ".join(title.split()) or "Chat"
    model_line = " ".join(str(model).split())
    out = [f"# {title_line}", "", f"- Exported: {stamp}", f"- Model: {model_line}", f"- Messages: {len(messages)}",
           f"- Format: {FORMAT_VERSION}", ""]
    if end != END_MARKER:
        out += [f"<!-- chat:end-marker {end[5:-4]} -->", ""]
    for message in body:
        out += _message_lines(message, end)
    return "\n".join(out)


# --------------------------------------------------------------- reading back
@dataclass
class ParsedExport:
    """An export read back: its format version, the header's title and model (``None``
    when absent) and the messages (system prompt included, first)."""

    version: int
    title: str | None
    model: str | None
    exported: bool  # the header has the "- Exported:" line every export has
    messages: list[ExportedMessage] = field(default_factory=list)


def _read_reasoning(lines: list[str], start: int) -> tuple[str, int]:
    """The reasoning block whose ``REASONING_BEGIN`` is ``lines[start]``, and the index
    of its ``REASONING_END``.

    Raises:
        MarkdownImportError: ``md_import_not_export``: unterminated, or a line without
            the quote's ``"> "``.
    """
    i = start + 1
    if lines[i : i + len(REASONING_LABEL)] != list(REASONING_LABEL):
        raise _not_export("reasoning block without its label in export")
    i += len(REASONING_LABEL)
    parts: list[str] = []
    while i < len(lines) and lines[i] != REASONING_END:
        line = lines[i]
        if line == ">":
            parts.append("")
        elif line.startswith("> "):
            parts.append(line[2:])
        else:
            raise _not_export("reasoning line without '> ' in export")
        i += 1
    if i >= len(lines):
        raise _not_export("unterminated reasoning in export")
    return "\n".join(parts), i


def _read_begin(line: str, version: int) -> tuple[str, int, int] | None:
    """``(role, gap, close)`` of a begin marker line, ``None`` for other lines.

    Raises:
        MarkdownImportError: ``md_import_unknown_role`` for a role other than system,
            user, assistant; ``md_import_not_export`` for attributes the format lacks.
    """
    match = _BEGIN.match(line)
    if not match:
        return None
    attrs = (_BEGIN_ATTRS_V2 if version >= 2 else _BEGIN_ATTRS_V1).fullmatch(match.group(1))
    if not attrs:
        raise _not_export(f"malformed begin marker for format {version}")
    role = attrs.group(1)
    if role not in ROLE_HEADINGS:
        raise MarkdownImportError("md_import_unknown_role", f"role {role[:40]!r}", role=role[:40])
    if version < 2:
        return role, 0, 0
    return role, 1 if attrs.group(2) else 0, int(attrs.group(3) or 0)


def parse_export(text: str) -> ParsedExport:
    """Read an export (format 1 or 2) into its header and messages.

    Raises:
        MarkdownImportError: ``md_import_too_new`` (``- Format:`` above
            ``FORMAT_VERSION``), ``md_import_unknown_role``, ``md_import_not_export``
            (no message markers, one unterminated, a gap or close count that does not
            fit, a reasoning block unterminated, malformed or not followed by an
            assistant message).
    """
    header = text.split("\n<!-- chat:begin ", 1)[0]
    format_match = _FORMAT_LINE.search(header)
    version = int(format_match.group(1)) if format_match else 1
    if version > FORMAT_VERSION:
        raise MarkdownImportError("md_import_too_new", f"format {version}", version=version, supported=FORMAT_VERSION)
    if version < 1:
        raise _not_export(f"format {version}")
    marker_match = _END_MARKER_LINE.search(header)
    end = f"<!-- {marker_match.group(1)} -->" if marker_match else END_MARKER
    lines = text.split("\n")
    title = lines[0][2:] if lines[0].startswith("# ") else None
    model_match = re.search(r"^- Model: (.*)$", header, re.M)
    parsed = ParsedExport(version=version, title=title, model=model_match.group(1) if model_match else None,
                          exported=re.search(r"^- Exported: ", header, re.M) is not None)
    reasoning: str | None = None  # read, waiting for its assistant message
    i = 0
    while i < len(lines):
        if lines[i] == REASONING_BEGIN:
            if reasoning is not None:
                raise _not_export("two reasoning blocks for one message in export")
            reasoning, i = _read_reasoning(lines, i)
            i += 1
            continue
        begin = _read_begin(lines[i], version)
        if begin is None:
            i += 1
            continue
        role, gap, close = begin
        if reasoning is not None and role != "assistant":
            raise _not_export("reasoning before a non-assistant message in export")
        j = i + 1
        while j < len(lines) and lines[j] != end:
            j += 1
        if j >= len(lines):
            raise _not_export("unterminated message in export")
        first, stop = i + 1 + gap, j - close
        if stop - first < 1 or (gap and lines[i + 1] != ""):
            raise _not_export("gap or close count does not fit the message")
        message: ExportedMessage = {"role": role, "content": "\n".join(lines[first:stop])}  # type: ignore[typeddict-item]
        if reasoning is not None:
            message["reasoning"], reasoning = reasoning, None
        parsed.messages.append(message)
        i = j + 1
    if reasoning is not None:
        raise _not_export("reasoning without its message in export")
    if not parsed.messages:
        raise _not_export("no messages found in export")
    return parsed


def from_markdown(text: str) -> list[ExportedMessage]:
    """Parse ``to_markdown`` output (format 1 or 2) back into messages (system prompt
    included); an assistant message with a reasoning block gets ``"reasoning"``, others
    have none.

    Raises:
        MarkdownImportError: (a ``ValueError``) as ``parse_export``.
    """
    return parse_export(text).messages


# --------------------------------------------------------------- import
def new_id(prefix: str, now_ms: float | None = None) -> str:
    """An id as the page makes them (``uid`` in assets/js/dash.mjs):
    ``<prefix>-<ms since the epoch, base 36>-<6 random base-36 characters>``."""
    ms = int(time.time() * 1000 if now_ms is None else now_ms)
    return f"{prefix}-{_base36(ms)}-{''.join(secrets.choice('0123456789abcdefghijklmnopqrstuvwxyz') for _ in range(6))}"


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if not n:
            return out


def import_markdown(text: str | bytes, *, max_bytes: int, now_ms: float | None = None) -> dict:
    """Turn a Markdown export (``to_markdown``, format 1 or 2) into a new conversation.

    Args:
        text: the file, as text or as its bytes (UTF-8, a leading BOM is dropped). A
            file whose line breaks were all turned into CRLF (a Windows editor) is read
            with LF ones.
        max_bytes: the largest file accepted, in UTF-8 bytes; a larger one is refused
            before it is parsed.
        now_ms: the time for ids, ``created_at`` and ``updated_at`` (ms since the epoch;
            now by default).

    Returns:
        A dict that validates against ``chatcore.schema.Conversation``::

            {"id": "c-<base36 ms>-<6 random>", "title": <the "# " line, at most
             TITLE_MAX characters>, "created_at": now_ms, "updated_at": now_ms,
             "settings": {"system_prompt": <the System prompt section>,  (when present)
                          "model": <the "- Model:" line>},  (when a valid model name)
             "error": None,
             "messages": [{"id": "m-...", "role": "user" | "assistant" | "system",
                           "content": str, "created_at": now_ms, "seq": <turn>,
                           "reasoning": str (an assistant's, when exported)}, ...]}

        ``seq`` numbers the turns as the page's ``withSeq`` does (assets/storage.js):
        each non-assistant message starts a turn. A system section that is not the
        first one stays a ``system`` message.

    Raises:
        MarkdownImportError: ``md_import_too_large`` (``limit``), ``md_import_not_text``
            (bytes that are not UTF-8), ``md_import_not_export`` (no ``# title`` and
            ``- Exported:`` header, no message, malformed markers), ``md_import_too_new``
            (``version``, ``supported``), ``md_import_unknown_role`` (``role``).
    """
    if isinstance(text, bytes):
        size = len(text)
    else:
        size = len(text) if len(text) > max_bytes or len(text) * 4 <= max_bytes else len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise MarkdownImportError("md_import_too_large", f"{size} bytes", limit=max_bytes)
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MarkdownImportError("md_import_not_text", "not UTF-8") from exc
    text = text.removeprefix("\ufeff")
    if "\r\n<!-- chat:begin " in text and not re.search(r"(?<!\r)\n", text):
        text = text.replace("\r\n", "\n")  # every line break turned into CRLF
    parsed = parse_export(text)
    if parsed.title is None or not parsed.exported:
        raise _not_export("no '# title' and '- Exported:' header")
    now = float(time.time() * 1000 if now_ms is None else now_ms)
    messages = parsed.messages
    settings: dict = {}
    if messages[0]["role"] == "system":
        settings["system_prompt"] = messages[0]["content"]
        messages = messages[1:]
    if not messages:
        raise _not_export("a system prompt without messages")
    if parsed.model and len(parsed.model) <= MODEL_NAME_MAX and re.match(MODEL_NAME_PATTERN, parsed.model):
        settings["model"] = parsed.model
    stored: list[dict] = []
    ids: set[str] = set()
    turn = 0
    for m in messages:
        if m["role"] != "assistant":
            turn += 1
        message_id = new_id("m", now)
        while message_id in ids:
            message_id = new_id("m", now)
        ids.add(message_id)
        record = {"id": message_id, "role": m["role"], "content": m["content"], "created_at": now, "seq": turn}
        if "reasoning" in m:
            record["reasoning"] = m["reasoning"]
        stored.append(record)
    conversation = {
        "id": new_id("c", now),
        "title": parsed.title[:TITLE_MAX],
        "created_at": now,
        "updated_at": now,
        "settings": settings,
        "error": None,
        "messages": stored,
    }
    Conversation.model_validate(conversation)  # the schema every stored conversation meets
    return conversation
