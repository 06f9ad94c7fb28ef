"""Several connections at once (CONNECTIONS, chatcore/connections.py; issue 17): two test
upstreams on loopback, each with its own key; the page picks a model of each from the
grouped model select, and each upstream sees only its own key and its own model."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from tests.conftest import NO_LIMITS, AppProcess
from tests.e2e_chat import open_chat, open_settings, save_settings, send
from tests.upstream import UpstreamServer

pytestmark = pytest.mark.browser

ALPHA_KEY = "sk-alpha-connection-key-111"
BETA_KEY = "sk-beta-connection-key-222"


def chats(upstream: UpstreamServer) -> list[dict]:
    return [r for r in upstream.requests if r["path"].endswith("/chat/completions")]


def test_two_connections_each_get_only_their_own_key(page):
    alpha, beta = UpstreamServer().start(), UpstreamServer().start()
    connections = [
        {"name": "alpha", "base_url": alpha.url, "api_key": ALPHA_KEY, "models": ["model-a"]},
        {"name": "beta", "base_url": beta.url, "api_key": BETA_KEY, "models": ["model-b"]},
    ]
    app = AppProcess({"CONNECTIONS": json.dumps(connections), "REQUEST_TIMEOUT": "5", "MAX_RETRIES": "0", **NO_LIMITS})
    try:
        open_chat(page, app.url)
        for group, model_id in (("beta", "beta/model-b"), ("alpha", "alpha/model-a")):
            open_settings(page)
            page.locator("#chat-setting-model").click(force=True)  # (a chosen value lies over the input)
            expect(page.locator(".ant-select-item-group").filter(has_text=group)).to_have_count(1)
            page.locator(".ant-select-item-option").filter(has_text=model_id.split("/")[1]).click()
            save_settings(page)
            expect(page.locator("#header-model-tag")).to_have_text(model_id)
            send(page, f"hello {group}")
        a, b = chats(alpha), chats(beta)
        assert len(a) == 1 and len(b) == 1, (len(a), len(b))
        assert b[0]["headers"]["Authorization"] == f"Bearer {BETA_KEY}" and b[0]["body"]["model"] == "model-b"
        assert a[0]["headers"]["Authorization"] == f"Bearer {ALPHA_KEY}" and a[0]["body"]["model"] == "model-a"
        # the reply remembers the connection's model id
        models = page.evaluate("() => window.chatDebug.history().conversations.flatMap(c => c.messages).map(m => m.model).filter(Boolean)")
        assert models == ["beta/model-b", "alpha/model-a"], models
        for upstream in (alpha, beta):  # neither key ever reached the other URL, models lists included
            other_key = BETA_KEY if upstream is alpha else ALPHA_KEY
            assert all(other_key not in json.dumps(r["headers"]) for r in upstream.requests)
        log = app.log()
        assert ALPHA_KEY not in log and BETA_KEY not in log
        assert page.errors == [] if hasattr(page, "errors") else True
    finally:
        app.stop()
        alpha.stop()
        beta.stop()
