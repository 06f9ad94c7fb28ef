"""Draw a Markdown export as a viewer shows it: docs/export-rendered.png.

An example conversation (a reply stopped inside an open ```` ```python ```` block, a
table, Chinese text) is exported with ``chatcore.export.to_markdown``, rendered to HTML
with markdown-it-py (CommonMark, raw HTML on as on GitHub, GFM tables and
strikethrough) and photographed in headless Chromium with Playwright. On the left the
same export without format 2's closing lines (what format 1 wrote): every heading after
the stopped reply disappears into its code block. On the right format 2: each message
keeps its heading.

    python docs/export_render.py      # writes docs/export-rendered.png
"""

from __future__ import annotations

import html
import re
import sys
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from markdown_it import MarkdownIt  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from chatcore.export import from_markdown, to_markdown  # noqa: E402

OUT = ROOT / "docs" / "export-rendered.png"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]

MESSAGES = [
    {"role": "user", "content": "Write a Fibonacci function in Python, please."},
    {"role": "assistant", "content": "Sure, a simple iterative one:\n\n```python\ndef fib(n):\n    a, b = 0, 1\n    for _ in range(n):"},
    {"role": "user", "content": "停一下——先用表格对比递归和迭代。"},
    {"role": "assistant", "content": "| 方法 | 时间复杂度 | 空间 |\n|:---|:---:|---:|\n| 递归 | O(2ⁿ) | O(n) |\n| 迭代 | O(n) | O(1) |\n\n"
     "迭代版本更快 😀，~~递归~~只适合教学。"},
]


def format1(text: str) -> str:
    """``text`` (format 2) as format 1 wrote it: no ``- Format:`` line, no gap or closing
    lines, plain begin markers."""
    lines = text.split("\n")
    out: list[str] = []
    drop_next = 0
    i = 0
    while i < len(lines):
        line = lines[i]
        match = re.fullmatch(r"<!-- chat:begin role=(\w+)( gap=1)?(?: close=(\d+))? -->", line)
        if line.startswith("- Format: "):
            i += 1
            continue
        if match:
            out.append(f"<!-- chat:begin role={match.group(1)} -->")
            i += 2 if match.group(2) else 1
            drop_next = int(match.group(3) or 0)
            end = lines.index("<!-- chat:end -->", i)
            out += lines[i : end - drop_next]
            i = end
            continue
        out.append(line)
        i += 1
    return "\n".join(out)


def page(columns: list[tuple[str, str]]) -> str:
    """An HTML page with one column per ``(caption, rendered HTML)``."""
    cells = "".join(f'<section><p class="caption">{html.escape(caption)}</p><article>{body}</article></section>'
                    for caption, body in columns)
    return f"""<!doctype html><html><head><meta charset="utf-8"><style>
body {{ margin: 0; padding: 24px; background: #f6f8fa; font: 15px/1.5 -apple-system, "Segoe UI", "Noto Sans",
       "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif; color: #1f2328; display: flex; gap: 24px; }}
section {{ flex: 1; min-width: 0; }}
.caption {{ font-weight: 600; margin: 0 0 8px; color: #57606a; }}
article {{ background: #fff; border: 1px solid #d0d7de; border-radius: 6px; padding: 16px 24px; }}
h1 {{ font-size: 1.6em; border-bottom: 1px solid #d8dee4; padding-bottom: .3em; margin-top: 0; }}
h2 {{ font-size: 1.25em; border-bottom: 1px solid #d8dee4; padding-bottom: .3em; color: #0969da; }}
pre {{ background: #f6f8fa; border-radius: 6px; padding: 12px; overflow: hidden; white-space: pre-wrap; }}
code {{ font: 13px/1.45 ui-monospace, "DejaVu Sans Mono", monospace; }}
table {{ border-collapse: collapse; }} th, td {{ border: 1px solid #d0d7de; padding: 4px 12px; }}
ul {{ padding-left: 1.5em; color: #57606a; }}
</style></head><body>{cells}</body></html>"""


def main() -> None:
    """Export, render both formats, photograph, check the round trip."""
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    text = to_markdown(MESSAGES, model="gpt-4o-mini", title="Fibonacci 斐波那契", system_prompt="Answer briefly.", exported_at=when)
    assert from_markdown(text)[1:] == MESSAGES
    md = MarkdownIt("commonmark").enable(["table", "strikethrough"])
    columns = [("Format 1: headings after the stopped reply are swallowed", md.render(format1(text))),
               ("Format 2 (this exporter): every message keeps its heading", md.render(text))]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        view = browser.new_page(viewport={"width": 1280, "height": 800}, device_scale_factor=1)
        view.set_content(page(columns))
        headings = view.eval_on_selector_all("section:last-child h2", "els => els.map(e => e.textContent)")
        assert headings == ["System prompt", "User", "Assistant", "User", "Assistant"], headings
        view.screenshot(path=str(OUT), full_page=True)
        browser.close()
    print(f"wrote {OUT} (format 2 headings: {headings})")


if __name__ == "__main__":
    main()
