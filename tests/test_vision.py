"""The vision rule (chatcore/vision.py): VISION_MODELS, the provider catalog, the
default patterns; one table of cases shared with assets/js/vision.mjs
(tests/js/vision.test.mjs, run by tests/test_js_units.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chatcore.vision import DEFAULT_PATTERNS, accepts, accepts_images, vision_config
from components.layout import public_config
from tests.conftest import make_settings

TABLE = json.loads((Path(__file__).parent / "data" / "vision_cases.json").read_text(encoding="utf-8"))


def _config(name: str) -> dict:
    return vision_config(make_settings()) if name == "page" else TABLE["configs"][name]


@pytest.mark.parametrize("case", TABLE["cases"], ids=lambda c: f"{c['config']}:{c['model']}")
def test_shared_table(case):
    assert accepts(case["model"], _config(case["config"])) is case["accepts"]


def test_page_config_carries_the_rule():
    config = public_config(make_settings())
    assert config["vision"] == vision_config(make_settings())
    assert config["vision"]["defaults"] == list(DEFAULT_PATTERNS)
    assert config["vision"]["models"] == []


def test_vision_models_setting_wins_over_catalog_and_defaults():
    settings = make_settings(vision_models="Test-*, local/llava-custom")
    assert accepts_images("test-model", settings)
    assert accepts_images("conn/test-model", settings)  # the part after the last "/"
    assert not accepts_images("gpt-4o", settings)  # a vision model by catalog and pattern, but not listed
    assert accepts_images("local/llava-custom", settings)
    assert vision_config(settings)["models"] == ["test-*", "local/llava-custom"]


def test_env_variable_is_a_comma_list(monkeypatch):
    from config import Settings

    monkeypatch.setenv("VISION_MODELS", "a-*, b")
    settings = Settings(_env_file=None)
    assert settings.vision_models == ["a-*", "b"]
    monkeypatch.setenv("VISION_MODELS", "bad name<")
    with pytest.raises(Exception, match="VISION_MODELS|vision_models"):
        Settings(_env_file=None)


def test_model_capabilities_and_provider_catalog_decide_when_they_know_the_model():
    settings = make_settings(model_capabilities={"gpt-4o-custom": {"vision": False}, "house-model": {"vision": True}})
    assert not accepts_images("gpt-4o-custom", settings)  # known: no vision, whatever the pattern says
    assert accepts_images("house-model", settings)
    assert accepts_images("house-model:7b", settings)  # a tag of a known name
    # PROVIDER=ollama: its catalog knows llama3.2 (no vision) and gemma3 (vision)
    ollama = make_settings(provider="ollama")
    assert accepts_images("gemma3:12b", ollama) and not accepts_images("llama3.2:3b", ollama)
    # a CONNECTIONS entry's provider counts under "<connection>/<model>"
    connections = make_settings(connections='[{"name": "z", "provider": "zhipu", "api_key": "sk-z-0123456789"}]')
    assert accepts_images("z/glm-4.5v", connections) and not accepts_images("z/glm-4.5", connections)
