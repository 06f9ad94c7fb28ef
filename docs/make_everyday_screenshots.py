"""Screenshots of everyday use (issue 15): the header's model switch open, the sidebar's
date groups with a pinned conversation — desktop light, desktop dark, phone, zh-CN —
with Playwright and Debian's Chromium against the local test upstream.

    python docs/make_everyday_screenshots.py     # writes docs/everyday-*.png
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shots import PHONE, running  # noqa: E402  (docs/shots.py)
from tests.e2e_chat import open_chat, send, set_history  # noqa: E402
from tests.upstream import Reply  # noqa: E402

DAY_MS = 24 * 3600 * 1000
TITLES = {
    "en-US": ["Plan a trip to Kyoto", "Explain SSE vs WebSockets", "Weekly report draft", "SQL for monthly revenue",
              "Translate the release notes", "Review my pandas code"],
    "zh-CN": ["京都旅行计划", "解释 SSE 与 WebSocket", "周报草稿", "按月统计收入的 SQL", "翻译发布说明", "帮我审查 pandas 代码"],
}


def seed(page, locale: str) -> None:
    """Conversations spread over today, yesterday, last week, last month and earlier; one pinned."""
    now = page.evaluate("() => Date.now()")
    ages = [0, 0, 1, 4, 20, 75]
    conversations = []
    for i, (title, age) in enumerate(zip(TITLES[locale], ages)):
        at = now - age * DAY_MS - i * 60_000
        conversations.append({"id": f"c{i}", "title": title, "created_at": at, "updated_at": at, "settings": {}, "error": None,
                              "pinned": i == 5,
                              "messages": [{"id": f"m{i}", "role": "user", "content": title, "seq": at, "created_at": at}]})
    set_history(page, {"version": 2, "active_id": "c0", "conversations": conversations})
    page.wait_for_timeout(400)


def shoot(browser, app, upstream, out: Path, name: str, locale: str, dark: bool = False, phone: bool = False) -> None:
    options = PHONE if phone \
        else {"viewport": {"width": 1280, "height": 760}}
    context = browser.new_context(locale=locale, **options)
    page = context.new_page()
    open_chat(page, app.url)
    seed(page, locale)
    upstream.script(Reply("Sure: here is a first outline." if locale == "en-US" else "好的，先给出一个提纲。"))
    send(page, TITLES[locale][0])
    if dark:
        page.click("#chat-theme-button")
        page.wait_for_timeout(500)
    if phone:
        page.click("#chat-sidebar-toggle")
        page.wait_for_timeout(400)
    else:
        page.click("#chat-model-select .ant-select-selector")
        page.wait_for_timeout(400)
    page.screenshot(path=str(out / name))
    context.close()


def main() -> None:
    out = ROOT / "docs"
    with running(OPENAI_MODEL="gpt-4o-mini", OPENAI_MODELS="gpt-4o,gpt-4.1-mini,o4-mini,deepseek-chat") as (browser, app, upstream):
        shoot(browser, app, upstream, out, "everyday-desktop.png", "en-US")
        shoot(browser, app, upstream, out, "everyday-dark.png", "en-US", dark=True)
        shoot(browser, app, upstream, out, "everyday-phone.png", "en-US", phone=True)
        shoot(browser, app, upstream, out, "everyday-zh-CN.png", "zh-CN")


if __name__ == "__main__":
    main()
