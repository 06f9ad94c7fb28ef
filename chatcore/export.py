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

A message's content is written unchanged between its markers; if some content
contains the end marker, a suffix (``<!-- chat:end:1 -->`` …) is chosen that no
content contains, and the header records it.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

from .messages import Message

ROLE_HEADINGS = {"system": "System prompt", "user": "User", "assistant": "Assistant"}
_BEGIN = re.compile(r"^<!-- chat:begin role=(system|user|assistant) -->$")


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
        messages: ``{"role", "content"}`` dicts, oldest first (extra keys ignored).
        model: model name recorded in the header.
        title: document title (first line, ``# title``).
        system_prompt: recorded as the first section when non-empty.
        exported_at: export time (UTC now by default), written as ``YYYY-MM-DD HH:MM:SS UTC``.
    """
    exported_at = exported_at or datetime.now(timezone.utc)
    body: list[Message] = []
    if system_prompt:
        body.append({"role": "system", "content": system_prompt})
    body.extend({"role": m["role"], "content": m["content"]} for m in messages)
    end = _end_marker(body)
    stamp = exported_at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    title_line = " ".join(title.split()) or "Chat"
    out = [f"# {title_line}", "", f"- Exported: {stamp}", f"- Model: {model}", f"- Messages: {len(messages)}", ""]
    if end != "<!-- chat:end -->":
        out += [f"<!-- chat:end-marker {end[5:-4]} -->", ""]
    for message in body:
        out += [
            f"## {ROLE_HEADINGS[message['role']]}",
            "",
            f"<!-- chat:begin role={message['role']} -->",
            message["content"],
            end,
            "",
        ]
    return "\n".join(out)


def from_markdown(text: str) -> list[Message]:
    """Parse ``to_markdown`` output back into messages (system prompt included).

    Raises:
        ValueError: the text is not an export (no message markers, or one unterminated).
    """
    header = text.split("\n<!-- chat:begin ", 1)[0]
    marker_match = re.search(r"^<!-- chat:end-marker (chat:end(?::\d+)?) -->$", header, re.M)
    end = f"<!-- {marker_match.group(1)} -->" if marker_match else "<!-- chat:end -->"
    lines = text.split("\n")
    messages: list[Message] = []
    i = 0
    while i < len(lines):
        match = _BEGIN.match(lines[i])
        if not match:
            i += 1
            continue
        role = match.group(1)
        j = i + 1
        while j < len(lines) and lines[j] != end:
            j += 1
        if j >= len(lines):
            raise ValueError("unterminated message in export")
        messages.append({"role": role, "content": "\n".join(lines[i + 1 : j])})  # type: ignore[typeddict-item]
        i = j + 1
    if not messages:
        raise ValueError("no messages found in export")
    return messages
