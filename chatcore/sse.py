"""Server-Sent Events (HTML Living Standard, "Server-sent events", §9.2): framing of
the events this server sends, and ``SSEDecoder`` for the upstream's stream.

Each event sent is ``event: <name>\\n`` + ``data: <json>\\n\\n``. The data is one line
of JSON (the encoder escapes newlines), so newlines, code fences, CJK text and emoji
in a delta arrive byte-exact, and every event carries exactly its own delta: bytes on
the wire grow linearly with the reply. JSON is written by orjson (compact UTF-8, the
same text as ``json.dumps(ensure_ascii=False, separators=(",", ":"))``), with
``json`` as the fallback for what orjson refuses (lone surrogates, huge integers).
"""

from __future__ import annotations

import json

import orjson

HEADERS = {
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",  # nginx: do not buffer this response
    "Connection": "keep-alive",
}


def encode_event(name: str, data: dict) -> bytes:
    """Frame one event as UTF-8 bytes: ``event: name\\ndata: {json}\\n\\n``."""
    try:
        payload = orjson.dumps(data)
    except TypeError:  # orjson: lone surrogates, integers beyond 64 bits
        payload = json.dumps(data, ensure_ascii=True, separators=(",", ":")).encode("ascii")
    return b"event: " + name.encode("utf-8") + b"\ndata: " + payload + b"\n\n"


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


class SSEDecoder:
    """Incremental parser of an SSE byte stream (HTML §9.2.6 "Interpreting an event
    stream"), for the upstream's ``text/event-stream`` body.

    ``feed(chunk)`` takes the bytes as they arrive (split anywhere, even inside a
    UTF-8 character or between ``\\r`` and ``\\n``) and returns the events they
    complete, in order, as ``(event_name, data)``: ``event_name`` is the ``event``
    field (``""`` when absent), ``data`` the ``data`` fields joined with ``\\n`` as
    bytes (UTF-8, for ``orjson.loads``). Lines end with CRLF, LF or CR; a line
    starting with ``:`` is a comment; an event with no ``data`` field is not
    dispatched; ``id`` and ``retry`` are ignored (the client does not reconnect).

    Raises:
        ValueError: a line grew past ``max_line`` bytes without ending.
    """

    __slots__ = ("_buf", "_data", "_event", "_after_cr", "max_line")

    def __init__(self, max_line: int = 16 * 1024 * 1024) -> None:
        self._buf = b""
        self._data: list[bytes] = []
        self._event = ""
        self._after_cr = False
        self.max_line = max_line

    def feed(self, chunk: bytes) -> list[tuple[str, bytes]]:
        """The events that ``chunk`` completes (see the class docstring)."""
        if self._after_cr:
            self._after_cr = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
        buf = self._buf + chunk if self._buf else chunk
        if b"\r" in buf:
            trailing_cr = buf[-1:] == b"\r"  # it ends the line; an LF starting the next chunk belongs to it
            if trailing_cr:
                buf = buf[:-1]
            buf = buf.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            if trailing_cr:
                buf += b"\n"
                self._after_cr = True
        lines = buf.split(b"\n")
        self._buf = lines.pop()
        if len(self._buf) > self.max_line:
            raise ValueError("an SSE line is longer than max_line")
        out: list[tuple[str, bytes]] = []
        data = self._data
        for line in lines:
            if not line:
                if data:
                    out.append((self._event, data[0] if len(data) == 1 else b"\n".join(data)))
                    data.clear()
                self._event = ""
            elif line.startswith(b"data:"):
                data.append(line[6:] if line[5:6] == b" " else line[5:])
            elif line[0] == 58:  # ":" comment
                continue
            else:
                name, _, value = line.partition(b":")
                if value[:1] == b" ":
                    value = value[1:]
                if name == b"data":  # "data" without a colon: an empty data line
                    data.append(value)
                elif name == b"event":
                    self._event = value.decode("utf-8", "replace")
        return out
