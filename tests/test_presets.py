"""Prompt presets (issue 14): the built-in starters, the preset shapes and how they reach
the page (chatcore/presets.py, chatcore/schema.py PAGE_MODELS, components/layout.py)."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from chatcore import presets
from chatcore.presets import BUILTIN, LOCALES, PRESET_PARAMS, Preset, PresetFile, PresetParameters, PresetStore, builtin_presets
from chatcore.schema import PAGE_MODELS, StoredSettings, page_schema
from chatcore.settings_spec import BY_KEY
from components.layout import public_config
from components.texts import UI_TEXTS
from tests.conftest import make_settings


@pytest.mark.parametrize("locale", LOCALES)
def test_the_builtins_validate_in_both_locales(locale):
    """At least 12 built-ins, each a valid Preset with a real (not one-line) system prompt,
    ids unique and ``builtin-…``."""
    items = builtin_presets(locale)
    assert len(items) >= 12
    ids = [p["id"] for p in items]
    assert len(set(ids)) == len(ids)
    for item in items:
        Preset.model_validate(item)
        assert item["id"].startswith(presets.BUILTIN_PREFIX)
        assert item["name"].strip() and item["emoji"]
        assert len(item["system_prompt"]) >= (150 if locale == "zh-CN" else 350), item["id"]  # Chinese is denser
        assert item["system_prompt"].count("\n") >= 2, item["id"]  # several specific instructions


def test_the_builtins_are_written_in_each_locale():
    """en-US and zh-CN are each their own text: the Chinese ones are Chinese, the English
    ones have no Chinese, and both lists have the same ids in the same order."""
    english, chinese = builtin_presets("en-US"), builtin_presets("zh-CN")
    assert [p["id"] for p in english] == [p["id"] for p in chinese]
    cjk = lambda s: any("\u4e00" <= ch <= "\u9fff" for ch in s)  # noqa: E731
    for en, zh in zip(english, chinese):
        assert cjk(zh["name"]) and not cjk(en["name"]), zh["name"]
        assert cjk(zh["system_prompt"]) and not cjk(en["system_prompt"])
        assert en["system_prompt"] != zh["system_prompt"]
        assert en.get("parameters") == zh.get("parameters")
        assert ("first_message" in en) == ("first_message" in zh)
    names = {p["name"] for p in chinese}
    assert {"中英互译", "代码审查", "文字润色", "SQL 助手", "周报生成"} <= names
    assert len(BUILTIN) == len(english)


def test_preset_parameters_have_the_stored_settings_bounds():
    """Each parameter a preset may set is a StoredSettings field with the very same JSON
    Schema (ranges from the settings spec, defined once)."""
    stored = StoredSettings.model_json_schema()["properties"]
    params = PresetParameters.model_json_schema()["properties"]
    assert tuple(params) == PRESET_PARAMS
    for key in PRESET_PARAMS:
        assert key in BY_KEY
        assert params[key] == stored[key], key
    with pytest.raises(ValidationError):
        PresetParameters(temperature=BY_KEY["temperature"].maximum + 0.1)
    with pytest.raises(ValidationError):
        PresetParameters(max_tokens=0)
    with pytest.raises(ValidationError):
        PresetParameters(history=5)  # not a preset's to set


def good_file() -> dict:
    return {
        "format": "dash-chat-presets",
        "version": 1,
        "exported_at": "2026-01-01T00:00:00Z",
        "presets": [
            {"id": "p-1", "name": "Mine", "emoji": "🦊", "system_prompt": "Be brief.", "parameters": {"temperature": 0.4, "model": "test-model"},
             "first_message": "Hello", "updated_at": 1767225600000},
            builtin_presets("zh-CN")[0],
        ],
    }


def test_the_file_model_accepts_a_good_file():
    parsed = PresetFile.model_validate(good_file())
    assert parsed.presets[0].parameters.temperature == 0.4
    assert parsed.presets[1].name == "中英互译"
    PresetStore.model_validate({"version": 1, "presets": good_file()["presets"]})


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.update(format="dash-chat-backup"),
        lambda d: d.update(version=2),
        lambda d: d.pop("presets"),
        lambda d: d.update(presets="nope"),
        lambda d: d["presets"][0].update(name={"type": "Iframe", "namespace": "dash_html_components", "props": {}}),
        lambda d: d["presets"][0].update(name=""),
        lambda d: d["presets"][0].pop("system_prompt"),
        lambda d: d["presets"][0].update(parameters={"temperature": 9}),
        lambda d: d["presets"][0].update(parameters={"model": "bad model <script>"}),
        lambda d: d["presets"][0].update(parameters={"reasoning_effort": "extreme"}),
        lambda d: d["presets"][0].update(extra="unknown key"),
        lambda d: d.update(presets=[good_file()["presets"][0]] * (presets.PRESETS_MAX + 1)),
    ],
)
def test_the_file_model_rejects_bad_files(change):
    doc = good_file()
    change(doc)
    with pytest.raises(ValidationError):
        PresetFile.model_validate(doc)


def test_the_page_gets_the_shapes_and_the_localized_builtins():
    """The page schema carries the preset shapes (the page coerces files and storage
    against them), and the page config the built-ins in the page's locale."""
    defs = page_schema()["$defs"]
    for name in ("Preset", "PresetParameters", "PresetFile", "PresetStore"):
        assert name in PAGE_MODELS and name in defs
    assert defs["PresetFile"]["properties"]["presets"]["maxItems"] == presets.PRESETS_MAX
    zh = public_config(make_settings(), "zh-CN")["presets"]
    en = public_config(make_settings(), "en-US")["presets"]
    assert zh["builtin"] == builtin_presets("zh-CN") and en["builtin"] == builtin_presets("en-US")
    assert zh["file_format"] == "dash-chat-presets" and zh["storage_key"] == presets.STORAGE_KEY
    assert zh["params"] == list(PRESET_PARAMS)
    json.dumps(zh)  # JSON all the way


def test_every_preset_text_is_in_both_locales():
    keys = [k for k in UI_TEXTS["en-US"] if k.startswith(("preset", "presets"))]
    assert len(keys) >= 40
    for key in keys:
        assert UI_TEXTS["zh-CN"].get(key), key
