"""Shared pieces of the benchmarks: processes, a raw SSE load client, statistics.

Everything runs on 127.0.0.1 with ephemeral ports against the project's test upstream
(tests/upstream.py); no request leaves the machine, every load is bounded.
"""

from __future__ import annotations

import asyncio
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field

from tests.conftest import free_port, wait_http  # noqa: F401  (re-exported for the benches)
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

KEY = "sk-bench-server-key-0123456789abcdef"
ARTIFACTS = ROOT / "test-artifacts" / "bench"


def raise_nofile() -> int:
    """Raise the soft open-files limit to the hard limit (1,000+ sockets); return it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def renderer_main_tasks(events: list[dict], start_us: float, end_us: float) -> list[dict]:
    """The renderer main thread's top-level tasks (Chrome trace "X" events) that start in
    [start_us, end_us] (trace clock, µs). Chromium nests one task event in another of the
    same span ("RunTask" inside "ThreadControllerImpl::RunTask"): only the outermost of
    each nest is returned, so summing their ``tdur`` counts each task once."""
    names = {(e.get("pid"), e.get("tid")): e["args"]["name"] for e in events
             if e.get("ph") == "M" and e.get("name") == "thread_name"}
    tasks = sorted((e for e in events if e.get("ph") == "X" and e.get("name") in ("ThreadControllerImpl::RunTask", "RunTask")
                    and names.get((e.get("pid"), e.get("tid"))) == "CrRendererMain" and start_us <= e["ts"] <= end_us),
                   key=lambda e: (e["ts"], -e.get("dur", 0)))
    outer, covered_until = [], float("-inf")
    for task in tasks:
        if task["ts"] < covered_until:
            continue
        covered_until = task["ts"] + task.get("dur", 0)
        outer.append(task)
    return outer


def median(values: list[float]) -> float:
    """Median, or NaN for no values."""
    return statistics.median(values) if values else float("nan")


def p95(values: list[float]) -> float:
    """95th percentile (nearest rank), or NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(0.95 * len(ordered) + 0.5)) - 1))]


class Proc:
    """A subprocess with its output in a log file under test-artifacts/bench/."""

    def __init__(self, name: str, command: list[str], env: dict[str, str] | None = None, cwd: Path = ROOT):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.log_path = ARTIFACTS / f"{name}.log"
        self._log = open(self.log_path, "wb")
        full_env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "HTTP_PROXY", "HTTPS_PROXY"))}
        full_env.update(env or {})
        self.proc = subprocess.Popen(command, cwd=cwd, env=full_env, stdout=self._log, stderr=subprocess.STDOUT,
                                     preexec_fn=raise_nofile)

    @property
    def pid(self) -> int:
        """Process id of the started command."""
        return self.proc.pid

    def pids(self) -> list[int]:
        """This process and all its descendants (from /proc/*/task/*/children)."""
        found, todo = [], [self.pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            for task in Path(f"/proc/{pid}/task").glob("*"):
                try:
                    todo += [int(c) for c in (task / "children").read_text().split()]
                except OSError:
                    pass
        return found

    def rss_mb(self) -> float:
        """Resident memory of the process tree in MiB (VmRSS summed)."""
        total = 0
        for pid in self.pids():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            except OSError:
                pass
        return total / 1024

    def cpu_seconds(self) -> float:
        """User + system CPU seconds of the process tree so far (/proc/PID/stat)."""
        tick = os.sysconf("SC_CLK_TCK")
        total = 0
        for pid in self.pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])
            except (OSError, IndexError):
                pass
        return total / tick

    def log(self) -> str:
        """What the process printed so far."""
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        """Terminate (then kill) the process."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()


def start_upstream(first_token_delay: float, chunk_delay: float, chunk_size: int = 3, name: str = "upstream") -> tuple[Proc, str]:
    """The test upstream as its own process (its own core under load); returns (proc, base URL)."""
    port = free_port()
    proc = Proc(name, [sys.executable, "-m", "tests.upstream", "--port", str(port),
                       "--first-token-delay", str(first_token_delay), "--chunk-delay", str(chunk_delay),
                       "--chunk-size", str(chunk_size)])
    url = f"http://127.0.0.1:{port}/v1"
    wait_http(url + "/models")
    return proc, url


def app_env(upstream_url: str, **extra: str) -> dict[str, str]:
    """Environment for the app pointed at the upstream with the bench server key."""
    env = {
        "OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": upstream_url, "OPENAI_MODEL": "test-model",
        "REQUEST_TIMEOUT": "60", "MAX_RETRIES": "0", "PYTHONUNBUFFERED": "1",
        "RATELIMIT_ENABLED": "false",
    }
    env.update(extra)
    return env


def start_gunicorn(upstream_url: str, worker_class: str = "", workers: int | None = None, threads: int | None = None,
                   name: str = "gunicorn", **extra: str) -> tuple[Proc, str]:
    """`gunicorn chat_app:server` with gunicorn.conf.py, bound to 127.0.0.1; returns (proc, URL)."""
    port = free_port()
    env = app_env(upstream_url, GUNICORN_BIND=f"127.0.0.1:{port}", **extra)
    if worker_class:
        env["GUNICORN_WORKER_CLASS"] = worker_class
    if workers is not None:
        env["WEB_CONCURRENCY"] = str(workers)
    if threads is not None:
        env["GUNICORN_THREADS"] = str(threads)
    gunicorn = shutil.which("gunicorn") or "gunicorn"
    proc = Proc(name, [sys.executable, gunicorn, "chat_app:server"], env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/healthz", 60)
    except TimeoutError:
        proc.stop()
        raise RuntimeError("gunicorn did not start:\n" + proc.log())
    return proc, url


def compressing() -> int:
    """How many bundle-compressing child processes (``python -m chatserver.compression``) run now."""
    count = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if b"chatserver.compression" in (entry / "cmdline").read_bytes():
                    count += 1
            except OSError:
                continue
    return count


def prepare_bundles(timeout: float = 180.0) -> float:
    """Start the app once (gunicorn, the default Brotli 11 / gzip 9 store) and wait until
    its bundles are in the shared disk cache (no compressing child left), so the benches
    measure the page as production serves it after start-up and no bench shares the CPU
    with the compression. Returns the seconds it took."""
    started = time.monotonic()
    upstream, upstream_url = start_upstream(0.0, 0.0, name="upstream-prepare")
    app, app_url = start_gunicorn(upstream_url, name="gunicorn-prepare")
    try:
        urllib.request.urlopen(app_url + "/", timeout=30).read()
        quiet_since = None
        while time.monotonic() - started < timeout:
            if compressing():
                quiet_since = None
            elif quiet_since is None:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since > 2.0:
                break
            time.sleep(0.2)
    finally:
        app.stop()
        upstream.stop()
    return time.monotonic() - started


def chat_body(text: str = "hello", **extra) -> bytes:
    """A JSON body for POST /api/chat/stream with one user message."""
    import json

    body = {"messages": [{"role": "user", "content": text}], **extra}
    return json.dumps(body).encode()


@dataclass
class StreamResult:
    """One streamed reply seen by the raw client; times in seconds from the request write."""

    ok: bool = False
    error: str = ""
    status: int = 0
    ttft: float | None = None
    total: float | None = None
    deltas: int = 0
    started: float = 0.0


async def sse_request(host: str, port: int, body: bytes, *, path: str = "/api/chat/stream",
                      timeout: float = 120.0, abort_after_first: bool = False,
                      delta_marker: bytes = b"event: delta", done_marker: bytes = b"event: done") -> StreamResult:
    """POST one chat request on a fresh connection and read the SSE reply.

    Counts ``event: delta`` lines, records the time of the first one (TTFT) and of
    ``event: done``; ``ok`` means status 200 and a ``done`` event with no ``error``.
    """
    result = StreamResult()
    writer = None
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        head = (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
                f"Accept: text/event-stream\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
        result.started = time.monotonic()
        writer.write(head + body)
        await writer.drain()
        buf = b""
        deadline = result.started + timeout
        saw_error = False
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                result.error = "timeout"
                return result
            data = await asyncio.wait_for(reader.read(65536), remaining)
            if not data:
                result.error = result.error or "eof before done"
                return result
            now = time.monotonic()
            if not result.status and b"\r\n" in buf + data:
                first_line = (buf + data).split(b"\r\n", 1)[0].split()
                result.status = int(first_line[1]) if len(first_line) > 1 else 0
            n = data.count(delta_marker)
            if n and result.ttft is None:
                result.ttft = now - result.started
                if abort_after_first:
                    result.ok = True
                    return result
            result.deltas += n
            saw_error = saw_error or b"event: error" in data
            buf = (buf + data)[-64:]
            if done_marker in buf or done_marker in data:
                result.total = now - result.started
                result.ok = result.status == 200 and not saw_error
                if saw_error:
                    result.error = "error event"
                return result
    except (OSError, asyncio.TimeoutError) as exc:
        result.error = f"{type(exc).__name__}: {exc}"[:120]
        return result
    finally:
        if writer is not None:
            writer.close()


@dataclass
class Table:
    """Rows of (metric, previous, result, target, verdict) printed as a Markdown table;
    ``previous`` maps a metric to its figure before this work (shown beside the result),
    ``notes`` collects longer output (a profile) printed after the table."""

    rows: list[tuple[str, str, str, str, str]] = field(default_factory=list)
    previous: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, metric: str, result: str, target: str = "", ok: bool | None = None) -> None:
        """Add a row; ``ok`` None means informational (no target)."""
        verdict = "" if ok is None else ("met" if ok else "MISSED")
        self.rows.append((metric, self.previous.get(metric, ""), result, target, verdict))
        print(f"  {metric}: {result}" + (f"   [target {target}: {verdict}]" if target else ""), flush=True)

    def markdown(self) -> str:
        """The table as GitHub Markdown (a Previous column when any row has one)."""
        if any(prev for _, prev, _, _, _ in self.rows):
            lines = ["| Metric | Previous | Result | Target | |", "| --- | --- | --- | --- | --- |"]
            lines += [f"| {m} | {p} | {r} | {t} | {v} |" for m, p, r, t, v in self.rows]
        else:
            lines = ["| Metric | Result | Target | |", "| --- | --- | --- | --- |"]
            lines += [f"| {m} | {r} | {t} | {v} |" for m, _, r, t, v in self.rows]
        return "\n\n".join(["\n".join(lines)] + self.notes)


def machine_note() -> str:
    """One line about the machine: CPU model, cores, memory, Python, key versions."""
    import platform

    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    versions = []
    for mod in ("gunicorn", "gevent", "dash", "openai"):
        try:
            versions.append(f"{mod} {__import__(mod).__version__}")
        except Exception:  # noqa: BLE001
            pass
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"{cpu}, {os.cpu_count()} cores, {mem_gb:.0f} GiB RAM, Linux {platform.release()}, "
            f"Python {platform.python_version()}, " + ", ".join(versions) + f"; load average at start {load}")


def tmpdir(prefix: str) -> Path:
    """A fresh temporary directory."""
    return Path(tempfile.mkdtemp(prefix=prefix))


def run_async(coro):
    """Run a coroutine to completion on a fresh event loop in its own thread.

    Playwright's sync API keeps an event loop on the main thread, so asyncio.run()
    cannot be called there.
    """
    import threading

    box: dict = {}

    def target():
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
            box["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]
