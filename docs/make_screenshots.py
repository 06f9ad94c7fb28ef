"""Make the README screenshots (desktop light, desktop dark, phone 390 px, Chinese UI)
with Playwright and Debian's Chromium, against the local test upstream.

    python docs/make_screenshots.py      # writes docs/screenshot-*.png
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.conftest import CHROMIUM, CHROMIUM_ARGS, AppProcess, app_env  # noqa: E402
from tests.e2e_chat import open_chat, send  # noqa: E402
from tests.upstream import Reply, UpstreamServer  # noqa: E402

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
    upstream = UpstreamServer().start()
    app = AppProcess(app_env(upstream, OPENAI_MODEL="gpt-4o-mini"))
    out = ROOT / "docs"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 1280, "height": 820}, locale="en-US")
            page = context.new_page()
            open_chat(page, app.url)
            fill(page, upstream, REPLY, "How do I summarise a CSV by region?", ["Plan a trip to Kyoto", "Explain SSE vs WebSockets"])
            page.screenshot(path=str(out / "screenshot-light.png"))
            page.click("#chat-theme-button")
            page.wait_for_timeout(600)
            page.screenshot(path=str(out / "screenshot-dark.png"))
            context.close()

            context = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-US", is_mobile=True, has_touch=True, device_scale_factor=2)
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
            browser.close()
    finally:
        app.stop()
        upstream.stop()


if __name__ == "__main__":
    main()
