"""Screenshots of versions (issue 14): a regenerated reply showing ‹ 2 / 3 ›, desktop
light and phone dark, against the local test upstream.

    python docs/make_branch_screenshots.py     # writes docs/branches-*.png
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shots import PHONE, running  # noqa: E402  (docs/shots.py)
from tests.e2e_chat import open_chat, send, wait_runs  # noqa: E402
from tests.upstream import Reply  # noqa: E402

ANSWERS = ["A haiku about the sea:\n\n*Grey waves fold and break —*", "Another try:\n\n*Salt wind on the pier,*",
           "A third version:\n\n*The tide keeps its time,*"]


def shoot(browser, app, upstream, path: Path, phone: bool) -> None:
    options = {**PHONE, "viewport": {"width": 390, "height": 700}} if phone \
        else {"viewport": {"width": 1100, "height": 560}}
    context = browser.new_context(**options)
    page = context.new_page()
    open_chat(page, app.url)
    upstream.script(Reply(ANSWERS[0]))
    send(page, "Write a haiku about the sea")
    for n, answer in enumerate(ANSWERS[1:], 2):
        upstream.script(Reply(answer))
        page.locator(".chat-message-assistant .chat-action-regenerate").click()
        wait_runs(page, n)
    page.locator(".chat-message-assistant .chat-branch-prev").click()
    page.wait_for_timeout(300)
    if phone:
        page.click("#chat-theme-button")
        page.wait_for_timeout(500)
    page.screenshot(path=str(path))
    context.close()


def main() -> None:
    with running(OPENAI_MODEL="gpt-4o-mini") as (browser, app, upstream):
        shoot(browser, app, upstream, ROOT / "docs" / "branches-desktop.png", phone=False)
        shoot(browser, app, upstream, ROOT / "docs" / "branches-phone-dark.png", phone=True)


if __name__ == "__main__":
    main()
