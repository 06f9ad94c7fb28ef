"""The installable app in Chromium (chatserver/pwa.py, chatserver/sw.js, assets/js/pwa.mjs):
the service worker installs and controls the page, a repeat visit takes the bundles
from its cache, the HTML comes from the network first, the API and the stream are never
cached, logging out deletes the caches but keeps the conversations, and Chromium finds
nothing missing for installation (``Page.getInstallabilityErrors``).

One app process for the module (with ACCESS_CODES, so the login and logout paths are
real), behind a small TCP relay that counts the bytes the browser receives: the
numbers in docs/pwa.md come from ``test_repeat_visit_takes_the_bundles_from_the_worker``
(also written to test-artifacts/pwa-bytes.json). 127.0.0.1 is a secure context, so
service workers run over plain HTTP here.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time

import pytest

from chatserver import pwa
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, NO_LIMITS, ROOT, AppProcess, app_env, free_port
from tests.e2e_chat import history, open_chat, send

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

CODE = "pwa-code-1"
SECRET = "s3cret-for-pwa-tests-" + "x" * 16
CACHE_URLS_JS = """async () => {
  const out = {};
  for (const name of await caches.keys()) out[name] = (await (await caches.open(name)).keys()).map((r) => r.url);
  return out;
}"""


class ByteRelay:
    """A TCP relay 127.0.0.1:<port> → the app, counting the bytes sent back to the
    browser (``received``): what crossed the network, whatever cache answered the rest."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.received = 0
        self._lock = threading.Lock()
        self._server = socket.create_server(("127.0.0.1", self.port))
        self._stop = False

    def start(self) -> "ByteRelay":
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def _accept(self) -> None:
        while not self._stop:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
        except OSError:
            client.close()  # the app is down: the browser sees a network error
            return
        upstream.settimeout(None)
        threading.Thread(target=self._pump, args=(client, upstream, False), daemon=True).start()
        self._pump(upstream, client, True)

    def _pump(self, source: socket.socket, sink: socket.socket, count: bool) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if count:
                    with self._lock:
                        self.received += len(data)
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def stop(self) -> None:
        self._stop = True
        self._server.close()


class Site:
    """The module's app process behind its relay; ``restart`` keeps the port (and so the origin)."""

    def __init__(self, upstream) -> None:
        self.env = app_env(upstream, ACCESS_CODES=CODE, SECRET_KEY=SECRET, **NO_LIMITS)
        self.app = AppProcess(self.env)
        self.relay = ByteRelay(self.app.port).start()
        self.url = self.relay.url

    def stop_app(self) -> None:
        self.app.stop()

    def start_app(self) -> None:
        self.app = AppProcess(self.env, port=self.app.port)

    def requests_since(self, offset: int) -> list[str]:
        """Request paths the app logged after ``offset`` characters of its log."""
        return re.findall(r'"(?:GET|POST|HEAD) (\S+) HTTP/1\.1"', self.app.log()[offset:])


@pytest.fixture(scope="module")
def site(upstream):
    site = Site(upstream)
    yield site
    site.relay.stop()
    site.app.stop()


def signed_in_context(browser, site: Site, **options):
    """A fresh browser context (empty storage) holding a signed-in session cookie."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, **options)
    response = context.request.post(site.url + "/login", form={"code": CODE}, max_redirects=0)
    assert response.status == 303 and response.headers.get("x-login-result") == "ok"
    return context


def new_page(context):
    page = context.new_page()
    page.set_default_timeout(30000)  # a shared 2-core machine: the worker's install competes with the page
    page.errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))  # type: ignore[attr-defined]
    return page


def wait_controlled(page) -> str:
    """Wait until the worker is active (precache done) and controls the page; its script URL."""
    page.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=30000)
    return page.evaluate("() => navigator.serviceWorker.controller.scriptURL")


def test_repeat_visit_takes_the_bundles_from_the_worker(browser, site, fresh_upstream):
    context = signed_in_context(browser, site)
    try:
        page = new_page(context)
        start = site.relay.received
        open_chat(page, site.url)
        wait_controlled(page)  # after the first load: pwa.mjs registers on "load"
        cold = site.relay.received - start
        # installs and controls the page after a reload too, with the scope of the base path
        open_chat(page, site.url)  # a second load, controlled: lazy chunks are stored now
        assert wait_controlled(page) == site.url + pwa.SW_PATH
        assert page.evaluate("() => navigator.serviceWorker.getRegistration().then((r) => r.scope)") == site.url + "/"

        # a repeat visit with the HTTP cache emptied: only the worker can supply the bundles
        context.new_cdp_session(page).send("Network.clearBrowserCache")
        responses = []
        page.on("response", lambda r: responses.append(r))
        offset, start = len(site.app.log()), site.relay.received
        open_chat(page, site.url)
        repeat_no_http_cache = site.relay.received - start
        served = [path for path in site.requests_since(offset) if pwa.is_versioned(path)]
        assert served == [], served  # no versioned bundle reached the server
        bundles = [r for r in responses if pwa.is_versioned(r.url[len(site.url):])]
        assert len(bundles) >= 10 and all(r.from_service_worker for r in bundles)
        page_response = [r for r in responses if r.url == site.url + "/"][0]
        assert page_response.from_service_worker  # the worker fetched it (network-first)
        assert "/" in site.requests_since(offset)  # …from the server

        # an ordinary repeat visit (HTTP cache kept too)
        start = site.relay.received
        open_chat(page, site.url)
        repeat = site.relay.received - start
        assert repeat_no_http_cache < cold / 4 and repeat < cold / 4
        assert page.errors == []
    finally:
        context.close()

    numbers = {
        "cold_load_bytes": cold,
        "repeat_visit_bytes_with_worker": repeat,
        "repeat_visit_bytes_with_worker_http_cache_emptied": repeat_no_http_cache,
    }
    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    (ROOT / "test-artifacts" / "pwa-bytes.json").write_text(json.dumps(numbers, indent=2))
    print(numbers)


def test_api_and_stream_are_never_cached(browser, site, fresh_upstream):
    context = signed_in_context(browser, site)
    try:
        page = new_page(context)
        open_chat(page, site.url)
        wait_controlled(page)
        responses = []
        page.on("response", lambda r: responses.append(r))
        open_chat(page, site.url)  # controlled now: its layout and callbacks pass the worker by
        assert page.evaluate("() => navigator.serviceWorker.controller !== null")
        send(page, "is this cached?")
        send(page, "is this cached?")
        models = page.evaluate("() => fetch('api/models').then((r) => r.status)")
        assert models == 200
        stream = [r for r in responses if r.url.endswith("/api/chat/stream")]
        assert len(stream) == 2 and not any(r.from_service_worker for r in stream)
        assert len(fresh_upstream.requests) >= 2  # both replies came from the upstream
        dash_routes = [r for r in responses if re.search(r"/_dash-(update-component|layout|dependencies)", r.url)]
        assert len(dash_routes) >= 3 and not any(r.from_service_worker for r in dash_routes)
        # the stream, the API and the layout skip the worker altogether: its static routes
        # (Chromium's resource timing names the rule's source) — no worker start-up first
        routed = page.evaluate(r"""() => performance.getEntriesByType('resource')
            .filter((e) => /\/api\/chat\/stream|\/api\/models|\/_dash-update-component/.test(e.name))
            .map((e) => e.workerMatchedSourceType)""")
        assert len(routed) >= 4 and set(routed) == {"network"}, routed
        stored = [url for urls in page.evaluate(CACHE_URLS_JS).values() for url in urls]
        assert stored and not [url for url in stored if "/api/" in url or "/_dash-update" in url or "/_dash-layout" in url]
        assert page.errors == []
    finally:
        context.close()


def test_html_is_network_first(browser, site, fresh_upstream):
    """The page's HTML carries Dash's per-load config (``end_id``, signed by this process)
    and the CSP hashes: each load takes it from the server; the stored copy answers only
    while the server is down."""
    context = signed_in_context(browser, site)
    config_js = "() => JSON.parse(document.getElementById('_dash-config').textContent).end_id"
    try:
        page = new_page(context)
        open_chat(page, site.url)
        wait_controlled(page)
        page.reload()
        open_chat(page, site.url)
        wait_controlled(page)
        first = page.evaluate(config_js)
        # a new server process: its config shows up on the next load, and the page works with it
        site.stop_app()
        site.start_app()
        open_chat(page, site.url)
        assert page.evaluate("() => navigator.serviceWorker.controller !== null")
        current = page.evaluate(config_js)
        assert current != first
        send(page, "after a restart")
        assert history(page)["conversations"][0]["messages"][-1]["content"] == "Echo: after a restart"
        # the server down: the stored copy of the page (the latest) answers the navigation
        site.stop_app()
        page.goto(site.url)
        assert page.evaluate(config_js) == current
    finally:
        if site.app.proc.poll() is not None:
            site.start_app()
        context.close()


def test_logout_clears_the_caches_and_keeps_the_conversations(browser, site, fresh_upstream):
    context = signed_in_context(browser, site)
    try:
        page = new_page(context)
        open_chat(page, site.url)
        wait_controlled(page)
        page.reload()
        open_chat(page, site.url)
        send(page, "keep me after logout")
        stored = page.evaluate(CACHE_URLS_JS)
        assert any(site.url + "/" in urls for urls in stored.values())  # the chat page's HTML
        offset = len(site.app.log())
        page.click("#chat-logout-button")
        page.wait_for_selector("#login-code")
        stored = page.evaluate(CACHE_URLS_JS)
        assert not any(site.url + "/" in urls for urls in stored.values())
        # the login page's bundles came from the server again: the worker's cache was gone
        assert [path for path in site.requests_since(offset) if pwa.is_versioned(path)]
        # the conversations stay in this browser
        page.fill("#login-code", CODE)
        page.click("#login-submit")
        page.wait_for_selector("#chat-input")
        page.wait_for_function("() => window.chatDebug && window.chatDebug.lastRender !== null")
        texts = [m["content"] for c in history(page)["conversations"] for m in c["messages"]]
        assert "keep me after logout" in texts
        assert page.errors == []
    finally:
        context.close()


def test_chromium_finds_it_installable(browser, site, tmp_path):
    """``Page.getInstallabilityErrors`` on the page, signed out (the login page: the same
    head). Playwright's contexts of the shared browser are off-the-record, and there
    Chromium answers only ``[{"errorId": "in-incognito"}]`` (asserted first); so the
    check itself runs in a persistent (ordinary) profile of the same Chromium, launched
    for this test. Without the manifest link Chromium answers ``no-manifest``; with an
    icon missing, ``no-acceptable-icon`` (measured)."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(site.url + "/")
        page.wait_for_selector("#login-code")
        errors = context.new_cdp_session(page).send("Page.getInstallabilityErrors")["installabilityErrors"]
        assert [error["errorId"] for error in errors] == ["in-incognito"]
    finally:
        context.close()

    profile = browser.browser_type.launch_persistent_context(
        str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )
    try:
        page = profile.pages[0] if profile.pages else profile.new_page()
        page.goto(site.url + "/")
        page.wait_for_selector("#login-code")
        assert wait_controlled(page) == site.url + pwa.SW_PATH  # registered from the login page too
        cdp = profile.new_cdp_session(page)
        manifest = cdp.send("Page.getAppManifest")
        assert manifest["url"] == site.url + pwa.MANIFEST_PATH and manifest["errors"] == []
        assert json.loads(manifest["data"])["start_url"] == "/"
        assert cdp.send("Page.getInstallabilityErrors")["installabilityErrors"] == []
    finally:
        profile.close()
