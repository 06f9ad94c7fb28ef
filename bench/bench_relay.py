"""The relay's cost (issue 16, "Server relay"): CPU per relayed chunk against the bare
openai SDK, 1,000 open streams on ONE gevent worker, memory per open stream.

    python bench/bench_relay.py            # full run, about 2-3 minutes
    python bench/bench_relay.py --quick    # smoke run
    python bench/bench_relay.py --profile  # also a py-spy profile of the worker (bench/requirements.txt)

Everything runs on 127.0.0.1: the test upstream (tests/upstream.py) as its own
process, the app under `gunicorn chat_app:server` (gunicorn.conf.py, gevent, one
worker), the raw SSE load client of bench/common.py. Every load is bounded.

1. **CPU per relayed chunk**: 20 concurrent replies of 500 deltas (one every 5 ms
   each), 3 waves; the gunicorn processes' user+system CPU (/proc) divided by the
   delta events the client received (each is one upstream chunk: the relay never
   merges or drops one). Once more with no delay between the upstream's deltas
   (``burst``): then one upstream read carries many chunks and their events go out
   in one write (the coalescing of chatserver/stream_api.py).
2. **Bare SDK, same streams**: a separate process (gevent-patched like the worker,
   20 greenlets) consumes the same 20 × 500-delta streams straight from the upstream
   with ``client.chat.completions.create(stream=True)``, iterating the typed chunks;
   its CPU (getrusage, the load only) per chunk. The ratio app / SDK is the target.
3. **1,000 open streams, gevent ×1**: opened at 50 a second, each a slow reply (1 s to
   the first token, then a delta every 0.5 s: 23.5 s), so all are open at once;
   errors, TTFT overhead against the direct SDK's median TTFT, peak RSS; memory per
   open stream = (peak RSS − RSS after warm-up) / streams.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, Table, machine_note, median, p95, run_async, start_gunicorn, start_upstream  # noqa: E402
from bench.run_all import (  # noqa: E402
    ARRIVALS_PER_S, SLOW_CHUNK, SLOW_FIRST_TOKEN, direct_sdk_ttft, ms, open_many, profile_worker, steady_load, warm_up,
)
from tests.conftest import NO_LIMITS  # noqa: E402

STREAMS = 20
TEXT = "y" * 1494  # "Echo: " + 1494 = 1500 characters = 500 deltas of 3

# the bare-SDK consumer, run as its own process: prints {"cpu_s", "chunks", "wall_s"}
SDK_CONSUMER = textwrap.dedent(
    """
    import sys
    sys.modules["trio"] = None  # as gunicorn.conf.py's post_fork does for gevent workers
    from gevent import monkey
    monkey.patch_all()
    import json, resource, time
    import gevent, openai

    url, streams, rounds, text = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    client = openai.OpenAI(api_key="sk-bench", base_url=url, max_retries=0,
                           http_client=openai.DefaultHttpxClient(trust_env=False))

    def one():
        chunks = 0
        stream = client.chat.completions.create(model="test-model", messages=[{"role": "user", "content": text}],
                                                stream=True, stream_options={"include_usage": True})
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                chunks += 1
        return chunks

    gevent.joinall([gevent.spawn(one) for _ in range(4)])  # warm up: imports, pool
    usage0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
    total = 0
    for _ in range(rounds):
        jobs = [gevent.spawn(one) for _ in range(streams)]
        gevent.joinall(jobs, raise_error=True)
        total += sum(job.value for job in jobs)
    usage1, t1 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
    cpu = (usage1.ru_utime - usage0.ru_utime) + (usage1.ru_stime - usage0.ru_stime)
    print(json.dumps({"cpu_s": cpu, "chunks": total, "wall_s": t1 - t0}))
    """
)


def bench_cpu(table: Table, rounds: int, profile: bool, chunk_delay: float = 0.005) -> dict:
    """Sections 1 and 2: app CPU per relayed chunk, and the bare SDK's on the same streams
    (``chunk_delay``: seconds between the upstream's deltas; 0 = as fast as it can)."""
    pace = f"one every {chunk_delay * 1000:g} ms each" if chunk_delay else "no delay between them"
    label = f"{chunk_delay * 1000:g} ms apart"
    print(f"\n[1] CPU per relayed chunk ({STREAMS} concurrent replies × 500 deltas, {pace}, "
          f"{rounds} waves), gevent ×1", flush=True)
    upstream, upstream_url = start_upstream(0.0, chunk_delay, name="upstream-relay-cpu")
    result: dict = {}
    try:
        app, app_url = start_gunicorn(upstream_url, "gevent", 1, None, name="gunicorn-relay-cpu", **NO_LIMITS)
        port = int(app_url.rsplit(":", 1)[1])
        try:
            run_async(steady_load(port, 4, 1, TEXT))  # warm up
            cpu0, t0 = app.cpu_seconds(), time.monotonic()
            deltas = run_async(steady_load(port, STREAMS, rounds, TEXT))
            cpu, wall = app.cpu_seconds() - cpu0, time.monotonic() - t0
            per_chunk = cpu / deltas * 1e6
            result["app_us"] = per_chunk
            table.add(f"CPU per relayed chunk, gevent ×1, deltas {label}",
                      f"{per_chunk:.0f} µs ({deltas} deltas, {cpu:.2f} s CPU in {wall:.1f} s, {deltas / wall:.0f} deltas/s)",
                      "≤ 50 µs", per_chunk <= 50)
            if profile:
                summary = profile_worker(app, port, TEXT, STREAMS)
                if summary:
                    table.notes.append(f"Relay at steady load ({STREAMS} streams, deltas {label}): " + summary)
        finally:
            app.stop()
        print("\n[2] The bare openai SDK consuming the same streams (gevent, 20 greenlets)", flush=True)
        done = subprocess.run([sys.executable, "-c", SDK_CONSUMER, upstream_url, str(STREAMS), str(rounds), TEXT],
                              capture_output=True, text=True, timeout=300, cwd=ROOT)
        if done.returncode != 0:
            raise RuntimeError("SDK consumer failed:\n" + done.stderr[-3000:])
        sdk = json.loads(done.stdout.strip().splitlines()[-1])
        sdk_us = sdk["cpu_s"] / sdk["chunks"] * 1e6
        result["sdk_us"] = sdk_us
        table.add(f"Bare SDK consuming the same streams (baseline), deltas {label}",
                  f"{sdk_us:.0f} µs per chunk ({sdk['chunks']} chunks, {sdk['cpu_s']:.2f} s CPU in {sdk['wall_s']:.1f} s)")
        ratio = result["app_us"] / sdk_us
        table.add(f"App CPU per relayed chunk / bare SDK CPU per chunk, deltas {label}", f"{ratio:.2f}", "≤ 0.5",
                  ratio <= 0.5)
    finally:
        upstream.stop()
    return result


def bench_open_streams(table: Table, n: int) -> dict:
    """Section 3: ``n`` open streams on one gevent worker."""
    print(f"\n[3] {n} open streams, gevent ×1 (upstream: 1 s to first token, then 0.5 s per delta; "
          f"opened at {ARRIVALS_PER_S}/s)", flush=True)
    upstream, upstream_url = start_upstream(SLOW_FIRST_TOKEN, SLOW_CHUNK, name="upstream-relay-open")
    try:
        base = median(direct_sdk_ttft(upstream_url, 6))
        app, app_url = start_gunicorn(upstream_url, "gevent", 1, None, name="gunicorn-relay-open", **NO_LIMITS)
        port = int(app_url.rsplit(":", 1)[1])
        try:
            warm_up(port)
            idle_rss = app.rss_mb()
            peak_rss = [idle_rss]
            stop = threading.Event()

            def sample():
                while not stop.wait(0.25):
                    peak_rss.append(app.rss_mb())

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            cpu0, started = app.cpu_seconds(), time.monotonic()
            results, peak = run_async(open_many(port, n, ramp=max(1.0, n / ARRIVALS_PER_S)))
            wall = time.monotonic() - started
            stop.set()
            sampler.join()
            cpu = app.cpu_seconds() - cpu0
        finally:
            app.stop()
    finally:
        upstream.stop()
    ok = [r for r in results if r.ok]
    errors = [r for r in results if not r.ok]
    over = [r.ttft - base for r in ok if r.ttft is not None]
    kinds = sorted({r.error or f"status {r.status}" for r in errors})
    per_stream_kib = (max(peak_rss) - idle_rss) * 1024 / max(1, peak)
    table.add("Direct SDK TTFT (baseline; upstream first-token delay 1 s)", f"median {ms(base)}")
    table.add(f"{n} streams, gevent ×1",
              f"{len(ok)}/{n} completed, {len(errors)} errors" + (f" ({', '.join(kinds)[:80]})" if errors else "")
              + f", {peak} open at once, TTFT overhead median {ms(median(over))} p95 {ms(p95(over))}, "
              f"app CPU {cpu:.1f} s in {wall:.0f} s",
              "0 errors, p95 ≤ 100 ms", not errors and p95(over) <= 0.100)
    table.add("Memory per open stream, gevent ×1",
              f"{per_stream_kib:.0f} KiB (peak RSS {max(peak_rss):.0f} MiB with {peak} open, {idle_rss:.0f} MiB after warm-up)")
    return {"errors": len(errors), "p95_ms": p95(over) * 1000, "per_stream_kib": per_stream_kib}


def main(argv: list[str] | None = None) -> int:
    """Run the relay benchmarks and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 wave and 200 streams")
    parser.add_argument("--profile", action="store_true", help="py-spy profile of the worker under the CPU load")
    parser.add_argument("--only", default="cpu,burst,open", help="sections: cpu (deltas 5 ms apart), burst "
                        "(no delay: what coalescing does), open (1,000 streams)")
    args = parser.parse_args(argv)
    sections = set(args.only.split(","))
    table = Table()
    print("Machine:", machine_note(), flush=True)
    started = time.monotonic()
    if "cpu" in sections:
        bench_cpu(table, 1 if args.quick else 3, args.profile)
    if "burst" in sections:
        bench_cpu(table, 1 if args.quick else 3, False, chunk_delay=0.0)
    if "open" in sections:
        bench_open_streams(table, 200 if args.quick else 1000)
    print(f"\n({time.monotonic() - started:.0f} s)\n")
    print(table.markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main())
