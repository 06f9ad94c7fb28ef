"""CONNECTIONS: validation (a bad entry stops start-up, named by number and name, its key
never quoted) and the registry the app routes requests with: ``connection/model`` ids,
the implicit ``default`` connection of the single-connection variables, fallbacks, the
merged model list, per-connection model data, and key isolation — each connection's key
goes only to its own base URL, checked against two loopback upstreams that each accept
only their own key.
"""

from __future__ import annotations

import json
import os

import pytest

from chatcore.client import ClientOptions, get_client, stream_chat
from chatcore.connections import (
    DEFAULT_CONNECTION,
    ConnectionRegistry,
    ConnectionsError,
    Route,
    parse_connections,
)
from chatcore.providers import PLACEHOLDER_API_KEY, ModelCapabilities, ModelPrice
from config import SettingsError, load_settings
from tests.conftest import TEST_KEY
from tests.upstream import UpstreamServer

KEY_A = "sk-connection-a-0123456789abcdef"
KEY_B = "sk-connection-b-fedcba9876543210"


@pytest.fixture
def settings_from(monkeypatch):
    """``settings_from(CONNECTIONS=[...], OPENAI_API_KEY=...)``: settings from exactly these
    variables (lists are JSON-encoded), nothing from the outer environment or .env."""
    for name in list(os.environ):
        if name.startswith("OPENAI_") or name in ("PROVIDER", "CONNECTIONS", "MODEL_PRICES", "MODEL_CONTEXT_WINDOWS",
                                                  "MODEL_CAPABILITIES", "DEFAULT_CONTEXT_WINDOW"):
            monkeypatch.delenv(name)
    previous: list[str] = []

    def load(**values):
        for key in previous:
            monkeypatch.delenv(key, raising=False)
        previous[:] = list(values)
        for key, value in values.items():
            monkeypatch.setenv(key, value if isinstance(value, str) else json.dumps(value))
        return load_settings(_env_file=None)

    return load


# ------------------------------------------------------------------ validation
@pytest.mark.parametrize(
    "value,needle",
    [
        ("not json", "must be a JSON list"),
        ('{"name": "a"}', "must be a JSON list"),
        ('["a"]', "entry 1: must be an object"),
        ([{"base_url": "https://x.example/v1", "models": ["m"]}], "entry 1: name: Field required"),
        ([{"name": "a b", "base_url": "https://x.example/v1", "models": ["m"]}], 'entry 1 ("a b"): name: must be 1-32'),
        ([{"name": "Default", "base_url": "https://x.example/v1", "models": ["m"]}], 'entry 1 ("Default"): name:'),
        ([{"name": "ok", "base_url": "https://x.example/v1", "models": ["m"]},
          {"name": "w", "base_url": "ftp://x.example", "models": ["m"]}], 'entry 2 ("w"): base_url: must start with http'),
        ([{"name": "w", "models": ["m"]}], 'entry 1 ("w"): base_url: give a base_url'),
        ([{"name": "w", "base_url": "https://llm.example.com/v1"}], 'entry 1 ("w"): models: list at least one model'),
        ([{"name": "w", "provider": "nope"}], 'entry 1 ("w"): provider: unknown provider; known providers: openai'),
        ([{"name": "w", "base_url": "https://x.example/v1", "models": ["m"], "key": "x"}],
         'entry 1 ("w"): key: Extra inputs are not permitted'),
        ([{"name": "w", "base_url": "https://x.example/v1", "models": ["bad model"]}], 'entry 1 ("w"): models: '),
        ([{"name": "w", "base_url": "https://x.example/v1", "models": ["m", "m"]}], "a model is listed twice"),
        ([{"name": "w", "base_url": "https://x.example/v1", "models": ["m"], "api_key": 12345}],
         'entry 1 ("w"): api_key: Input should be a valid string'),
        ([{"name": "work", "base_url": "https://x.example/v1", "models": ["m"], "api_key": KEY_A},
          {"name": "WORK", "base_url": "https://y.example/v1", "models": ["m"], "api_key": KEY_B}],
         'entry 2 ("WORK"): the name is already used by entry 1'),
    ],
)
def test_invalid_connections_name_the_entry_and_never_a_key(settings_from, value, needle):
    text = value if isinstance(value, str) else json.dumps(value)
    with pytest.raises(ConnectionsError) as direct:
        parse_connections(text)
    assert needle in str(direct.value)
    with pytest.raises(SettingsError) as info:  # and start-up stops with it
        settings_from(CONNECTIONS=text, OPENAI_API_KEY=TEST_KEY)
    message = str(info.value)
    assert "CONNECTIONS:" in message and needle in message
    for secret in (KEY_A, KEY_B, TEST_KEY, "12345"):
        assert secret not in message


def test_empty_connections_and_provider_defaults(settings_from):
    assert parse_connections("") == () and parse_connections(" ") == () and parse_connections("[]") == ()
    [spec] = parse_connections('[{"name": "ds", "provider": "DeepSeek", "api_key": " %s "}]' % KEY_A)
    assert spec.provider == "deepseek" and spec.base_url is None and spec.api_key.get_secret_value() == KEY_A
    assert KEY_A not in repr(spec)
    [spec] = parse_connections('[{"name": "x", "base_url": "https://api.deepseek.com/", "api_key": ""}]')
    assert spec.catalog_provider.name == "deepseek" and spec.api_key is None and spec.base_url == "https://api.deepseek.com"


# ------------------------------------------------------------------ the registry
def two_connections(settings_from, **single):
    """Settings with the implicit connection (OPENAI_*) plus 'work' and a local 'box'."""
    return settings_from(
        OPENAI_API_KEY=TEST_KEY, OPENAI_BASE_URL="https://api.openai.com/v1", OPENAI_MODELS="gpt-4o",
        CONNECTIONS=[
            {"name": "work", "base_url": "https://llm.example.com/v1", "api_key": KEY_A, "models": ["gpt-4o", "work-model"]},
            {"name": "box", "provider": "ollama", "models": ["qwen3:8b", "llama3.2"]},
            {"name": "ds", "provider": "deepseek", "api_key": KEY_B},
        ],
        **single,
    )


def test_single_connection_variables_are_the_implicit_default(settings_from):
    registry = ConnectionRegistry.from_settings(settings_from(OPENAI_API_KEY=TEST_KEY, OPENAI_MODELS="gpt-4o"))
    assert registry.single and registry.default.name == DEFAULT_CONNECTION and registry.default.implicit
    route = registry.resolve("gpt-4o")
    assert (route.connection, route.base_url, route.model, route.model_id) == ("default", "https://api.openai.com/v1", "gpt-4o", "gpt-4o")
    assert route.api_key.get_secret_value() == TEST_KEY
    # one connection: ids stay plain, and vendor-prefixed names are plain model names
    assert registry.resolve("openai/gpt-4o").model == "openai/gpt-4o" and not registry.resolve("x/y").fallback
    assert registry.resolve(None).model == registry.resolve("").model == "gpt-4o-mini"
    assert registry.grouped_models() == [{"connection": "default", "label": "OpenAI", "default": True, "models": [
        {"id": "gpt-4o-mini", "model": "gpt-4o-mini"}, {"id": "gpt-4o", "model": "gpt-4o"}]}]


def test_connections_only_make_the_first_entry_the_default(settings_from):
    settings = settings_from(CONNECTIONS=[{"name": "work", "base_url": "https://llm.example.com/v1", "api_key": KEY_A,
                                          "models": ["m1", "m2"]}, {"name": "box", "provider": "lmstudio"}])
    registry = ConnectionRegistry.from_settings(settings)
    assert [c.name for c in registry.connections] == ["work", "box"] and not registry.single
    assert registry.default.name == "work" and registry.default_model_id == "work/m1"
    assert registry.resolve("m2").model_id == "work/m2" and registry.resolve("m2").api_key.get_secret_value() == KEY_A
    assert registry.get("box").models == ("qwen/qwen3-8b",)  # from the catalog


def test_model_ids_resolve_to_their_own_connection(settings_from):
    registry = ConnectionRegistry.from_settings(two_connections(settings_from))
    assert [c.name for c in registry.connections] == ["default", "work", "box", "ds"]
    # the same model name on two connections: the prefix decides
    assert registry.resolve("work/gpt-4o").base_url == "https://llm.example.com/v1"
    assert registry.resolve("default/gpt-4o").base_url == "https://api.openai.com/v1"
    assert registry.resolve("gpt-4o").connection == "default"  # plain name: the default connection
    route = registry.resolve("ds/deepseek-reasoner")
    assert (route.base_url, route.model, route.model_id) == ("https://api.deepseek.com", "deepseek-reasoner", "ds/deepseek-reasoner")
    # the rest of an id may hold "/" (vendor-prefixed model names)
    assert registry.resolve("work/openai/gpt-4o").model == "openai/gpt-4o"
    assert registry.get("ds").models == ("deepseek-chat", "deepseek-reasoner")


def test_a_removed_connection_falls_back_to_the_default_with_a_flag(settings_from):
    registry = ConnectionRegistry.from_settings(two_connections(settings_from))
    route = registry.resolve("gone/gpt-4o")
    assert route.fallback and route.connection == "default" and route.model == "gpt-4o-mini"
    assert route.requested == "gone/gpt-4o" and route.api_key.get_secret_value() == TEST_KEY
    # a vendor-prefixed name the default connection serves is not a removed connection
    assert not registry.resolve("openai/gpt-4o", known_models=["openai/gpt-4o"]).fallback
    assert registry.resolve("openai/gpt-4o", known_models=["openai/gpt-4o"]).model == "openai/gpt-4o"


def test_every_route_carries_its_own_connections_key(settings_from):
    """Key isolation at the registry level: whatever id is asked for, the key of a route is
    the key of the connection whose base URL it carries, never another's."""
    registry = ConnectionRegistry.from_settings(two_connections(settings_from))
    key_of = {"https://api.openai.com/v1": TEST_KEY, "https://llm.example.com/v1": KEY_A,
              "http://localhost:11434/v1": PLACEHOLDER_API_KEY, "https://api.deepseek.com": KEY_B}
    ids = [m["id"] for group in registry.grouped_models() for m in group["models"]]
    ids += ["gpt-4o", "work-model", "nope/x", "", "default/work-model", "work/deepseek-chat", "box/gpt-4o"]
    for model_id in ids:
        route = registry.resolve(model_id)
        assert route.api_key.get_secret_value() == key_of[route.base_url], model_id
        assert route.base_url == registry.get(route.connection).base_url
    # a connection without a key gets none (not the default's): the user's own key or 503
    registry = ConnectionRegistry.from_settings(settings_from(OPENAI_API_KEY=TEST_KEY, CONNECTIONS=[
        {"name": "nokey", "base_url": "https://llm.example.com/v1", "models": ["m"]}]))
    assert registry.resolve("nokey/m").api_key is None and registry.resolve("m").api_key.get_secret_value() == TEST_KEY
    # keys stay out of reprs; secrets() lists every configured key (for redaction), not the placeholder
    for value in (registry, registry.connections, registry.resolve("m")):
        assert TEST_KEY not in repr(value)
    assert ConnectionRegistry.from_settings(two_connections(settings_from)).secrets() == tuple(sorted((TEST_KEY, KEY_A, KEY_B)))


def test_grouped_models_merge_upstream_lists_and_survive_a_down_connection(settings_from):
    registry = ConnectionRegistry.from_settings(two_connections(settings_from))
    groups = registry.grouped_models({"default": ["gpt-4o", "o3"], "work": None, "box": ["qwen3:8b", "gemma3:4b"]})
    by_name = {g["connection"]: g for g in groups}
    assert [g["connection"] for g in groups] == ["default", "work", "box", "ds"]
    assert [m["id"] for m in by_name["default"]["models"]] == ["default/gpt-4o-mini", "default/gpt-4o", "default/o3"]
    assert [m["id"] for m in by_name["work"]["models"]] == ["work/gpt-4o", "work/work-model"]  # list failed: configured ones
    assert [m["model"] for m in by_name["box"]["models"]] == ["qwen3:8b", "llama3.2", "gemma3:4b"]
    assert by_name["default"]["default"] and not by_name["ds"]["default"] and by_name["ds"]["label"] == "ds"
    text = json.dumps(groups)
    assert "http" not in text and KEY_A not in text and TEST_KEY not in text


def test_model_data_per_connection(settings_from):
    settings = two_connections(
        settings_from,
        MODEL_CONTEXT_WINDOWS={"gpt-4o": 100000, "work/gpt-4o": 32000},
        MODEL_PRICES={"work/work-model": {"prompt": 1, "completion": 2}},
    )
    registry = ConnectionRegistry.from_settings(settings)
    info = registry.model_info
    assert info(registry.resolve("work/gpt-4o")).context_window == 32000      # "connection/model" key
    assert info(registry.resolve("gpt-4o")).context_window == 100000          # plain key, default connection
    assert info(registry.resolve("work/work-model")).price == ModelPrice(prompt=1, completion=2)
    assert info(registry.resolve("work/work-model")).context_window == 8192   # DEFAULT_CONTEXT_WINDOW
    ds = info(registry.resolve("ds/deepseek-reasoner"))                        # the connection's provider
    assert ds.price.currency == "CNY" and ds.capabilities == ModelCapabilities(reasoning=True) and ds.context_window == 128000
    box = info(registry.resolve("box/qwen3:8b"))                               # prefix "qwen3", Ollama's 4096
    assert box.capabilities.reasoning and box.context_window == 4096 and box.price is None


def test_local_connections_get_the_placeholder(settings_from):
    registry = ConnectionRegistry.from_settings(settings_from(CONNECTIONS=[
        {"name": "llamacpp", "base_url": "http://127.0.0.1:8080/v1", "models": ["local-model"]},
        {"name": "lan", "base_url": "http://192.168.1.20:8000/v1", "models": ["m"]}]))
    assert registry.resolve("llamacpp/local-model").api_key.get_secret_value() == PLACEHOLDER_API_KEY
    assert registry.resolve("lan/m").api_key is None  # a LAN host is not this machine: a key is needed
    assert not registry.get("llamacpp").needs_api_key and registry.get("lan").needs_api_key


def test_implicit_connection_only_when_its_variables_are_set(settings_from):
    entry = [{"name": "work", "base_url": "https://llm.example.com/v1", "api_key": KEY_A, "models": ["m"]}]
    names = lambda **v: [c.name for c in ConnectionRegistry.from_settings(settings_from(CONNECTIONS=entry, **v)).connections]
    assert names() == ["work"]
    assert names(OPENAI_API_KEY="") == ["work"]  # the empty line of .env.example does not count
    assert names(OPENAI_MODEL="gpt-4o") == ["work"]
    assert names(OPENAI_API_KEY=TEST_KEY) == ["default", "work"]
    assert names(PROVIDER="ollama") == ["default", "work"]
    assert names(OPENAI_BASE_URL="https://api.deepseek.com") == ["default", "work"]
    assert names(OPENAI_BASE_URL="https://api.openai.com/v1") == ["work"]  # an old .env.example line


# ------------------------------------------------------------------ two real upstreams
@pytest.fixture(scope="module")
def upstreams():
    """Two loopback upstreams, each accepting only its own key (401 otherwise)."""
    a = UpstreamServer(api_key=KEY_A).start()
    b = UpstreamServer(api_key=KEY_B).start()
    yield a, b
    a.stop()
    b.stop()


def test_each_upstream_sees_only_its_own_key(settings_from, upstreams):
    a, b = upstreams
    for server in (a, b):
        server.reset()
    registry = ConnectionRegistry.from_settings(settings_from(CONNECTIONS=[
        {"name": "a", "base_url": a.url, "api_key": KEY_A, "models": ["model-a"]},
        {"name": "b", "base_url": b.url, "api_key": KEY_B, "models": ["model-b", "model-a"]}]))

    def chat(model_id: str) -> tuple[Route, str]:
        route = registry.resolve(model_id)
        client = get_client(ClientOptions(base_url=route.base_url, timeout=10, max_retries=0))
        events = list(stream_chat(client, api_key=route.api_key.get_secret_value(), model=route.model,
                                  messages=[{"role": "user", "content": model_id}], redact_secrets=registry.secrets()))
        return route, "".join(e.data["content"] for e in events if e.name == "delta")

    assert chat("a/model-a")[1] == "Echo: a/model-a"
    assert chat("b/model-a")[1] == "Echo: b/model-a"  # same model name, the other connection
    assert chat("model-a")[1] == "Echo: model-a"      # plain: the default (a)
    assert [r["body"]["model"] for r in a.requests] == ["model-a", "model-a"]
    assert [r["body"]["model"] for r in b.requests] == ["model-a"]
    assert {r["headers"]["Authorization"] for r in a.requests} == {f"Bearer {KEY_A}"}
    assert {r["headers"]["Authorization"] for r in b.requests} == {f"Bearer {KEY_B}"}
