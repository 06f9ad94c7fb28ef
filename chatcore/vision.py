"""Which models accept images (issue 13): one rule, here and in assets/js/vision.mjs.

``accepts_images(model, settings)``, in this order:

1. ``VISION_MODELS`` set (comma list of names or ``*`` patterns): the model accepts
   images exactly when one of them matches — the whole name or the part after its last
   ``/`` (``openrouter/openai/gpt-4o`` is also ``gpt-4o``), case-insensitively. It
   replaces everything below.
2. The provider catalog (``chatcore/providers.toml``: the built-in OpenAI and DeepSeek
   entries, the provider of ``PROVIDER`` or of the base URL, each ``CONNECTIONS``
   entry's provider under ``"<connection>/<model>"``) with ``MODEL_CAPABILITIES`` over
   it, when it knows the model: its ``vision`` flag. A catalog name covers the model
   when it is the whole name (or the part after the last ``/``), or its start followed
   by ``:``, ``@`` or ``-`` and a digit (a tag or a date: ``qwen3`` covers ``qwen3:8b``,
   ``gpt-4o`` covers ``gpt-4o-2024-08-06``, but ``qwen3`` does not cover ``qwen3-vl``).
   The longest covering name wins.
3. Else the default patterns ``DEFAULT_PATTERNS`` (names the common vision families).

The page gets the data of this rule in its config (``vision_config``:
``public_config["vision"]``) and runs the same algorithm (``acceptsImages`` in
assets/js/vision.mjs); tests/data/vision_cases.json is checked by both
(tests/test_vision.py, tests/js/vision.test.mjs).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from . import providers

# gpt-4o*, gpt-4.1*, gpt-5* (OpenAI's vision models), Qwen-VL (DashScope qwen-vl-plus,
# Qwen2.5-VL), GLM-4V (Zhipu), and anything named *vision* or LLaVA (Ollama, llama.cpp).
DEFAULT_PATTERNS = ("gpt-4o*", "gpt-4.1*", "gpt-5*", "qwen-vl*", "qwen*-vl*", "glm-4v*", "*vision*", "llava*")
# what may follow a catalog name that covers a longer model name: a tag (``:8b``,
# ``@latest``) or a dash and a digit (a date or version: ``-2024-08-06``)
COVER_SUFFIX = r"^(?:[:@]|-[0-9])"
_COVER = re.compile(COVER_SUFFIX)
# a VISION_MODELS entry: a model name that may contain ``*``
PATTERN_SYNTAX = r"^[A-Za-z0-9._:/@+*\-]+$"


@lru_cache(maxsize=256)
def _glob(pattern: str) -> re.Pattern[str]:
    """``pattern`` (``*`` = any characters, the rest literal, lower-case) as a regex (``fullmatch``)."""
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")), re.DOTALL)


def _names(model: str) -> list[str]:
    """The names a model is matched by: the whole (lower-cased) name, then the part
    after its last ``/`` when that differs."""
    name = model.strip().lower()
    tail = name.rsplit("/", 1)[-1]
    return [name] if tail == name or not tail else [name, tail]


def _catalog_lookup(name: str, catalog: dict[str, bool]) -> bool | None:
    """The vision flag of the longest catalog name that covers ``name`` (module docstring), or ``None``."""
    if name in catalog:
        return catalog[name]
    best = None
    for key in catalog:
        if len(name) > len(key) and name.startswith(key) and _COVER.match(name[len(key):]):
            if best is None or len(key) > len(best):
                best = key
    return catalog[best] if best is not None else None


def accepts(model: str, config: dict[str, Any]) -> bool:
    """The rule (module docstring) over ``config`` = ``vision_config(settings)``:
    ``{"models": [patterns], "catalog": {name: bool}, "defaults": [patterns]}``, all
    lower-case. The same algorithm as ``acceptsImages`` in assets/js/vision.mjs."""
    names = _names(model or "")
    if config.get("models"):
        return any(_glob(p).fullmatch(n) for p in config["models"] for n in names)
    catalog = config.get("catalog") or {}
    for name in names:
        known = _catalog_lookup(name, catalog)
        if known is not None:
            return known
    return any(_glob(p).fullmatch(n) for p in config.get("defaults") or () for n in names)


def vision_config(settings) -> dict[str, Any]:
    """What the rule needs, JSON-ready (``public_config["vision"]``): ``models`` =
    ``VISION_MODELS`` lower-cased, ``catalog`` = ``{model name: accepts images}`` from
    the providers in play and ``MODEL_CAPABILITIES``, ``defaults`` = ``DEFAULT_PATTERNS``."""
    catalog: dict[str, bool] = {}
    table = providers.catalog()
    in_play = [table["openai"], table["deepseek"], providers.chosen_provider(settings)]
    for provider in in_play:
        for name, info in (provider.models.items() if provider else ()):
            catalog[name.lower()] = info.vision
    for spec in settings.connections:
        provider = spec.catalog_provider
        for name, info in (provider.models.items() if provider else ()):
            catalog[f"{spec.name}/{name}".lower()] = info.vision
    for name, capabilities in settings.model_capabilities.items():
        catalog[name.lower()] = capabilities.vision
    return {
        "models": [pattern.strip().lower() for pattern in settings.vision_models if pattern.strip()],
        "catalog": dict(sorted(catalog.items())),
        "defaults": list(DEFAULT_PATTERNS),
    }


def accepts_images(model: str, settings) -> bool:
    """True when ``model`` (the id the page sends, ``"conn/model"`` with CONNECTIONS)
    accepts image parts, by the rule of the module docstring."""
    return accepts(model, vision_config(settings))
