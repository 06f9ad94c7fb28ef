"""Response compression for the page and Dash's component bundles (flask-compress).

The first page load is dominated by Dash's JavaScript bundles (about 6 MB of
feffery components, 11 MB in all): compressed they are about 4× smaller. This module
enables flask-compress on the Flask server with:

* Brotli (browsers offer it over HTTPS) or gzip, per the request's ``Accept-Encoding``;
* a per-process cache of compressed bundles whose URL is fingerprinted by Dash
  (``/_dash-component-suites/...v0_4_6m1234.min.js``: the content never changes for
  a URL), so each bundle is compressed once per worker, not once per visitor. Other
  responses (the layout, callbacks, JSON) are compressed each time, never cached:
  they can differ per user;
* never the chat stream: ``text/event-stream`` is not a compressed type, so every SSE
  event still goes out the moment it is written.

Behind nginx the app's compressed responses pass through unchanged (nginx does not
compress a response that already has ``Content-Encoding``).

**Precompressed bundles** (``BundleStore``): each fingerprinted bundle is also compressed
once, at the strongest levels (Brotli 11, gzip 9: ~15 % smaller than on-the-fly Brotli 5),
into a disk cache shared by every worker and kept across restarts (``BUNDLE_CACHE_DIR``).
Brotli 11 takes seconds of CPU for a 3 MB bundle, so it runs in a child process
(``python -m chatserver.compression``), one bundle at a time, never in a worker that
serves streams; until a bundle's file is ready it is served as before. A cached bundle is
served straight from the file with ``Content-Encoding``, ``Vary: Accept-Encoding`` and
``Cache-Control: public, max-age=31536000, immutable`` (its URL changes with its
content). The bundles of the page are queued at start-up (``warm``), others (async
chunks) when first requested. Warming reads each bundle from its view alone, never
through the app's request hooks (see ``view_body``: a request at start-up ran Dash's
one-time setup before the callbacks existed, and the page started none). The store is on
by default (``BUNDLE_BROTLI_LEVEL`` 11, ``BUNDLE_GZIP_LEVEL`` 9; 0 turns it off); the child
runs at a lower CPU priority (nice 10).
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import mimetypes
import os
import queue
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from flask import Flask, Request, Response, request
from flask_compress import Compress

log = logging.getLogger(__name__)

# Dash's fingerprinted bundle URLs: "<name>.v<version>m<mtime>[.min].js" (and .css/.map).
_FINGERPRINTED = re.compile(r"^/_dash-component-suites/.+\.v[\w]+m\d+[\w.@-]*\.(js|css|map)$")
# the same, anywhere in a path (under a routes prefix too), for the precompressed store
_FINGERPRINTED_ANYWHERE = re.compile(r"/_dash-component-suites/.+\.v[\w]+m\d+[\w.@-]*\.(js|css)$")
IMMUTABLE = "public, max-age=31536000, immutable"
ENCODINGS = (("br", ".br"), ("gzip", ".gz"))  # preferred first
STALE_RAW_S = 900  # a bundle being compressed for longer than this was left by a crash

COMPRESSED_TYPES = [
    "text/html", "text/css", "text/plain", "text/javascript", "application/javascript",
    "application/json", "image/svg+xml",
]


class BundleCache:
    """A bounded in-memory cache (flask-compress backend) that keeps only fingerprinted bundles.

    Keys are ``"<algorithm>;<path>"`` (see ``cache_key``); any other key is neither
    stored nor found, so dynamic responses are always compressed afresh.
    """

    def __init__(self, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._data: dict[str, bytes] = {}
        self._size = 0
        self._lock = threading.Lock()

    @staticmethod
    def cacheable(key: str) -> bool:
        """True for keys of fingerprinted component-suite URLs."""
        return bool(_FINGERPRINTED.match(key.partition(";")[2]))

    def get(self, key: str) -> bytes | None:
        """The compressed bytes for ``key``, or None."""
        if not self.cacheable(key):
            return None
        with self._lock:
            return self._data.get(key)

    def set(self, key: str, value: bytes) -> None:
        """Keep ``value`` if ``key`` is cacheable and it fits in ``max_bytes``."""
        if not self.cacheable(key) or key in self._data:
            return
        with self._lock:
            if self._size + len(value) <= self.max_bytes:
                self._data[key] = value
                self._size += len(value)


def cache_key(request: Request) -> str:
    """The cache key of a request: its path (fingerprinted URLs carry the version)."""
    return request.path


def _accepts(header: str, coding: str) -> bool:
    """Whether an ``Accept-Encoding`` header accepts ``coding`` (q > 0; RFC 9110 §12.5.3)."""
    for part in header.lower().split(","):
        name, _, params = part.strip().partition(";")
        if name.strip() in (coding, "*"):
            q = params.strip()
            if q.startswith("q="):
                try:
                    return float(q[2:]) > 0
                except ValueError:
                    return False
            return True
    return False


def compress_file(raw: Path, br_level: int, gzip_level: int) -> None:
    """Write ``raw``'s Brotli (``.br``) and gzip (``.gz``) files next to it, each through
    a temporary name and an atomic rename (a reader never sees half a file), then
    remove ``raw``. Runs in the child process (``python -m chatserver.compression``)."""
    import brotli

    data = raw.read_bytes()
    stem = raw.with_suffix("")
    for suffix, body in ((".br", lambda: brotli.compress(data, quality=br_level)),
                         (".gz", lambda: gzip.compress(data, compresslevel=gzip_level, mtime=0))):
        target = stem.with_suffix(suffix)
        temp = target.with_suffix(suffix + ".tmp%d" % os.getpid())
        try:
            temp.write_bytes(body())
            os.replace(temp, target)
        finally:
            temp.unlink(missing_ok=True)  # only left when the write failed
    raw.unlink(missing_ok=True)


class BundleStore:
    """Fingerprinted bundles compressed once at Brotli ``br_level`` and gzip
    ``gzip_level`` into ``directory`` (one ``<sha256 of path and levels>.br``/``.gz``
    pair per bundle), shared by every worker of the machine.

    ``lookup(path, accept_encoding)`` → ``(file, encoding)`` or None; ``add(path, body)``
    queues a bundle (its uncompressed bytes) for the child process; ``pending()`` counts
    what is queued or being compressed (tests and the benchmark wait on it).
    """

    def __init__(self, directory: str | os.PathLike, br_level: int = 11, gzip_level: int = 9) -> None:
        self.directory = Path(directory)
        self.br_level = br_level
        self.gzip_level = gzip_level
        self._queue: queue.Queue[Path] = queue.Queue()
        self._queued: set[str] = set()
        self._lock = threading.Lock()
        self._busy = 0
        self._worker: threading.Thread | None = None

    def key(self, path: str) -> str:
        """The file stem of ``path``'s bundle: 40 hex digits of SHA-256 over the path and levels."""
        return hashlib.sha256(f"{path}|br{self.br_level}|gz{self.gzip_level}".encode()).hexdigest()[:40]

    def lookup(self, path: str, accept_encoding: str) -> tuple[Path, str] | None:
        """The precompressed file of ``path`` in the best encoding the client accepts."""
        if not _FINGERPRINTED_ANYWHERE.search(path):
            return None
        stem = self.directory / self.key(path)
        for coding, suffix in ENCODINGS:
            if _accepts(accept_encoding, coding):
                candidate = stem.with_suffix(suffix)
                if candidate.is_file():
                    return candidate, coding
        return None

    def ready(self, path: str) -> bool:
        """True when both compressed files of ``path`` exist (the ``.gz`` is written last)."""
        return (self.directory / self.key(path)).with_suffix(".gz").is_file()

    def pending(self) -> int:
        """Bundles queued or being compressed by this store (this process only)."""
        with self._lock:
            return len(self._queued) + self._busy

    def add(self, path: str, body: bytes) -> None:
        """Queue ``path`` (a fingerprinted bundle whose uncompressed bytes are ``body``)
        unless its files exist or another worker is already making them."""
        if not _FINGERPRINTED_ANYWHERE.search(path):
            return
        key = self.key(path)
        stem = self.directory / key
        with self._lock:
            if key in self._queued or stem.with_suffix(".gz").is_file():
                return
            try:
                self.directory.mkdir(parents=True, exist_ok=True)
                raw = stem.with_suffix(".raw")
                # O_EXCL: the worker that creates the raw file makes the compressed ones
                fd = os.open(raw, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                # another worker is on it; a raw file left by a crash is retried later
                try:
                    if time.time() - raw.stat().st_mtime > STALE_RAW_S:
                        raw.unlink(missing_ok=True)
                except OSError:
                    pass
                return
            except OSError as exc:
                log.warning("bundle cache %s is not writable (%s): bundles are compressed on the fly", self.directory, exc)
                return
            with os.fdopen(fd, "wb") as handle:
                handle.write(body)
            self._queued.add(key)
            self._queue.put(raw)
            if self._worker is None:
                self._worker = threading.Thread(target=self._run, name="bundle-compress", daemon=True)
                self._worker.start()

    def _run(self) -> None:
        while True:
            raw = self._queue.get()
            with self._lock:
                self._queued.discard(raw.stem)
                self._busy += 1
            try:
                # a child process: the CPU-heavy levels never stall this worker's streams
                subprocess.run(
                    [sys.executable, "-m", "chatserver.compression", str(raw), str(self.br_level), str(self.gzip_level)],
                    check=True, timeout=600, stdin=subprocess.DEVNULL, capture_output=True,
                )
            except (OSError, subprocess.SubprocessError) as exc:
                log.warning("compressing a bundle failed (%s): it is compressed on the fly", exc)
                raw.unlink(missing_ok=True)
            finally:
                with self._lock:
                    self._busy -= 1

    def serve(self) -> Response | None:
        """Flask ``before_request`` hook: the precompressed file for this request, if any."""
        if request.method not in ("GET", "HEAD"):
            return None
        found = self.lookup(request.path, request.headers.get("Accept-Encoding", ""))
        if not found:
            return None
        file, coding = found
        body = file.read_bytes()
        mimetype = mimetypes.types_map.get("." + request.path.rsplit(".", 1)[-1], "application/octet-stream")
        response = Response(b"" if request.method == "HEAD" else body, mimetype=mimetype)
        response.headers["Content-Encoding"] = coding
        response.headers["Content-Length"] = str(len(body))
        response.headers["Vary"] = "Accept-Encoding"
        response.headers["Cache-Control"] = IMMUTABLE
        return response

    def collect(self, response: Response) -> Response:
        """Flask ``after_request`` hook (runs before flask-compress's): queue a
        fingerprinted bundle the first time it is served, and mark it immutable."""
        if (response.status_code == 200 and not response.direct_passthrough
                and _FINGERPRINTED_ANYWHERE.search(request.path) and "Content-Encoding" not in response.headers):
            response.headers["Cache-Control"] = IMMUTABLE
            self.add(request.path, response.get_data())
        return response


def default_cache_dir() -> Path:
    """``<temp dir>/dash-chat-bundles-<uid>``: survives restarts of the app, not of the machine."""
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return Path(tempfile.gettempdir()) / f"dash-chat-bundles-{uid}"


def install(server: Flask, settings=None) -> Compress:
    """Enable compression on ``server`` (call once, in ``create_app``): flask-compress
    for every compressible response, and the precompressed bundle store (settings
    ``BUNDLE_CACHE_DIR``, ``BUNDLE_BROTLI_LEVEL``, ``BUNDLE_GZIP_LEVEL``; the store is
    off when the levels are 0) in ``server.extensions["chat_bundles"]``."""
    cache = BundleCache()
    server.config.update(
        COMPRESS_MIMETYPES=COMPRESSED_TYPES,
        COMPRESS_ALGORITHM=["br", "gzip"],
        COMPRESS_BR_LEVEL=5,
        COMPRESS_LEVEL=6,
        COMPRESS_MIN_SIZE=1024,
        COMPRESS_CACHE_BACKEND=lambda: cache,
        COMPRESS_CACHE_KEY=cache_key,
        # /assets/ files (the page's ES modules, CSS) are streamed by Dash's static route:
        # evaluate If-None-Match there too (304 on a repeat visit instead of the whole
        # file again), and prefer Brotli for them as for the rest
        COMPRESS_STREAMING_ENDPOINT_CONDITIONAL=["static", "_dash_assets.static"],
        COMPRESS_ALGORITHM_STREAMING=["br", "zstd", "deflate"],
    )
    compress = Compress(server)
    br_level = int(getattr(settings, "bundle_brotli_level", 11))
    gzip_level = int(getattr(settings, "bundle_gzip_level", 9))
    if br_level > 0 and gzip_level > 0:
        directory = getattr(settings, "bundle_cache_dir", None) or default_cache_dir()
        store = BundleStore(directory, br_level, gzip_level)
        server.extensions["chat_bundles"] = store
        server.before_request(store.serve)
        # registered after flask-compress: Flask runs after_request hooks last-first, so
        # this one sees the uncompressed body
        server.after_request(store.collect)
    return compress


def _route_path(app, path: str) -> str:
    """``path`` as the page links it (``requests_pathname_prefix``) → as Flask routes it
    (``routes_pathname_prefix``); the same string when both prefixes are ``/``."""
    requests_prefix = app.config.requests_pathname_prefix or "/"
    routes_prefix = app.config.routes_pathname_prefix or "/"
    if path.startswith(requests_prefix):
        return routes_prefix + path[len(requests_prefix):]
    return path


def view_body(server: Flask, path: str) -> bytes | None:
    """The uncompressed body the view function of ``path`` answers with, or None when it
    does not answer 200 (no route, 404, …).

    Only the view runs (``dispatch_request``), in a request context of its own: no
    ``before_request``/``after_request`` hook of the app. That matters for Dash: its
    ``before_request`` hook ``_setup_server`` runs once per app and copies the callbacks
    registered with ``dash.callback`` so far into ``/_dash-dependencies``. chat_app
    registers them (``import callbacks``) after ``create_app`` has returned, so a request
    through the full pipeline at start-up (as ``warm`` once made with a test client) froze
    that list empty: the page loaded, and no callback ever ran.
    """
    from werkzeug.exceptions import HTTPException

    with server.test_request_context(path, headers={"Accept-Encoding": "identity"}):
        try:
            response = server.make_response(server.dispatch_request())
        except HTTPException:
            return None
        if response.status_code != 200:
            return None
        response.direct_passthrough = False  # a file response: read it through
        return response.get_data()


def warm(app) -> threading.Thread | None:
    """Queue the page's own bundles (the scripts and styles of its HTML, and the bundles it
    loads on demand: components/bundles.py) at start-up, in
    the background, so that they are soon served at the store's levels; meanwhile they are
    served as before (flask-compress on the fly).

    Each bundle's bytes come from its view function alone (``view_body``): warming never
    runs the app's request hooks, so it cannot trigger Dash's one-time setup before
    chat_app has registered its callbacks. Returns the warming thread (tests join it), or
    None when the store is off.
    """
    server = app.server
    store: BundleStore | None = server.extensions.get("chat_bundles")
    if store is None:
        return None

    def run() -> None:
        try:
            from components import bundles  # the page's on-demand bundles (fmc's Markdown)

            with server.test_request_context("/"):
                html = app._generate_scripts_html() + app._generate_css_dist_html()  # noqa: SLF001 (Dash's own list)
                on_demand = list(bundles.urls(app).values())
            links = sorted(set(re.findall(r'(?:src|href)="([^"?]*/_dash-component-suites/[^"?]+)', html)) | set(on_demand))
            for path in (_route_path(app, link) for link in links):
                if store.ready(path) or not _FINGERPRINTED_ANYWHERE.search(path):
                    continue
                body = view_body(server, path)
                if body is not None:
                    store.add(path, body)
        except Exception as exc:  # noqa: BLE001 — warming is an optimisation, never fatal
            log.warning("warming the bundle cache failed: %s", exc)

    thread = threading.Thread(target=run, name="bundle-warm", daemon=True)
    thread.start()
    return thread


if __name__ == "__main__":  # the child process of BundleStore: python -m chatserver.compression RAW BR GZ
    if hasattr(os, "nice"):
        try:
            os.nice(10)  # background work: the workers (and everything else) get the CPU first
        except OSError:
            pass
    compress_file(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
