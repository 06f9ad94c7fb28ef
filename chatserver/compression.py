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
"""

from __future__ import annotations

import re
import threading

from flask import Flask, Request
from flask_compress import Compress

# Dash's fingerprinted bundle URLs: "<name>.v<version>m<mtime>[.min].js" (and .css/.map).
_FINGERPRINTED = re.compile(r"^/_dash-component-suites/.+\.v[\w]+m\d+[\w.@-]*\.(js|css|map)$")

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


def install(server: Flask) -> Compress:
    """Enable compression on ``server`` (call once, in ``create_app``)."""
    cache = BundleCache()
    server.config.update(
        COMPRESS_MIMETYPES=COMPRESSED_TYPES,
        COMPRESS_ALGORITHM=["br", "gzip"],
        COMPRESS_BR_LEVEL=5,
        COMPRESS_LEVEL=6,
        COMPRESS_MIN_SIZE=1024,
        COMPRESS_CACHE_BACKEND=lambda: cache,
        COMPRESS_CACHE_KEY=cache_key,
    )
    return Compress(server)
