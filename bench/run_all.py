"""Run every benchmark and print one table of results beside the targets.

    python bench/run_all.py --quick            # a smoke run, about 2-3 minutes
    python bench/run_all.py                    # the full run (under 10 minutes)
    python bench/run_all.py --only ttft,stop   # some sections
    python bench/run_all.py --write-readme     # also put the table into bench/README.md

Everything runs on 127.0.0.1: the project's OpenAI-compatible test upstream
(tests/upstream.py, as its own process or in-process where its closed-stream records
are needed), the app under `gunicorn chat_app:server` with gunicorn.conf.py, Debian's
nginx with deploy/nginx/http.conf, Debian's Chromium through Playwright. The direct
openai SDK call to the same upstream is the baseline for TTFT overhead.

The app's per-address and per-session limits are switched off (every request comes
from 127.0.0.1); they are measured separately by their own tests, not here.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    KEY, ROOT, Proc, Table, run_async, chat_body, free_port, machine_note, median, p95, prepare_bundles, raise_nofile,
    sse_request, start_gunicorn, start_upstream, tmpdir, wait_http,
)
from tests.conftest import NO_LIMITS  # noqa: E402

FIRST_TOKEN_DELAY = 0.100  # seconds, fixed by the test upstream for the TTFT runs
CHUNK_DELAY = 0.020


def ms(seconds: float) -> str:
    """Seconds as a millisecond string."""
    return f"{seconds * 1000:.1f} ms"


# ----------------------------------------------------------------------------------
# 1. TTFT overhead: direct SDK (baseline) vs through the app (protocol and browser)
# ----------------------------------------------------------------------------------
def direct_sdk_ttft(upstream_url: str, n: int) -> list[float]:
    """TTFT (s) of ``n`` direct openai SDK streaming calls to the upstream (the baseline)."""
    import openai

    client = openai.OpenAI(api_key=KEY, base_url=upstream_url, max_retries=0,
                           http_client=openai.DefaultHttpxClient(trust_env=False))
    values = []
    for i in range(n + 2):
        started = time.monotonic()
        stream = client.chat.completions.create(
            model="test-model", messages=[{"role": "user", "content": f"ttft probe {i}"}], stream=True,
            stream_options={"include_usage": True})
        first = None
        for chunk in stream:
            if first is None and chunk.choices and chunk.choices[0].delta.content:
                first = time.monotonic() - started
        if i >= 2:  # the first two warm up the connection pool
            values.append(first)
    client.close()
    return values


def app_protocol_ttft(app_url: str, n: int) -> list[float]:
    """TTFT (s) of ``n`` POST /api/chat/stream calls read with httpx2 (time to first delta event)."""
    import httpx2

    values = []
    with httpx2.Client(timeout=30, trust_env=False) as client:
        for i in range(n + 2):
            started = time.monotonic()
            first = None
            with client.stream("POST", app_url + "/api/chat/stream",
                               json={"messages": [{"role": "user", "content": f"ttft probe {i}"}]}) as response:
                for data in response.iter_raw():
                    if first is None and b"event: delta" in data:
                        first = time.monotonic() - started
            if i >= 2:
                values.append(first)
    return values


def launch_browser(playwright):
    """Headless Debian Chromium, as in the tests."""
    from tests.conftest import CHROMIUM, CHROMIUM_ARGS

    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


USABLE_JS = """() => {
  const input = document.querySelector('#chat-input');
  const send = document.querySelector('#chat-send-button');
  const ready = input && send && !input.disabled && input.offsetParent !== null
    && window.dash_clientside && window.dash_clientside.chat && window.chatDebug
    && window.chatDebug.lastRender;
  return ready ? performance.now() : false;
}"""


def browser_ttft(browser, app_url: str, n: int) -> list[float]:
    """Browser-observed TTFT (s): page script's send → first delta parsed (chatDebug.lastRun.ttft_ms)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(app_url + "/")
    page.wait_for_function(USABLE_JS, polling="raf", timeout=30000)
    values = []
    for i in range(n + 1):
        runs = page.evaluate("window.chatDebug.runs")
        page.fill("#chat-input", f"browser ttft probe {i}")
        page.click("#chat-send-button")
        page.wait_for_function(f"window.chatDebug.runs > {runs}", timeout=30000)
        run = page.evaluate("window.chatDebug.lastRun")
        if run.get("error"):
            raise RuntimeError(f"browser run failed: {run}")
        if i >= 1:
            values.append(run["ttft_ms"] / 1000)
    context.close()
    return values


def bench_ttft(table: Table, quick: bool, browser) -> None:
    """Section 1: TTFT overhead, median and p95, protocol-level and browser-observed."""
    print("\n[1] TTFT overhead", flush=True)
    n = 10 if quick else 40
    upstream, upstream_url = start_upstream(FIRST_TOKEN_DELAY, CHUNK_DELAY, name="upstream-ttft")
    app, app_url = start_gunicorn(upstream_url, name="gunicorn-ttft", **NO_LIMITS)
    try:
        direct, through = [], []
        for _ in range(2):  # interleave to cancel drift
            direct += direct_sdk_ttft(upstream_url, n // 2)
            through += app_protocol_ttft(app_url, n // 2)
        base = median(direct)
        table.add("Direct SDK TTFT (baseline; upstream first-token delay 100 ms)",
                  f"median {ms(base)}, p95 {ms(p95(direct))}")
        overhead = [v - base for v in through]
        table.add("TTFT overhead, protocol (httpx2 → app → SDK → upstream)",
                  f"median {ms(median(overhead))}, p95 {ms(p95(overhead))}", "≤ 15 ms median",
                  median(overhead) <= 0.015)
        if browser is not None:
            seen = browser_ttft(browser, app_url, n // 2)
            overhead_b = [v - base for v in seen]
            table.add("TTFT overhead, browser (Chromium page script: send → first delta)",
                      f"median {ms(median(overhead_b))}, p95 {ms(p95(overhead_b))}", "≤ 15 ms median",
                      median(overhead_b) <= 0.015)
    finally:
        app.stop()
        upstream.stop()
    bench_simultaneous(table, 100)


# the direct SDK's side of bench_simultaneous, as its own process: N AsyncOpenAI streams
# started at once; prints the TTFT (s) of each, to the first content chunk
SDK_SIMULTANEOUS = """
import asyncio, json, sys, time
import openai
url, n = sys.argv[1], int(sys.argv[2])
async def main():
    client = openai.AsyncOpenAI(api_key="sk-bench", base_url=url, max_retries=0,
                                http_client=openai.DefaultAsyncHttpxClient(trust_env=False))
    async def one(i):
        started = time.monotonic()
        stream = await client.chat.completions.create(model="test-model", stream=True,
            messages=[{"role": "user", "content": f"simultaneous {i} " + "w " * 40}])
        first = None
        async for chunk in stream:
            if first is None and chunk.choices and chunk.choices[0].delta.content:
                first = time.monotonic() - started
        return first
    await asyncio.gather(*(one(i) for i in range(4)))  # warm up: imports, connections
    print(json.dumps(await asyncio.gather(*(one(i) for i in range(n)))))
asyncio.run(main())
"""


def bench_simultaneous(table: Table, n: int) -> None:
    """``n`` requests at the same moment (upstream: 300 ms to the first token, a word every
    20 ms): p95 TTFT through the app (gevent ×1, raw SSE client) against the direct SDK's."""
    print(f"\n[1b] {n} simultaneous requests: direct SDK vs through the app", flush=True)
    upstream, upstream_url = start_upstream(0.300, 0.020, chunk_size=5, name="upstream-simultaneous")
    app, app_url = start_gunicorn(upstream_url, "gevent", 1, None, name="gunicorn-simultaneous", **NO_LIMITS)
    try:
        done = subprocess.run([sys.executable, "-c", SDK_SIMULTANEOUS, upstream_url, str(n)],
                              capture_output=True, text=True, timeout=120, cwd=ROOT)
        if done.returncode != 0:
            raise RuntimeError("SDK client failed:\n" + done.stderr[-3000:])
        import json

        direct = [v for v in json.loads(done.stdout.strip().splitlines()[-1]) if v is not None]
        port = int(app_url.rsplit(":", 1)[1])
        warm_up(port, 4)
        async def all_at_once():
            return await asyncio.gather(*(sse_request("127.0.0.1", port, chat_body(f"simultaneous {i} " + "w " * 40))
                                          for i in range(n)))

        results = run_async(all_at_once())
        through = [r.ttft for r in results if r.ok and r.ttft is not None]
        errors = n - len(through)
        table.add(f"{n} simultaneous requests, direct SDK TTFT (baseline; upstream first token 300 ms)",
                  f"median {ms(median(direct))}, p95 {ms(p95(direct))}")
        table.add(f"{n} simultaneous requests through the app (gevent ×1) TTFT",
                  f"median {ms(median(through))}, p95 {ms(p95(through))}, {errors} errors; "
                  f"p95 − direct p95 = {ms(p95(through) - p95(direct))}",
                  "p95 ≤ direct SDK p95 + 100 ms", not errors and p95(through) <= p95(direct) + 0.100)
    finally:
        app.stop()
        upstream.stop()


# ----------------------------------------------------------------------------------
# 1c. The page: first reply characters on screen, paints of a long reply
# ----------------------------------------------------------------------------------
def bench_paint(table: Table, quick: bool) -> None:
    """Enter → first reply text in the DOM (bench_first_paint.py) and the main-thread time
    of each paint of a 50,000-character reply (bench_long_reply.py)."""
    from bench import bench_first_paint, bench_long_reply

    print("\n[1c] First reply characters on screen, paints of a long reply", flush=True)
    values = sorted(bench_first_paint.measure(5 if quick else 15, 100.0))
    table.add("First reply characters on screen (Enter keydown → text in the DOM − upstream TTFT)",
              f"median {median(values):.1f} ms, p95 {bench_first_paint.p95(values):.1f} ms "
              f"({len(values)} runs, gevent ×1)", "≤ 15 ms median", median(values) <= 15)
    long = bench_long_reply.measure()
    prose, code = long["prose"], long["code"]
    table.add(f"Paints of a {long['chars']:,}-character reply: prose (paragraphs, lists, tables)",
              bench_long_reply.describe(prose), "each ≤ 16 ms", bool(prose) and prose["over"] == 0)
    table.add("Paints of the same reply: the growing code block at its tail (may exceed: reported)",
              bench_long_reply.describe(code))
    table.add("Other main-thread tasks over 16 ms during that reply (not paints)",
              ", ".join(f"{d:.0f} ms at {at:.2f} s" for at, d in long["others"]) or "none")


def bench_relay_section(table: Table, quick: bool, profile: bool) -> None:
    """The relay's CPU per chunk (5 ms apart, with a py-spy profile, and in a burst) against
    the bare SDK, and 1,000 open streams on ONE gevent worker (bench_relay.py)."""
    from bench import bench_relay

    bench_relay.bench_cpu(table, 1 if quick else 3, profile)
    bench_relay.bench_cpu(table, 1 if quick else 3, False, chunk_delay=0.0)
    bench_relay.bench_open_streams(table, 200 if quick else 1000)


# ----------------------------------------------------------------------------------
# 2. Concurrent open streams on one 2-core instance
# ----------------------------------------------------------------------------------
SLOW_FIRST_TOKEN = 1.0
SLOW_CHUNK = 0.5
ARRIVALS_PER_S = 50  # new streams per second while ramping up


def warm_up(port: int, n: int = 16) -> None:
    """A few concurrent replies so every worker has imported and built what a request needs."""
    results = run_async(_gather_bodies(port, n))
    bad = [r for r in results if not r.ok]
    if bad:
        raise RuntimeError(f"warm-up failed: {bad[0].error} (status {bad[0].status})")


async def _gather_bodies(port: int, n: int):
    return await asyncio.gather(*(sse_request("127.0.0.1", port, chat_body(f"warm {i}"), timeout=60)
                                  for i in range(n)))


async def open_many(port: int, n: int, ramp: float) -> tuple[list, int]:
    """Open ``n`` streams spread evenly over ``ramp`` seconds; returns (results, max concurrently open)."""
    open_now = 0
    peak = 0

    async def one(i: int):
        nonlocal open_now, peak
        await asyncio.sleep(ramp * i / n)
        open_now += 1
        peak = max(peak, open_now)
        try:
            # "Echo: " + 132 characters = 46 deltas of 3: a reply of ≈ 1 + 45 × 0.5 = 23.5 s,
            # longer than the longest ramp (1,000 at 50/s = 20 s): all n are open at once.
            return await sse_request("127.0.0.1", port, chat_body(f"slow stream {i:05d} " + "z" * 114), timeout=120)
        finally:
            open_now -= 1

    results = await asyncio.gather(*(one(i) for i in range(n)))
    return results, peak


def bench_concurrency(table: Table, quick: bool, configs: list[tuple[str, int, int]]) -> dict:
    """Section 2: N open streams with a slow upstream, per worker configuration."""
    print("\n[2] Concurrent open streams (upstream: 1 s to first token, then 0.5 s per delta, 23.5 s a reply; "
          f"streams opened at {ARRIVALS_PER_S}/s)", flush=True)
    levels = [100, 500] if quick else [100, 500, 1000]
    upstream, upstream_url = start_upstream(SLOW_FIRST_TOKEN, SLOW_CHUNK, name="upstream-conc")
    summary: dict = {}
    try:
        base = median(direct_sdk_ttft(upstream_url, 6))
        for index, (worker_class, workers, threads) in enumerate(configs):
            label = f"{worker_class} ×{workers}" + (f" ({threads} threads)" if worker_class == "gthread" else "")
            app, app_url = start_gunicorn(upstream_url, worker_class, workers, threads,
                                          name=f"gunicorn-{worker_class}-{workers}", **NO_LIMITS)
            port = int(app_url.rsplit(":", 1)[1])
            try:
                warm_up(port)
                for n in (levels if index == 0 else levels[-1:]):
                    peak_rss = [app.rss_mb()]
                    stop = threading.Event()

                    def sample():
                        while not stop.wait(0.25):
                            peak_rss.append(app.rss_mb())

                    sampler = threading.Thread(target=sample, daemon=True)
                    sampler.start()
                    cpu0 = app.cpu_seconds()
                    started = time.monotonic()
                    results, peak = run_async(open_many(port, n, ramp=max(1.0, n / ARRIVALS_PER_S)))
                    wall = time.monotonic() - started
                    stop.set()
                    sampler.join()
                    cpu = app.cpu_seconds() - cpu0
                    ok = [r for r in results if r.ok]
                    errors = [r for r in results if not r.ok]
                    over = [r.ttft - base for r in ok if r.ttft is not None]
                    kinds = sorted({r.error or f"status {r.status}" for r in errors})
                    result = (f"{len(ok)}/{n} completed, {len(errors)} errors"
                              + (f" ({', '.join(kinds)[:80]})" if errors else "")
                              + f", {peak} open at once, TTFT overhead median {ms(median(over))} p95 {ms(p95(over))}, "
                              f"peak RSS {max(peak_rss):.0f} MiB, app CPU {cpu:.1f} s in {wall:.0f} s")
                    met = None
                    if n >= 1000:
                        met = not errors and p95(over) <= 0.100
                    table.add(f"{n} streams, {label}", result,
                              "0 errors, p95 ≤ 100 ms" if n >= 1000 else "", met)
                    summary[(label, n)] = {"ok": len(ok), "errors": len(errors), "p95_ms": p95(over) * 1000,
                                           "median_ms": median(over) * 1000, "rss": max(peak_rss)}
                    time.sleep(1)
            finally:
                app.stop()
    finally:
        upstream.stop()
    return summary


# ----------------------------------------------------------------------------------
# 3. CPU per relayed chunk at a steady load
# ----------------------------------------------------------------------------------
async def steady_load(port: int, streams: int, rounds: int, text: str) -> int:
    """``rounds`` waves of ``streams`` concurrent long replies; returns deltas received."""
    total = 0
    for _ in range(rounds):
        results = await asyncio.gather(*(sse_request("127.0.0.1", port, chat_body(text), timeout=120)
                                         for _ in range(streams)))
        bad = [r for r in results if not r.ok]
        if bad:
            raise RuntimeError(f"steady load: {len(bad)} failed: {bad[0].error}")
        total += sum(r.deltas for r in results)
    return total


def bench_cpu(table: Table, quick: bool, configs: list[tuple[str, int, int]], profile: bool) -> None:
    """Section 3: app CPU µs per relayed chunk (20 concurrent replies of 500 deltas, 5 ms apart)."""
    print("\n[3] CPU per relayed chunk (20 concurrent replies × 500 deltas, one every 5 ms each)", flush=True)
    upstream, upstream_url = start_upstream(0.0, 0.005, name="upstream-cpu")
    text = "y" * 1494  # "Echo: " + 1494 = 1500 characters = 500 deltas
    try:
        for worker_class, workers, threads in configs:
            app, app_url = start_gunicorn(upstream_url, worker_class, workers, threads,
                                          name=f"gunicorn-cpu-{worker_class}", **NO_LIMITS)
            port = int(app_url.rsplit(":", 1)[1])
            try:
                run_async(steady_load(port, 4, 1, text))  # warm up
                cpu0, t0 = app.cpu_seconds(), time.monotonic()
                deltas = run_async(steady_load(port, 20, 1 if quick else 3, text))
                cpu, wall = app.cpu_seconds() - cpu0, time.monotonic() - t0
                per_chunk = cpu / deltas * 1e6
                table.add(f"CPU per relayed chunk, {worker_class} ×{workers}",
                          f"{per_chunk:.0f} µs ({deltas} deltas, {cpu:.2f} s CPU in {wall:.1f} s, "
                          f"{deltas / wall:.0f} deltas/s)", "≤ 50 µs", per_chunk <= 50)
                if profile and worker_class == configs[0][0]:
                    profile_worker(app, port, text)
            finally:
                app.stop()
    finally:
        upstream.stop()


def profile_worker(app: Proc, port: int, text: str, streams: int = 20) -> str:
    """py-spy profile of the worker under the same load (``streams`` concurrent replies of
    ``text``): the summary of :func:`print_profile`, '' without py-spy."""
    import shutil

    pyspy = shutil.which("py-spy")
    if not pyspy:
        print("  (py-spy not installed: pip install -r bench/requirements.txt for a profile)")
        return ""
    workers = [p for p in app.pids() if p != app.pid]
    out = ROOT / "test-artifacts" / "bench" / "cpu-profile.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    spy = subprocess.Popen([pyspy, "record", "--pid", str(workers[0]), "--format", "raw", "--duration", "6",
                            "--rate", "200", "--nonblocking", "--output", str(out)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(0.5)
    run_async(steady_load(port, streams, 1, text))
    spy.wait(30)
    return print_profile(out) if out.exists() else ""


def print_profile(raw: Path, top: int = 14) -> str:
    """Print (and return) the functions with the most self samples and the project's own
    functions by inclusive samples, from a py-spy raw (collapsed) file."""
    inclusive: dict[str, int] = {}
    own: dict[str, int] = {}
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        for frame in set(frames):
            inclusive[frame] = inclusive.get(frame, 0) + n
        own[frames[-1]] = own.get(frames[-1], 0) + n
    lines = [f"py-spy profile of the worker ({total} samples at 200 Hz), most self time:", ""]
    lines += [f"    {100 * n / max(total, 1):5.1f}%  {frame[:110]}" for frame, n in sorted(own.items(), key=lambda kv: -kv[1])[:top]]
    ours = [(frame, n) for frame, n in inclusive.items() if "chatcore/" in frame or "chatserver/" in frame]
    lines += ["", "the project's own functions, inclusive:", ""]
    lines += [f"    {100 * n / max(total, 1):5.1f}%  {frame[:110]}" for frame, n in sorted(ours, key=lambda kv: -kv[1])[:8]]
    text = "\n".join(lines)
    print("  " + text.replace("\n", "\n  "))
    return text


# ----------------------------------------------------------------------------------
# 4. First page load
# ----------------------------------------------------------------------------------
def first_load(browser, url: str) -> dict:
    """One cold load: bytes on the wire (compressed), decoded bytes, requests, ms until usable."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    wire: dict[str, int] = {}
    decoded: dict[str, int] = {}
    requests: list[str] = []
    urls: dict[str, str] = {}

    def sent(event: dict) -> None:
        requests.append(event["request"]["url"])
        urls[event["requestId"]] = event["request"]["url"]

    cdp.on("Network.requestWillBeSent", sent)
    cdp.on("Network.loadingFinished", lambda e: wire.__setitem__(e["requestId"], e["encodedDataLength"]))
    cdp.on("Network.dataReceived",
           lambda e: decoded.__setitem__(e["requestId"], decoded.get(e["requestId"], 0) + e["dataLength"]))
    page.goto(url + "/")
    usable_ms = page.wait_for_function(USABLE_JS, polling="raf", timeout=30000).json_value()
    page.wait_for_load_state("networkidle")
    by_url: dict[str, int] = {}
    for request_id, size in wire.items():
        name = re.sub(r"\.v[\w-]+m[0-9a-f]+", "", urls.get(request_id, "?").split("?")[0].split("/", 3)[-1])
        by_url[name] = by_url.get(name, 0) + size
    result = {"wire": sum(wire.values()), "decoded": sum(decoded.values()), "requests": len(requests),
              "usable_ms": usable_ms, "by_url": by_url}
    # A repeat visit in the same context: fingerprinted bundles come from the browser cache.
    wire.clear()
    page.goto(url + "/")
    result["repeat_ms"] = page.wait_for_function(USABLE_JS, polling="raf", timeout=30000).json_value()
    page.wait_for_load_state("networkidle")
    result["repeat_wire"] = sum(wire.values())
    context.close()
    return result


def start_nginx(app_port: int) -> tuple[subprocess.Popen, str]:
    """Debian's nginx with deploy/nginx/http.conf in front of ``app_port``; returns (process, URL)."""
    from tests.test_deploy_nginx import site_for_test

    tmp = tmpdir("bench-nginx-")
    port = free_port()
    site = site_for_test("http.conf", app_port, port, free_port(), None)
    temp_paths = "\n".join(f"    {k}_temp_path {tmp / k};" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    conf = tmp / "nginx.conf"
    conf.write_text(
        f"worker_processes 1;\npid {tmp / 'nginx.pid'};\nerror_log {tmp / 'error.log'} warn;\n"
        "events { worker_connections 4096; }\n"
        f"http {{\n    include /etc/nginx/mime.types;\n    access_log off;\n{temp_paths}\n{site}\n}}\n")
    proc = subprocess.Popen(["nginx", "-p", str(tmp), "-c", str(conf), "-g", "daemon off;"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/healthz", 15)
    return proc, url


def bench_page(table: Table, quick: bool, browser) -> None:
    """Section 4: first page load, direct to gunicorn and through nginx (gzip)."""
    print("\n[4] First page load (cold cache, new browser context)", flush=True)
    upstream, upstream_url = start_upstream(0.0, 0.0, name="upstream-page")
    app, app_url = start_gunicorn(upstream_url, name="gunicorn-page", **NO_LIMITS)
    nginx = None
    try:
        nginx, nginx_url = start_nginx(int(app_url.rsplit(":", 1)[1]))
        for label, url in (("direct to gunicorn", app_url), ("through nginx http.conf (gzip)", nginx_url)):
            runs = [first_load(browser, url) for _ in range(2 if quick else 5)]
            wire = median([r["wire"] for r in runs])
            usable = median([r["usable_ms"] for r in runs])
            table.add(f"First load, {label}",
                      f"{wire / 1e6:.2f} MB on the wire ({median([r['decoded'] for r in runs]) / 1e6:.2f} MB decoded), "
                      f"{runs[0]['requests']} requests, usable after {usable:.0f} ms (median of {len(runs)})",
                      "≤ 1.4 MB, usable ≤ 1.0 s", wire <= 1_400_000 and usable <= 1000)
            repeat_wire, repeat_ms = median([r["repeat_wire"] for r in runs]), median([r["repeat_ms"] for r in runs])
            table.add(f"Repeat visit, {label}",
                      f"{repeat_wire / 1e3:.0f} KB on the wire, usable after {repeat_ms:.0f} ms (bundles from the browser cache)",
                      "≤ 50 KB, usable ≤ 0.5 s", repeat_wire <= 50_000 and repeat_ms <= 500)
            if label.startswith("direct"):
                rows = sorted(runs[0]["by_url"].items(), key=lambda kv: -kv[1])
                big = [f"| {name} | {size / 1e3:.1f} |" for name, size in rows if size >= 5_000]
                rest = sum(size for _, size in rows if size < 5_000)
                table.notes.append("First load direct to gunicorn, bytes on the wire by response (one cold load):\n\n"
                                   "| Response | KB |\n| --- | --- |\n" + "\n".join(big)
                                   + f"\n| {sum(1 for _, size in rows if size < 5_000)} smaller responses | {rest / 1e3:.1f} |"
                                   + f"\n| total | {sum(size for _, size in rows) / 1e3:.1f} |")
    finally:
        if nginx is not None:
            nginx.terminate()
            nginx.wait(10)
        app.stop()
        upstream.stop()


# ----------------------------------------------------------------------------------
# 5. A 1,000-message conversation: open and export
# ----------------------------------------------------------------------------------
def big_history(n: int) -> dict:
    """A history store value with one conversation of ``n`` messages (Markdown, code, CJK)."""
    from tests.upstream import lorem

    now = int(time.time() * 1000)
    messages = []
    for i in range(n):
        role = "user" if i % 2 == 0 else "assistant"
        content = (f"Question {i}: how does item {i} work? 你好" if role == "user"
                   else f"Answer {i}.\n\n" + lorem(600 + (i % 7) * 50))
        messages.append({"id": f"m{i}", "role": role, "content": content, "created_at": now - (n - i) * 1000,
                         "seq": now - n * 1000 + i // 2})
    conversation = {"id": "c-big", "title": "Big conversation", "created_at": now - n * 1000, "updated_at": now,
                    "settings": {}, "error": None, "messages": messages}
    return {"version": 5, "active_id": "c-big", "conversations": [conversation]}


OPENED_JS = """(n) => {
  const r = window.chatDebug && window.chatDebug.lastRender;
  const last = document.querySelectorAll('.chat-message');
  return r && r.messages === n && last.length > 0
    && last[last.length - 1].textContent.includes('Answer ' + (n - 1)) ? performance.now() : false;
}"""


def bench_history(table: Table, quick: bool, browser) -> None:
    """Section 5: open a 1,000-message conversation after a reload; export it; to_markdown alone."""
    print("\n[5] 1,000-message conversation", flush=True)
    from chatcore.export import to_markdown

    n = 1000
    data = big_history(n)
    messages = [{"role": m["role"], "content": m["content"]} for m in data["conversations"][0]["messages"]]
    times = []
    for _ in range(5 if quick else 20):
        t0 = time.perf_counter()
        markdown = to_markdown(messages, model="test-model", title="Big conversation")
        times.append(time.perf_counter() - t0)
    table.add("Export 1,000 messages, chatcore.export.to_markdown alone",
              f"median {ms(median(times))} ({len(markdown) / 1e6:.2f} MB of Markdown)", "≤ 100 ms",
              median(times) <= 0.1)

    upstream, upstream_url = start_upstream(0.0, 0.0, name="upstream-history")
    app, app_url = start_gunicorn(upstream_url, name="gunicorn-history", **NO_LIMITS)
    try:
        context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
        page = context.new_page()
        page.goto(app_url + "/")
        page.wait_for_function(USABLE_JS, polling="raf", timeout=30000)
        # as a restore does: coerced against the schema, committed, written to IndexedDB
        page.evaluate("(data) => window.chatDebug.replaceHistory(data)", data)
        page.wait_for_function(OPENED_JS, arg=n, polling="raf", timeout=60000)
        time.sleep(2.0)  # let assets/storage.js write it to IndexedDB
        opens, drawn = [], None
        for _ in range(2 if quick else 4):
            page.reload()
            usable = page.wait_for_function(USABLE_JS, polling="raf", timeout=30000).json_value()
            opened = page.wait_for_function(OPENED_JS, arg=n, polling="raf", timeout=60000).json_value()
            opens.append((usable, opened))
            drawn = page.evaluate("window.chatDebug.lastRender.drawn")
        open_ms = median([o for _, o in opens])
        table.add("Open 1,000-message conversation (reload → last message drawn)",
                  f"{open_ms:.0f} ms after navigation start (page usable at {median([u for u, _ in opens]):.0f} ms; "
                  f"{drawn} newest drawn, older behind 'show earlier')", "≤ 1 s", open_ms <= 1000)
        exports = []
        for _ in range(2 if quick else 5):
            with page.expect_download(timeout=30000) as info:
                t0 = time.monotonic()
                page.click("#chat-export-button")
            download = info.value
            exports.append(time.monotonic() - t0)
            size = Path(download.path()).stat().st_size
        table.add("Export 1,000 messages in the browser (click → download)",
                  f"median {ms(median(exports))} ({size / 1e6:.2f} MB file)", "≤ 150 ms", median(exports) <= 0.15)
        context.close()
    finally:
        app.stop()
        upstream.stop()


# ----------------------------------------------------------------------------------
# 6. Stop: time until the upstream connection is closed
# ----------------------------------------------------------------------------------
async def abort_after(port: int, body: bytes, after: bytes) -> float:
    """Open a stream, read until ``after`` appears, then close the socket; returns the close time."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write((f"POST /api/chat/stream HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
                  f"Content-Length: {len(body)}\r\n\r\n").encode() + body)
    await writer.drain()
    seen = b""
    while after not in seen:
        data = await asyncio.wait_for(reader.read(65536), 30)
        if not data:
            raise RuntimeError("stream ended before the abort point")
        seen += data
    t_abort = time.monotonic()
    writer.transport.abort()
    return t_abort


def bench_stop(table: Table, quick: bool, browser) -> None:
    """Section 6: Stop → upstream closed (client_disconnected), while streaming and while stalled."""
    print("\n[6] Stop → upstream connection closed", flush=True)
    from tests.upstream import Reply, UpstreamServer

    upstream = UpstreamServer().start()
    app, app_url = start_gunicorn(upstream.url, name="gunicorn-stop", **NO_LIMITS)
    port = int(app_url.rsplit(":", 1)[1])
    try:
        for label, reply, after in (
            ("while streaming (a delta every 50 ms)", lambda: Reply(content="s" * 600, chunk_delay=0.05),
             b"event: delta"),
            ("while the upstream is silent (before the first token)",
             lambda: Reply(content="late answer", first_token_delay=8.0), b"event: meta"),
        ):
            delays, reasons = [], set()
            for _ in range(3 if quick else 10):
                upstream.reset()
                upstream.script(reply())
                t_abort = run_async(abort_after(port, chat_body("stop me"), after))
                closed = upstream.wait_closed(1, timeout=10)
                if closed:
                    reasons.add(closed[0]["reason"])
                    delays.append(closed[0]["t_closed"] - t_abort)
                upstream.wait_for(lambda s: s.open_streams == 0, timeout=10)
            ok = reasons == {"client_disconnected"} and delays and p95(delays) <= 0.5
            table.add(f"Stop {label}, raw client",
                      f"median {ms(median(delays))}, p95 {ms(p95(delays))}, upstream record: {', '.join(sorted(reasons))}",
                      "≤ 0.5 s", bool(ok))
        if browser is not None:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.goto(app_url + "/")
            page.wait_for_function(USABLE_JS, polling="raf", timeout=30000)
            delays = []
            for i in range(3 if quick else 8):
                upstream.reset()
                upstream.script(Reply(content="b" * 600, chunk_delay=0.05))
                page.fill("#chat-input", f"browser stop {i}")
                page.click("#chat-send-button")
                upstream.wait_for(lambda s: s.closed_events or (s.open_streams and s.requests), timeout=10)
                time.sleep(0.3)
                t_click = time.monotonic()
                page.evaluate("document.getElementById('chat-stop-button').click()")
                closed = upstream.wait_closed(1, timeout=10)
                if closed and closed[0]["reason"] == "client_disconnected":
                    delays.append(closed[0]["t_closed"] - t_click)
                page.wait_for_function("!window.chatDebug.streaming()", timeout=10000)
            context.close()
            table.add("Stop in the browser (click Stop → upstream closed)",
                      f"median {ms(median(delays))}, p95 {ms(p95(delays))} ({len(delays)} runs)", "≤ 0.5 s",
                      bool(delays) and p95(delays) <= 0.5)
    finally:
        app.stop()
        upstream.stop()


# ----------------------------------------------------------------------------------
def write_readme(table: Table, command: str, note: str, elapsed: float) -> None:
    """Replace the results block of bench/README.md with this run's table."""
    readme = ROOT / "bench" / "README.md"
    block = (f"<!-- results:begin -->\nCommand: `{command}` ({elapsed / 60:.1f} min), "
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n\nMachine: {note}\n\n"
             f"{table.markdown()}\n<!-- results:end -->")
    text = readme.read_text() if readme.exists() else "# Benchmarks\n\n<!-- results:begin -->\n<!-- results:end -->\n"
    text = re.sub(r"<!-- results:begin -->.*<!-- results:end -->", lambda _: block, text, flags=re.S)
    readme.write_text(text)
    print(f"\nwrote {readme}")


# The figures before issue 16's work (bench/README.md of 2026-11-21, the issue's own text,
# and the first measurements of this benches), shown beside each new result.
PREVIOUS = {
    "Direct SDK TTFT (baseline; upstream first-token delay 100 ms)": "median 104.0 ms",
    "TTFT overhead, protocol (httpx2 → app → SDK → upstream)": "median 3.8 ms, p95 5.7 ms",
    "TTFT overhead, browser (Chromium page script: send → first delta)": "median 11.6 ms, p95 69.3 ms",
    "100 simultaneous requests, direct SDK TTFT (baseline; upstream first token 300 ms)": "p95 518 ms",
    "100 simultaneous requests through the app (gevent ×1) TTFT": "p95 893 ms",
    "First reply characters on screen (Enter keydown → text in the DOM − upstream TTFT)": "median 45.4 ms (34-39 ms in the issue)",
    "Paints of a 45,951-character reply: prose (paragraphs, lists, tables)": "median 7.0 ms, p95 129.1 ms, max 153.4 ms, 23 over 16 ms",
    "Paints of the same reply: the growing code block at its tail (may exceed: reported)": "median 87.8 ms, max 202.3 ms",
    "CPU per relayed chunk, gevent ×1, deltas 5 ms apart": "290 µs",
    "App CPU per relayed chunk / bare SDK CPU per chunk, deltas 5 ms apart": "1.44",
    "1000 streams, gevent ×1": "0 errors, TTFT overhead p95 229.5 ms",
    "Memory per open stream, gevent ×1": "55 KiB",
    "First load, direct to gunicorn": "2.06 MB, usable after 1572 ms",
    "First load, through nginx http.conf (gzip)": "2.06 MB, usable after 1748 ms",
    "Repeat visit, direct to gunicorn": "50 KB, usable after 782 ms",
    "Repeat visit, through nginx http.conf (gzip)": "50 KB, usable after 858 ms",
    "Export 1,000 messages, chatcore.export.to_markdown alone": "median 0.6 ms",
    "Open 1,000-message conversation (reload → last message drawn)": "993 ms",
    "Export 1,000 messages in the browser (click → download)": "median 159.8 ms",
    "Stop while streaming (a delta every 50 ms), raw client": "median 92.6 ms",
    "Stop while the upstream is silent (before the first token), raw client": "median 97.5 ms",
    "Stop in the browser (click Stop → upstream closed)": "median 116.2 ms",
}


def main(argv: list[str] | None = None) -> int:
    """Run the selected sections and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs and at most 500 streams")
    parser.add_argument("--only", default="ttft,paint,relay,page,history,stop",
                        help="comma-separated sections: ttft (with 100 simultaneous requests), paint (first "
                        "characters on screen, paints of a long reply), relay (CPU per chunk with a profile, "
                        "1,000 streams on one gevent worker), page, history, stop; also concurrency and cpu "
                        "(100/500/1,000 streams and CPU per chunk across worker classes)")
    parser.add_argument("--profile", action="store_true", help="py-spy profile of a worker in the CPU section")
    parser.add_argument("--write-readme", action="store_true", help="write the table into bench/README.md")
    args = parser.parse_args(argv)
    # SIGTERM → SystemExit, so every started server is stopped by its finally block.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sections = set(args.only.split(","))
    print(f"open files limit: {raise_nofile()}")
    note = machine_note()
    print("machine:", note)
    table = Table(previous=PREVIOUS)
    started = time.monotonic()
    print(f"bundles compressed into the shared cache in {prepare_bundles():.0f} s (Brotli 11, gzip 9)", flush=True)
    # (worker class, workers, threads): the shipped default first, then the alternative.
    configs = [("gevent", 1, 0), ("gevent", 2, 0), ("gthread", 2, 600)]
    from playwright.sync_api import sync_playwright

    def run(name: str, section, *section_args) -> None:
        """One section; a failure is a row of the table, and the run goes on."""
        if name not in sections:
            return
        try:
            section(table, *section_args)
        except Exception as exc:  # noqa: BLE001 — report it and measure the rest
            import traceback

            traceback.print_exc()
            table.add(f"Section {name}", f"FAILED: {type(exc).__name__}: {exc}"[:200])

    run("paint", bench_paint, args.quick)  # these benches start their own Playwright
    with sync_playwright() as playwright:
        browser = launch_browser(playwright) if sections & {"ttft", "page", "history", "stop"} else None
        run("ttft", bench_ttft, args.quick, browser)
        run("relay", bench_relay_section, args.quick, args.profile)
        run("concurrency", bench_concurrency, args.quick, configs)
        run("cpu", bench_cpu, args.quick, [("gevent", 1, 0), ("gthread", 1, 64)], args.profile)
        run("page", bench_page, args.quick, browser)
        run("history", bench_history, args.quick, browser)
        run("stop", bench_stop, args.quick, browser)
        if browser is not None:
            browser.close()
    elapsed = time.monotonic() - started
    print(f"\n## Results ({elapsed / 60:.1f} min)\n\n{table.markdown()}\n")
    if args.write_readme:
        command = "python bench/run_all.py" + (" --quick" if args.quick else "") + (
            f" --only {args.only}" if args.only != parser.get_default("only") else "") + (
            " --profile" if args.profile else "")
        write_readme(table, command, note, elapsed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
