"""Main-thread time per paint while a 50,000-character reply streams.

Starts the test upstream, the app and headless Chromium; streams a reply of about
50,000 characters (paragraphs, a list, a table, then — last — one long code block that
grows at the tail) in 40-character deltas every 2 ms, while Chromium's trace records the
page's main thread. Each paint of the streaming reply is one animation-frame task
(stream.mjs flushes on requestAnimationFrame); the bench prints, for the paint tasks of
the reply, the thread time (trace ``tdur``) median / p95 / max and how many exceeded
16 ms — separately for the prose part and for the growing code block — and lists the
other tasks over 16 ms (the user's message committed, the stored reply drawn at the end).

    python bench/bench_long_reply.py

Target (issue 16): each paint ≤ 16 ms of main-thread time (a growing code block at the
tail may exceed it: reported). Everything listens on 127.0.0.1.
"""

from __future__ import annotations

import bisect
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import renderer_main_tasks  # noqa: E402
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, NO_LIMITS, AppProcess, app_env  # noqa: E402
from tests.e2e_chat import open_chat  # noqa: E402
from tests.upstream import Reply, UpstreamServer  # noqa: E402


def long_reply() -> tuple[str, int]:
    """About 50,000 characters of Markdown; returns (text, where the final code block starts)."""
    parts = []
    for i in range(210):
        parts.append(f"Paragraph {i}: the quick brown fox jumps over the lazy dog, **again** and `again`, "
                     f"while the reply keeps growing with sentence number {i} of many.\n\n")
        if i % 25 == 12:
            parts.append("".join(f"- item {i}.{k} with some words\n" for k in range(8)) + "\n")
        if i % 40 == 30:
            parts.append("| a | b | c |\n|---|---|---|\n" + "".join(f"| {k} | {k * k} | x{k} |\n" for k in range(10)) + "\n")
    prose = "".join(parts)
    code = "```python\n" + "".join(f"def function_{k}(x):\n    return x * {k} + {k}  # line {k}\n" for k in range(220)) + "```\n"
    return prose + code, len(prose)


def measure() -> dict:
    """One streamed long reply: {"chars", "deltas", "paints", "seconds", "prose": stats,
    "code": stats, "others": [(s, ms)]}; stats = {"n", "median", "p95", "max", "over"} (ms,
    over = paints above 16 ms) or None."""
    from playwright.sync_api import sync_playwright

    text, _ = long_reply()
    chunks = [text[i:i + 40] for i in range(0, len(text), 40)]
    upstream = UpstreamServer().start()
    app = AppProcess(app_env(upstream, **NO_LIMITS))
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            open_chat(page, app.url)
            cdp = context.new_cdp_session(page)
            events: list[dict] = []
            done: list[int] = []
            cdp.on("Tracing.dataCollected", lambda e: events.extend(e["value"]))
            cdp.on("Tracing.tracingComplete", lambda e: done.append(1))
            upstream.script(Reply(chunks=chunks, chunk_delay=0.002))
            # the page notes when the tail becomes the code block (trace clock mark)
            page.evaluate("""() => {
              window.__codeMarked = false;
              new MutationObserver(() => {
                if (!window.__codeMarked && document.querySelector('#chat-stream-markdown-tail pre, #chat-stream-markdown pre')) {
                  window.__codeMarked = true; console.timeStamp('bench-code');
                }
              }).observe(document.body, { childList: true, subtree: true });
            }""")
            cdp.send("Tracing.start", {"categories": "toplevel,devtools.timeline", "transferMode": "ReportEvents"})
            page.evaluate("() => console.timeStamp('bench-start')")
            page.fill("#chat-input", "a long one")
            page.press("#chat-input", "Enter")
            page.wait_for_function("() => window.chatDebug.runs >= 1 && !window.chatDebug.streaming()", timeout=120000)
            page.evaluate("() => console.timeStamp('bench-end')")
            cdp.send("Tracing.end")
            while not done:
                page.wait_for_timeout(20)
            last = page.evaluate("window.chatDebug.lastRun")
            browser.close()
    finally:
        app.stop()
        upstream.stop()

    def mark(label: str) -> float | None:
        found = [e["ts"] for e in events if e.get("name") == "TimeStamp" and label in str(e.get("args", {}))]
        return min(found) if found else None

    start, end, code = mark("bench-start"), mark("bench-end"), mark("bench-code")
    tasks = renderer_main_tasks(events, start, end)
    # a paint is a task that ran an animation frame (stream.mjs flushes on requestAnimationFrame;
    # the frame's style, layout and paint are in the same task); the other tasks (the commit
    # of the user's message, reading the stream, the stored message drawn at the end) are
    # listed apart
    frame_starts = sorted(e["ts"] for e in events if e.get("name") == "FireAnimationFrame" and start <= e["ts"] <= end)

    def has_frame(task: dict) -> bool:
        i = bisect.bisect_left(frame_starts, task["ts"])
        return i < len(frame_starts) and frame_starts[i] < task["ts"] + task.get("dur", 0)

    frames = [e for e in tasks if e.get("tdur", e.get("dur", 0)) >= 1000 and has_frame(e)]
    others = [e for e in tasks if e.get("tdur", e.get("dur", 0)) > 16000 and not has_frame(e)]

    def stats(selected: list[dict]) -> dict | None:
        values = sorted(e.get("tdur", e.get("dur", 0)) / 1000 for e in selected)
        if not values:
            return None
        return {"n": len(values), "median": statistics.median(values),
                "p95": values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))],
                "max": values[-1], "over": sum(1 for v in values if v > 16)}

    prose = frames if code is None else [e for e in frames if e["ts"] < code]
    return {"chars": len(text), "deltas": len(chunks), "paints": last["flushes"], "seconds": last["total_ms"] / 1000,
            "prose": stats(prose), "code": None if code is None else stats([e for e in frames if e["ts"] >= code]),
            "others": [((e["ts"] - start) / 1e6, e.get("tdur", e.get("dur", 0)) / 1000) for e in others]}


def describe(values: dict | None) -> str:
    """``stats`` of :func:`measure` as one line."""
    if not values:
        return "no paint tasks"
    return (f"{values['n']} tasks ≥ 1 ms, median {values['median']:.1f} ms, p95 {values['p95']:.1f} ms, "
            f"max {values['max']:.1f} ms, {values['over']} over 16 ms")


def main() -> None:
    result = measure()
    print(f"reply {result['chars']:,} characters in {result['deltas']} deltas; {result['paints']} paints, {result['seconds']:.1f} s")
    print("other tasks over 16 ms (not paints): " + (", ".join(f"{at:.2f} s: {d:.1f} ms" for at, d in result["others"]) or "none"))
    print("prose (paragraphs, lists, tables): " + describe(result["prose"]))
    print("growing code block at the tail: " + describe(result["code"]))


if __name__ == "__main__":
    main()
