"""The browser's Markdown exporter (assets/js/exporter.mjs, used by Export all) writes
the very bytes of ``chatcore.export.to_markdown``: Python writes golden outputs for the
CommonMark spec examples (``tests/data/commonmark``) as user and assistant contents,
plain and as replies stopped inside an open ```` ```python ```` fence, each alone and all
in one export, plus the chosen open blocks, system prompts, reasoning, CJK, emoji, CRLF
and end markers inside content, and attachments (format 3: images with tricky names,
documents with long backtick runs, markers, CJK and CRLF in their text); node runs
tests/js/exporter.test.mjs on them (``CHAT_EXPORT_GOLDEN``) with the vendored markdown-it.
Attachments an exporter must refuse (an svg image, a count that is not one, ...) are
refused by both (``CHAT_EXPORT_REFUSED``)."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest

from chatcore.export import from_markdown, to_markdown
from components.layout import public_config
from tests.conftest import make_settings
from tests.test_export_attachments import (
    TRICKY_NAMES,
    TRICKY_TEXTS,
    attached_conversation,
    document,
    image,
    refused_attachments,
)
from tests.test_export_viewer import EXAMPLES, OPEN_BLOCKS, STOP

ROOT = Path(__file__).resolve().parent.parent
NODE = shutil.which("node")
AT = datetime(2026, 3, 4, 5, 6, 7, tzinfo=timezone.utc)


def _case(messages: list[dict], **options) -> dict:
    """One golden case: the arguments and what Python writes for them."""
    options = {"model": "gpt-4o-mini", "title": "Chat", **options}
    markdown = to_markdown(messages, exported_at=AT, **options)
    return {"messages": messages, "options": options, "exported_at_ms": int(AT.timestamp() * 1000), "markdown": markdown}


def golden_cases() -> list[dict]:
    """Every case the JS exporter must reproduce byte for byte."""
    cases = []
    for role, other in (("user", "assistant"), ("assistant", "user")):
        for stopped in (False, True):
            contents = [example + STOP if stopped else example for example in EXAMPLES]
            for content in contents:  # each alone, with a message after it
                cases.append(_case([{"role": role, "content": content}, {"role": other, "content": "Next."}]))
            # all in one export (the end marker and parsers see them together)
            together = [m for c in contents for m in ({"role": role, "content": c}, {"role": other, "content": "ok"})]
            cases.append(_case(together, title="CommonMark spec 0.31.2"))
    for example in EXAMPLES[::5]:
        cases.append(_case([{"role": "assistant", "content": example + STOP, "reasoning": example}],
                           system_prompt=example, title=example[:60]))
    for _, content, _ in OPEN_BLOCKS:
        cases.append(_case([{"role": "user", "content": "q"}, {"role": "assistant", "content": content}]))
    cases += [
        _case([{"role": "user", "content": "怎么写？😀\r\n| a | b |\r\n|---|---|\r\n"}, {"role": "assistant", "content": "<!-- chat:end -->\n```"}],
              title="  斐波那契\u3000 数列\t😀  ", model=" gpt\u00a0x "),
        _case([{"role": "user", "content": "<!-- chat:end --> and <!-- chat:end:1 -->"}], title="", system_prompt=""),
        _case([{"role": "assistant", "content": "x", "reasoning": ""}, {"role": "user", "content": "y", "reasoning": "ignored"}]),
        _case([{"role": "assistant", "content": "$$\n\\sum", "reasoning": "line one\n\nline three"}], title="\x1cA\x85B\ufeffC"),
        _case([{"role": "user", "content": "a\u2028b\n-\u2029|x|\n|-|"}]),
    ]
    # attachments (format 3)
    cases.append(_case(attached_conversation(), title="附件 😀", system_prompt="Describe images."))
    for name in TRICKY_NAMES + ["\ud800 lone \udfff surrogates"]:
        cases.append(_case([{"role": "user", "content": "q", "attachments": [image(name), document(name, name)]}]))
    for text in TRICKY_TEXTS:
        cases.append(_case([{"role": "user", "content": text + STOP, "attachments": [document("d.txt", text)]},
                            {"role": "assistant", "content": "a", "reasoning": text, "attachments": [image()]}]))
    cases.append(_case([{"role": "user", "content": "q", "attachments": None}, {"role": "assistant", "content": "a", "attachments": []}]))
    cases.append(_case([{"role": "user", "content": "q", "attachments": [
        image(width=None, height=None), document(tokens=None, truncated=False), document(truncated=True, size=0)]}]))
    # random names and texts from the tricky pieces, any character from U+0000 to U+FFFF (no surrogate) and emoji
    rng = random.Random(13)
    pieces = TRICKY_NAMES + TRICKY_TEXTS + ["`" * n for n in range(1, 12)] + ["\n", "\r", "\u2028", "😀", "中"]

    def mix() -> str:
        return "".join(rng.choice(pieces) if rng.random() < 0.5 else chr(rng.choice([rng.randrange(0x20, 0x7F), rng.randrange(0, 0xD800)]))
                       for _ in range(rng.randrange(0, 8)))

    for _ in range(60):
        cases.append(_case([{"role": "user", "content": mix(), "attachments": [image(mix()[:255]), document(mix()[:255], mix())]}]))
    return cases


@pytest.mark.skipif(NODE is None, reason="node is not installed (.ci/run installs nodejs)")
def test_js_exporter_writes_the_same_bytes_as_python(tmp_path):
    cases = golden_cases()
    assert len(cases) > 4 * len(EXAMPLES)
    for case in cases[:: max(1, len(cases) // 50)]:  # the golden texts read back (sample)
        assert [m["content"] for m in from_markdown(case["markdown"])][-len(case["messages"]):] == [m["content"] for m in case["messages"]]
    golden = tmp_path / "golden.json"
    golden.write_text(json.dumps(cases), encoding="utf-8")  # ASCII: lone surrogates in names
    refused = tmp_path / "refused.json"
    for attachment in refused_attachments():  # what node must refuse, Python refuses
        with pytest.raises(ValueError):
            to_markdown([{"role": "user", "content": "q", "attachments": [attachment]}], model="m")
    refused.write_text(json.dumps(refused_attachments()), encoding="utf-8")
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(public_config(make_settings())), encoding="utf-8")
    result = subprocess.run(
        [NODE, "--test", "tests/js/exporter.test.mjs"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, "CHAT_TEST_CONFIG": str(config_file), "CHAT_EXPORT_GOLDEN": str(golden),
             "CHAT_EXPORT_REFUSED": str(refused)},
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout and f"golden cases compared: {len(cases)}" in result.stdout
    assert f"refused attachments: {len(refused_attachments())}" in result.stdout
    assert sum("- Format: 3\n" in c["markdown"] for c in cases) > len(TRICKY_NAMES) + len(TRICKY_TEXTS)
