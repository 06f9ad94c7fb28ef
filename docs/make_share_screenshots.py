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
from playwright.sync_api import sync_playwright  # noqa: E402
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, AppProcess, app_env  # noqa: E402
from tests.e2e_chat import open_chat, send  # noqa: E402
from tests.upstream import Reply, UpstreamServer  # noqa: E402

OUT = Path(__file__).resolve().parent
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
"""
upstream = UpstreamServer().start()
app = AppProcess(app_env(upstream, OPENAI_MODEL="gpt-4o-mini"))
try:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        for name, opts in (("desktop", dict(viewport={"width": 1280, "height": 820})),
                           ("phone", dict(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, device_scale_factor=2))):
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
        b.close()
finally:
    app.stop(); upstream.stop()
