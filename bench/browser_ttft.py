"""Browser-observed time to first token (TTFT) overhead of the app.

Starts the test upstream with a known first-token delay, the app (``python
chat_app.py`` or ``gunicorn chat_app:server``) and headless Chromium; sends N
messages in one page and reads ``window.chatDebug.lastRun.ttft_ms`` (from the
fetch() call to the first delta parsed in the page). Prints, per run and as
median/min/max, the TTFT minus the upstream delay: what the app, the SDK and the
browser add on top of the model.

    python bench/browser_ttft.py [--runs 10] [--delay-ms 200] [--server dev|gunicorn]

Everything listens on 127.0.0.1; nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.conftest import CHROMIUM, CHROMIUM_ARGS, NO_LIMITS, AppProcess, app_env  # noqa: E402
from tests.upstream import Reply, UpstreamServer  # noqa: E402


def measure(runs: int, delay_ms: float, server: str) -> dict:
    """Run the measurement; return ``{"overhead_ms": [...], "server_ttft_ms": [...]}``."""
    from playwright.sync_api import sync_playwright

    upstream = UpstreamServer().start()
    command = [sys.executable, "-m", "gunicorn", "chat_app:server"] if server == "gunicorn" else None
    app = AppProcess(app_env(upstream, **NO_LIMITS), command=command)
    overhead, server_ttft = [], []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(app.url)
            page.wait_for_selector("#chat-input")
            page.wait_for_function("() => window.chatDebug && window.dash_clientside && window.dash_clientside.chat")
            for i in range(runs + 1):  # the first run warms up connections and is not counted
                upstream.script(Reply(content="first token, then a few more", first_token_delay=delay_ms / 1000, chunk_delay=0.01))
                before = page.evaluate("window.chatDebug.runs")
                page.fill("#chat-input", f"message {i}")
                page.press("#chat-input", "Enter")
                page.wait_for_function(f"window.chatDebug.runs > {before}", timeout=20000)
                last = page.evaluate("window.chatDebug.lastRun")
                if i == 0:
                    continue
                overhead.append(last["ttft_ms"] - delay_ms)
                server_ttft.append((last.get("server") or {}).get("ttft_ms") or float("nan"))
                print(f"run {i:2d}: browser TTFT {last['ttft_ms']:7.1f} ms, overhead {overhead[-1]:6.1f} ms, "
                      f"server-side TTFT {server_ttft[-1]:7.1f} ms")
            browser.close()
    finally:
        app.stop()
        upstream.stop()
    return {"overhead_ms": overhead, "server_ttft_ms": server_ttft}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--delay-ms", type=float, default=200.0, help="upstream first-token delay")
    parser.add_argument("--server", choices=["dev", "gunicorn"], default="dev")
    args = parser.parse_args()
    result = measure(args.runs, args.delay_ms, args.server)
    values = result["overhead_ms"]
    print(
        f"\n{args.server}: browser TTFT minus the {args.delay_ms:.0f} ms upstream delay over {len(values)} runs: "
        f"median {statistics.median(values):.1f} ms, min {min(values):.1f} ms, max {max(values):.1f} ms"
    )


if __name__ == "__main__":
    main()
