"""A scripted ``CHAT_BACKEND`` for the tests (``tests.backend_fixture:reply``), not a test module.

It records every call and how each generator ended, in ``RECORDS`` (in-process
tests) and, when ``BACKEND_FIXTURE_LOG`` names a file, as JSON lines there (a real
app process). What it does depends on the last user message:

    "slow ..."     60 words, 0.1 s apart (long enough to press Stop)
    "boom ..."     "Partial before boom. " then RuntimeError
    "bad ..."      "Some text, " then an int (a wrong type)
    "think ..."    a reasoning event, then the reply, then usage 11/22
    anything else  "Reply to: <message>" in a few deltas, finish "stop"

Records: ``{"event": "call", "messages": [...], "settings": {...}}`` and
``{"event": "closed" | "finished" | "raised", "sent": int}`` from the generator's
``finally`` ("closed" = closed by the app before it ended: Stop).
"""

from __future__ import annotations

import json
import os
import threading
import time
from typing import Iterator

RECORDS: list[dict] = []
_lock = threading.Lock()
# the latest generators, referenced so that only the app's explicit close (not garbage
# collection of a dropped generator) can run their ``finally``
_LIVE: list = []


def record(entry: dict) -> None:
    """Keep ``entry`` in ``RECORDS`` and append it to ``BACKEND_FIXTURE_LOG`` if set."""
    with _lock:
        RECORDS.append(entry)
        path = os.environ.get("BACKEND_FIXTURE_LOG")
        if path:
            with open(path, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(entry) + "\n")


def read_log(path: str) -> list[dict]:
    """The records a process wrote to ``path`` (``[]`` before the first)."""
    try:
        with open(path, encoding="utf-8") as handle:
            return [json.loads(line) for line in handle if line.strip()]
    except FileNotFoundError:
        return []


def reply(messages: list[dict], settings: dict) -> Iterator[str | dict]:
    """The scripted backend (see the module docstring)."""
    generator = _reply(messages, settings)
    with _lock:
        _LIVE[:] = _LIVE[-20:] + [generator]
    return generator


def _reply(messages: list[dict], settings: dict) -> Iterator[str | dict]:
    """The generator behind ``reply``."""
    record({"event": "call", "messages": messages, "settings": settings})
    last = messages[-1]["content"]
    sent = 0
    outcome = "closed"
    try:
        if last.startswith("slow"):
            for index in range(60):
                yield f"word{index} "
                sent += 1
                time.sleep(0.1)
        elif last.startswith("boom"):
            yield "Partial before boom. "
            sent += 1
            time.sleep(0.3)
            outcome = "raised"
            raise RuntimeError("the fixture backend failed on purpose")
        elif last.startswith("bad"):
            yield "Some text, "
            sent += 1
            yield 42
        elif last.startswith("think"):
            yield {"type": "reasoning", "content": "Thinking about it."}
            yield {"type": "delta", "content": "Thought "}
            yield "through."
            yield {"type": "usage", "prompt_tokens": 11, "completion_tokens": 22}
            yield {"type": "finish", "finish_reason": "stop"}
            sent = 2
        else:
            for piece in ("Reply ", "to: ", last):
                yield piece
                sent += 1
                time.sleep(0.05)
            yield {"type": "finish", "finish_reason": "stop"}
        outcome = "finished"
    finally:
        record({"event": outcome, "sent": sent})


reply.models = ["fixture-a", "fixture-b"]

NOT_CALLABLE = 42
