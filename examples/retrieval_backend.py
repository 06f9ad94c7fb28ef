"""A tiny retrieval backend: answers with the passages of ``examples/docs/*.txt``
that share the most words with the question (no model, no dependencies).

    CHAT_BACKEND=examples.retrieval_backend:answer python chat_app.py

Each ``.txt`` file is split into paragraphs; a paragraph scores the number of
distinct question words (lower-cased, 3+ letters, common words left out) it
contains. The best ``TOP_K`` paragraphs are quoted with their file names. A real
backend would send them, with the question, to a model.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

DOCS = Path(__file__).with_name("docs")
TOP_K = 2
STOP_WORDS = frozenset("the and for are but not you your with this that from have has was what how does can".split())
_WORD = re.compile(r"[a-z0-9]{3,}|[\u4e00-\u9fff]")  # English words, or single CJK characters


def words(text: str) -> set[str]:
    """The distinct words of ``text`` that count for scoring."""
    return {w for w in _WORD.findall(text.lower()) if w not in STOP_WORDS}


def passages(folder: Path = DOCS) -> list[tuple[str, str]]:
    """``(file name, paragraph)`` for every non-empty paragraph of the ``.txt`` files."""
    found = []
    for path in sorted(folder.glob("*.txt")):
        for paragraph in re.split(r"\n\s*\n", path.read_text(encoding="utf-8")):
            if paragraph.strip():
                found.append((path.name, " ".join(paragraph.split())))
    return found


def search(question: str, folder: Path = DOCS, top_k: int = TOP_K) -> list[tuple[int, str, str]]:
    """The ``top_k`` best ``(score, file name, paragraph)``, best first; score > 0 only."""
    wanted = words(question)
    scored = [(len(wanted & words(text)), name, text) for name, text in passages(folder)]
    scored = [item for item in scored if item[0] > 0]
    scored.sort(key=lambda item: -item[0])  # stable: ties keep file order
    return scored[:top_k]


def answer(messages: list[dict], settings: dict) -> Iterator[str | dict]:
    """Quote the passages that best match the last user message, as Markdown."""
    question = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
    hits = search(question)
    if not hits:
        yield "I found nothing about that in the documents."
        return
    yield {"type": "reasoning", "content": f"{len(hits)} passage(s) share words with the question."}
    for score, name, text in hits:
        yield f"> {text}\n\n"
        yield f"*{name}*, {score} matching word(s)\n\n"


answer.models = ["retrieval"]
