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

Attachments (format 3). A message's ``attachments`` (issue 13: images and documents, the
shape of ``chatcore.schema.ImageAttachment`` / ``DocumentAttachment``, in their order)
follow its end marker, each as a block after a blank line, so the file stands alone::

    <!-- chat:end -->

    <!-- chat:image mime=image/png size=48213 width=640 height=480 -->
    ![photo\\_1.png](data:image/png;base64,iVBORw0KGgo...)

    <!-- chat:document mime=application/pdf size=91234 tokens=812 truncated=1 -->
    📄 **report.pdf**
    ````text
    <the extracted text, byte-exact; a line ``` of it stays inside>
    ````

The marker comment holds what a viewer need not show (``mime``, ``size`` in bytes,
``width``/``height`` in px, ``tokens``, ``truncated=1``; optional ones only when set,
always in this order; numbers in decimal). The image is a Markdown image whose URL is the
attachment's ``data`` as stored: only a ``data:image/(png|jpeg|webp|gif);base64,…`` URL
(``chatcore.schema.IMAGE_DATA_URL_PATTERN``; never svg, which can hold script), which
has no space, bracket or parenthesis, so it cannot end the image early or add a title.
The name (the alt text; after ``📄`` in bold for a document) is escaped so that it stays
plain text in every CommonMark viewer, raw HTML on or off: each of
``\\ ` * _ { } [ ] ( ) < > # + ! | ~ $ & ^ =`` gets a backslash (§2.4: any ASCII
punctuation may be escaped; ``a](javascript:x)`` cannot close the alt text, ``<img
onerror>`` is no tag, ``&`` starts no entity), and every C0 and C1 control character,
U+2028, U+2029 and a lone surrogate is written as a decimal character reference
``&#N;`` (§6.2), so a name is one line. A document's text is a fenced code block of
backticks longer than any backtick run in it (at least three, §4.5: no line of the text
can close it; its info string is ``text``); the marker comment is an HTML block of type 2
that ends on its own line, and a blank line ends each block, so nothing runs into the
next attachment or heading. The reader is the inverse (a name must escape back to the
same text; a block that does not read back is ``md_import_bad_attachment``, with its
line).

The ``- Format:`` line says the oldest format that reads the file: ``3`` when some
message has attachments (an app that knows only 2 refuses it, ``md_import_too_new``,
rather than dropping the images), else ``2``, so an export without attachments is
byte for byte what format 2 wrote.
"""

from __future__ import annotations

import functools
import itertools
import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import get_args

from markdown_it import MarkdownIt
from markdown_it.rules_block.fence import make_fence_rule
from markdown_it.rules_block.html_block import HTML_SEQUENCES
from pydantic import ValidationError

from . import i18n
from .messages import MODEL_NAME_MAX, MODEL_NAME_PATTERN, Message
from .schema import (
    ATTACHMENTS_MAX,
    IMAGE_DATA_MAX,
    IMAGE_DATA_URL_PATTERN,
    MIME_PATTERN,
    TITLE_MAX,
    Conversation,
    DocumentAttachment,
    ImageAttachment,
)

FORMAT_VERSION = 3  # the newest format this module writes and reads
ATTACHMENTS_FORMAT = 3  # the first format with attachments: written only when there are some
PLAIN_FORMAT = 2  # what an export without attachments says (readable by format-2 code)
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

# attachments (module docstring, "Attachments")
IMAGE_BEGIN = "<!-- chat:image "
DOCUMENT_BEGIN = "<!-- chat:document "
DOCUMENT_LABEL = "📄 **"  # the document's name line: label, escaped name, "**"
DOCUMENT_INFO = "text"  # the info string of a document's fence
IMAGE_MIMES = get_args(ImageAttachment.model_fields["mime"].annotation)  # the types an image may have
_ATTACHMENT_LINE = re.compile(r"<!-- chat:(image|document) (.*) -->")
_COUNT = r"(0|[1-9][0-9]{0,15})"  # a number as written: decimal, no leading zero
_IMAGE_ATTRS = re.compile(rf"mime=(\S+) size={_COUNT}(?: width={_COUNT})?(?: height={_COUNT})?")
_DOCUMENT_ATTRS = re.compile(rf"mime=(\S+) size={_COUNT}(?: tokens={_COUNT})?( truncated=1)?")
_DOCUMENT_FENCE = re.compile(r"(`{3,})" + DOCUMENT_INFO)
_IMAGE_DATA = re.compile(IMAGE_DATA_URL_PATTERN)
_MIME = re.compile(MIME_PATTERN)
_BACKTICKS = re.compile(r"`+")
MAX_COUNT = 2**53 - 1  # the largest number written (JavaScript's Number.MAX_SAFE_INTEGER)
# a name's escapes: ASCII punctuation that forms markup gets a backslash, control
# characters, line and paragraph separators and lone surrogates a character reference
NAME_ESCAPED = "\\`*_{}[]()<>#+!|~$&^="
_NAME_REFERENCED = (*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029, *range(0xD800, 0xE000))
_NAME_TABLE = {**{ord(c): "\\" + c for c in NAME_ESCAPED}, **{n: f"&#{n};" for n in _NAME_REFERENCED}}
_NAME_TOKEN = re.compile(r"\\(.)|&#([0-9]{1,7});", re.S)
# what the schema check sees of an image's data once this module has checked it against
# IMAGE_DATA_URL_PATTERN and IMAGE_DATA_MAX (the schema's own): its regex would read
# every megabyte again (_checked_view)
_DATA_STAND_IN = "data:image/png;base64,AA=="


class ExportedMessage(Message, total=False):
    """A message of an export: ``{"role", "content"}``, for an assistant reply that has
    it ``"reasoning"`` (never sent upstream: ``chatcore.messages.ChatMessage``), and, when
    it has any, ``"attachments"``: ``chatcore.schema.ImageAttachment`` /
    ``DocumentAttachment`` dicts without their ``id`` (an import gives new ones)."""

    reasoning: str
    attachments: list[dict]


class MarkdownImportError(ValueError):
    """A text that cannot be read back as an export.

    ``code`` is a key of ``chatcore.i18n.TEXTS`` (``md_import_not_export``,
    ``md_import_too_new``, ``md_import_unknown_role``, ``md_import_too_large``,
    ``md_import_not_text``, ``md_import_bad_attachment``), ``params`` its format
    values, ``detail`` an English note for logs and tests (never shown as the user's text: use ``text(locale)``). A
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


def _bad_attachment(index: int, detail: str) -> MarkdownImportError:
    """``md_import_bad_attachment`` for the attachment block at ``lines[index]``."""
    return MarkdownImportError("md_import_bad_attachment", detail, line=index + 1)


def _reasoning_of(message: dict) -> str | None:
    """The reasoning to export with ``message``: a non-empty string of an assistant's."""
    reasoning = message.get("reasoning")
    return reasoning if message.get("role") == "assistant" and isinstance(reasoning, str) and reasoning else None


# The names of every file the app offers for download; ``{stamp}`` is the local time as
# YYYYMMDD-HHMMSS. The page gets them through its config (``download_names``).
DOWNLOAD_NAMES = {
    "markdown": "chat-{stamp}.md",  # Export (one conversation, Export selected)
    "backup": "chat-backup-{stamp}.json",  # Back up all
    "zip": "chat-all-{stamp}.zip",  # Export all (Markdown files and the backup)
    "presets": "chat-presets-{stamp}.json",  # the user's own presets
}


def export_filename(now: datetime | None = None) -> str:
    """``chat-YYYYMMDD-HHMMSS.md`` for ``now`` (local time of the server by default)."""
    now = now or datetime.now()
    return DOWNLOAD_NAMES["markdown"].format(stamp=now.strftime("%Y%m%d-%H%M%S"))


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


# --------------------------------------------------------------- attachments
def escape_name(name: str) -> str:
    """A file name as the export writes it (alt text, a document's name line): plain
    text in every CommonMark viewer, one line (module docstring, "Attachments")."""
    return name.translate(_NAME_TABLE)


def unescape_name(written: str) -> str | None:
    """The name ``escape_name`` wrote as ``written``; ``None`` when it did not write it."""

    def one(match: re.Match) -> str:
        if match.group(1) is not None:
            return match.group(1)
        code = int(match.group(2))
        return chr(code) if code <= 0x10FFFF else "\ufffd"  # not a character: cannot escape back

    name = _NAME_TOKEN.sub(one, written)
    return name if escape_name(name) == written else None


def _count(attachment: dict, key: str) -> str | None:
    """``attachment[key]`` written as a number (``None``: absent or null).

    Raises:
        ValueError: not an integer from 0 to ``MAX_COUNT``.
    """
    value = attachment.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        raise ValueError(f"attachment {key} is not a count: {value!r}"[:200])
    return str(value)


def _document_fence(text: str) -> str:
    """Backticks, at least three and more than the longest run of them in ``text``."""
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0) if "`" in text else 0
    return "`" * max(3, longest + 1)


def _attachment_lines(attachment: object) -> list[str]:
    """One attachment's block (module docstring), ending with its blank line.

    Raises:
        ValueError: not the stored shape: a kind other than image or document, a name
            or text that is not a string, a MIME type outside ``MIME_PATTERN`` (for an
            image: not png, jpeg, webp or gif), a count that is not one, an image whose
            ``data`` is not a ``data:image/(png|jpeg|webp|gif);base64,…`` URL.
    """
    if not isinstance(attachment, dict):
        raise ValueError("an attachment is not an object")
    kind, name, mime = attachment.get("kind"), attachment.get("name"), attachment.get("mime")
    if not isinstance(name, str):
        raise ValueError("attachment name is not a string")
    if not isinstance(mime, str) or not _MIME.fullmatch(mime):
        raise ValueError(f"attachment MIME type {mime!r}"[:200])
    size = _count(attachment, "size")
    if size is None:
        raise ValueError("attachment without a size")
    attrs = f"mime={mime} size={size}"
    if kind == "image":
        data = attachment.get("data")
        if mime not in IMAGE_MIMES or not isinstance(data, str) or not _IMAGE_DATA.fullmatch(data):
            raise ValueError("an image is not a data: URL of png, jpeg, webp or gif")
        for key in ("width", "height"):
            value = _count(attachment, key)
            if value is not None:
                attrs += f" {key}={value}"
        return [f"{IMAGE_BEGIN}{attrs} -->", f"![{escape_name(name)}]({data})", ""]
    if kind == "document":
        text, truncated = attachment.get("text"), attachment.get("truncated")
        if not isinstance(text, str):
            raise ValueError("document text is not a string")
        if truncated not in (None, True, False):
            raise ValueError("document truncated is not a boolean")
        tokens = _count(attachment, "tokens")
        attrs += (f" tokens={tokens}" if tokens is not None else "") + (" truncated=1" if truncated is True else "")
        fence = _document_fence(text)
        label = f"{DOCUMENT_LABEL}{escape_name(name)}**"
        return [f"{DOCUMENT_BEGIN}{attrs} -->", label, fence + DOCUMENT_INFO, text, fence, ""]
    raise ValueError(f"attachment kind {kind!r}"[:200])


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
    for attachment in message.get("attachments", ()):
        out += _attachment_lines(attachment)
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
            with ``"reasoning"`` (a non-empty string), any with ``"attachments"`` (a
            list of ``chatcore.schema.ImageAttachment`` / ``DocumentAttachment`` dicts;
            their ``id`` and unknown keys are not written; ``None`` or ``[]``: none);
            other extra keys ignored.
        model: model name recorded in the header (whitespace runs become one space).
        title: document title (first line, ``# title``; whitespace runs become one space).
        system_prompt: recorded as the first section when non-empty.
        exported_at: export time (UTC now by default), written as ``YYYY-MM-DD HH:MM:SS UTC``.

    Returns:
        The Markdown text, ``"\\n"`` line breaks, ending with a blank line; its
        ``- Format:`` is ``ATTACHMENTS_FORMAT`` when a message has attachments, else
        ``PLAIN_FORMAT``.

    Raises:
        ValueError: ``attachments`` is not a list, or an attachment is not of the
            stored shape (``_attachment_lines``): nothing else is written in its place.
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
        attachments = m.get("attachments")
        if attachments is not None:
            if not isinstance(attachments, list):
                raise ValueError("attachments is not a list")
            if attachments:
                entry["attachments"] = attachments
        body.append(entry)
    end = _end_marker(body)
    version = ATTACHMENTS_FORMAT if any("attachments" in m for m in body) else PLAIN_FORMAT
    stamp = exported_at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    title_line = " ".join(title.split()) or "Chat"
    model_line = " ".join(str(model).split())
    out = [f"# {title_line}", "", f"- Exported: {stamp}", f"- Model: {model_line}", f"- Messages: {len(messages)}",
           f"- Format: {version}", ""]
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


def _read_attachment(lines: list[str], start: int) -> tuple[dict, int]:
    """The attachment whose marker comment is ``lines[start]`` (without ``id``), checked
    against ``chatcore.schema``, and the index of the line after its block.

    Raises:
        MarkdownImportError: ``md_import_bad_attachment`` (``line``): a marker, image
            line, name or fence that is not as written, a data URL that is not an image
            of the four types, an unterminated document, values out of the schema's bounds.
    """
    marker = _ATTACHMENT_LINE.fullmatch(lines[start])
    if not marker:
        raise _bad_attachment(start, "malformed attachment marker")
    kind = marker.group(1)
    attrs = (_IMAGE_ATTRS if kind == "image" else _DOCUMENT_ATTRS).fullmatch(marker.group(2))
    if not attrs:
        raise _bad_attachment(start, f"malformed {kind} marker")
    attachment: dict = {"kind": kind}
    if kind == "image":
        line = lines[start + 1] if start + 1 < len(lines) else ""
        # "![" escaped name "](" data ")": an escaped name has no "](" (its "(" are "\\(")
        cut = line.find("](")
        name = unescape_name(line[2:cut]) if line.startswith("![") and cut > 0 and line.endswith(")") else None
        data = line[cut + 2 : -1]
        if name is None or len(data) > IMAGE_DATA_MAX or not _IMAGE_DATA.fullmatch(data):
            raise _bad_attachment(start, "image line is not an image of a data: URL")
        attachment.update(name=name, mime=attrs.group(1), size=int(attrs.group(2)))
        for key, value in (("width", attrs.group(3)), ("height", attrs.group(4))):
            if value is not None:
                attachment[key] = int(value)
        attachment["data"] = data
        after = start + 2
        model: type = ImageAttachment
    else:
        label = lines[start + 1] if start + 1 < len(lines) else ""
        written = label[len(DOCUMENT_LABEL) : -2] if label.startswith(DOCUMENT_LABEL) and label.endswith("**") else None
        name = unescape_name(written) if written is not None and len(label) >= len(DOCUMENT_LABEL) + 2 else None
        opening = lines[start + 2] if name is not None and start + 2 < len(lines) else ""
        fence_line = _DOCUMENT_FENCE.fullmatch(opening)
        if fence_line is None:
            raise _bad_attachment(start, "document without its name line and fence")
        fence = fence_line.group(1)
        close = start + 3
        while close < len(lines) and lines[close] != fence:
            close += 1
        if close >= len(lines):
            raise _bad_attachment(start, "unterminated document")
        text = "\n".join(lines[start + 3 : close])
        if len(_document_fence(text)) > len(fence):
            raise _bad_attachment(start, "document text holds its fence")  # a viewer would end it early
        attachment.update(name=name, mime=attrs.group(1), size=int(attrs.group(2)), text=text)
        if attrs.group(3) is not None:
            attachment["tokens"] = int(attrs.group(3))
        if attrs.group(4):
            attachment["truncated"] = True
        after = close + 1
        model = DocumentAttachment
    if after < len(lines) and lines[after] != "":
        raise _bad_attachment(start, "no blank line after the attachment")
    try:
        model.model_validate(_checked_view({"id": "att-0", **attachment}))  # the stored shape (the id is the import's)
    except ValidationError as exc:
        raise _bad_attachment(start, f"not a stored {kind}: {exc.errors()[0].get('loc')}") from exc
    return attachment, after


def _checked_view(attachment: dict) -> dict:
    """``attachment`` for a schema check after ``_read_attachment`` checked its ``data``."""
    return {**attachment, "data": _DATA_STAND_IN} if "data" in attachment else attachment


def _read_attachments(lines: list[str], i: int, message: ExportedMessage) -> int:
    """The attachment blocks after the message that ended at ``lines[i - 1]``, into
    ``message["attachments"]`` (when there are any); the index of the line after them.

    Raises:
        MarkdownImportError: ``md_import_bad_attachment`` (``_read_attachment``; more
            than ``ATTACHMENTS_MAX``).
    """
    found: list[dict] = []
    while i + 1 < len(lines) and lines[i] == "" and lines[i + 1].startswith((IMAGE_BEGIN, DOCUMENT_BEGIN)):
        if len(found) >= ATTACHMENTS_MAX:
            raise _bad_attachment(i + 1, f"more than {ATTACHMENTS_MAX} attachments")
        attachment, i = _read_attachment(lines, i + 1)
        found.append(attachment)
    if found:
        message["attachments"] = found
    return i


def parse_export(text: str) -> ParsedExport:
    """Read an export (format 1, 2 or 3) into its header and messages.

    Raises:
        MarkdownImportError: ``md_import_too_new`` (``- Format:`` above
            ``FORMAT_VERSION``), ``md_import_unknown_role``, ``md_import_not_export``
            (no message markers, one unterminated, a gap or close count that does not
            fit, a reasoning block unterminated, malformed or not followed by an
            assistant message), ``md_import_bad_attachment`` (format 3: an attachment
            block that does not read back, or one that follows no message).
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
        if version >= ATTACHMENTS_FORMAT and lines[i].startswith((IMAGE_BEGIN, DOCUMENT_BEGIN)):
            raise _bad_attachment(i, "attachment that follows no message")
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
        if version >= ATTACHMENTS_FORMAT:
            i = _read_attachments(lines, i, message)
    if reasoning is not None:
        raise _not_export("reasoning without its message in export")
    if not parsed.messages:
        raise _not_export("no messages found in export")
    return parsed


def from_markdown(text: str) -> list[ExportedMessage]:
    """Parse ``to_markdown`` output (format 1, 2 or 3) back into messages (system prompt
    included); an assistant message with a reasoning block gets ``"reasoning"``, others
    have none; a message with attachments gets ``"attachments"`` (without ``id``).

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
    """Turn a Markdown export (``to_markdown``, format 1, 2 or 3) into a new conversation.

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
                           "reasoning": str (an assistant's, when exported),
                           "attachments": [{"id": "att-<base36 ms>-<6 random>", "kind":
                               "image", "name", "mime", "size", "width"?, "height"?,
                               "data"} | {"id", "kind": "document", "name", "mime",
                               "size", "text", "tokens"?, "truncated": True?}, ...]
                               (when exported; each field as written, ``id`` new)}, ...]}

        ``seq`` numbers the turns as the page's ``withSeq`` does (assets/storage.js):
        each non-assistant message starts a turn. A system section that is not the
        first one, or has attachments, stays a ``system`` message.

    Raises:
        MarkdownImportError: ``md_import_too_large`` (``limit``), ``md_import_not_text``
            (bytes that are not UTF-8), ``md_import_not_export`` (no ``# title`` and
            ``- Exported:`` header, no message, malformed markers), ``md_import_too_new``
            (``version``, ``supported``), ``md_import_unknown_role`` (``role``),
            ``md_import_bad_attachment`` (``line``: a malformed data URL, a document
            block that does not parse, an attachment outside the schema's bounds).
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
    if messages[0]["role"] == "system" and "attachments" not in messages[0]:  # (with some: a system message)
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
        if "attachments" in m:
            record["attachments"] = []
            for attachment in m["attachments"]:
                attachment_id = new_id("att", now)
                while attachment_id in ids:
                    attachment_id = new_id("att", now)
                ids.add(attachment_id)
                record["attachments"].append({"id": attachment_id, **attachment})
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
    checked = {**conversation, "messages": [{**m, "attachments": [_checked_view(a) for a in m["attachments"]]}
                                            if "attachments" in m else m for m in stored]}
    try:
        Conversation.model_validate(checked)  # the schema every stored conversation meets
    except ValidationError as exc:  # parse_export checked each part: not reached for its output
        raise _not_export(f"not a stored conversation: {exc.errors()[0].get('loc')}") from exc
    return conversation
