"""Benchmark: how long a 1,000-message conversation (and a 20 MB history) takes to
open in Chromium. Prints numbers; asserts nothing.

    python bench/bench_history_open.py [--runs 3]

Measures, for a history of 20 conversations × 200 messages × 5,000 characters plus
one 1,000-message conversation (Markdown with code blocks and tables):
  * open_empty_ms — page reload with an empty history until the page has drawn
                    (the floor: page load and Dash start-up);
  * open_1000_ms  — page reload until the newest message is on screen, for a history
                    holding only the 1,000-message conversation;
  * write_ms      — from set_props until IndexedDB holds the (20 MB) history;
  * open_ms       — page reload (20 MB history) until the newest message of the 1,000-message
                    conversation is on screen (navigation, IndexedDB read, render);
  * switch_ms     — click on the 1,000-message conversation in the sidebar (from
                    another one) until its newest message is drawn;
  * earlier_ms    — one "show earlier" step (60 more messages drawn).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.conftest import CHROMIUM, CHROMIUM_ARGS, AppProcess, app_env  # noqa: E402
from tests.e2e_chat import IDB_HOLDS_JS, open_chat, set_history  # noqa: E402
from tests.test_e2e_conversations import BIG_HISTORY_JS, LONG_ONLY_JS  # noqa: E402
from tests.upstream import UpstreamServer  # noqa: E402


def main() -> None:
    """Run the measurements and print one line per metric (median of runs)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    upstream = UpstreamServer().start()
    app = AppProcess(app_env(upstream))
    results: dict[str, list[float]] = {"open_empty_ms": [], "open_1000_ms": [], "write_ms": [], "open_ms": [], "switch_ms": [], "earlier_ms": []}
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            for _ in range(args.runs):
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                page = context.new_page()
                open_chat(page, app.url)
                t0 = time.perf_counter()
                page.reload()
                page.wait_for_function("() => window.chatDebug && window.chatDebug.lastRender !== null")
                results["open_empty_ms"].append((time.perf_counter() - t0) * 1000)
                set_history(page, LONG_ONLY_JS)
                page.wait_for_function(IDB_HOLDS_JS, arg=1, timeout=120000, polling=100)
                t0 = time.perf_counter()
                page.reload()
                page.wait_for_selector(".chat-message-user >> text=Question 998", timeout=120000)
                results["open_1000_ms"].append((time.perf_counter() - t0) * 1000)
                context.close()

                context = browser.new_context(viewport={"width": 1280, "height": 900})
                page = context.new_page()
                open_chat(page, app.url)
                t0 = time.perf_counter()
                set_history(page, BIG_HISTORY_JS)
                page.wait_for_function(IDB_HOLDS_JS, arg=21, timeout=120000, polling=100)
                results["write_ms"].append((time.perf_counter() - t0) * 1000)

                t0 = time.perf_counter()
                page.reload()
                page.wait_for_selector(".chat-message-user >> text=Question 998", timeout=120000)
                results["open_ms"].append((time.perf_counter() - t0) * 1000)

                page.locator(".chat-conv-item", has_text="Big 3").click()
                page.wait_for_selector(".chat-message-assistant >> text=c3 m199", timeout=60000)
                t0 = time.perf_counter()
                page.locator(".chat-conv-item", has_text="Thousand").click()
                page.wait_for_selector(".chat-message-user >> text=Question 998", timeout=60000)
                results["switch_ms"].append((time.perf_counter() - t0) * 1000)

                before = page.locator(".chat-message").count()
                t0 = time.perf_counter()
                page.locator(".chat-show-earlier").click()
                page.wait_for_function(f"() => document.querySelectorAll('.chat-message').length > {before}")
                results["earlier_ms"].append((time.perf_counter() - t0) * 1000)
                context.close()
            browser.close()
    finally:
        app.stop()
        upstream.stop()
    for name, values in results.items():
        print(f"{name:12s} median {statistics.median(values):8.0f} ms   runs {', '.join(f'{v:.0f}' for v in values)}")


if __name__ == "__main__":
    main()
