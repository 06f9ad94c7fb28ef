"""The provider catalog: what ``PROVIDER=deepseek`` (and the nine other names) fills in.

The data lives in one file, ``chatcore/providers.toml`` (base URL, default model, the
models offered, their context windows, capabilities and prices with their currency,
a ``source`` page and a ``checked`` date per provider). It is parsed and validated once,
here, into ``Provider`` values; code past this module never reads the raw TOML.

What uses it:

* ``config.Settings`` (field ``provider``): ``provider_settings(provider)`` gives the
  values PROVIDER fills in; a variable the operator set explicitly always wins (see
  ``config.Settings._apply_provider``). Without PROVIDER, a base URL on a catalog
  provider's host (``https://api.deepseek.com``) still gets that provider's context
  windows, capabilities and prices (``provider_for_base_url``), so a reply's cost does
  not silently disappear; base URL, model and model list stay as configured.
* ``chatcore.connections``: a ``CONNECTIONS`` entry's ``"provider"`` (or its base URL)
  picks the same data for that connection.
* the first-run help: ``first_run_env_lines(settings)`` gives the exact ``.env`` lines
  for the chosen provider, ``startup_warning(settings)`` the one warning the terminal
  prints at start-up when no key is configured (``config.get_settings`` logs it).

Local servers (``local = true``: Ollama, vLLM, LM Studio) and any base URL on a
loopback host (llama.cpp's ``llama-server``, a LiteLLM proxy, …) need no API key: the
SDK still needs a non-empty one, so ``PLACEHOLDER_API_KEY`` is sent
(``config.Settings.upstream_api_key``).

No Flask or Dash import; only the standard library and pydantic.
"""

from __future__ import annotations

import datetime
import ipaddress
import re
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .messages import MODEL_NAME_MAX, MODEL_NAME_PATTERN

if TYPE_CHECKING:  # config imports this module; only annotations refer back to it
    from config import Settings

CATALOG_PATH = Path(__file__).with_name("providers.toml")
# Sent as the API key to servers that need none (the openai SDK refuses an empty key).
PLACEHOLDER_API_KEY = "no-key-required"
PROVIDER_NAME_PATTERN = r"^[a-z][a-z0-9-]{1,31}$"
CURRENCY_PATTERN = r"^[A-Z]{3}$"
CURRENCY_SYMBOLS = {"USD": "$", "CNY": "¥", "EUR": "€", "GBP": "£", "JPY": "¥"}


class ModelPrice(BaseModel):
    """Price of a model per 1,000,000 tokens (``prompt`` = input, ``completion`` = output)
    in ``currency`` (ISO 4217 code, default USD). Only prices in ``BUDGET_CURRENCY`` count
    toward cost budgets (``chatcore.budgets``). ``model_dump`` leaves out the default
    currency, so the page config of USD prices is what it was before the field existed.

    (Defined here, with the catalog that fills it; ``config.ModelPrice`` is this class.)"""

    prompt: float = Field(ge=0)
    completion: float = Field(ge=0)
    currency: str = Field(default="USD", pattern=CURRENCY_PATTERN, exclude_if=lambda value: value == "USD")

    @property
    def symbol(self) -> str:
        """``$`` for USD, ``¥`` for CNY, …; the code itself for other currencies."""
        return CURRENCY_SYMBOLS.get(self.currency, self.currency + " ")


class ModelCapabilities(BaseModel):
    """What a model can do beyond text chat: ``reasoning`` = it streams its thinking
    (``reasoning_content`` / ``reasoning`` / ``<think>``), ``vision`` = it accepts images.
    A model that no table names has neither (``ModelCapabilities()``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    reasoning: bool = False
    vision: bool = False


class CatalogModel(BaseModel):
    """One ``[<provider>.models."<name>"]`` table of providers.toml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    context_window: int | None = Field(default=None, ge=256)
    reasoning: bool = False
    vision: bool = False
    prompt: float | None = Field(default=None, ge=0)
    completion: float | None = Field(default=None, ge=0)
    listed: bool = True

    @model_validator(mode="after")
    def _both_prices(self) -> "CatalogModel":
        """A price has both halves or neither."""
        if (self.prompt is None) != (self.completion is None):
            raise ValueError("give both prompt and completion prices, or neither")
        return self


def _http_url(value: str) -> str:
    """An http(s) URL without a trailing slash."""
    if not value.startswith(("http://", "https://")) or not urlsplit(value).hostname:
        raise ValueError(f"{value!r} is not an http(s) URL")
    return value.rstrip("/")


class Provider(BaseModel):
    """One provider of the catalog (validated from its providers.toml table)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=PROVIDER_NAME_PATTERN)
    label: str = Field(min_length=1)
    aliases: tuple[str, ...] = ()
    base_url: str
    alt_base_urls: tuple[str, ...] = ()
    default_model: str = Field(min_length=1, max_length=MODEL_NAME_MAX, pattern=MODEL_NAME_PATTERN)
    currency: str = Field(default="USD", pattern=CURRENCY_PATTERN)
    local: bool = False
    default_context_window: int | None = Field(default=None, ge=256)
    key_url: str | None = None
    source: str
    checked: datetime.date
    notes: str = ""
    models: dict[str, CatalogModel]

    _urls = field_validator("base_url", "source", "key_url")(lambda v: v if v is None else _http_url(v))

    @field_validator("alt_base_urls")
    @classmethod
    def _alt_urls(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        """Every alternative base URL is an http(s) URL too."""
        return tuple(_http_url(url) for url in value)

    @field_validator("aliases")
    @classmethod
    def _alias_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        """Aliases are spelled like provider names."""
        for alias in value:
            if not re.match(PROVIDER_NAME_PATTERN, alias):
                raise ValueError(f"alias {alias!r} must be lower-case letters, digits and '-'")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> "Provider":
        """Model names are valid request model names; the default model is a listed one;
        a local provider's base URL is on a loopback host; prices need a remote provider."""
        for model in self.models:
            if len(model) > MODEL_NAME_MAX or not re.match(MODEL_NAME_PATTERN, model):
                raise ValueError(f"model {model!r} is not a valid model name")
        if self.default_model not in self.models or not self.models[self.default_model].listed:
            raise ValueError(f"default_model {self.default_model!r} must be one of its listed models")
        if self.local and not is_loopback_url(self.base_url):
            raise ValueError("a local provider's base_url must be on a loopback host")
        return self

    @property
    def listed_models(self) -> list[str]:
        """The models offered in the model select: the default first, then the others listed."""
        return [self.default_model] + [m for m, info in self.models.items() if info.listed and m != self.default_model]

    @property
    def base_urls(self) -> tuple[str, ...]:
        """``base_url`` and ``alt_base_urls``."""
        return (self.base_url, *self.alt_base_urls)

    def context_windows(self) -> dict[str, int]:
        """``{model: tokens}`` of the models that name a context window."""
        return {m: info.context_window for m, info in self.models.items() if info.context_window}

    def prices(self) -> dict[str, ModelPrice]:
        """``{model: ModelPrice}`` (in ``currency``) of the models that have a price."""
        return {
            m: ModelPrice(prompt=info.prompt, completion=info.completion, currency=self.currency)
            for m, info in self.models.items()
            if info.prompt is not None and info.completion is not None
        }

    def capabilities(self) -> dict[str, ModelCapabilities]:
        """``{model: ModelCapabilities}`` of every model with a capability."""
        return {
            m: ModelCapabilities(reasoning=info.reasoning, vision=info.vision)
            for m, info in self.models.items()
            if info.reasoning or info.vision
        }


class UnknownProvider(ValueError):
    """``PROVIDER`` (or a connection's ``"provider"``) names no catalog entry. The text
    lists the known names (and aliases)."""


class CatalogError(RuntimeError):
    """providers.toml itself is broken (a bug in this repository, not in the operator's settings)."""


def load_catalog(path: Path = CATALOG_PATH) -> dict[str, Provider]:
    """Read and validate providers.toml: ``{name: Provider}`` in file order.

    Raises:
        CatalogError: the file does not parse, an entry is invalid, or a name or alias
            is used twice.
    """
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CatalogError(f"{path}: {exc}") from None
    catalog: dict[str, Provider] = {}
    seen: dict[str, str] = {}
    for name, table in raw.items():
        if not isinstance(table, dict):
            raise CatalogError(f"{path}: {name!r} is not a table")
        try:
            provider = Provider.model_validate({"name": name, **table})
        except ValidationError as exc:
            raise CatalogError(f"{path}: [{name}]: {exc}") from None
        for key in (provider.name, *provider.aliases):
            if key in seen:
                raise CatalogError(f"{path}: {key!r} of [{name}] is already used by [{seen[key]}]")
            seen[key] = name
        catalog[name] = provider
    return catalog


@lru_cache(maxsize=1)
def catalog() -> dict[str, Provider]:
    """The catalog of ``CATALOG_PATH``, read once per process."""
    return load_catalog()


def provider_names() -> list[str]:
    """The PROVIDER values, in catalog order (aliases not included)."""
    return list(catalog())


def _aliases() -> dict[str, str]:
    """``{alias: provider name}``."""
    return {alias: p.name for p in catalog().values() for alias in p.aliases}


def canonical_name(name: str) -> str:
    """The catalog name for ``name`` (case and surrounding spaces ignored, aliases
    resolved: ``Kimi`` → ``moonshot``).

    Raises:
        UnknownProvider: no such provider; the message lists the known ones.
    """
    key = name.strip().lower()
    if key in catalog():
        return key
    aliases = _aliases()
    if key in aliases:
        return aliases[key]
    known = ", ".join(provider_names())
    also = ", ".join(f"{a} = {n}" for a, n in aliases.items())
    # the value is not quoted: settings errors never echo a value (it might be a misplaced key)
    raise UnknownProvider(f"unknown provider; known providers: {known} (also accepted: {also})")


def get_provider(name: str) -> Provider:
    """The ``Provider`` called ``name`` (or one of its aliases).

    Raises:
        UnknownProvider: see ``canonical_name``.
    """
    return catalog()[canonical_name(name)]


def _host_port(url: str) -> tuple[str, int | None]:
    """Lower-case host and explicit port of ``url`` (``("", None)`` if it has none)."""
    try:
        parts = urlsplit(url)
        return (parts.hostname or "").lower().rstrip("."), parts.port
    except ValueError:
        return "", None


def is_loopback_url(url: str) -> bool:
    """True when ``url``'s host is this machine: ``localhost`` (or ``*.localhost``),
    ``127.0.0.0/8`` or ``::1``. The name is not resolved."""
    host, _ = _host_port(url)
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def provider_for_base_url(url: str) -> Provider | None:
    """The catalog provider whose base URLs share ``url``'s host (for a local provider:
    a loopback host and the same port, e.g. ``http://127.0.0.1:11434/v1`` = Ollama), or
    ``None``."""
    host, port = _host_port(url)
    if not host:
        return None
    loopback = is_loopback_url(url)
    for provider in catalog().values():
        for base in provider.base_urls:
            base_host, base_port = _host_port(base)
            if provider.local:
                if loopback and port is not None and port == base_port:
                    return provider
            elif host == base_host:
                return provider
    return None


def needs_api_key(base_url: str, provider: Provider | None = None) -> bool:
    """False for a local provider (ollama, vllm, lmstudio) and, when no PROVIDER was
    chosen, for a base URL on a loopback host (llama.cpp and the like; the SDK then gets
    ``PLACEHOLDER_API_KEY``); True otherwise — also for a catalog provider that needs a
    key reached through a loopback address (a local proxy or tunnel)."""
    if provider is not None:
        return not provider.local
    return not is_loopback_url(base_url)


def provider_settings(provider: Provider) -> dict[str, Any]:
    """The settings ``PROVIDER=<provider>`` fills in, by ``config.Settings`` field name:
    ``openai_base_url``, ``openai_model``, ``openai_models`` (the other listed models),
    ``model_context_windows``, ``model_prices``, ``model_capabilities`` and, when the
    provider names one, ``default_context_window``. The tables hold only this
    provider's entries (``config.Settings`` merges them over its built-in ones)."""
    values: dict[str, Any] = {
        "openai_base_url": provider.base_url,
        "openai_model": provider.default_model,
        "openai_models": provider.listed_models[1:],
        "model_context_windows": provider.context_windows(),
        "model_prices": provider.prices(),
        "model_capabilities": provider.capabilities(),
    }
    if provider.default_context_window:
        values["default_context_window"] = provider.default_context_window
    return values


def metadata_settings(provider: Provider) -> dict[str, Any]:
    """The part of ``provider_settings`` that describes models (tables and the default
    context window) without choosing the endpoint or the models: what a base URL on the
    provider's host gets when PROVIDER is not set."""
    keep = ("model_context_windows", "model_prices", "model_capabilities", "default_context_window")
    return {k: v for k, v in provider_settings(provider).items() if k in keep}


def lookup(model: str, table: dict[str, Any], default: Any = None) -> Any:
    """``table[model]``, else the value of the longest key that prefixes ``model``
    (``qwen3`` covers ``qwen3:8b``), else ``default``: the rule of context windows
    (``chatcore.context.context_window_for``), for any table."""
    if model in table:
        return table[model]
    best = max((key for key in table if model.startswith(key)), key=len, default=None)
    return table[best] if best is not None else default


# ----------------------------------------------------------------- first run
def env_lines(provider: Provider | None, *, base_url: str | None = None, model: str | None = None) -> list[str]:
    """The ``.env`` lines that set up ``provider`` (``None``: a custom OpenAI-compatible
    endpoint at ``base_url`` serving ``model``), exactly as the user pastes them.

    A comment line (``# ...``) says where a key comes from or what to start; then the
    variables. For a provider that needs a key, ``OPENAI_API_KEY=`` is left empty for
    the user to fill in (a placeholder value would be sent and rejected with 401).
    Examples: ``["# API key: https://platform.deepseek.com/api_keys",
    "PROVIDER=deepseek", "OPENAI_API_KEY="]``; ``["# No API key needed: start Ollama
    and `ollama pull llama3.2`", "PROVIDER=ollama"]``.
    """
    if provider is None:
        lines = [f"OPENAI_BASE_URL={base_url or 'https://api.openai.com/v1'}"]
        if model:
            lines.append(f"OPENAI_MODEL={model}")
        if base_url and is_loopback_url(base_url):
            return ["# No API key needed for a server on this machine", *lines]
        return ["# API key of your OpenAI-compatible provider", *lines, "OPENAI_API_KEY="]
    if provider.local:
        what = {"ollama": f"start Ollama and `ollama pull {provider.default_model}`",
                "vllm": f"`vllm serve {provider.default_model}`",
                "lmstudio": "start LM Studio's server (Developer tab) with a model loaded"}
        lines = [f"# No API key needed: {what.get(provider.name, 'start ' + provider.label)}", f"PROVIDER={provider.name}"]
        if model and model != provider.default_model:
            lines.append(f"OPENAI_MODEL={model}")
        return lines
    lines = [f"# API key: {provider.key_url}" if provider.key_url else f"# API key of {provider.label}", f"PROVIDER={provider.name}"]
    if model and model != provider.default_model:
        lines.append(f"OPENAI_MODEL={model}")
    lines.append("OPENAI_API_KEY=")
    return lines


def chosen_provider(settings: "Settings") -> Provider | None:
    """The provider ``settings`` use: ``PROVIDER``, else the one of the base URL's host
    (``provider_for_base_url``), else ``None`` (a custom endpoint)."""
    if settings.provider:
        return catalog()[settings.provider]
    return provider_for_base_url(settings.openai_base_url)


def first_run_env_lines(settings: "Settings") -> list[str]:
    """The ``.env`` lines for the provider ``settings`` point at (``chosen_provider``),
    for the page's first-run panel (hook ``chat-first-run``) and the start-up warning.

    With PROVIDER or a catalog base URL: that provider's lines (``env_lines``), with
    ``OPENAI_MODEL`` only if another model was chosen. A custom base URL: its
    ``OPENAI_BASE_URL`` and ``OPENAI_MODEL`` lines and ``OPENAI_API_KEY=``. Values are
    the operator's own settings (never a key).
    """
    provider = chosen_provider(settings)
    if provider is None:
        return env_lines(None, base_url=settings.openai_base_url, model=settings.openai_model)
    lines = env_lines(provider, model=settings.openai_model)
    if settings.openai_base_url != provider.base_url:  # e.g. a regional base URL: keep it
        lines.insert(lines.index(f"PROVIDER={provider.name}") + 1, f"OPENAI_BASE_URL={settings.openai_base_url}")
    return lines


def startup_warning(settings: "Settings") -> str | None:
    """The one warning the terminal prints at start-up when no API key is configured,
    else ``None``.

    No warning with ``CHAT_BACKEND`` (it needs no key) or when the default connection
    has a key (``OPENAI_API_KEY``, a ``CONNECTIONS`` entry's ``api_key``, or none needed
    for a local server). Otherwise the text names what to add to ``.env`` (the lines of
    ``first_run_env_lines``) and, with ``ALLOW_USER_API_KEY``, that users can paste a
    key of their own in Settings; ``CONNECTIONS`` entries without a key are named.
    Never contains a key.
    """
    if settings.chat_backend:
        return None
    from .connections import ConnectionRegistry

    registry = ConnectionRegistry.from_settings(settings)
    keyless = [c.name for c in registry.connections if c.api_key is None]
    if not keyless:
        return None
    if registry.default.api_key is not None:
        return f"No API key for the connections {', '.join(keyless)} (set \"api_key\" in their CONNECTIONS entries)."
    if registry.default.implicit:
        lines = "\n".join(f"    {line}" for line in first_run_env_lines(settings))
        text = f"No API key is configured: replies will fail until you add to .env (then restart):\n{lines}"
        if not settings.provider:
            text += f"\n  (PROVIDER may be any of {', '.join(provider_names())}: README, Providers.)"
    else:
        text = f"No API key for the connections {', '.join(keyless)}: set \"api_key\" in their CONNECTIONS entries."
    if settings.allow_user_api_key:
        text += "\n  Or each user enters a key of their own in Settings (ALLOW_USER_API_KEY=true)."
    return text
