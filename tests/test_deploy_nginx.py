"""The nginx sites in deploy/nginx/ in front of the real gunicorn, with Debian's nginx.

Each site file is used as shipped, with only what a machine must change rewritten:
the listen ports (free loopback ports), the gunicorn address (a free port) and, for
HTTPS, the certificate paths (a self-signed certificate made here with openssl).
Everything listens on 127.0.0.1.
"""

from __future__ import annotations

import re
import shutil
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest

from chatcore.sse import parse_events
from tests.conftest import ROOT, AppProcess, app_env, free_port, wait_http
from tests.upstream import Reply

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed (.ci/run installs it)"),
]

DOMAIN = "chat.example.com"
SITES = ROOT / "deploy" / "nginx"


def site_for_test(name: str, app_port: int, http_port: int, https_port: int, cert: Path | None) -> str:
    """``deploy/nginx/<name>`` with ports and certificate paths rewritten for this machine."""
    text = (SITES / name).read_text()
    assert "127.0.0.1:8050" in text
    text = text.replace("127.0.0.1:8050", f"127.0.0.1:{app_port}")
    text = re.sub(r"^\s*listen \[::\].*$", "", text, flags=re.M)  # loopback IPv4 only
    text = re.sub(r"listen 80;", f"listen 127.0.0.1:{http_port};", text)
    text = re.sub(r"listen 443 ", f"listen 127.0.0.1:{https_port} ", text)
    if cert is not None:
        text = re.sub(r"ssl_certificate\s+\S+;", f"ssl_certificate {cert / 'cert.pem'};", text)
        text = re.sub(r"ssl_certificate_key\s+\S+;", f"ssl_certificate_key {cert / 'key.pem'};", text)
    return text


class Nginx:
    """Debian's nginx in the foreground with a private prefix, pid file and logs."""

    def __init__(self, tmp: Path, site: str):
        self.tmp = tmp
        temp_paths = "\n".join(
            f"    {kind}_temp_path {tmp / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        conf = tmp / "nginx.conf"
        conf.write_text(
            f"worker_processes 1;\npid {tmp / 'nginx.pid'};\nerror_log {tmp / 'error.log'} info;\n"
            "events { worker_connections 512; }\n"
            f"http {{\n    include /etc/nginx/mime.types;\n    default_type application/octet-stream;\n"
            f"    access_log {tmp / 'access.log'};\n{temp_paths}\n{site}\n}}\n"
        )
        check = subprocess.run(["nginx", "-t", "-p", str(tmp), "-c", str(conf)], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        self.proc = subprocess.Popen(
            ["nginx", "-p", str(tmp), "-c", str(conf), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )

    def stop(self) -> None:
        """Stop nginx (SIGTERM: fast shutdown)."""
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    def error_log(self) -> str:
        """nginx's error log so far."""
        path = self.tmp / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""


def make_cert(directory: Path) -> Path:
    """A self-signed certificate for the domain and 127.0.0.1 (1 day); returns the directory."""
    directory.mkdir()
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(directory / "key.pem"), "-out", str(directory / "cert.pem"),
         "-subj", f"/CN={DOMAIN}", "-addext", f"subjectAltName=DNS:{DOMAIN},IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    return directory


@pytest.fixture(scope="module")
def gunicorn_app(upstream):
    """`gunicorn chat_app:server` with gunicorn.conf.py (one worker) on a free loopback port,
    configured as README's nginx section says (TRUSTED_PROXIES=1)."""
    port = free_port()
    gunicorn = [sys.executable, "-m", "gunicorn", "chat_app:server"]
    env = app_env(upstream, GUNICORN_BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY="1", TRUSTED_PROXIES="1")
    app = AppProcess(env, gunicorn, port)
    yield app
    app.stop()


@pytest.fixture(scope="module")
def nginx_http(gunicorn_app, tmp_path_factory):
    """deploy/nginx/http.conf in front of gunicorn; yields the base URL."""
    tmp = tmp_path_factory.mktemp("nginx-http")
    port = free_port()
    server = Nginx(tmp, site_for_test("http.conf", gunicorn_app.port, port, free_port(), None))
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/healthz", 15)
    yield url
    server.stop()


@pytest.fixture(scope="module")
def nginx_https(gunicorn_app, tmp_path_factory):
    """deploy/nginx/https.conf (self-signed certificate) in front of gunicorn.

    Yields ``(http_url, https_url, ssl_context)``; the context trusts only that certificate.
    """
    tmp = tmp_path_factory.mktemp("nginx-https")
    cert = make_cert(tmp / "cert")
    http_port, https_port = free_port(), free_port()
    server = Nginx(tmp, site_for_test("https.conf", gunicorn_app.port, http_port, https_port, cert))
    context = ssl.create_default_context(cafile=str(cert / "cert.pem"))
    https_url = f"https://127.0.0.1:{https_port}"
    deadline = time.monotonic() + 15
    while True:
        try:
            httpx2.get(https_url + "/healthz", verify=context, timeout=2)
            break
        except httpx2.TransportError:
            if time.monotonic() > deadline:
                raise RuntimeError("nginx (https) did not start:\n" + server.error_log())
            time.sleep(0.1)
    yield f"http://127.0.0.1:{http_port}", https_url, context
    server.stop()


def stream_timings(client: httpx2.Client, url: str) -> tuple[float, float, list[tuple[str, dict]]]:
    """POST a chat request and read the SSE body; returns (t_first_delta, t_done, events) in seconds."""
    body = {"messages": [{"role": "user", "content": "stream please"}]}
    started = time.monotonic()
    t_first = t_done = None
    raw = b""
    with client.stream("POST", url + "/api/chat/stream", json=body, headers={"Host": DOMAIN}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert "content-encoding" not in response.headers  # the stream is never gzipped
        for data in response.iter_raw():
            raw += data
            if t_first is None and b"event: delta" in raw:
                t_first = time.monotonic() - started
            if b"event: done" in raw:
                t_done = time.monotonic() - started
    assert t_first is not None and t_done is not None, raw
    return t_first, t_done, parse_events(raw)


def scripted_slow_reply(upstream) -> list[str]:
    """Queue a reply of 12 deltas 0.15 s apart (≈1.7 s in all); returns its deltas."""
    chunks = [f"part {i} " for i in range(12)]
    upstream.script(Reply(chunks=chunks, first_token_delay=0.05, chunk_delay=0.15))
    return chunks


def test_http_site_streams_live(fresh_upstream, nginx_http):
    """Through http.conf the first delta arrives long before the last (nothing buffered)."""
    chunks = scripted_slow_reply(fresh_upstream)
    with httpx2.Client(timeout=10) as client:
        t_first, t_done, events = stream_timings(client, nginx_http)
    assert [d["content"] for name, d in events if name == "delta"] == chunks
    # The upstream needs ≈1.7 s for the whole reply; a buffering proxy would deliver
    # the first delta only with the last one.
    assert t_first < 0.8, (t_first, t_done)
    assert t_done - t_first > 1.2, (t_first, t_done)


def test_http_site_serves_page_assets_gzip_and_body_limit(nginx_http, browser):
    """The page and every asset load through nginx; bundles are gzipped; the body limit matches the app."""
    context = browser.new_context()
    page = context.new_page()
    failed: list[str] = []
    responses: list[tuple[str, int]] = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.on("response", lambda response: responses.append((response.url, response.status)))
    page.goto(nginx_http + "/")
    page.wait_for_selector("#chat-input", state="visible", timeout=20000)
    page.wait_for_load_state("networkidle")
    context.close()
    assert not failed
    assert all(status < 400 for _, status in responses), responses
    scripts = [url for url, _ in responses if url.endswith(".js") or ".js?" in url]
    assert any("/_dash-component-suites/" in url for url in scripts)

    with httpx2.Client(timeout=10, headers={"Host": DOMAIN}) as client:
        bundle = client.get(scripts[0], headers={"Accept-Encoding": "gzip"})
        assert bundle.status_code == 200
        assert bundle.headers.get("content-encoding") == "gzip"
        # Every other route: above nginx's 2m (MAX_BODY_BYTES is 2,000,000), nginx refuses it.
        huge = client.post(nginx_http + "/_dash-update-component", content=b"x" * 3_000_000,
                           headers={"Content-Type": "application/json"})
        assert huge.status_code == 413 and "json" not in huge.headers.get("content-type", "")
        # The chat stream has its own limit, MAX_CHAT_BODY_BYTES (20,000,000; nginx 20m):
        # 3 MB reaches the app, just over its limit gets its JSON 413, over 20m nginx's.
        stream = client.post(nginx_http + "/api/chat/stream", content=b"x" * 3_000_000,
                             headers={"Content-Type": "application/json"})
        assert stream.status_code == 400 and stream.json()["error"]["code"] == "invalid_request"
        over_stream = client.post(nginx_http + "/api/chat/stream", content=b"x" * 20_100_000,
                                  headers={"Content-Type": "application/json"})
        assert over_stream.status_code == 413 and over_stream.json()["error"]["code"] == "payload_too_large"
        huge_stream = client.post(nginx_http + "/api/chat/stream", content=b"x" * 22_000_000,
                                  headers={"Content-Type": "application/json"})
        assert huge_stream.status_code == 413 and "json" not in huge_stream.headers.get("content-type", "")


def test_https_site_redirects_and_streams_live(fresh_upstream, nginx_https):
    """https.conf: HTTP answers 301 to HTTPS; over TLS the stream is live and /healthz works."""
    http_url, https_url, context = nginx_https
    redirect = httpx2.get(http_url + "/some/path?q=1", headers={"Host": DOMAIN}, follow_redirects=False)
    assert redirect.status_code == 301
    assert redirect.headers["location"] == f"https://{DOMAIN}/some/path?q=1"

    chunks = scripted_slow_reply(fresh_upstream)
    with httpx2.Client(timeout=10, verify=context) as client:
        assert client.get(https_url + "/healthz").json() == {"status": "ok"}
        t_first, t_done, events = stream_timings(client, https_url)
    assert [d["content"] for name, d in events if name == "delta"] == chunks
    assert t_first < 0.8, (t_first, t_done)
    assert t_done - t_first > 1.2, (t_first, t_done)


def test_https_site_chat_in_browser(fresh_upstream, nginx_https, browser):
    """A real page over HTTPS through nginx: it loads, sends a message and shows the reply.

    The precompressed bundle store is on (tests/conftest.py BUNDLE_LEVELS): its warming at
    start-up once ran Dash's one-time request setup before chat_app had registered its
    callbacks, so ``/_dash-dependencies`` was ``[]`` and no callback started
    (tests/test_bundle_store.py::test_warming_leaves_dash_first_request_setup_to_the_first_real_request).
    """
    _, https_url, _ = nginx_https
    context = browser.new_context(ignore_https_errors=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    with page.expect_response(lambda response: response.url.endswith("/_dash-dependencies")) as dependencies:
        page.goto(https_url + "/")
    assert len(dependencies.value.json()) > 10  # the page's callbacks
    page.wait_for_selector("#chat-input", state="visible", timeout=20000)
    page.fill("#chat-input", "hello through nginx")
    page.click("#chat-send-button")
    try:
        page.wait_for_selector(".chat-message-assistant:has-text('Echo: hello through nginx')", timeout=15000)
    finally:
        (ROOT / "test-artifacts").mkdir(exist_ok=True)
        page.screenshot(path=str(ROOT / "test-artifacts" / "nginx-https-chat.png"))
        context.close()
    assert not errors


def test_stop_through_nginx_closes_upstream_even_while_silent(fresh_upstream, nginx_http):
    """Closing the browser side of nginx before the first token closes the provider request too."""
    import socket

    fresh_upstream.script(Reply(content="late", first_token_delay=20))
    port = int(nginx_http.rsplit(":", 1)[1])
    body = b'{"messages": [{"role": "user", "content": "think long"}]}'
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"POST /api/chat/stream HTTP/1.1\r\nHost: " + DOMAIN.encode() + b"\r\n"
                     b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        seen = b""
        while b"event: meta" not in seen:
            data = sock.recv(4096)
            assert data, seen
            seen += data
        assert fresh_upstream.wait_for(lambda s: s.open_streams >= 1, timeout=5)
    closed_at = time.monotonic()
    closed = fresh_upstream.wait_closed(1, timeout=5)
    assert closed and closed[0]["reason"] == "client_disconnected"
    assert closed[0]["t_closed"] - closed_at < 3  # not the upstream's 20 s



def test_http_site_sheds_slow_uploads(nginx_http, gunicorn_app):
    """Slow request bodies through http.conf (the directives are the same in https.conf):
    stalled login bodies stay in nginx (request buffering: the app never sees them),
    stalled chat requests go on to the app (no buffering on the stream), the 65th request
    in progress from one address gets 429 at once (limit_conn 64), and every stalled body
    ends after about 10 s (client_body_timeout, or the app's REQUEST_BODY_TIMEOUT)."""
    import selectors
    import socket

    for name in ("http.conf", "https.conf"):
        text = (SITES / name).read_text()
        for directive in ("limit_conn_zone $binary_remote_addr zone=dash_chat_addr:10m;", "client_body_timeout 10s;",
                          "limit_conn dash_chat_addr 64;", "limit_conn_status 429;", "proxy_request_buffering on;",
                          "location = /api/chat/stream {", "client_max_body_size 20m;",
                          "location = /api/attachments/extract {", "client_max_body_size 11m;",
                          "location = /api/import/markdown {"):
            assert directive in text, (name, directive)
    port = int(nginx_http.rsplit(":", 1)[1])

    def stalled(path: str) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: {DOMAIN}\r\nContent-Type: application/json\r\n"
                     f"Content-Length: 100000\r\n\r\n{{\"messages\": [".encode())
        return sock

    started = time.monotonic()
    streams = [stalled("/api/chat/stream") for _ in range(3)]
    logins = [stalled("/login") for _ in range(62)]  # 3 + 61 in progress, then the 65th
    selector = selectors.DefaultSelector()
    replies: dict[socket.socket, bytes] = {}
    first: dict[socket.socket, float] = {}
    ended: dict[socket.socket, float] = {}
    for sock in streams + logins:
        sock.setblocking(False)
        replies[sock] = b""
        selector.register(sock, selectors.EVENT_READ)
    try:
        while len(ended) < len(replies) and time.monotonic() - started < 16:
            for key, _ in selector.select(timeout=0.1):
                try:
                    chunk = key.fileobj.recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    chunk = b""
                now = time.monotonic() - started
                replies[key.fileobj] += chunk
                if chunk:
                    first.setdefault(key.fileobj, now)
                else:
                    ended[key.fileobj] = now
                    selector.unregister(key.fileobj)
    finally:
        selector.close()
        for sock in replies:
            sock.close()
    refused = [sock for sock in replies if replies[sock][9:12] == b"429"]
    assert refused == [logins[-1]], [replies[sock][:12] for sock in refused]
    assert first[logins[-1]] < 2
    for sock in streams + logins[:-1]:
        assert sock in ended and 9 <= ended[sock] <= 15, (ended.get(sock), replies[sock][:200])
        assert replies[sock][9:12] in (b"408", b""), replies[sock][:200]  # 408, or closed without a reply
    log = gunicorn_app.log()
    assert "POST /login" not in log  # nginx held the stalled bodies; the app never saw them
    assert "POST /api/chat/stream" in log  # the stream's bodies went on to the app as they came
