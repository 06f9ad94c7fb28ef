"""Markdown export of a conversation, and the parser that reads it back.

Format (clean Markdown; the HTML comments are invisible when rendered and make the
round trip exact)::

    # <title>

    - Exported: 2026-11-21 14:03:05 UTC
    - Model: gpt-4o-mini

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

    <!-- chat:begin role=assistant -->
    ...

A message's content is written unchanged between its markers; if some content
contains the end marker, a suffix (``<!-- chat:end:1 -->`` …) is chosen that no
content contains, and the header records it.

An assistant message's reasoning (the model's thinking, a non-empty string) comes
before its content as a blockquote, so GitHub and VS Code show it as a labelled
quote above the answer: every line of it gets ``"> "`` in front (no line of it can
then look like a marker), and the parser removes exactly that (a bare ``>`` line,
as an editor that strips trailing spaces leaves it, reads as an empty line).
Messages without reasoning are written exactly as before.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

from .messages import Message

ROLE_HEADINGS = {"system": "System prompt", "user": "User", "assistant": "Assistant"}
_BEGIN = re.compile(r"^<!-- chat:begin role=(system|user|assistant) -->$")
REASONING_BEGIN = "<!-- chat:reasoning -->"
REASONING_END = "<!-- chat:reasoning-end -->"
REASONING_LABEL = ("> **Reasoning**", ">")  # the quote's first lines, before the text


class ExportedMessage(Message, total=False):
    """A message of an export: ``{"role", "content"}`` and, for an assistant reply
    that has it, ``"reasoning"`` (never sent upstream: ``chatcore.messages.ChatMessage``)."""

    reasoning: str


def _reasoning_of(message: dict) -> str | None:
    """The reasoning to export with ``message``: a non-empty string of an assistant's."""
    reasoning = message.get("reasoning")
    return reasoning if message.get("role") == "assistant" and isinstance(reasoning, str) and reasoning else None


def export_filename(now: datetime | None = None) -> str:
    """``chat-YYYYMMDD-HHMMSS.md`` for ``now`` (local time of the server by default)."""
    now = now or datetime.now()
    return now.strftime("chat-%Y%m%d-%H%M%S.md")


def _end_marker(messages: list[Message]) -> str:
    """The shortest ``<!-- chat:end[:n] -->`` that appears in no message content."""
    marker, n = "<!-- chat:end -->", 0
    while any(marker in m["content"] for m in messages):
        n += 1
        marker = f"<!-- chat:end:{n} -->"
    return marker


def to_markdown(
    messages: list[Message],
    *,
    model: str,
    title: str = "Chat",
    system_prompt: str | None = None,
    exported_at: datetime | None = None,
) -> str:
    """Render a conversation as Markdown (format in the module docstring).

    Args:
        messages: ``{"role", "content"}`` dicts, oldest first, an assistant's maybe
            with ``"reasoning"`` (a non-empty string; other extra keys ignored).
        model: model name recorded in the header.
        title: document title (first line, ``# title``).
        system_prompt: recorded as the first section when non-empty.
        exported_at: export time (UTC now by default), written as ``YYYY-MM-DD HH:MM:SS UTC``.
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
    out = [f"# {title_line}", "", f"- Exported: {stamp}", f"- Model: {model}", f"- Messages: {len(messages)}", ""]
    if end != "<!-- chat:end -->":
        out += [f"<!-- chat:end-marker {end[5:-4]} -->", ""]
    for message in body:
        out += [f"## {ROLE_HEADINGS[message['role']]}", ""]
        if "reasoning" in message:
            out += [REASONING_BEGIN, *REASONING_LABEL]
            out += ["> " + line for line in message["reasoning"].split("\n")]
            out += [REASONING_END, ""]
        out += [
            f"<!-- chat:begin role={message['role']} -->",
            message["content"],
            end,
            "",
        ]
    return "\n".join(out)


def _read_reasoning(lines: list[str], start: int) -> tuple[str, int]:
    """The reasoning block whose ``REASONING_BEGIN`` is ``lines[start]``, and the index
    of its ``REASONING_END``.

    Raises:
        ValueError: unterminated, or a line without the quote's ``"> "``.
    """
    i = start + 1
    if lines[i : i + len(REASONING_LABEL)] != list(REASONING_LABEL):
        raise ValueError("reasoning block without its label in export")
    i += len(REASONING_LABEL)
    parts: list[str] = []
    while i < len(lines) and lines[i] != REASONING_END:
        line = lines[i]
        if line == ">":
            parts.append("")
        elif line.startswith("> "):
            parts.append(line[2:])
        else:
            raise ValueError("reasoning line without '> ' in export")
        i += 1
    if i >= len(lines):
        raise ValueError("unterminated reasoning in export")
    return "\n".join(parts), i


def from_markdown(text: str) -> list[ExportedMessage]:
    """Parse ``to_markdown`` output back into messages (system prompt included); an
    assistant message with a reasoning block gets ``"reasoning"``, others have none.

    Raises:
        ValueError: the text is not an export (no message markers, or one unterminated;
            a reasoning block unterminated, malformed or not followed by an assistant
            message).
    """
    header = text.split("\n<!-- chat:begin ", 1)[0]
    marker_match = re.search(r"^<!-- chat:end-marker (chat:end(?::\d+)?) -->$", header, re.M)
    end = f"<!-- {marker_match.group(1)} -->" if marker_match else "<!-- chat:end -->"
    lines = text.split("\n")
    messages: list[ExportedMessage] = []
    reasoning: str | None = None  # read, waiting for its assistant message
    i = 0
    while i < len(lines):
        if lines[i] == REASONING_BEGIN:
            if reasoning is not None:
                raise ValueError("two reasoning blocks for one message in export")
            reasoning, i = _read_reasoning(lines, i)
            i += 1
            continue
        match = _BEGIN.match(lines[i])
        if not match:
            i += 1
            continue
        role = match.group(1)
        if reasoning is not None and role != "assistant":
            raise ValueError("reasoning before a non-assistant message in export")
        j = i + 1
        while j < len(lines) and lines[j] != end:
            j += 1
        if j >= len(lines):
            raise ValueError("unterminated message in export")
        message: ExportedMessage = {"role": role, "content": "\n".join(lines[i + 1 : j])}  # type: ignore[typeddict-item]
        if reasoning is not None:
            message["reasoning"], reasoning = reasoning, None
        messages.append(message)
        i = j + 1
    if reasoning is not None:
        raise ValueError("reasoning without its message in export")
    if not messages:
        raise ValueError("no messages found in export")
    return messages
