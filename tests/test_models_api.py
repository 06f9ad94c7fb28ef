"""``GET /api/models``: cached upstream list, validated ids, chat models only, a
fallback when the upstream fails, and a per-address rate limit (chatserver/stream_api.py,
chatcore/client.py). The upstream's ``/v1/models`` is scripted (tests/upstream.py)."""

from __future__ import annotations

import logging

import pytest

from chatcore import client as chat_client
from chatcore.client import is_chat_model, parse_model_ids
from tests.conftest import TEST_KEY


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    """An empty model-list cache reading the fake clock (emptied again afterwards)."""
    fake = Clock()
    chat_client.MODEL_LISTS.clear()
    monkeypatch.setattr(chat_client.MODEL_LISTS, "clock", fake)
    yield fake
    chat_client.MODEL_LISTS.clear()


def models(client, addr: str = "127.0.0.1", lang: str = "en-US"):
    """One ``GET /api/models`` from ``addr``."""
    return client.get("/api/models", headers={"Accept-Language": lang}, environ_base={"REMOTE_ADDR": addr})


def test_upstream_list_is_cached_60s_per_base_url_and_key(make_client, fresh_upstream, clock):
    client = make_client()
    for _ in range(5):
        assert models(client).get_json()["models"] == ["test-model", "test-model-2"]
    assert fresh_upstream.models_requests == 1
    clock.now += 59
    models(client)
    assert fresh_upstream.models_requests == 1
    clock.now += 2  # 61 s after the first fetch
    models(client)
    assert fresh_upstream.models_requests == 2
    # another key is another cache entry
    models(make_client(openai_api_key="sk-other-server-key-0123456789"))
    assert fresh_upstream.models_requests == 3


def test_ids_that_are_not_model_names_are_left_out(make_client, fresh_upstream, clock):
    fresh_upstream.script_models([
        {"id": {"type": "Iframe", "namespace": "dash_html_components", "props": {"srcDoc": "<script>x</script>"}}},
        {"id": 42},
        {"id": 4.5},
        {"id": None},
        {"id": True},
        {"id": ["a"]},
        {"object": "model"},
        "bare-string",
        7,
        {"id": ""},
        {"id": "<img src=x onerror=alert(1)>"},
        {"id": "x" * 201},
        {"id": "good-model", "object": "model", "owned_by": "me"},
        {"id": "org/model:free"},
    ])
    body = models(make_client()).get_json()
    assert body == {"models": ["test-model", "good-model", "org/model:free"], "default": "test-model"}
    assert all(isinstance(name, str) for name in body["models"])


def test_non_chat_models_are_left_out_unless_configured(make_client, fresh_upstream, clock):
    upstream_ids = [
        "gpt-4o-mini", "text-embedding-3-small", "text-embedding-ada-002", "dall-e-3", "gpt-image-1", "tts-1-hd",
        "gpt-4o-mini-tts", "whisper-1", "gpt-4o-transcribe", "omni-moderation-latest", "text-moderation-stable",
        "gpt-4o-search-preview", "o3-mini", "deepseek-chat",
    ]
    fresh_upstream.script_models([{"id": name, "object": "model"} for name in upstream_ids])
    client = make_client(openai_models=["whisper-1", "gpt-4o-mini"])
    assert models(client).get_json()["models"] == ["test-model", "whisper-1", "gpt-4o-mini", "deepseek-chat", "o3-mini"]


def test_chat_model_patterns():
    for name in ["gpt-4o", "o1-preview", "deepseek-reasoner", "qwen2.5:7b", "claude-3-5-sonnet", "llama3"]:
        assert is_chat_model(name), name
    for name in ["text-embedding-3-large", "nomic-embed-text", "dall-e-2", "chatgpt-image-latest", "tts-1",
                 "whisper-large-v3", "gpt-4o-transcribe", "omni-moderation-2024-09-26", "gpt-4o-mini-search-preview"]:
        assert not is_chat_model(name), name
    with pytest.raises(ValueError):
        parse_model_ids({"data": {"id": "x"}})
    with pytest.raises(ValueError):
        parse_model_ids([{"id": "x"}])
    assert parse_model_ids({"data": [{"id": "b"}, {"id": "a"}, {"id": "b"}]}) == ["a", "b"]


def test_failed_list_falls_back_with_one_warning(make_client, fresh_upstream, clock, caplog):
    fresh_upstream.script_models(status=500)
    client = make_client(openai_models=["extra-model"])
    with caplog.at_level(logging.INFO):
        for _ in range(3):
            response = models(client)
            assert response.status_code == 200
            assert response.get_json()["models"] == ["test-model", "extra-model"]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "models list" in r.getMessage()]
    assert len(warnings) == 1 and "\n" not in warnings[0].getMessage()
    assert TEST_KEY not in caplog.text
    assert fresh_upstream.models_requests == 1, "a failing upstream is not asked on every request"


def test_models_route_is_rate_limited_per_address(make_client, fresh_upstream, clock):
    client = make_client(models_rate_limit="3 per minute")
    assert [models(client).status_code for _ in range(3)] == [200, 200, 200]
    limited = models(client)
    assert limited.status_code == 429
    error = limited.get_json()["error"]
    assert error["code"] == "models_rate_limited" and "too often" in error["message"]
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert "频繁" in models(client, lang="zh-CN").get_json()["error"]["message"]
    assert models(client, addr="10.1.2.3").status_code == 200


def test_models_rate_limit_default():
    from tests.conftest import make_settings

    assert make_settings().models_rate_limit == "30 per minute"
    assert make_settings(models_rate_limit="").models_rate_limit == ""
    with pytest.raises(ValueError):
        make_settings(models_rate_limit="lots")
