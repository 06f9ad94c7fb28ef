"""The installable app over HTTP (chatserver/pwa.py, chatserver/sw.js): the manifest,
the icons, the service worker's headers and contents, the page head, the CSP, what
needs no login, logout's cache clearing, and the base path prefix. The worker's
routing (what it answers, from where) runs in Node against fakes of the browser's
caches and network; tests/test_e2e_pwa.py drives it in Chromium."""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import textwrap
import zlib

import pytest

from chatserver import pwa

SECRET = "s3cret-for-tests-" + "x" * 16
NODE = shutil.which("node")


def sw_config(response) -> dict:
    """The CONFIG object filled into a served sw.js."""
    match = re.search(r"const CONFIG = (\{.*?\});\n", response.get_data(as_text=True))
    assert match, "no CONFIG in sw.js"
    return json.loads(match.group(1))


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR (RFC 2083 §4.1.1)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def corner_alpha(data: bytes) -> int:
    """The alpha of the top-left pixel of an 8-bit RGBA PNG whose rows use filter 0
    (as docs/make_icons.py writes them)."""
    idat = b""
    at = 8
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        if kind == b"IDAT":
            idat += data[at + 8:at + 8 + length]
        at += 12 + length
    rows = zlib.decompress(idat)
    assert rows[0] == 0  # filter "None" on the first row
    return rows[4]


def manifest_icons(client) -> list[dict]:
    return client.get("/manifest.webmanifest").get_json()["icons"]


def page_scripts(html: str) -> list[str]:
    """The src/href URLs of the page's scripts and stylesheets."""
    return re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)


def test_manifest_fields(make_client):
    client = make_client()
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response.mimetype == "application/manifest+json"
    manifest = response.get_json()
    assert manifest["name"] == manifest["short_name"] == "Dash Chat"
    assert manifest["start_url"] == manifest["scope"] == manifest["id"] == "/"
    assert manifest["display"] == "standalone"
    assert re.fullmatch(r"#[0-9a-f]{6}", manifest["theme_color"]) and re.fullmatch(r"#[0-9a-f]{6}", manifest["background_color"])
    assert "browser" in manifest["description"]
    purposes = {(icon["sizes"], icon["purpose"]) for icon in manifest["icons"]}
    assert purposes == {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")}
    assert all(icon["type"] == "image/png" for icon in manifest["icons"])
    chinese = client.get("/manifest.webmanifest", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).get_json()
    assert chinese["lang"] == "zh-CN" and "浏览器" in chinese["description"]
    assert "Accept-Language" in response.headers["Vary"]


def test_icons_are_pngs_of_their_sizes(make_client):
    client = make_client()
    for icon in manifest_icons(client):
        response = client.get(icon["src"])
        assert response.status_code == 200, icon
        assert response.mimetype == "image/png"
        width, height = png_size(response.data)
        assert f"{width}x{height}" == icon["sizes"]
        assert re.search(r"\?v=[0-9a-f]{12}$", icon["src"])  # versioned: cached cache-first
    # the maskable icon fills its square (a mask may crop any corner); the others have round corners
    corners = {icon["purpose"] + icon["sizes"]: corner_alpha(client.get(icon["src"]).data) for icon in manifest_icons(client)}
    assert corners == {"any192x192": 0, "any512x512": 0, "maskable512x512": 255}


def test_page_head_links_manifest_theme_color_and_touch_icon(make_client):
    html = make_client().get("/").get_data(as_text=True)
    head = html.split("</head>")[0]
    assert '<link rel="manifest" href="/manifest.webmanifest" data-sw="/sw.js" data-scope="/">' in head
    assert re.search(r'<meta name="theme-color" content="#[0-9a-f]{6}" media="\(prefers-color-scheme: light\)">', head)
    assert re.search(r'<meta name="theme-color" content="#[0-9a-f]{6}" media="\(prefers-color-scheme: dark\)">', head)
    assert re.search(r'<link rel="apple-touch-icon" href="/assets/icons/icon-192\.png\?v=[0-9a-f]{12}">', head)


def test_service_worker_headers_and_contents(make_client):
    client = make_client()
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Cache-Control"] == "no-cache"
    assert "Set-Cookie" not in response.headers
    config = sw_config(response)
    assert config["scope"] == "/" and re.fullmatch(r"[0-9a-f]{16}", config["version"])
    for path in ("/api/", "/_dash-update-component", "/_dash-layout", "/_dash-dependencies"):
        assert path in config["network_only"]
    assert config["logout_path"] == "/logout"
    # every versioned bundle the page loads is precached, nothing else
    html = client.get("/").get_data(as_text=True)
    versioned = [url for url in page_scripts(html) if pwa.is_versioned(url)]
    assert any("/_dash-component-suites/" in url for url in versioned) and any("/assets/" in url for url in versioned)
    assert set(versioned) <= set(config["precache"])
    assert all(pwa.is_versioned(url) for url in config["precache"])
    assert "/assets/js/main.mjs" in html and "/assets/js/main.mjs" not in config["precache"]  # not versioned
    # the same build gives the same version in every process (workers must agree)
    assert sw_config(make_client().get("/sw.js"))["version"] == config["version"]


@pytest.mark.skipif(NODE is None, reason="node is not installed (.ci/run installs nodejs)")
def test_service_worker_is_valid_javascript(make_client, tmp_path):
    script = tmp_path / "sw.js"
    script.write_bytes(make_client().get("/sw.js").data)
    result = subprocess.run([NODE, "--check", str(script)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_version_changes_when_a_bundle_changes(make_client, monkeypatch):
    import feffery_antd_components

    before = sw_config(make_client().get("/sw.js"))
    monkeypatch.setattr(feffery_antd_components, "__version__", "9.9.9")  # Dash puts it in the bundle URL
    after = sw_config(make_client().get("/sw.js"))
    assert after["version"] != before["version"]
    assert any("v9_9_9m" in url for url in after["precache"])


@pytest.mark.parametrize(
    "path, versioned",
    [
        ("/_dash-component-suites/dash/deps/react@18.v4_4_1m1796180425.3.1.min.js", True),
        ("/_dash-component-suites/feffery_antd_components/async-data_entry.v0_4_6m1777383649.js", True),
        ("/_dash-component-suites/dash/dcc/async-upload.js", False),  # no fingerprint: may change
        ("/_dash-component-suites/x/y.js?v=1.2.3", True),
        ("/assets/chat.css?m=1796180636.5547872", True),
        ("/assets/icons/icon-192.png?v=263ccedc74a0", True),
        ("/assets/vendor/mermaid-10.9.8.min.js", True),
        ("/_favicon.ico?v=4.4.1", True),
        ("/_favicon.ico", False),
        ("/assets/js/main.mjs", False),
        ("/assets/chat.css", False),
        ("/api/models", False),
        ("/api/chat/stream", False),
        ("/_dash-layout", False),
        ("/", False),
    ],
)
def test_versioned_urls(path, versioned):
    assert pwa.is_versioned(path) is versioned


def test_csp_allows_the_worker_and_the_manifest_from_this_origin_only(make_client):
    client = make_client()
    for path in ("/", "/sw.js", "/manifest.webmanifest"):
        policy = client.get(path).headers["Content-Security-Policy"]
        directives = {part.split()[0]: part.split()[1:] for part in policy.split("; ")}
        assert "'self'" in directives["worker-src"] and "'self'" in directives["manifest-src"]
        assert directives["manifest-src"] == ["'self'"]
        assert "*" not in policy and "https:" not in policy


def test_worker_manifest_and_icons_need_no_login(make_client):
    client = make_client(access_codes="pwa-code-1", secret_key=SECRET)
    assert client.get("/api/models").status_code == 401  # the guard is on
    sw = client.get("/sw.js")
    assert sw.status_code == 200 and "Set-Cookie" not in sw.headers
    manifest = client.get("/manifest.webmanifest")
    assert manifest.status_code == 200
    for icon in manifest.get_json()["icons"]:
        assert client.get(icon["src"]).status_code == 200
    # the login page (the same Dash index) links the manifest too
    login = client.get("/login", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert 'rel="manifest"' in login and 'data-sw="/sw.js"' in login
    # what they hold: public paths and hashes, no session, no code, no key
    text = sw.get_data(as_text=True) + manifest.get_data(as_text=True)
    assert "pwa-code-1" not in text and SECRET not in text and "sk-test" not in text


def test_logout_clears_the_http_cache_but_not_storage(make_client):
    client = make_client(access_codes="pwa-code-1", secret_key=SECRET)
    assert client.post("/login", data={"code": "pwa-code-1"}).status_code == 303
    response = client.post("/logout")
    assert response.status_code == 303 and response.headers["Location"].endswith("/login")
    # "cache" only: "storage" would also delete the conversations in IndexedDB
    assert response.headers["Clear-Site-Data"] == '"cache"'
    # the worker deletes its own caches on this POST (its CONFIG names the path)
    assert sw_config(client.get("/sw.js"))["logout_path"] == "/logout"


def test_base_path_prefix(make_client, monkeypatch):
    monkeypatch.setenv("DASH_REQUESTS_PATHNAME_PREFIX", "/chat/")
    client = make_client()  # a proxy strips /chat: Flask still sees /sw.js
    head = client.get("/").get_data(as_text=True).split("</head>")[0]
    assert '<link rel="manifest" href="/chat/manifest.webmanifest" data-sw="/chat/sw.js" data-scope="/chat/">' in head
    assert 'rel="apple-touch-icon" href="/chat/assets/icons/icon-192.png?v=' in head
    manifest = client.get("/manifest.webmanifest").get_json()
    assert manifest["start_url"] == manifest["scope"] == manifest["id"] == "/chat/"
    assert all(icon["src"].startswith("/chat/assets/icons/") for icon in manifest["icons"])
    config = sw_config(client.get("/sw.js"))
    assert config["scope"] == "/chat/" and config["cache_prefix"].endswith(":/chat/:")
    assert config["precache"] and all(url.startswith("/chat/") for url in config["precache"])
    assert any(url.startswith("/chat/_dash-component-suites/") for url in config["precache"])
    # the versioned rules are on the path under the base path, as the worker applies them
    assert all(pwa.is_versioned(url[len("/chat"):]) for url in config["precache"])


# The worker's routing, run in Node: sw.js with fakes of self, caches and fetch. Each
# case dispatches one fetch event and reports whether the worker answered it, and from
# where ("cache", "network" or "none" = not answered: the browser goes to the network).
ROUTING_HARNESS = textwrap.dedent(
    r"""
    const fs = require('fs');
    const vm = require('vm');
    const source = fs.readFileSync(process.argv[1], 'utf8');
    const cases = JSON.parse(process.argv[2]);
    const origin = 'http://app.test';
    const stores = new Map();
    const network = [];
    const cacheFor = (name) => {
      if (!stores.has(name)) stores.set(name, new Map());
      const store = stores.get(name);
      const key = (r) => (typeof r === 'string' ? r : r.url);
      return {
        match: async (r) => store.get(key(r)), put: async (r, v) => { store.set(key(r), v); },
        add: async (u) => { store.set(new URL(u, origin).href, { status: 200, type: 'basic', url: u, clone() { return this; } }); },
      };
    };
    const caches = {
      open: async (name) => cacheFor(name), keys: async () => [...stores.keys()],
      delete: async (name) => stores.delete(name),
    };
    const listeners = {};
    const self = {
      location: { origin }, addEventListener: (type, fn) => { listeners[type] = fn; },
      skipWaiting: async () => {}, clients: { claim: async () => {} },
    };
    const fetch = async (request) => {
      network.push(request.url);
      return { status: 200, type: 'basic', redirected: false, url: request.url, headers: { get: () => null }, clone() { return this; } };
    };
    vm.runInNewContext(source, { self, caches, fetch, URL, console, Promise });
    (async () => {
      const waits = [];
      const routes = [];
      const installing = [];
      listeners.install({ waitUntil: (p) => installing.push(p), addRoutes: async (rules) => { routes.push(...rules); } });
      await Promise.all(installing);
      await new Promise((done) => listeners.activate({ waitUntil: (p) => p.then(done) }));
      const out = [];
      for (const c of cases) {
        const before = network.length;
        let answered = null;
        const event = {
          request: { url: origin + c.path, method: c.method, mode: c.mode },
          respondWith: (p) => { answered = p; }, waitUntil: (p) => waits.push(p),
        };
        listeners.fetch(event);
        if (answered) await answered;
        await Promise.all(waits);
        out.push(answered ? (network.length > before ? 'network' : 'cache') : 'none');
      }
      out.push([...stores.keys()].length);
      console.log(JSON.stringify({ out, routes }));
    })();
    """
)


@pytest.mark.skipif(NODE is None, reason="node is not installed (.ci/run installs nodejs)")
def test_worker_routing(make_client, tmp_path):
    client = make_client()
    script = tmp_path / "sw.js"
    script.write_bytes(client.get("/sw.js").data)
    config = sw_config(client.get("/sw.js"))
    bundle = config["precache"][0]
    cases = [
        {"path": bundle, "method": "GET", "mode": "no-cors"},  # precached: from the cache
        {"path": "/_dash-component-suites/feffery_antd_components/async-x.v0_4_6m1.js", "method": "GET", "mode": "no-cors"},
        {"path": "/_dash-component-suites/feffery_antd_components/async-x.v0_4_6m1.js", "method": "GET", "mode": "no-cors"},
        {"path": "/", "method": "GET", "mode": "navigate"},  # network-first
        {"path": "/", "method": "GET", "mode": "navigate"},  # still the network while it answers
        {"path": "/api/models", "method": "GET", "mode": "cors"},
        {"path": "/api/chat/stream", "method": "POST", "mode": "cors"},
        {"path": "/_dash-update-component", "method": "POST", "mode": "cors"},
        {"path": "/_dash-layout", "method": "GET", "mode": "cors"},
        {"path": "/_dash-dependencies", "method": "GET", "mode": "cors"},
        {"path": "/assets/js/main.mjs", "method": "GET", "mode": "cors"},  # not versioned: the browser's own cache
        {"path": "/admin", "method": "GET", "mode": "navigate"},
        {"path": "/logout", "method": "POST", "mode": "navigate"},  # deletes the caches, then the network
    ]
    result = subprocess.run([NODE, "-e", ROUTING_HARNESS, str(script), json.dumps(cases)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    out = report["out"]
    # the never-answered paths are also static routes to the network (the worker is skipped)
    assert report["routes"] == [
        {"condition": {"urlPattern": {"pathname": prefix + "*"}}, "source": "network"} for prefix in pwa.NETWORK_ONLY
    ]
    assert out[:-1] == [
        "cache", "network", "cache", "network", "network",
        "none", "none", "none", "none", "none", "none", "none", "network",
    ]
    assert out[-1] == 0  # after the logout POST no cache of this scope is left
