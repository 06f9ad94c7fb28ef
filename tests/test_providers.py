"""The provider catalog (chatcore/providers.toml) and what PROVIDER makes of it.

Each catalog entry is checked twice: the settings ``PROVIDER=<name>`` yields are the
entry's (base URL, models, context windows, capabilities, prices with currency, the key
it needs), and a chat request made with those settings reaches a loopback test upstream
with the entry's default model and the right key (the operator's, or the placeholder
for a local server). Explicit variables win; an unknown name stops start-up.
"""

from __future__ import annotations

import datetime
import os
from pathlib import Path

import pytest

from chatcore import providers
from chatcore.client import ClientOptions, get_client, stream_chat
from chatcore.providers import PLACEHOLDER_API_KEY, ModelCapabilities, ModelPrice, load_catalog
from config import DEFAULT_CONTEXT_WINDOWS, DEFAULT_MODEL_PRICES, SettingsError, load_settings
from tests.conftest import TEST_KEY

CATALOG = providers.catalog()
NAMES = ["openai", "deepseek", "qwen", "moonshot", "zhipu", "siliconflow", "openrouter", "ollama", "vllm", "lmstudio"]
CHINESE = {"deepseek", "qwen", "moonshot", "zhipu", "siliconflow"}
LOCAL = {"ollama", "vllm", "lmstudio"}


@pytest.fixture
def env(monkeypatch):
    """A clean environment for settings: no OPENAI_*, PROVIDER or CONNECTIONS from outside;
    returns a function that loads settings from the given variables."""
    for name in list(os.environ):
        if name.startswith("OPENAI_") or name in ("PROVIDER", "CONNECTIONS", "MODEL_PRICES", "MODEL_CONTEXT_WINDOWS",
                                                  "MODEL_CAPABILITIES", "DEFAULT_CONTEXT_WINDOW", "CHAT_BACKEND"):
            monkeypatch.delenv(name)

    previous: list[str] = []

    def set_env(**values: str):
        """Settings from exactly ``values`` (what an earlier call set is unset first)."""
        for key in previous:
            monkeypatch.delenv(key, raising=False)
        previous[:] = list(values)
        for key, value in values.items():
            monkeypatch.setenv(key, value)
        return load_settings(_env_file=None)

    return set_env


# ------------------------------------------------------------------ the file itself
def test_catalog_has_the_ten_providers_each_with_source_and_date():
    assert list(CATALOG) == NAMES
    for name, provider in CATALOG.items():
        assert provider.source.startswith("https://"), name
        assert isinstance(provider.checked, datetime.date) and datetime.date(2025, 1, 1) <= provider.checked <= datetime.date.today()
        assert provider.local == (name in LOCAL)
        assert provider.models and provider.default_model == provider.listed_models[0]
        if provider.prices():
            assert provider.currency == ("CNY" if name in CHINESE else "USD"), name
        if not provider.local:
            assert provider.key_url and provider.key_url.startswith("https://"), name
    # every remote provider prices its default model, so a reply's cost is shown
    assert all(p.default_model in p.prices() for p in CATALOG.values() if not p.local)


def test_the_file_says_prices_must_be_checked():
    text = providers.CATALOG_PATH.read_text(encoding="utf-8")
    assert "PRICES MUST BE CHECKED" in text and "MODEL_PRICES" in text


@pytest.mark.parametrize(
    "change,needle",
    [
        ('default_model = "deepseek-chat"', 'default_model = "nope"'),
        ("context_window = 128000\nprompt = 2.0", "context_window = 10\nprompt = 2.0"),
        ('currency = "CNY"', 'currency = "yuan"'),
        ("prompt = 2.0\ncompletion = 3.0\n\n[deepseek.models.\"deepseek-reasoner\"]",
         "prompt = 2.0\n\n[deepseek.models.\"deepseek-reasoner\"]"),
        ('aliases = ["kimi"]', 'aliases = ["glm"]'),
        ('base_url = "http://localhost:11434/v1"', 'base_url = "https://ollama.example.com/v1"'),
        ("checked = 2025-09-29", 'checked = "recently"'),
    ],
)
def test_a_broken_catalog_entry_is_refused(tmp_path: Path, change, needle):
    """The catalog's own validation: a typo in providers.toml fails loudly, naming the entry."""
    text = providers.CATALOG_PATH.read_text(encoding="utf-8")
    assert change in text
    broken = tmp_path / "providers.toml"
    broken.write_text(text.replace(change, needle, 1), encoding="utf-8")
    with pytest.raises(providers.CatalogError):
        load_catalog(broken)


# ------------------------------------------------------------------ PROVIDER → settings
@pytest.mark.parametrize("name", NAMES)
def test_provider_yields_its_catalog_settings(env, name):
    provider = CATALOG[name]
    settings = env(PROVIDER=name)
    assert settings.provider == name
    assert settings.openai_base_url == provider.base_url
    assert settings.openai_model == provider.default_model
    assert settings.models == provider.listed_models
    for model, info in provider.models.items():
        if info.context_window:
            assert settings.context_window(model) == info.context_window, model
        assert settings.capabilities(model) == ModelCapabilities(reasoning=info.reasoning, vision=info.vision), model
        if info.prompt is not None:
            assert settings.model_prices[model] == ModelPrice(prompt=info.prompt, completion=info.completion,
                                                             currency=provider.currency), model
    assert settings.default_context_window == (provider.default_context_window or 8192)
    # the built-in tables stay (a test upstream serving gpt-4o-mini still has its price)
    assert settings.model_prices["gpt-4o-mini"] == DEFAULT_MODEL_PRICES["gpt-4o-mini"] or name == "openai"
    assert settings.needs_api_key == (not provider.local)
    if provider.local:
        assert settings.upstream_api_key.get_secret_value() == PLACEHOLDER_API_KEY
        assert not settings.has_server_key  # the placeholder is not an operator key
    else:
        assert settings.upstream_api_key is None
        assert env(PROVIDER=name, OPENAI_API_KEY=TEST_KEY).upstream_api_key.get_secret_value() == TEST_KEY
    # settings set by PROVIDER are not "set by the operator" (configure_backend reads this)
    assert settings.model_fields_set == {"provider"}


@pytest.mark.parametrize("name", NAMES)
def test_provider_request_reaches_a_loopback_upstream(env, fresh_upstream, name):
    """A request with the provider's settings (its URL pointed at the test upstream):
    the entry's default model, and the operator key or, for a local server, the placeholder."""
    provider = CATALOG[name]
    key = {} if provider.local else {"OPENAI_API_KEY": TEST_KEY}
    settings = env(PROVIDER=name, OPENAI_BASE_URL=fresh_upstream.url, **key)
    client = get_client(ClientOptions(base_url=settings.openai_base_url, timeout=10, max_retries=0))
    events = list(stream_chat(client, api_key=settings.upstream_api_key.get_secret_value(), model=settings.openai_model,
                              messages=[{"role": "user", "content": f"hello {name}"}]))
    assert "".join(e.data["content"] for e in events if e.name == "delta") == f"Echo: hello {name}"
    [request] = fresh_upstream.requests
    assert request["body"]["model"] == provider.default_model
    expected = PLACEHOLDER_API_KEY if provider.local else TEST_KEY
    assert request["headers"]["Authorization"] == f"Bearer {expected}"


def test_explicit_variables_win(env):
    settings = env(
        PROVIDER="deepseek", OPENAI_BASE_URL="https://api.deepseek.com/v1", OPENAI_MODEL="deepseek-reasoner",
        MODEL_PRICES='{"deepseek-chat": {"prompt": 1, "completion": 1, "currency": "CNY"}}',
        MODEL_CONTEXT_WINDOWS='{"deepseek-chat": 4096}', DEFAULT_CONTEXT_WINDOW="2048",
        MODEL_CAPABILITIES='{"deepseek-chat": {"vision": true}}',
    )
    assert settings.openai_base_url == "https://api.deepseek.com/v1"
    assert settings.models == ["deepseek-reasoner", "deepseek-chat"]  # the provider's other models still offered
    # an explicit table replaces the whole table (as without PROVIDER)
    assert settings.model_prices == {"deepseek-chat": ModelPrice(prompt=1, completion=1, currency="CNY")}
    assert settings.context_window("deepseek-chat") == 4096 and settings.context_window("deepseek-reasoner") == 2048
    assert settings.capabilities("deepseek-chat").vision and not settings.capabilities("deepseek-reasoner").reasoning
    assert env(PROVIDER="deepseek", OPENAI_MODELS="extra-model").models == ["deepseek-chat", "extra-model"]
    assert env(PROVIDER="ollama", OPENAI_API_KEY=TEST_KEY).upstream_api_key.get_secret_value() == TEST_KEY


def test_lines_of_an_old_env_example_do_not_block_provider(env):
    """The .env.example of earlier releases set OPENAI_BASE_URL/OPENAI_MODEL to OpenAI's
    defaults and OPENAI_MODELS empty: with PROVIDER those lines are not a choice."""
    settings = env(PROVIDER="qwen", OPENAI_BASE_URL="https://api.openai.com/v1", OPENAI_MODEL="gpt-4o-mini", OPENAI_MODELS="")
    assert settings.openai_base_url == CATALOG["qwen"].base_url and settings.models == CATALOG["qwen"].listed_models
    assert env(PROVIDER="openai", OPENAI_MODEL="gpt-4o-mini", OPENAI_MODELS="").models == CATALOG["openai"].listed_models


def test_provider_names_ignore_case_and_accept_aliases(env):
    assert env(PROVIDER=" Kimi ").provider == "moonshot"
    assert env(PROVIDER="GLM").openai_base_url == "https://open.bigmodel.cn/api/paas/v4"
    assert env(PROVIDER="").provider == ""


def test_unknown_provider_stops_startup_with_the_known_names(env):
    with pytest.raises(SettingsError) as info:
        env(PROVIDER="deepsek")
    message = str(info.value)
    assert "PROVIDER:" in message and "unknown provider" in message
    assert all(name in message for name in NAMES)
    assert "deepsek" not in message  # settings errors never echo a value


def test_without_provider_a_catalog_host_still_gets_its_prices(env):
    """No PROVIDER, but the base URL is DeepSeek's: prices, windows and capabilities follow
    (cost no longer disappears), while base URL and models stay as configured."""
    settings = env(OPENAI_BASE_URL="https://api.deepseek.com/v1", OPENAI_MODEL="deepseek-reasoner")
    assert settings.provider == "" and settings.models == ["deepseek-reasoner"]
    assert settings.model_prices["deepseek-reasoner"].currency == "CNY"
    assert settings.capabilities("deepseek-reasoner").reasoning
    assert settings.context_window("deepseek-reasoner") == 128000
    assert env(OPENAI_BASE_URL="http://127.0.0.1:11434/v1").default_context_window == 4096  # Ollama's port
    # the defaults themselves come from the catalog
    assert DEFAULT_CONTEXT_WINDOWS["gpt-4o-mini"] == 128000 and DEFAULT_MODEL_PRICES["gpt-4o"].prompt == 2.5


@pytest.mark.parametrize(
    "url,loopback",
    [("http://localhost:8080/v1", True), ("http://127.0.0.1:1/v1", True), ("http://127.8.9.1/v1", True),
     ("http://[::1]:8000/v1", True), ("http://app.localhost/v1", True), ("https://api.openai.com/v1", False),
     ("http://192.168.1.10:11434/v1", False), ("http://localhost.example.com/v1", False), ("not a url", False)],
)
def test_loopback_base_urls_need_no_key(env, url, loopback):
    assert providers.is_loopback_url(url) is loopback
    if url.startswith("http"):
        settings = env(OPENAI_BASE_URL=url)
        assert settings.needs_api_key is not loopback
        assert (settings.upstream_api_key is not None) is loopback


def test_price_symbols():
    assert ModelPrice(prompt=1, completion=1, currency="CNY").symbol == "¥"
    assert ModelPrice(prompt=1, completion=1).symbol == "$"
    assert ModelPrice(prompt=1, completion=1, currency="CHF").symbol == "CHF "
