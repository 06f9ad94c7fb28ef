"""The browser's Markdown exporter (assets/js/exporter.mjs, used by Export all) writes
the very bytes of ``chatcore.export.to_markdown``: Python writes golden outputs for the
CommonMark spec examples (``tests/data/commonmark``) as user and assistant contents,
plain and as replies stopped inside an open ```` ```python ```` fence, each alone and all
in one export, plus the chosen open blocks, system prompts, reasoning, CJK, emoji, CRLF
and end markers inside content; node runs tests/js/exporter.test.mjs on them
(``CHAT_EXPORT_GOLDEN``) with the vendored markdown-it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest

from chatcore.export import from_markdown, to_markdown
from components.layout import public_config
from tests.conftest import make_settings
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
    return cases


@pytest.mark.skipif(NODE is None, reason="node is not installed (.ci/run installs nodejs)")
def test_js_exporter_writes_the_same_bytes_as_python(tmp_path):
    cases = golden_cases()
    assert len(cases) > 4 * len(EXAMPLES)
    for case in cases[:: max(1, len(cases) // 50)]:  # the golden texts read back (sample)
        assert [m["content"] for m in from_markdown(case["markdown"])][-len(case["messages"]):] == [m["content"] for m in case["messages"]]
    golden = tmp_path / "golden.json"
    golden.write_text(json.dumps(cases, ensure_ascii=False), encoding="utf-8")
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(public_config(make_settings())), encoding="utf-8")
    result = subprocess.run(
        [NODE, "--test", "tests/js/exporter.test.mjs"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, "CHAT_TEST_CONFIG": str(config_file), "CHAT_EXPORT_GOLDEN": str(golden)},
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout and f"golden cases compared: {len(cases)}" in result.stdout
