"""Make the screenshots of issue 15's keyboard shortcuts and sharing, with Playwright and
Debian's Chromium against the local test upstream (dark theme):

    python docs/make_share_screenshots.py
    # docs/shortcuts-desktop-dark.png, docs/shortcuts-phone-dark.png (the shortcuts dialog),
    # docs/header-more-phone-dark.png (the phone's "more" menu), docs/share-image-dark.png
    # (what Share as image saves)
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from make_screenshots import REPLY  # noqa: E402  (the README screenshots' reply)
from shots import PHONE, running  # noqa: E402  (docs/shots.py)
from tests.e2e_chat import open_chat, send  # noqa: E402
from tests.upstream import Reply  # noqa: E402

OUT = Path(__file__).resolve().parent
with running(OPENAI_MODEL="gpt-4o-mini") as (b, app, upstream):
    for name, opts in (("desktop", dict(viewport={"width": 1280, "height": 820})), ("phone", PHONE)):
        ctx = b.new_context(locale="en-US", accept_downloads=True, **opts)
        pg = ctx.new_page()
        open_chat(pg, app.url)
        upstream.script(Reply(REPLY, usage={"prompt_tokens": 182, "completion_tokens": 96}))
        send(pg, "How do I summarise a CSV by region?")
        pg.click("#chat-theme-button"); pg.wait_for_timeout(600)
        if name == "desktop":
            with pg.expect_download() as info:
                pg.click("#chat-share-image-button")
            info.value.save_as(str(OUT / "share-image-dark.png"))
            pg.wait_for_timeout(3500)
            pg.evaluate("() => document.activeElement && document.activeElement.blur()")
            pg.keyboard.press("?")
        else:
            pg.click("#chat-header-more-button"); pg.wait_for_timeout(300)
            pg.screenshot(path=str(OUT / "header-more-phone-dark.png"))
            pg.click("#chat-shortcuts-button")
        pg.wait_for_timeout(700)
        pg.screenshot(path=str(OUT / f"shortcuts-{name}-dark.png"))
        ctx.close()
