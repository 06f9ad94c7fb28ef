"""Typed settings for the chat app, read once from the environment and `.env`.

Every setting is an environment variable with the same (upper-case) name; see
`.env.example` for the documented list. A bad value stops start-up with a message
that names the variable (``load_settings`` raises ``SettingsError``).

The server's API key is held as a ``SecretStr`` so that it never shows up in a
``repr``, a log line or a traceback.
"""

from __future__ import annotations

import json
import logging
import re
from functools import lru_cache
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from pydantic_settings import SettingsError as PydanticSettingsError

from chatcore import providers as _providers
from chatcore.connections import ConnectionSpec, parse_connections
from chatcore.providers import ModelCapabilities, ModelPrice  # noqa: F401  (config.ModelPrice: one class, in the core)

DEFAULT_SECRET_KEY = "change-me"


def _split_csv(value: object) -> object:
    """Turn ``"a, b,,c"`` into ``["a", "b", "c"]``; pass lists through unchanged."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


# Context windows (tokens) and capabilities of common models, whatever the base URL: the
# OpenAI and DeepSeek entries of the provider catalog (chatcore/providers.toml, with its
# sources). A table key also covers model names it prefixes (``gpt-4o`` covers
# ``gpt-4o-2024-08-06``). PROVIDER (or a catalog provider's base URL) adds its own.
_BUILT_IN = [_providers.catalog()[name] for name in ("openai", "deepseek")]
DEFAULT_CONTEXT_WINDOWS: dict[str, int] = {k: v for p in _BUILT_IN for k, v in p.context_windows().items()}
DEFAULT_MODEL_CAPABILITIES: dict[str, ModelCapabilities] = {k: v for p in _BUILT_IN for k, v in p.capabilities().items()}


# --- access-code labels and usage budgets (chatcore.budgets) ---
DEFAULT_ACCESS_LABEL = "default"  # the label of an ACCESS_CODES entry written without one
ACCESS_LABEL_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"  # goes into storage keys and logs


def split_access_code(entry: str) -> tuple[str, str]:
    """``(label, code)`` of one ``ACCESS_CODES`` entry: ``"design:code1"`` → ``("design",
    "code1")``. Only the first colon splits (``"ops:a:b"`` → ``("ops", "a:b")``), so a code
    that contains a colon is written with a label; no colon → ``("default", entry)``.
    Both parts are stripped of surrounding spaces; neither is validated here."""
    label, colon, code = entry.partition(":")
    if not colon:
        return DEFAULT_ACCESS_LABEL, entry.strip()
    return label.strip(), code.strip()


class Budget(BaseModel):
    """The allowance of one access-code label per day and per month (days and months in
    ``BUDGET_TIMEZONE``). Tokens are prompt + completion tokens; cost is in
    ``BUDGET_CURRENCY``. A field left out is no limit of that kind (``{}`` = unlimited)."""

    model_config = ConfigDict(extra="forbid")

    tokens_per_day: int | None = Field(default=None, ge=1, strict=True)
    tokens_per_month: int | None = Field(default=None, ge=1, strict=True)
    cost_per_day: float | None = Field(default=None, gt=0)
    cost_per_month: float | None = Field(default=None, gt=0)

    @field_validator("cost_per_day", "cost_per_month", mode="before")
    @classmethod
    def _no_bool(cls, value: object) -> object:
        """``true`` is not an amount of money."""
        if isinstance(value, bool):
            raise ValueError("must be a number")
        return value


# Prices (USD per 1M tokens) of OpenAI's models from the catalog (chatcore/providers.toml,
# source: OpenAI's pricing page); PROVIDER adds its own, MODEL_PRICES replaces them all.
DEFAULT_MODEL_PRICES: dict[str, ModelPrice] = _providers.catalog()["openai"].prices()
# What PROVIDER fills in unless the variable is set explicitly (Settings._apply_provider).
PROVIDER_FIELDS = ("openai_base_url", "openai_model", "openai_models", "model_context_windows",
                   "model_prices", "model_capabilities", "default_context_window")


class Settings(BaseSettings):
    """All operator settings. Units: seconds for timeouts, characters for sizes."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    # --- upstream (OpenAI-compatible Chat Completions endpoint) ---
    provider: str = Field(
        default="",
        description="Catalog provider (chatcore/providers.toml): openai, deepseek, qwen, moonshot, zhipu, siliconflow, "
        "openrouter, ollama, vllm, lmstudio. Fills base URL, models, context windows, capabilities and prices; "
        "an explicitly set variable wins.",
    )
    openai_api_key: SecretStr | None = Field(
        default=None, description="Server API key; never sent to the browser or logged."
    )
    openai_base_url: str = Field(
        default="https://api.openai.com/v1", description="Base URL of the OpenAI-compatible API."
    )
    openai_model: str = Field(default="gpt-4o-mini", min_length=1, description="Default model.")
    openai_models: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Comma-separated extra models offered in the model select."
    )
    prefilled_think_models: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated models (or name prefixes) whose chat template writes <think> into the prompt, "
        "so their reply starts inside the thinking and only </think> arrives (chatcore.reasoning).",
    )
    local_proxy: str = Field(
        default="http://127.0.0.1:10809",
        description="HTTP proxy used for OpenAI traffic only when started with `local`.",
    )
    use_local_proxy: bool = Field(default=False, description="Same as passing `local` on the command line.")
    request_timeout: float = Field(default=60.0, gt=0, le=3600, description="Upstream timeout in seconds.")
    max_retries: int = Field(default=1, ge=0, le=5, description="SDK retries on connection errors/429/5xx before the first token.")
    system_prompt: str = Field(default="", description="Default system prompt sent first in every request.")
    chat_backend: str = Field(
        default="",
        description="`package.module:function` that answers instead of the OpenAI API (chatcore.backend); "
        "no API key is needed then.",
    )
    system_prompt_editable: bool = Field(
        default=False,
        description="true = SYSTEM_PROMPT is shown in the page and a user's system prompt replaces it "
        "(default: it stays on the server, always first, the user's prompt after it).",
    )

    # --- context window and prices (JSON in the environment) ---
    model_context_windows: dict[str, int] = Field(
        default_factory=lambda: dict(DEFAULT_CONTEXT_WINDOWS),
        description='Context window in tokens per model, JSON: {"my-model": 32768}.',
    )
    default_context_window: int = Field(default=8192, ge=256, description="Context window of models not in the table.")
    context_reserve_tokens: int = Field(
        default=1024, ge=0, description="Tokens kept free for the reply when max_tokens is not set."
    )
    model_prices: dict[str, ModelPrice] = Field(
        default_factory=lambda: dict(DEFAULT_MODEL_PRICES),
        description='USD per 1M tokens per model, JSON: {"m": {"prompt": 0.15, "completion": 0.6}}.',
    )
    model_capabilities: dict[str, ModelCapabilities] = Field(
        default_factory=lambda: dict(DEFAULT_MODEL_CAPABILITIES),
        description='What models can do beyond text, JSON: {"my-model": {"reasoning": true, "vision": false}}.',
    )
    # --- several connections at once (chatcore.connections) ---
    connections: Annotated[tuple[ConnectionSpec, ...], NoDecode] = Field(
        default=(),
        description='JSON list of {"name", "base_url", "api_key"?, "models": [...], "provider"?}; '
        "each keeps its own key (chatcore.connections).",
    )

    # --- this server ---
    host: str = Field(default="127.0.0.1", min_length=1)
    port: int = Field(default=8050, ge=1, le=65535)
    max_message_chars: int = Field(default=32000, ge=1, description="Longest single message accepted.")
    max_messages: int = Field(default=500, ge=1, description="Most messages accepted in one request.")
    max_body_bytes: int = Field(
        default=2_000_000, ge=1024, description="Largest request body accepted (bytes), except the chat stream's."
    )
    max_chat_body_bytes: int = Field(
        default=20_000_000, ge=1024,
        description="Largest body of POST /api/chat/stream (bytes): the conversation with its images.",
    )
    bundle_cache_dir: str | None = Field(
        default=None,
        description="Directory of the precompressed Dash bundles (chatserver/compression.py), shared by the workers; "
        "default: <temp dir>/dash-chat-bundles-<uid>.",
    )
    # on by default: each fingerprinted bundle is compressed once, in a child process at
    # start-up (chatserver/compression.py); until its files are ready it is served as before
    bundle_brotli_level: int = Field(
        default=11, ge=0, le=11,
        description="Brotli quality of the precompressed bundles (11, the strongest, by default; "
        "0 = no precompressed store: bundles are only compressed on the fly).",
    )
    bundle_gzip_level: int = Field(
        default=9, ge=0, le=9,
        description="gzip level of the precompressed bundles (9 by default; 0 = no precompressed store).",
    )
    request_body_timeout: float = Field(
        default=10.0, gt=0, le=3600, description="Seconds a request body may send nothing before it gets 408."
    )
    max_body_reads_per_address: int = Field(
        default=20, ge=0, description="Request bodies being read at once per client address (429 above); 0 = unlimited."
    )

    # --- images and documents attached to a message (chatcore.vision, chatcore.attachments) ---
    image_max_side: int = Field(
        default=2048, ge=64, le=16384, description="Longest side (px) the page downscales an attached image to."
    )
    image_max_bytes: int = Field(
        default=1_000_000, ge=1024,
        description="Largest attached image (bytes, decoded) the page re-encodes to and the server accepts (413 above).",
    )
    attachment_max_bytes: int = Field(
        default=10_000_000, ge=1024, description="Largest document upload for text extraction (bytes; 413 above)."
    )
    vision_models: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated model names or `*` patterns that accept images (also matched against the part "
        "after the last `/`); set, it replaces the catalog and the built-in patterns.",
    )

    # --- browser-supplied credentials ---
    allow_user_api_key: bool = Field(default=True, description="Let users enter their own API key in the page.")
    allow_user_base_url: bool = Field(default=False, description="Let users enter their own base URL.")
    user_base_url_allowlist: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated host names (or IPs) a user base URL may name even though they are "
        "loopback/private/link-local (chatcore.netguard refuses those otherwise).",
    )

    # --- access control (issue: safe to put on the internet) ---
    access_codes: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated access codes, each optionally `label:code` (unlabelled = label `default`); "
        "empty = no login.",
    )
    secret_key: SecretStr | None = Field(default=None, description="Signs session cookies.")
    session_max_age: int = Field(default=7 * 24 * 3600, ge=60, description="Seconds a login lasts.")
    session_cookie_secure: bool = Field(
        default=False, description="Always mark cookies Secure (otherwise only when the request came over HTTPS)."
    )
    trusted_proxies: int = Field(
        default=0, ge=0, le=5, description="Reverse proxies in front whose X-Forwarded-For/-Proto are trusted (0 = none)."
    )
    trusted_proxy_host: bool = Field(
        default=False,
        description="Also trust the proxies' X-Forwarded-Host/-Port (only if they set them; with TRUSTED_PROXIES > 0).",
    )
    login_rate_limit: str = Field(
        default="5 per minute; 20 per hour", description="Failed logins allowed per client address (flask-limiter syntax)."
    )
    # --- rate limits (flask-limiter storage; Redis for several workers/instances) ---
    ratelimit_storage_uri: str = Field(default="memory://", description="flask-limiter storage URI, e.g. redis://host:6379/0.")
    chat_rate_limit_session: str = Field(default="20 per minute", description="Chat requests per browser session; empty = off.")
    chat_rate_limit_address: str = Field(default="60 per minute", description="Chat requests per client address; empty = off.")
    max_streams_per_session: int = Field(default=2, ge=0, description="Concurrent replies per session; 0 = unlimited.")
    max_streams_per_address: int = Field(default=10, ge=0, description="Concurrent replies per client address; 0 = unlimited.")
    models_rate_limit: str = Field(default="30 per minute", description="GET /api/models requests per client address; empty = off.")

    # --- usage budgets per access-code label (chatcore.budgets; only with ACCESS_CODES) ---
    budgets: Annotated[dict[str, Budget], NoDecode] = Field(
        default_factory=dict,
        description='JSON {"label": {"tokens_per_day", "tokens_per_month", "cost_per_day", "cost_per_month"}}; '
        '"default" covers labels not listed.',
    )
    budget_timezone: str = Field(default="UTC", description="IANA time zone whose midnight starts a budget day/month.")
    budget_currency: str = Field(default="USD", description="Currency of cost budgets (ISO 4217 code, as in MODEL_PRICES).")
    admin_codes: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Comma-separated codes for GET /admin and /admin/usage.json (HTTP Basic); empty = off."
    )

    _split_lists = field_validator("openai_models", "access_codes", mode="before")(_split_csv)
    _split_allowlist = field_validator("user_base_url_allowlist", mode="before")(_split_csv)
    _split_admin_codes = field_validator("admin_codes", mode="before")(_split_csv)
    _split_think_models = field_validator("prefilled_think_models", mode="before")(_split_csv)
    _split_vision_models = field_validator("vision_models", mode="before")(_split_csv)

    @field_validator("vision_models")
    @classmethod
    def _vision_patterns(cls, value: list[str]) -> list[str]:
        """Each entry is a model name that may contain ``*`` (chatcore.vision.PATTERN_SYNTAX)."""
        from chatcore.vision import PATTERN_SYNTAX

        for number, entry in enumerate(value, 1):
            if len(entry) > 200 or not re.match(PATTERN_SYNTAX, entry):
                raise ValueError(f"entry {number} is not a model name or a pattern with '*'")
        return value

    @field_validator("provider")
    @classmethod
    def _known_provider(cls, value: str) -> str:
        """A catalog name or alias (``Kimi`` → ``moonshot``), or empty; an unknown name
        stops start-up with the list of known ones."""
        return _providers.canonical_name(value) if value.strip() else ""

    @field_validator("connections", mode="before")
    @classmethod
    def _connections_json(cls, value: object) -> object:
        """Parse and validate CONNECTIONS (``chatcore.connections.parse_connections``: the
        message names the bad entry by number and name, never its key)."""
        return parse_connections(value)

    @model_validator(mode="after")
    def _apply_provider(self) -> "Settings":
        """Fill in what PROVIDER (``chatcore.providers.provider_settings``) gives, for every
        field in ``PROVIDER_FIELDS`` the operator did not set explicitly. Without PROVIDER, a
        base URL on a catalog provider's host still gets that provider's context windows,
        capabilities and prices (``metadata_settings``). Tables are the built-in ones plus
        the provider's; an explicit MODEL_PRICES (etc.) replaces the whole table.

        With PROVIDER, an empty OPENAI_MODELS and OPENAI_BASE_URL/OPENAI_MODEL equal to
        their OpenAI defaults (lines an old ``.env`` copied from .env.example) count as
        unset. Written to ``__dict__`` so that ``model_fields_set`` keeps meaning "set by
        the operator" (``chat_app.configure_backend`` and ``chatcore.connections`` read it)."""
        explicit = set(self.model_fields_set)
        if self.provider:
            # An empty OPENAI_MODELS line, and the OpenAI values the .env.example of earlier
            # releases wrote, are not a choice against PROVIDER: the provider fills them.
            if not self.openai_models:
                explicit.discard("openai_models")
            if self.provider != "openai":
                for name in ("openai_base_url", "openai_model"):
                    if getattr(self, name) == type(self).model_fields[name].default:
                        explicit.discard(name)
            provider = _providers.catalog()[self.provider]
            values = _providers.provider_settings(provider)
        else:
            provider = _providers.provider_for_base_url(self.openai_base_url)
            values = _providers.metadata_settings(provider) if provider else {}
        for name in PROVIDER_FIELDS:
            if name in explicit or name not in values:
                continue
            value = values[name]
            if name == "openai_models":  # the provider's other models, whichever is the default
                value = [m for m in provider.listed_models if m != self.openai_model]
            elif isinstance(value, dict):
                value = {**getattr(self, name), **value}
            self.__dict__[name] = value
        return self

    @field_validator("access_codes")
    @classmethod
    def _labelled_codes(cls, value: list[str]) -> list[str]:
        """Every entry is ``code`` or ``label:code`` with a non-empty code, a label of
        letters, digits, ``_``, ``.``, ``-`` (64 at most) and no code given twice. The
        messages never quote a code (they are secrets)."""
        seen: set[str] = set()
        for number, entry in enumerate(value, 1):
            label, code = split_access_code(entry)
            if not code:
                raise ValueError(f"entry {number} has no code after its label")
            if not re.match(ACCESS_LABEL_PATTERN, label):
                raise ValueError(f"entry {number}: a label is 1-64 letters, digits, '_', '.' or '-' (before the first ':')")
            if code in seen:
                raise ValueError(f"entry {number} repeats a code given earlier")
            seen.add(code)
        return value

    @field_validator("budget_timezone")
    @classmethod
    def _time_zone(cls, value: str) -> str:
        """An IANA time zone name that ``zoneinfo`` knows (``UTC``, ``Asia/Shanghai``)."""
        from zoneinfo import ZoneInfo

        value = value.strip()
        try:
            ZoneInfo(value)
        except (KeyError, ValueError, OSError):  # ZoneInfoNotFoundError is a KeyError; "../x" a ValueError
            raise ValueError("must be an IANA time zone such as UTC or Asia/Shanghai (pip install tzdata if none is found)") from None
        return value

    @field_validator("budget_currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        """A three-letter ISO 4217 code, upper-cased (``usd`` → ``USD``)."""
        value = value.strip().upper()
        if not re.match(r"^[A-Z]{3}$", value):
            raise ValueError("must be a three-letter currency code such as USD or CNY")
        return value

    @field_validator("budgets", mode="before")
    @classmethod
    def _budgets_json(cls, value: object) -> object:
        """Decode the JSON text of the environment; empty (``BUDGETS=``) = no budgets."""
        if isinstance(value, str):
            if not value.strip():
                return {}
            try:
                return json.loads(value)
            except ValueError:
                raise ValueError("must be valid JSON") from None
        return value

    @field_validator("budgets")
    @classmethod
    def _budget_labels(cls, value: dict[str, Budget], info: ValidationInfo) -> dict[str, Budget]:
        """BUDGETS keys are ``default`` or labels that ACCESS_CODES entries carry (a typo
        would otherwise quietly fall back to the default budget). ACCESS_CODES is declared
        earlier, so it is validated by now (absent from ``info.data`` when it was bad)."""
        labels = {split_access_code(entry)[0] for entry in info.data.get("access_codes") or ()}
        for label in value:
            if label == DEFAULT_ACCESS_LABEL:
                continue
            if not re.match(ACCESS_LABEL_PATTERN, label):
                raise ValueError(f"{label[:64]!r} is not a valid label (letters, digits, '_', '.', '-')")
            if labels and label not in labels:
                raise ValueError(f"no ACCESS_CODES entry has the label {label!r}")
        return value

    @field_validator("login_rate_limit", "chat_rate_limit_session", "chat_rate_limit_address", "models_rate_limit")
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        """Accept flask-limiter rate strings (``"5 per minute; 20/hour"``) or empty."""
        value = value.strip()
        if value:
            from limits import parse_many

            try:
                parse_many(value)
            except ValueError:
                raise ValueError("must be a rate limit like '20 per minute' or '5/minute; 50/hour'") from None
        return value

    @field_validator("ratelimit_storage_uri")
    @classmethod
    def _storage_uri(cls, value: str) -> str:
        """Accept the storage schemes flask-limiter supports here: memory and Redis."""
        if not value.startswith(("memory://", "redis://", "rediss://", "redis+unix://", "redis+sentinel://", "redis+cluster://")):
            raise ValueError("must be memory:// or a redis:// URL")
        return value

    @model_validator(mode="after")
    def _secret_key_with_codes(self) -> "Settings":
        """Access codes need a real SECRET_KEY: missing, default or short ones stop start-up."""
        if self.access_codes:
            key = self.secret_key.get_secret_value().strip() if self.secret_key else ""
            if not key or key == DEFAULT_SECRET_KEY or len(key) < 16:
                raise ValueError(
                    "SECRET_KEY must be set to a random value of at least 16 characters when ACCESS_CODES is set "
                    "(e.g. python3 -c 'import secrets; print(secrets.token_hex(32))')"
                )
        return self

    @field_validator("chat_backend")
    @classmethod
    def _backend_spec(cls, value: str) -> str:
        """Accept ``package.module:function`` or empty (imported at start-up by ``chat_app``)."""
        from chatcore.backend import SPEC_PATTERN

        value = value.strip()
        if value and not re.match(SPEC_PATTERN, value):
            raise ValueError("must be package.module:function, e.g. examples.echo_backend:echo")
        return value

    @field_validator("openai_base_url", "local_proxy")
    @classmethod
    def _http_url(cls, value: str) -> str:
        """Accept only http(s) URLs; strip a trailing slash."""
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("model_context_windows")
    @classmethod
    def _positive_windows(cls, value: dict[str, int]) -> dict[str, int]:
        """Every context window must be a positive number of tokens."""
        for name, window in value.items():
            if window < 256:
                raise ValueError(f"context window of {name!r} must be at least 256 tokens")
        return value

    @property
    def needs_api_key(self) -> bool:
        """False when the operator's endpoint is a local server (PROVIDER=ollama/vllm/lmstudio)
        or any base URL on a loopback host: the SDK then gets a placeholder key."""
        provider = _providers.catalog()[self.provider] if self.provider else None
        return _providers.needs_api_key(self.openai_base_url, provider)

    @property
    def upstream_api_key(self) -> SecretStr | None:
        """The key to send to ``openai_base_url``: OPENAI_API_KEY when set, else
        ``chatcore.providers.PLACEHOLDER_API_KEY`` for a server that needs none
        (``needs_api_key`` False), else ``None`` (a user's own key or 503 ``no_api_key``).
        Use it wherever the server key is used for the operator's endpoint (the stream
        endpoint's credentials, the /api/models list)."""
        if self.has_server_key:
            return self.openai_api_key
        if not self.needs_api_key:
            return SecretStr(_providers.PLACEHOLDER_API_KEY)
        return None

    def capabilities(self, model: str) -> ModelCapabilities:
        """What ``model`` can do (``MODEL_CAPABILITIES``: exact name, then longest prefix)."""
        return _providers.lookup(model, self.model_capabilities, ModelCapabilities())

    def context_window(self, model: str) -> int:
        """The context window (tokens) configured for ``model`` (prefix match, then the default)."""
        from chatcore.context import context_window_for

        return context_window_for(model, self.model_context_windows, self.default_context_window)

    @property
    def access_code_labels(self) -> dict[str, str]:
        """``{code: label}`` of ``ACCESS_CODES`` (``split_access_code``; unlabelled codes
        have the label ``default``). Empty without access codes."""
        return {code: label for label, code in map(split_access_code, self.access_codes)}

    def budget_for(self, label: str) -> Budget | None:
        """The ``Budget`` of access-code ``label``: its own ``BUDGETS`` entry, else the
        ``default`` entry, else ``None`` (no budget). Always ``None`` without ACCESS_CODES."""
        if not self.access_codes:
            return None
        return self.budgets.get(label, self.budgets.get(DEFAULT_ACCESS_LABEL))

    @property
    def models(self) -> list[str]:
        """The default model first, then the extra ones, without duplicates."""
        seen: dict[str, None] = {self.openai_model: None}
        for name in self.openai_models:
            seen.setdefault(name, None)
        return list(seen)

    @property
    def has_server_key(self) -> bool:
        """True when an operator API key is configured (non-empty)."""
        return bool(self.openai_api_key and self.openai_api_key.get_secret_value().strip())

    @property
    def answers_without_user_key(self) -> bool:
        """True when the server can answer without a user's own key: an operator API key
        (or none is needed: a local server, ``upstream_api_key``) or a ``CHAT_BACKEND`` is
        configured (the page then shows no "no key" banner)."""
        return self.upstream_api_key is not None or bool(self.chat_backend)


class SettingsError(SystemExit):
    """Start-up stops: a setting has a bad value. The message names the variable."""


def format_validation_error(exc: ValidationError) -> str:
    """One line per bad variable: ``PORT: Input should be a valid integer``."""
    lines = ["Invalid configuration:"]
    for err in exc.errors():
        name = str(err["loc"][0]).upper() if err["loc"] else "SECRET_KEY" if "SECRET_KEY" in err["msg"] else "?"
        # inside a JSON setting, say where: "BUDGETS: design.tokens_per_day: Input should be ..."
        where = ".".join(str(part) for part in err["loc"][1:])
        lines.append(f"  {name}: {where + ': ' if where else ''}{err['msg']}")
    return "\n".join(lines)


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment (and `.env`), applying ``overrides``.

    Raises:
        SettingsError: a value is invalid; its text names each bad variable and never
            echoes the value (which might be a secret).
    """
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise SettingsError(format_validation_error(exc)) from None
    except PydanticSettingsError as exc:  # a JSON setting (e.g. MODEL_PRICES) that is not JSON
        match = re.search(r'field "(\w+)"', str(exc))
        name = match.group(1).upper() if match else "?"
        raise SettingsError(f"Invalid configuration:\n  {name}: must be valid JSON") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read on first use. When no API key is configured the
    terminal gets one warning then (``chatcore.providers.startup_warning``: what to put
    in .env); being cached, this happens once per process."""
    settings = load_settings()
    warning = _providers.startup_warning(settings)
    if warning:
        logging.getLogger("config").warning("%s", warning)
    return settings
