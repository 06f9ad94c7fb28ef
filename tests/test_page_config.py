"""The page config (components/layout.py public_config): every contract the page script
shares with Python — ids, the settings spec, roles, limits, URLs under the base path —
comes from Python, and the settings spec drives the drawer and the request bounds."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from chatcore.messages import PARAM_RANGES, ChatRequest
from chatcore.settings_spec import SETTINGS
from components import ids
from components.layout import public_config
from tests.conftest import make_settings

ROOT = Path(__file__).resolve().parent.parent


def layout_config(client) -> dict:
    """The chat-config-store data of the served layout."""
    layout = client.get("/_dash-layout").get_json()
    found = []

    def walk(node):
        if isinstance(node, dict):
            if node.get("props", {}).get("id") == ids.CONFIG_STORE:
                found.append(node["props"]["data"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(layout)
    assert found, "no config store in the layout"
    return found[0]


def test_urls_follow_the_base_path(make_client, monkeypatch):
    monkeypatch.setenv("DASH_REQUESTS_PATHNAME_PREFIX", "/chat/")
    config = layout_config(make_client())
    assert config["stream_url"] == "/chat/api/chat/stream"
    assert config["models_url"] == "/chat/api/models"
    assert config["login_url"] == "/chat/login"
    assert config["vendor_urls"]["mermaid"].startswith("/chat/assets/vendor/mermaid-")


def test_urls_without_a_prefix(make_client):
    config = layout_config(make_client())
    assert config["stream_url"] == "/api/chat/stream" and config["models_url"] == "/api/models"


def test_config_carries_ids_settings_roles_and_limits():
    settings = make_settings(max_message_chars=1234, max_messages=77)
    config = public_config(settings)
    assert config["ids"]["HISTORY_STORE"] == ids.HISTORY_STORE == "chat-history-store"
    assert config["ids"]["SET_TOP_P"] == "chat-setting-top-p"  # the hooks keep their values
    assert [s["key"] for s in config["settings"]] == [s.key for s in SETTINGS]
    assert config["roles"] == ["system", "user", "assistant"]
    assert (config["max_message_chars"], config["max_messages"]) == (1234, 77)
    json.dumps(config)  # all of it is JSON


@pytest.mark.parametrize("spec", [s for s in SETTINGS if s.kind == "number" and s.upstream], ids=lambda s: s.key)
def test_request_bounds_come_from_the_settings_spec(spec):
    assert PARAM_RANGES[spec.key] == (spec.minimum, spec.maximum)
    base = {"messages": [{"role": "user", "content": "q"}]}
    ChatRequest.model_validate({**base, spec.key: spec.maximum})
    with pytest.raises(ValidationError):
        ChatRequest.model_validate({**base, spec.key: spec.maximum + 1})
    assert spec.key in ChatRequest.model_validate({**base, spec.key: spec.minimum}).sampling_params()


def test_the_drawer_has_one_field_per_setting_in_spec_order():
    from components import settings as drawer

    text = json.dumps(drawer.render(make_settings()).to_plotly_json(), default=lambda o: o.to_plotly_json())
    positions = [text.index(f'"id": "{spec.component_id}"') for spec in SETTINGS]
    assert positions == sorted(positions)


def test_no_id_or_range_literal_in_the_page_modules():
    """Ids, ranges and URLs reach the page through its config; the modules name ids by
    their Python names (id('HISTORY_STORE')), never as chat-… strings."""
    id_values = {value for value in ids.page_ids().values()}
    for path in sorted((ROOT / "assets" / "js").glob("*.mjs")):
        code = re.sub(r"/\*.*?\*/|//[^\n]*", "", path.read_text(encoding="utf-8"), flags=re.S)
        strings = set(re.findall(r"'([^'\\]*)'", code))
        assert not (strings & id_values), (path.name, strings & id_values)
        assert "/api/" not in code and "/assets/" not in code, path.name


def test_prices_carry_their_currency_symbol():
    settings = make_settings(model_prices={"m-cny": {"prompt": 2, "completion": 3, "currency": "CNY"}, "m-usd": {"prompt": 1, "completion": 1}})
    prices = public_config(settings)["prices"]
    assert prices["m-cny"]["symbol"] == "¥" and prices["m-cny"]["currency"] == "CNY"
    assert prices["m-usd"]["symbol"] == "$"
