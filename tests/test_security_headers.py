"""Security headers on every response, the cross-site check, and the page working
under its Content-Security-Policy in Chromium (no violations in normal use)."""

from __future__ import annotations

import pytest

from tests.upstream import Reply

CHAT_BODY = {"messages": [{"role": "user", "content": "hi"}]}
REQUIRED = ("Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options")


def _assert_headers(response, what: str) -> None:
    for name in REQUIRED:
        assert name in response.headers, f"{name} missing on {what}"
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "'unsafe-inline'" not in csp.split("script-src", 1)[1].split(";", 1)[0]
    assert "object-src 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_headers_on_every_kind_of_response(make_client):
    client = make_client()
    responses = {
        "page": client.get("/"),
        "layout": client.get("/_dash-layout"),
        "asset": client.get("/assets/js/main.mjs"),
        "health": client.get("/healthz"),
        "not found": client.get("/no/such/thing.js"),
        "json error": client.post("/api/chat/stream", data="{", content_type="application/json"),
        "stream": client.post("/api/chat/stream", json=CHAT_BODY),
        "too large": client.post("/_dash-update-component", data=b"x" * 3_000_000, content_type="application/json"),
        "callback": client.post("/_dash-update-component", json={}),
    }
    for what, response in responses.items():
        _assert_headers(response, what)
    assert responses["json error"].status_code == 400
    assert responses["too large"].status_code == 413


def test_csp_hashes_cover_dash_inline_scripts(make_client):
    import re

    page = make_client().get("/")
    html = re.sub(r"<!--.*?-->", "", page.get_data(as_text=True), flags=re.S)  # IE-only comment blocks
    csp = page.headers["Content-Security-Policy"]
    import base64
    import hashlib

    executable = [
        body
        for attrs, body in re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
        if "src=" not in attrs and "application/json" not in attrs and body.strip()
    ]
    assert executable, "expected Dash's inline renderer script"
    for body in executable:
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in csp


@pytest.mark.parametrize(
    "headers, status",
    [
        ({"Origin": "https://evil.example"}, 403),
        ({"Origin": "null"}, 403),
        ({"Sec-Fetch-Site": "cross-site"}, 403),
        ({"Sec-Fetch-Site": "same-site", "Origin": "http://sub.localhost"}, 403),
        ({"Origin": "http://localhost.evil.example"}, 403),
        ({"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}, 200),
        ({"Origin": "https://localhost"}, 200),  # TLS ended by a proxy the app does not trust
        ({}, 200),
    ],
)
def test_stream_refuses_cross_site_requests(make_client, headers, status):
    response = make_client().post("/api/chat/stream", json=CHAT_BODY, headers=headers)
    assert response.status_code == status
    if status == 403:
        assert response.json["error"]["code"] == "forbidden_origin"


def test_callbacks_and_login_refuse_cross_site_too(make_client):
    client = make_client(access_codes="code-one", secret_key="k" * 32)
    assert client.post("/login", data={"code": "code-one"}, headers={"Origin": "https://evil.example"}).status_code == 403
    assert client.post("/_dash-update-component", json={}, headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403


@pytest.mark.browser
def test_page_works_under_csp_in_chromium(app_server, fresh_upstream, page):
    page.add_init_script(
        "window.__csp = []; document.addEventListener('securitypolicyviolation',"
        " e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"
    )
    console = []
    page.on("console", lambda msg: console.append(msg.text) if msg.type in ("error", "warning") else None)
    page.goto(app_server.url)
    page.wait_for_selector("#chat-input")
    fresh_upstream.script(Reply(content="Hello **bold** [docs](https://example.com/docs) and [bad](javascript:alert(1))"))
    page.fill("#chat-input", "hello")
    page.click("#chat-send-button")
    reply = page.locator(".chat-message-assistant").last
    reply.locator("strong").wait_for(timeout=15000)
    hrefs = reply.locator("a").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    assert "https://example.com/docs" in hrefs  # the link filter (eval) works under the CSP
    assert not any(h and h.lower().startswith("javascript:") for h in hrefs)
    page.wait_for_timeout(300)
    assert page.evaluate("window.__csp") == []
    assert not [line for line in console if "Content Security Policy" in line], console
    assert page.errors == []


def test_csp_is_computed_once_not_per_response(make_client):
    client = make_client()
    dash_app = client.application.config["CHAT_DASH_APP"]
    calls = []
    original = dash_app.csp_hashes
    dash_app.csp_hashes = lambda *a, **k: calls.append(1) or original(*a, **k)
    try:
        policies = {client.get(path).headers["Content-Security-Policy"] for path in ("/", "/healthz", "/", "/_dash-layout")}
    finally:
        dash_app.csp_hashes = original
    assert len(policies) == 1
    assert len(calls) <= 1  # once for the app (0 when an earlier response already made it)
