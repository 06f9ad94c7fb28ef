"""What every screenshot script in docs/ needs: the local test upstream, the app pointed
at it, and Debian's Chromium, started together and stopped together (not a script).

    with running(OPENAI_MODEL="gpt-4o-mini") as (browser, app, upstream):
        context = browser.new_context(**PHONE)
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.conftest import CHROMIUM, CHROMIUM_ARGS, AppProcess, app_env  # noqa: E402
from tests.upstream import UpstreamServer  # noqa: E402

# a phone's browser context (390 px wide, touch, 2× pixels), as in the README's phone shots
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}


@contextmanager
def running(**env: str):
    """Yield ``(browser, app, upstream)``: the test upstream, the app (``app_env`` plus
    ``env``) and a headless Chromium; all three are stopped on the way out."""
    upstream = UpstreamServer().start()
    app = AppProcess(app_env(upstream, **env))
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            try:
                yield browser, app, upstream
            finally:
                browser.close()
    finally:
        app.stop()
        upstream.stop()
