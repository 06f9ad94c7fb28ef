"""gunicorn settings, read automatically by `gunicorn chat_app:server` (from the cwd).

Why not the defaults: the sync worker serves one request at a time, so one streaming
reply would block every other user. A streamed reply is mostly waiting on the
upstream, so the worker must hold many open streams cheaply.

Measured with `python bench/run_all.py` (bench/README.md has the table and machine
note; 2 cores shared with the load generator and the test upstream): 1,000 streams
opened at 50/s, each 1 s to the first token then 46 deltas 0.5 s apart.

    quiet machine (load 2), 2026-11-21 15:31 UTC:
    worker class (workers)   completed  errors  TTFT overhead median / p95  RSS      app CPU
    gevent (1)               1000/1000  0       7.3 ms / 229.5 ms           209 MiB   27.0 s
    gevent (2)               1000/1000  0       4.0 ms /  29.3 ms           326 MiB   29.6 s
    gthread (2 x 600 thr.)   1000/1000  0       3.5 ms /  29.6 ms           381 MiB   28.0 s
    CPU per relayed delta:   gevent 290 µs, gthread 318 µs

    busy machine (load 6-80, other test suites running), 15:12 UTC:
    gevent (1)               1000/1000  0       18.8 s / 24.7 s             199 MiB   22 s
    gevent (2)               1000/1000  0        0.8 s /  5.9 s             326 MiB   25 s
    gthread (2 x 600 thr.)   1000/1000  0       0.01 s / 84.6 s             364 MiB  154 s

gevent holds every stream with the least memory and degrades most gracefully under
CPU contention (with hundreds of threads fighting over the GIL, gthread's tail is the
worst), so gevent is the default. One worker by default keeps the in-memory rate
limits exact (each process would otherwise count on its own) and suits small hosts
(Render instances have one core or less); its p95 at 1,000 streams is 229 ms, over
the 100 ms target. WEB_CONCURRENCY=2 on a 2-core host meets it (29 ms) and needs a
shared RATELIMIT_STORAGE_URI (Redis) so that limits count across processes.

Where it listens (``resolve_bind``), the first that applies:

    GUNICORN_BIND          a full bind address, e.g. 127.0.0.1:8050 behind nginx
    HOST (and PORT)        from the environment, else from .env (the file the app reads
                           too): HOST:PORT, PORT defaulting to 8050. So the .env made from
                           .env.example (HOST=127.0.0.1) keeps gunicorn on loopback, as
                           `python3 chat_app.py` is.
    PORT                   no HOST anywhere: 0.0.0.0:$PORT (Render sets PORT; default 8050)

Every other choice can be overridden from the environment:

    WEB_CONCURRENCY        worker processes
    GUNICORN_WORKER_CLASS  gevent (default) or gthread
    GUNICORN_THREADS       threads per worker (gthread only)
    GUNICORN_CONNECTIONS   open connections per worker (gevent; gthread keep-alive cap)
    GUNICORN_TIMEOUT       seconds a silent worker may take before it is restarted
    GUNICORN_GRACEFUL_TIMEOUT  seconds running replies get to finish on restart/deploy
"""

import os
import sys
from pathlib import Path

from gunicorn.glogging import Logger as _GunicornLogger

from chatcore.logsafe import escape as _escape  # standard library only: safe before gevent patches


def _int(name: str, default: int) -> int:
    """An integer environment variable, or ``default`` when unset or empty."""
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def read_env_file(path: Path) -> dict[str, str]:
    """``KEY=value`` lines of a .env file as python-dotenv reads them for the app (keys
    upper-cased: the app's settings ignore case): ``export`` prefixes, comments, blank
    lines and quotes handled; a missing file is empty. Standard library only (this file
    runs in gunicorn's master process, before gevent patches anything)."""
    values: dict[str, str] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return values
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("export "):
            line = line[len("export "):].lstrip()
        name, sep, value = line.partition("=")
        if not sep or not name.strip() or name.lstrip().startswith("#"):
            continue
        value = value.strip()
        if value[:1] in ("'", '"') and value[-1:] == value[:1] and len(value) >= 2:
            value = value[1:-1]
        elif " #" in value:  # an unquoted value ends at an inline comment
            value = value.split(" #", 1)[0].rstrip()
        values[name.strip().upper()] = value
    return values


def resolve_bind(environ: dict[str, str], env_file: Path) -> str:
    """The address to bind, in this order: ``GUNICORN_BIND``; ``HOST`` (environment,
    else ``.env``) with ``PORT`` (environment, else ``.env``, else 8050); else
    ``0.0.0.0:$PORT`` (Render sets PORT and no HOST). Empty values count as unset; an
    IPv6 host is bracketed (``[::1]:8050``).

    Raises:
        SystemExit: PORT is not a port number (the message names where it came from).
    """
    if environ.get("GUNICORN_BIND", "").strip():
        return environ["GUNICORN_BIND"].strip()
    from_file = read_env_file(env_file)

    def setting(name: str) -> tuple[str, str]:
        """``(value, where)`` of ``name``: the environment first, then .env."""
        if environ.get(name, "").strip():
            return environ[name].strip(), "the environment"
        return from_file.get(name, "").strip(), str(env_file)

    port_text, where = setting("PORT")
    if port_text and not (port_text.isdigit() and 1 <= int(port_text) <= 65535):
        raise SystemExit(f"gunicorn.conf.py: PORT from {where} must be a port number (1-65535)")
    port = int(port_text) if port_text else 8050
    host, _ = setting("HOST")
    if not host:
        return f"0.0.0.0:{port}"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{host}:{port}"


bind = resolve_bind(dict(os.environ), Path(".env"))

# gevent: one greenlet per open stream; gunicorn's gevent worker monkey-patches the
# standard library before it imports chat_app, so the openai client (httpx2 over
# patched sockets) yields while waiting on the upstream.
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gevent").strip() or "gevent"
# One worker by default: it holds 1,000 open streams with 0 errors (measured above),
# and the in-memory rate-limit store is then exact. More workers use more cores; they
# need a shared RATELIMIT_STORAGE_URI (Redis) so that limits count across processes.
workers = _int("WEB_CONCURRENCY", 1)
threads = _int("GUNICORN_THREADS", 100)
worker_connections = _int("GUNICORN_CONNECTIONS", 2000)

# A reply may stream for minutes (long answers, slow reasoning models). With async
# and threaded workers `timeout` only restarts a worker whose main loop is stuck, but
# the graceful timeout decides whether running replies survive a deploy or restart:
# longer than a long reply (REQUEST_TIMEOUT is 60 s between tokens by default).
timeout = _int("GUNICORN_TIMEOUT", 120)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 300)
keepalive = 5
# Slow clients: the gevent worker also reads each request's headers within `keepalive`
# seconds (gunicorn/workers/base_async.py) and closes the connection after; a stalled
# request *body* gets 408 after REQUEST_BODY_TIMEOUT (chatserver/slow_clients.py), and
# MAX_BODY_READS_PER_ADDRESS keeps one address from filling worker_connections with
# them (tests/test_slow_clients.py: 2,100 from one address, /healthz still answers).

# Access log to stdout, without request bodies or query strings (they may hold user
# text); %(M)s is the request time in milliseconds.
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'


class EscapingLogger(_GunicornLogger):
    """gunicorn's logger with every text atom of an access line escaped
    (``chatcore.logsafe.escape``): the path (%(U)s, already percent-decoded, so
    ``/%0a…`` would be a newline), the client address (set from X-Forwarded-For behind
    TRUSTED_PROXIES) and headers cannot forge a log line."""

    def atoms(self, resp, req, environ, request_time):
        """gunicorn's atoms, with ``str`` values escaped."""
        atoms = super().atoms(resp, req, environ, request_time)
        return {key: _escape(value) if isinstance(value, str) else value for key, value in atoms.items()}


logger_class = EscapingLogger
# Behind nginx on the same host, trust its X-Forwarded-* headers (loopback only).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def post_fork(server, worker):
    """Before a gevent worker patches the standard library and imports the app.

    httpcore2 (under the openai client) imports ``trio`` when it is installed; trio's
    import needs ``select.epoll``, which gevent's monkey-patching removes, so the first
    request would fail with AttributeError. The sync client never uses trio: make
    ``import trio`` raise ImportError in gevent workers, which httpcore2 handles.
    """
    if "gevent" in type(worker).__module__ and "trio" not in sys.modules:
        sys.modules["trio"] = None  # type: ignore[assignment]
    # chat_app's OPEN PROXY check reads GUNICORN_BIND: give the worker (only the worker,
    # so a reload of this file in the master still reads HOST/PORT afresh) the address
    # actually bound (-b on the command line included), a non-loopback one if any.
    addresses = list(worker.cfg.bind or [])
    public = [a for a in addresses if not a.startswith(("127.", "localhost:", "[::1]:", "unix:"))]
    if addresses:
        os.environ["GUNICORN_BIND"] = (public or addresses)[0]
