"""Benchmark: main-thread time of committing one new message while the browser holds a
20 MB history (assets/storage.js writes only the records a change touches). Prints
numbers; asserts nothing.

    python bench/bench_storage_commit.py [--runs 5]

For the 20 MB history of tests/test_e2e_conversations.py (20 conversations × 200
messages × 5,000 characters plus a 1,000-message conversation) and a short open
conversation, each run appends one
message to the open conversation as the page's own commit does (a copy of that
conversation, the others shared), and reports:
  * commit_ms   — main-thread time from the commit until the write has landed
                  (renderers, the storage diff and the IndexedDB put calls), measured as
                  the gaps over 2 ms that a MessageChannel ping loop sees;
  * save_sync_ms — the storage module's own synchronous part (diff + structured clone);
  * save_total_ms — until IndexedDB has committed the write (off the main thread);
  * main_cpu_ms   — the page main thread's CPU time (trace events' thread duration,
                  ``tdur``, of its top-level tasks) from the commit until the write has
                  landed: unlike commit_ms it does not count time the OS gave to other
                  processes, so it is the number to read on a busy machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.sync_api import sync_playwright  # noqa: E402

from bench.common import renderer_main_tasks  # noqa: E402
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, AppProcess, app_env  # noqa: E402
from tests.e2e_chat import IDB_HOLDS_JS, open_chat, set_history  # noqa: E402
from tests.test_e2e_conversations import BIG_HISTORY_JS  # noqa: E402
from tests.upstream import UpstreamServer  # noqa: E402

COMMIT_JS = """async ([n, ping]) => {
  const h = window.chatDebug.history();
  const writes = window.chatDebug.storage().writes;
  const i = h.conversations.findIndex(c => c.id === h.active_id);
  const c = Object.assign({}, h.conversations[i]);
  c.messages = c.messages.concat([{id: 'bench-' + n + '-' + Date.now(), role: 'user', content: 'one more ' + n,
    created_at: Date.now(), seq: Date.now()}]);
  const next = Object.assign({}, h, {conversations: h.conversations.slice()});
  next.conversations[i] = c;
  // main-thread busy time: the gaps a MessageChannel ping loop sees (unlike timers,
  // messages are not clamped to 4 ms, so an idle thread answers within ~0.1 ms)
  let busy = 0, last = performance.now(), done = false;
  const channel = new MessageChannel();
  channel.port1.onmessage = () => { const now = performance.now(); if (now - last > 2) { busy += now - last; } last = now;
    if (!done) { channel.port2.postMessage(0); } };
  if (ping) { channel.port2.postMessage(0); }  // off while tracing: its own tasks would count
  console.timeStamp('bench-commit');
  const t0 = performance.now();
  window.chatDebug.commit(next);
  const sync = performance.now() - t0;
  while (window.chatDebug.storage().writes === writes) { await new Promise(r => setTimeout(r, 5)); }
  await new Promise(r => setTimeout(r, 50));
  done = true;
  const save = window.chatDebug.storage().lastSave;
  return {commit_ms: busy + sync, save_sync_ms: save.sync_ms, save_total_ms: save.total_ms, messages: save.messages,
          window: [t0, performance.now()]};
}"""


def main_thread_cpu_ms(events: list[dict], window: list[float]) -> float:
    """CPU ms of the renderer main thread's top-level tasks that started inside
    ``window`` ([start, end] in the page's performance.now() ms, mapped onto the trace
    clock through the marks COMMIT_JS leaves)."""
    marks = [e for e in events if e.get("name") == "TimeStamp" and "bench-commit" in str(e.get("args", {}))]
    if not marks:
        raise RuntimeError("no bench-commit mark in the trace")
    start_us = min(m["ts"] for m in marks)
    end_us = start_us + (window[1] - window[0]) * 1000
    return sum(t.get("tdur", t.get("dur", 0)) for t in renderer_main_tasks(events, start_us - 1000, end_us)) / 1000


def main() -> None:
    """Run the measurements and print one line per metric (median of runs)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    upstream = UpstreamServer().start()
    app = AppProcess(app_env(upstream))
    results: dict[str, list[float]] = {"commit_ms": [], "main_cpu_ms": [], "save_sync_ms": [], "save_total_ms": []}
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            open_chat(page, app.url)
            # the 20 MB history plus a short conversation that is open: the number is the
            # cost of committing into a big history, not of drawing a long conversation
            set_history(page, "(() => { const h = " + BIG_HISTORY_JS + "; h.conversations.push({id: 'bench-small', "
                        "title: 'small', updated_at: Date.now(), messages: [{id: 's1', role: 'user', content: 'hi', seq: 1}]}); "
                        "h.active_id = 'bench-small'; return h; })()")
            page.wait_for_function(IDB_HOLDS_JS, arg=22, timeout=120000, polling=200)
            page.wait_for_timeout(1000)
            size = page.evaluate("() => JSON.stringify(window.chatDebug.history()).length")
            cdp = context.new_cdp_session(page)
            events: list[dict] = []
            done: list[int] = []
            cdp.on("Tracing.dataCollected", lambda e: events.extend(e["value"]))
            cdp.on("Tracing.tracingComplete", lambda e: done.append(1))
            for n in range(args.runs + 1):
                events.clear()
                done.clear()
                cdp.send("Tracing.start", {"categories": "toplevel,devtools.timeline", "transferMode": "ReportEvents"})
                result = page.evaluate(COMMIT_JS, [2 * n, False])
                cdp.send("Tracing.end")
                while not done:
                    page.wait_for_timeout(20)
                assert result["messages"] == 1, result
                main_cpu = main_thread_cpu_ms(events, result["window"])
                result = page.evaluate(COMMIT_JS, [2 * n + 1, True])  # the same commit, timed by the ping loop
                result["main_cpu_ms"] = main_cpu
                if n:  # the first commit warms up the renderer caches
                    for name in results:
                        results[name].append(result[name])
            browser.close()
    finally:
        app.stop()
        upstream.stop()
    print(f"history {size / 1e6:.1f} MB; one-message commit, {args.runs} runs")
    for name, values in results.items():
        print(f"{name:14s} median {statistics.median(values):8.1f} ms   runs {', '.join(f'{v:.1f}' for v in values)}")


if __name__ == "__main__":
    main()
