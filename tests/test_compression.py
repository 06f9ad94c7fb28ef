"""chatserver.compression: bundles compressed (and cached), dynamic responses not cached, SSE never compressed."""

from __future__ import annotations

import gzip
import re

import brotli

from chatserver.compression import BundleCache
from chatcore.sse import parse_events


def bundle_urls(client) -> list[str]:
    """The component-suite script URLs of the page."""
    html = client.get("/").get_data(as_text=True)
    return re.findall(r'src="(/_dash-component-suites/[^"]+\.js)"', html)


def test_bundles_are_compressed_with_the_offered_encoding(make_client):
    """gzip for a gzip-only client, Brotli when offered, identity when nothing is offered."""
    client = make_client()
    url = next(u for u in bundle_urls(client) if "feffery_antd_components" in u)
    plain = client.get(url, headers={"Accept-Encoding": "identity"})
    assert plain.status_code == 200 and "Content-Encoding" not in plain.headers
    gz = client.get(url, headers={"Accept-Encoding": "gzip, deflate"})
    assert gz.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(gz.data) == plain.data
    assert len(gz.data) < len(plain.data) / 2
    br = client.get(url, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert br.headers["Content-Encoding"] == "br"
    assert brotli.decompress(br.data) == plain.data
    assert "Accept-Encoding" in br.headers["Vary"]


def test_stream_is_never_compressed(make_client):
    """The SSE reply keeps its type, gets no Content-Encoding, and parses as sent."""
    client = make_client()
    response = client.post("/api/chat/stream", json={"messages": [{"role": "user", "content": "hi"}]},
                           headers={"Accept-Encoding": "gzip, deflate, br"})
    assert response.status_code == 200
    assert response.mimetype == "text/event-stream"
    assert "Content-Encoding" not in response.headers
    events = parse_events(response.data)
    assert "".join(d["content"] for name, d in events if name == "delta") == "Echo: hi"


def test_only_fingerprinted_bundles_are_cached():
    """Dynamic responses (layout, callbacks) are never served from the cache."""
    cache = BundleCache(max_bytes=100)
    bundle = "gzip;/_dash-component-suites/dash/dcc/dash_core_components.v4_4_1m1795269509.js"
    cache.set(bundle, b"x" * 10)
    assert cache.get(bundle) == b"x" * 10
    for dynamic in ("gzip;/_dash-layout", "gzip;/", "gzip;/_dash-update-component", "gzip;/api/models",
                    "gzip;/_dash-component-suites/dash/dcc/async-upload.js"):
        cache.set(dynamic, b"y")
        assert cache.get(dynamic) is None
    cache.set("br;/_dash-component-suites/a/b.v1_0_0m1.min.js", b"z" * 200)  # over max_bytes
    assert cache.get("br;/_dash-component-suites/a/b.v1_0_0m1.min.js") is None


def test_page_modules_revalidate_with_304_when_compressed(make_client):
    """The page's ES modules and CSS (streamed by Dash's /assets/ route) answer a repeat
    visit's If-None-Match with 304, not the whole compressed file again; Brotli is
    preferred to zstd for them too."""
    client = make_client()
    for path in ("/assets/js/state.mjs", "/assets/chat.css"):
        first = client.get(path, headers={"Accept-Encoding": "zstd, br, gzip"})
        assert first.status_code == 200 and first.headers["Content-Encoding"] == "br"
        again = client.get(path, headers={"Accept-Encoding": "zstd, br, gzip", "If-None-Match": first.headers["ETag"]})
        assert again.status_code == 304 and again.data == b""
