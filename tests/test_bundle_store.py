"""chatserver.compression.BundleStore: fingerprinted bundles compressed once (Brotli and
gzip at the configured levels, in a child process) into a disk cache shared by workers,
then served from it with Vary and immutable caching."""

from __future__ import annotations

import gzip
import os
import random
import time
from types import SimpleNamespace

import brotli
import pytest
from flask import Flask, Response

from chatserver import compression

BUNDLE = "/_dash-component-suites/somepkg/bundle.v1_2_3m1700000000.min.js"
PLAIN = "/_dash-component-suites/somepkg/bundle.min.js"  # not fingerprinted


def body() -> bytes:
    rng = random.Random(7)
    words = ["function", "return", "const", "let", "window", "document", "=>", "{", "}", "(", ")", ";"]
    return " ".join(rng.choice(words) + str(rng.randint(0, 99)) for _ in range(60_000)).encode()


def make_app(directory, br=4, gz=4) -> Flask:
    app = Flask(__name__)
    data = body()

    @app.get("/_dash-component-suites/somepkg/<path:name>")
    def bundle(name):  # noqa: ARG001
        return Response(data, mimetype="application/javascript")

    compression.install(app, SimpleNamespace(bundle_cache_dir=str(directory), bundle_brotli_level=br, bundle_gzip_level=gz))
    app.config["DATA"] = data
    return app


def wait_done(app, timeout: float = 30.0) -> None:
    store = app.extensions["chat_bundles"]
    deadline = time.monotonic() + timeout
    while store.pending() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not store.pending(), "the bundle was not compressed in time"


def test_a_bundle_is_compressed_once_then_served_from_the_disk_cache(tmp_path):
    app = make_app(tmp_path, br=4, gz=4)
    client = app.test_client()
    data = app.config["DATA"]
    first = client.get(BUNDLE, headers={"Accept-Encoding": "gzip, br"})
    # the first time: compressed on the fly (flask-compress) and queued
    assert first.headers["Content-Encoding"] == "br" and brotli.decompress(first.data) == data
    wait_done(app)
    files = sorted(p.suffix for p in tmp_path.iterdir())
    assert files == [".br", ".gz"], files  # no raw or temporary file left
    br = client.get(BUNDLE, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert br.headers["Content-Encoding"] == "br"
    assert brotli.decompress(br.data) == data
    assert br.data == brotli.compress(data, quality=4)  # the store's file, at its level
    assert br.headers["Vary"] == "Accept-Encoding"
    assert br.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert int(br.headers["Content-Length"]) == len(br.data)
    gz = client.get(BUNDLE, headers={"Accept-Encoding": "gzip"})
    assert gz.headers["Content-Encoding"] == "gzip" and gzip.decompress(gz.data) == data
    # a client that takes neither, or refuses br with q=0, is served as before
    plain = client.get(BUNDLE, headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers and plain.data == data
    no_br = client.get(BUNDLE, headers={"Accept-Encoding": "br;q=0, gzip"})
    assert no_br.headers["Content-Encoding"] == "gzip"


def test_stronger_levels_make_smaller_files(tmp_path):
    weak, strong = make_app(tmp_path / "weak", br=1, gz=1), make_app(tmp_path / "strong", br=9, gz=9)
    for app in (weak, strong):
        app.test_client().get(BUNDLE, headers={"Accept-Encoding": "br"})
        wait_done(app)
    size = {name: sum(p.stat().st_size for p in (tmp_path / name).iterdir()) for name in ("weak", "strong")}
    assert size["strong"] < size["weak"] * 0.9, size


def test_only_fingerprinted_bundles_are_stored(tmp_path):
    app = make_app(tmp_path)
    client = app.test_client()
    response = client.get(PLAIN, headers={"Accept-Encoding": "br"})
    assert response.status_code == 200
    wait_done(app)
    assert not tmp_path.exists() or list(tmp_path.iterdir()) == []
    assert "immutable" not in response.headers.get("Cache-Control", "")


def test_workers_share_the_cache_and_compress_a_bundle_once(tmp_path):
    one, two = make_app(tmp_path), make_app(tmp_path)
    one.test_client().get(BUNDLE, headers={"Accept-Encoding": "br"})
    wait_done(one)
    made = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    response = two.test_client().get(BUNDLE, headers={"Accept-Encoding": "br"})
    assert response.headers["Content-Encoding"] == "br" and response.data == brotli.compress(one.config["DATA"], quality=4)
    assert two.extensions["chat_bundles"].pending() == 0
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()} == made


def test_a_raw_file_left_by_a_crash_is_retried_later(tmp_path):
    app = make_app(tmp_path)
    store = app.extensions["chat_bundles"]
    tmp_path.mkdir(exist_ok=True)
    raw = tmp_path / (store.key(BUNDLE) + ".raw")
    raw.write_bytes(b"half")
    app.test_client().get(BUNDLE, headers={"Accept-Encoding": "br"})
    assert store.pending() == 0 and not (tmp_path / (store.key(BUNDLE) + ".gz")).exists()  # someone else's, fresh
    old = time.time() - compression.STALE_RAW_S - 10
    os.utime(raw, (old, old))
    app.test_client().get(BUNDLE, headers={"Accept-Encoding": "br"})  # stale: removed
    app.test_client().get(BUNDLE, headers={"Accept-Encoding": "br"})  # and made again
    wait_done(app)
    assert (tmp_path / (store.key(BUNDLE) + ".br")).exists()


@pytest.mark.parametrize("header,coding,expected", [
    ("gzip, deflate, br", "br", True), ("gzip;q=1.0, br;q=0", "br", False), ("*", "gzip", True),
    ("identity", "gzip", False), ("", "br", False), ("br;q=0.5", "br", True),
])
def test_accept_encoding(header, coding, expected):
    assert compression._accepts(header, coding) is expected


def test_the_app_serves_its_bundles_from_the_store_after_warming(tmp_path):
    """create_app queues the page's bundles at start-up (warm): soon every fingerprinted
    script of the page is served precompressed, immutable, with Vary."""
    import re as _re

    from chat_app import create_app
    from components import bundles
    from tests.conftest import make_settings

    app = create_app(make_settings(bundle_cache_dir=str(tmp_path), bundle_brotli_level=3, bundle_gzip_level=3))
    store = app.server.extensions["chat_bundles"]
    client = app.server.test_client()
    html = client.get("/").get_data(as_text=True)
    urls = _re.findall(r'src="(/_dash-component-suites/[^"]+\.js)"', html)
    # and the bundles the page loads on first need (components/bundles.py: fmc, not in the page)
    with app.server.test_request_context("/"):
        on_demand = list(bundles.urls(app).values())
    assert on_demand and not set(on_demand) & set(urls)
    fingerprinted = [u for u in urls + on_demand if compression._FINGERPRINTED_ANYWHERE.search(u)]
    assert len(fingerprinted) >= 6
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (store.pending() or not all(store.lookup(u, "br") for u in fingerprinted)):
        time.sleep(0.1)
    for url in fingerprinted:
        response = client.get(url, headers={"Accept-Encoding": "gzip, deflate, br"})
        assert response.headers["Content-Encoding"] == "br", url
        assert response.headers["Cache-Control"] == compression.IMMUTABLE
        assert response.headers["Vary"] == "Accept-Encoding"
        assert brotli.decompress(response.data) == client.get(url, headers={"Accept-Encoding": "identity"}).data


def test_settings_turn_the_store_off(tmp_path):
    from chat_app import create_app
    from tests.conftest import make_settings

    app = create_app(make_settings(bundle_cache_dir=str(tmp_path), bundle_brotli_level=0))
    assert "chat_bundles" not in app.server.extensions


def test_warming_leaves_dash_first_request_setup_to_the_first_real_request(tmp_path, monkeypatch):
    """The cause of the page that loaded but never started a callback (first seen through
    nginx over HTTPS, tests/test_deploy_nginx.py): ``warm`` fetched the bundles through the
    app's whole request pipeline, so Dash's one-time ``before_request`` hook
    (``_setup_server``) ran at start-up, before chat_app registers its ``dash.callback``s
    (``import callbacks`` after ``create_app``): ``/_dash-dependencies`` stayed ``[]``.
    Warming must read each bundle from its view alone: no request hook of the app runs,
    callbacks registered after ``warm`` are served, and the bundles are still stored."""
    import dash
    from dash import Input, Output, dcc, html
    from dash import _callback

    # a private global callback registry: nothing leaks into (or is taken from) other tests
    monkeypatch.setattr(_callback, "GLOBAL_CALLBACK_LIST", [])
    monkeypatch.setattr(_callback, "GLOBAL_CALLBACK_MAP", {})
    app = dash.Dash(__name__, serve_locally=True, compress=False)
    app.layout = html.Div([dcc.Input(id="warm-in"), html.Div(id="warm-out")])
    compression.install(app.server, SimpleNamespace(bundle_cache_dir=str(tmp_path), bundle_brotli_level=2,
                                                    bundle_gzip_level=2))
    hooks: list[str] = []
    app.server.before_request(lambda: hooks.append("before") and None)
    thread = compression.warm(app)
    assert thread is not None
    thread.join(30)
    assert not thread.is_alive()
    hooks_while_warming = list(hooks)

    @dash.callback(Output("warm-out", "children"), Input("warm-in", "value"))
    def echo(value):  # registered after create_app, as chat_app's `import callbacks`
        return value

    client = app.server.test_client()
    assert client.get("/").status_code == 200
    dependencies = client.get("/_dash-dependencies").get_json()
    assert [d["output"] for d in dependencies] == ["warm-out.children"], dependencies
    assert hooks_while_warming == []  # warming ran none of the app's request hooks
    wait_done(app.server)
    stored = [p for p in tmp_path.iterdir() if p.suffix == ".br"]
    assert len(stored) >= 3, sorted(p.name for p in tmp_path.iterdir())  # the page's bundles were queued
    html_page = client.get("/").get_data(as_text=True)
    import re as _re

    renderer = next(u for u in _re.findall(r'src="([^"]+)"', html_page) if "dash_renderer" in u)
    response = client.get(renderer, headers={"Accept-Encoding": "br"})
    assert response.headers["Content-Encoding"] == "br"
    assert brotli.decompress(response.data) == client.get(renderer, headers={"Accept-Encoding": "identity"}).data


def test_warming_is_skipped_for_bundles_already_stored(tmp_path, monkeypatch):
    """A restart with the cache already made queues nothing (no bundle read, no child)."""
    import dash
    from dash import html

    app = dash.Dash(__name__, serve_locally=True, compress=False)
    app.layout = html.Div("x")
    compression.install(app.server, SimpleNamespace(bundle_cache_dir=str(tmp_path), bundle_brotli_level=2,
                                                    bundle_gzip_level=2))
    compression.warm(app).join(30)
    wait_done(app.server)
    made = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    assert made and all(name.endswith((".br", ".gz")) for name in made)
    read: list[str] = []
    monkeypatch.setattr(compression, "view_body", lambda server, path: read.append(path))
    compression.warm(app).join(30)
    assert read == [] and app.server.extensions["chat_bundles"].pending() == 0
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()} == made
