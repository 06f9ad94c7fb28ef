"""Server-Sent Events framing (HTML Living Standard, "Server-sent events", §9.2).

Each event is ``event: <name>\\n`` + ``data: <json>\\n\\n``. The data is one line of
JSON (``json.dumps`` escapes newlines), so newlines, code fences, CJK text and emoji
in a delta arrive byte-exact, and every event carries exactly its own delta: bytes on
the wire grow linearly with the reply.
"""

from __future__ import annotations

import json

HEADERS = {
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",  # nginx: do not buffer this response
    "Connection": "keep-alive",
}


def encode_event(name: str, data: dict) -> bytes:
    """Frame one event as UTF-8 bytes: ``event: name\\ndata: {json}\\n\\n``."""
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return f"event: {name}\ndata: {payload}\n\n".encode("utf-8")


def encode_comment(text: str = "") -> bytes:
    """A comment line (ignored by SSE parsers), used to flush headers or keep alive."""
    return f": {text}\n\n".encode("utf-8")


def parse_events(raw: bytes | str) -> list[tuple[str, dict]]:
    """Parse a complete SSE body into ``[(event, data_dict), ...]`` (tests and tools).

    Follows the spec's field rules that this server uses: ``event`` and ``data``
    fields, blank line dispatch, comment lines starting with ``:`` ignored,
    multiple ``data`` lines joined with ``\\n``.
    """
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    events: list[tuple[str, dict]] = []
    name, data_lines = "message", []
    for line in text.replace("\r\n", "\n").split("\n"):
        if line == "":
            if data_lines:
                events.append((name, json.loads("\n".join(data_lines))))
            name, data_lines = "message", []
        elif line.startswith(":"):
            continue
        else:
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                name = value
            elif field == "data":
                data_lines.append(value)
    return events
