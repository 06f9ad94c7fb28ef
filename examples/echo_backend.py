"""An echo backend: repeats the last user message, word by word.

    CHAT_BACKEND=examples.echo_backend:echo python chat_app.py

The smallest complete backend: it yields strings (the reply's deltas) and a
``finish`` event; the app estimates usage because it reports none.
"""

from __future__ import annotations

import time
from typing import Iterator


def echo(messages: list[dict], settings: dict) -> Iterator[str | dict]:
    """Yield the last user message back, one word at a time.

    ``messages``: ``[{"role", "content"}]`` (the system prompt first, newest last);
    ``settings``: ``{"model": str, ...}``. ``max_tokens``, when set, caps the words.
    """
    question = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
    words = question.split(" ")
    limit = settings.get("max_tokens") or len(words)
    yield "You said: "
    for index, word in enumerate(words[:limit]):
        yield word if index == 0 else " " + word
        time.sleep(0.02)  # a blocking call is fine: backends run in a worker thread
    yield {"type": "finish", "finish_reason": "stop" if limit >= len(words) else "length"}


echo.models = ["echo"]  # offered in the model select
