"""Make the README screenshots (desktop light, desktop dark, phone 390 px, Chinese UI)
with Playwright and Debian's Chromium, against the local test upstream.

    python docs/make_screenshots.py      # writes docs/screenshot-*.png
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shots import PHONE, running  # noqa: E402  (docs/shots.py)
from tests.e2e_chat import open_chat, send  # noqa: E402
from tests.upstream import Reply  # noqa: E402

REPLY = """Here is a quick way to read a CSV with **pandas** and summarise it:

```python
import pandas as pd

df = pd.read_csv("sales.csv")
print(df.groupby("region")["revenue"].sum())
```

| region | revenue |
|--------|--------:|
| North  | 12,400  |
| South  |  9,850  |

The mean is $\\bar{x} = \\frac{1}{n}\\sum_{i=1}^{n} x_i$.
"""
REPLY_ZH = """当然可以。下面用 **pandas** 读取 CSV 并按地区汇总：

```python
import pandas as pd
df = pd.read_csv("sales.csv")
print(df.groupby("region")["revenue"].sum())
```

| 地区 | 收入 |
|------|-----:|
| 华北 | 12,400 |
| 华南 | 9,850 |
"""


def fill(page, upstream, reply: str, question: str, others: list[str]) -> None:
    """A few conversations, the newest with a rich reply."""
    for title in others:
        upstream.script(Reply("Sure — " + title.lower() + "."))
        send(page, title)
        page.click("#chat-new-button")
    upstream.script(Reply(reply, usage={"prompt_tokens": 182, "completion_tokens": 96}))
    send(page, question)
    page.wait_for_timeout(800)


def main() -> None:
    """Write the four screenshots into docs/."""
    out = ROOT / "docs"
    with running(OPENAI_MODEL="gpt-4o-mini") as (browser, app, upstream):
        context = browser.new_context(viewport={"width": 1280, "height": 820}, locale="en-US")
        page = context.new_page()
        open_chat(page, app.url)
        fill(page, upstream, REPLY, "How do I summarise a CSV by region?", ["Plan a trip to Kyoto", "Explain SSE vs WebSockets"])
        page.screenshot(path=str(out / "screenshot-light.png"))
        page.click("#chat-theme-button")
        page.wait_for_timeout(600)
        page.screenshot(path=str(out / "screenshot-dark.png"))
        context.close()

        context = browser.new_context(locale="en-US", **PHONE)
        page = context.new_page()
        open_chat(page, app.url)
        fill(page, upstream, REPLY, "How do I summarise a CSV by region?", [])
        page.screenshot(path=str(out / "screenshot-phone.png"))
        context.close()

        context = browser.new_context(viewport={"width": 1280, "height": 820}, locale="zh-CN")
        page = context.new_page()
        open_chat(page, app.url)
        fill(page, upstream, REPLY_ZH, "怎么按地区汇总 CSV 数据？", ["京都旅行计划", "解释 SSE 与 WebSocket"])
        page.screenshot(path=str(out / "screenshot-zh.png"))
        context.close()


if __name__ == "__main__":
    main()
