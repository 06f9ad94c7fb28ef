"""Several upstream connections at once: ``CONNECTIONS`` parsing and model routing.

``CONNECTIONS`` is a JSON list, one object per OpenAI-compatible endpoint::

    CONNECTIONS=[{"name": "ds", "provider": "deepseek", "api_key": "sk-..."},
                 {"name": "work", "base_url": "https://llm.example.com/v1", "api_key": "sk-...",
                  "models": ["gpt-4o", "gpt-4o-mini"]},
                 {"name": "local", "provider": "ollama", "models": ["qwen3:8b"]}]

Fields: ``name`` (1-32 letters, digits, ``_ . -``; unique, case-insensitively; not
``default``), ``base_url`` (http/https; may be left out when ``provider`` gives one),
``api_key`` (optional: none is needed for a local server, and without one only
requests with a user's own key can use the connection), ``models`` (the first is the
connection's default; may be left out when the provider's catalog entry lists them),
``provider`` (a ``chatcore.providers`` name: context windows, capabilities and prices
of its models; without it the base URL's host picks one, if any). Unknown fields are
errors. ``parse_connections`` validates the list; ``config.Settings`` calls it, so a
bad entry stops start-up with ``SettingsError``: ``CONNECTIONS: entry 2 ("work"):
base_url: must start with http:// or https://`` (1-based index and name; a key is
never quoted).

The single-connection variables (``OPENAI_BASE_URL``, ``OPENAI_API_KEY``,
``OPENAI_MODEL``, ``OPENAI_MODELS``, ``PROVIDER``) keep working: they make the
*implicit* connection named ``default``. It exists when ``CONNECTIONS`` is empty, or
when ``PROVIDER``, ``OPENAI_BASE_URL`` (other than OpenAI's) or a non-empty
``OPENAI_API_KEY`` is set explicitly; it then comes first and is the default connection. Otherwise the first
``CONNECTIONS`` entry is the default.

API the app calls (``ConnectionRegistry``; built once after settings are final, i.e.
after ``chat_app.configure_backend``):

    registry = ConnectionRegistry.from_settings(settings)   # never raises (validated at start-up)
    registry.default            -> Connection (the default connection)
    registry.connections        -> tuple[Connection, ...] in order (default first)
    registry.single             -> True = only the implicit connection: model ids stay plain
    registry.model_id(conn, m)  -> "conn/m" ("m" when single)
    registry.resolve(model_id, known_models=()) -> Route        (never raises)
    registry.grouped_models(upstream={name: [models] | None}) -> list[dict]  (JSON-ready)
    registry.model_info(route)  -> ModelMeta(context_window, price, capabilities)
    registry.secrets()          -> tuple[str, ...]  every configured key (for redaction)

``Route`` (frozen): ``connection`` (name), ``base_url``, ``api_key`` (``SecretStr`` or
``None`` = this connection has no key: use the user's own key or answer 503
``no_api_key``), ``model`` (the name sent upstream), ``model_id`` (the id to store and
show), ``requested`` (what was asked for), ``fallback`` (True: the id named a
connection that no longer exists; the route is the default connection's default model:
show a notice). The ``base_url`` and ``api_key`` of a route always come from the same
connection: the only way to get a key here is ``resolve`` (or ``Connection.route``),
so one connection's key is never paired with another's URL.

How a model id resolves:

1. ``"conn/model"`` whose ``conn`` is a connection name → that connection, ``model``
   (the rest may contain ``/`` itself: ``"or/openai/gpt-4o"``).
2. empty or ``None`` → the default connection's default model.
3. anything else is a plain model name of the default connection (``"gpt-4o"``, or a
   vendor-prefixed ``"openai/gpt-4o"`` as OpenRouter and SiliconFlow spell them) —
   except, with several connections, an id of the form ``"x/model"`` that neither the
   default connection's models nor ``known_models`` (e.g. its upstream ``/models``
   list) contain: that is a conversation of a removed connection ``x``, so it falls
   back to the default connection's default model with ``fallback=True``.

No Flask or Dash import.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError, field_validator, model_validator

from .messages import MODEL_NAME_MAX, MODEL_NAME_PATTERN
from .providers import (
    PLACEHOLDER_API_KEY,
    ModelCapabilities,
    ModelPrice,
    Provider,
    UnknownProvider,
    catalog,
    canonical_name,
    chosen_provider,
    lookup,
    needs_api_key,
    provider_for_base_url,
)

if TYPE_CHECKING:
    from config import Settings

DEFAULT_CONNECTION = "default"  # the name of the implicit connection (OPENAI_* variables)
CONNECTION_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$"
_NAME = re.compile(CONNECTION_NAME_PATTERN)
_MODEL = re.compile(MODEL_NAME_PATTERN)


class ConnectionsError(ValueError):
    """``CONNECTIONS`` is invalid; the message names the entry (1-based index and name)."""


class ConnectionSpec(BaseModel):
    """One ``CONNECTIONS`` entry, validated (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    base_url: str | None = None
    api_key: SecretStr | None = None
    models: tuple[str, ...] = ()
    provider: str | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        """1-32 letters, digits, ``_``, ``.``, ``-`` (it becomes the prefix of model ids)."""
        if not _NAME.match(value):
            raise ValueError("must be 1-32 letters, digits, '_', '.' or '-', starting with a letter or digit")
        if value.lower() == DEFAULT_CONNECTION:
            raise ValueError(f"{DEFAULT_CONNECTION!r} is the connection of OPENAI_BASE_URL/OPENAI_API_KEY; choose another name")
        return value

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        """An http(s) URL; a trailing slash is dropped."""
        if value is None:
            return None
        value = value.strip()
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("api_key")
    @classmethod
    def _blank_key(cls, value: SecretStr | None) -> SecretStr | None:
        """An empty or blank key is no key."""
        if value is None or not value.get_secret_value().strip():
            return None
        return SecretStr(value.get_secret_value().strip())

    @field_validator("models")
    @classmethod
    def _models(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        """Valid model names (as a chat request accepts them), each once."""
        for model in value:
            if not model or len(model) > MODEL_NAME_MAX or not _MODEL.match(model):
                raise ValueError(f"{model[:60]!r} is not a model name (letters, digits, ._:/@+-)")
        if len(set(value)) != len(value):
            raise ValueError("a model is listed twice")
        return value

    @field_validator("provider")
    @classmethod
    def _provider(cls, value: str | None) -> str | None:
        """A catalog provider name or alias (``Kimi`` → ``moonshot``)."""
        if value is None or not value.strip():
            return None
        try:
            return canonical_name(value)
        except UnknownProvider as exc:
            raise ValueError(str(exc)) from None

    @model_validator(mode="after")
    def _complete(self) -> "ConnectionSpec":
        """A base URL and at least one model, from the entry or its provider."""
        if self.base_url is None and self.provider is None:
            raise ValueError("base_url: give a base_url (or a provider)")
        if not self.models and self.catalog_provider is None:
            raise ValueError("models: list at least one model (or give a provider)")
        return self

    @property
    def catalog_provider(self) -> Provider | None:
        """``provider``'s catalog entry, else the one of the base URL's host, else ``None``."""
        if self.provider:
            return catalog()[self.provider]
        return provider_for_base_url(self.base_url) if self.base_url else None


def _error_text(exc: ValidationError) -> str:
    """``field: message`` of the first error (never the input value: it may be a key)."""
    err = exc.errors()[0]
    where = ".".join(str(part) for part in err["loc"])
    message = err["msg"].removeprefix("Value error, ")
    if not where and ": " in message and message.split(": ", 1)[0] in ConnectionSpec.model_fields:
        return message  # "base_url: ..." from the model validator
    return f"{where}: {message}" if where else message


def _quote(name: str) -> str:
    """``"work"``: an entry's name as JSON writes it (cut to 40 characters)."""
    return json.dumps(name[:40], ensure_ascii=False)


def parse_connections(value: object) -> tuple[ConnectionSpec, ...]:
    """Validate ``CONNECTIONS``: JSON text (or an already decoded list) → specs in order.

    Empty (``None``, ``""``, ``[]``) → ``()``.

    Raises:
        ConnectionsError: not JSON, not a list, an entry that is not an object or is
            invalid, or a name used twice; the message names the entry, e.g.
            ``entry 2 ("work"): base_url: must start with http:// or https://``.
    """
    if value is None:
        return ()
    if isinstance(value, str):
        if not value.strip():
            return ()
        try:
            value = json.loads(value)
        except ValueError:
            raise ConnectionsError('must be a JSON list like [{"name": "work", "base_url": "https://…/v1", "models": ["…"]}]') from None
    if isinstance(value, tuple) and all(isinstance(item, ConnectionSpec) for item in value):
        return value
    if not isinstance(value, list):
        raise ConnectionsError("must be a JSON list of connection objects")
    specs: list[ConnectionSpec] = []
    seen: dict[str, int] = {}
    for number, item in enumerate(value, 1):
        if isinstance(item, ConnectionSpec):
            spec = item
        else:
            raw_name = item.get("name") if isinstance(item, dict) else None
            label = f"entry {number}" + (f" ({_quote(raw_name)})" if isinstance(raw_name, str) else "")
            if not isinstance(item, dict):
                raise ConnectionsError(f'{label}: must be an object {{"name", "base_url", "api_key", "models", "provider"}}')
            try:
                spec = ConnectionSpec.model_validate(item)
            except ValidationError as exc:
                raise ConnectionsError(f"{label}: {_error_text(exc)}") from None
        key = spec.name.lower()
        if key in seen:
            raise ConnectionsError(f"entry {number} ({_quote(spec.name)}): the name is already used by entry {seen[key]}")
        seen[key] = number
        specs.append(spec)
    return tuple(specs)


@dataclass(frozen=True)
class ModelMeta:
    """What the app knows of one model of one connection."""

    context_window: int
    price: ModelPrice | None
    capabilities: ModelCapabilities


@dataclass(frozen=True)
class Route:
    """Where one chat request goes (see the module docstring). ``api_key`` is kept out
    of ``repr``; ``None`` = the connection has no key of its own."""

    connection: str
    base_url: str
    api_key: SecretStr | None = field(repr=False)
    model: str
    model_id: str
    requested: str = ""
    fallback: bool = False


@dataclass(frozen=True)
class Connection:
    """One upstream endpoint with its own key and models (``implicit``: made from the
    single-connection variables). Tables hold the connection's provider data (empty for
    the implicit connection, whose data is already in the settings' tables)."""

    name: str
    base_url: str
    api_key: SecretStr | None = field(repr=False)
    models: tuple[str, ...]
    provider: Provider | None = field(default=None, repr=False)
    implicit: bool = False
    context_windows: Mapping[str, int] = field(default_factory=dict, repr=False)
    prices: Mapping[str, ModelPrice] = field(default_factory=dict, repr=False)
    capabilities: Mapping[str, ModelCapabilities] = field(default_factory=dict, repr=False)
    default_context_window: int | None = None

    @property
    def default_model(self) -> str:
        """The connection's first model."""
        return self.models[0]

    @property
    def label(self) -> str:
        """The provider's label for the implicit connection, else the connection's name."""
        return self.provider.label if self.implicit and self.provider is not None else self.name

    @property
    def needs_api_key(self) -> bool:
        """False for a local server (it gets ``PLACEHOLDER_API_KEY``)."""
        return needs_api_key(self.base_url, self.provider)

    def route(self, model: str, model_id: str, requested: str = "", fallback: bool = False) -> Route:
        """A ``Route`` to ``model`` on this connection (its own base URL and key)."""
        return Route(self.name, self.base_url, self.api_key, model, model_id, requested, fallback)


def implicit_connection_configured(settings: "Settings") -> bool:
    """True when the single-connection variables make the ``default`` connection: no
    ``CONNECTIONS``, or ``PROVIDER``, ``OPENAI_BASE_URL`` or a non-empty
    ``OPENAI_API_KEY`` set explicitly (environment, ``.env`` or arguments)."""
    if not settings.connections:
        return True
    # OPENAI_BASE_URL at its default value (a line copied from an old .env.example) does not count
    own_url = "openai_base_url" in settings.model_fields_set and settings.openai_base_url != "https://api.openai.com/v1"
    return bool(settings.provider) or own_url or settings.has_server_key


def _entry_key(spec: ConnectionSpec, base_url: str, provider: Provider | None) -> SecretStr | None:
    """The entry's key, the placeholder for a local server, else ``None``."""
    if spec.api_key is not None:
        return spec.api_key
    return None if needs_api_key(base_url, provider) else SecretStr(PLACEHOLDER_API_KEY)


class ConnectionRegistry:
    """Every connection of the settings, the default first (see the module docstring)."""

    def __init__(self, connections: Iterable[Connection], *, context_windows: Mapping[str, int],
                 prices: Mapping[str, ModelPrice], capabilities: Mapping[str, ModelCapabilities],
                 default_context_window: int):
        self.connections: tuple[Connection, ...] = tuple(connections)
        if not self.connections:
            raise ValueError("a registry needs at least one connection")
        self._by_name = {c.name: c for c in self.connections}
        self._windows = dict(context_windows)
        self._prices = dict(prices)
        self._capabilities = dict(capabilities)
        self._default_window = default_context_window

    @classmethod
    def from_settings(cls, settings: "Settings") -> "ConnectionRegistry":
        """The connections of ``settings`` (the implicit one first when configured).
        Settings are validated at start-up, so this does not raise."""
        connections: list[Connection] = []
        if implicit_connection_configured(settings):
            connections.append(Connection(
                name=DEFAULT_CONNECTION,
                base_url=settings.openai_base_url,
                api_key=settings.upstream_api_key,
                models=tuple(settings.models),
                provider=chosen_provider(settings),
                implicit=True,
            ))
        for spec in settings.connections:
            provider = spec.catalog_provider
            base_url = spec.base_url or (provider.base_url if provider else "")
            connections.append(Connection(
                name=spec.name,
                base_url=base_url,
                api_key=_entry_key(spec, base_url, provider),
                models=spec.models or tuple(provider.listed_models if provider else ()),
                provider=provider,
                context_windows=provider.context_windows() if provider else {},
                prices=provider.prices() if provider else {},
                capabilities=provider.capabilities() if provider else {},
                default_context_window=provider.default_context_window if provider else None,
            ))
        return cls(
            connections,
            context_windows=settings.model_context_windows,
            prices=settings.model_prices,
            capabilities=settings.model_capabilities,
            default_context_window=settings.default_context_window,
        )

    def __repr__(self) -> str:
        return f"ConnectionRegistry({', '.join(repr(c.name) for c in self.connections)})"

    @property
    def default(self) -> Connection:
        """The default connection (plain model names and empty ids go there)."""
        return self.connections[0]

    @property
    def single(self) -> bool:
        """True when the implicit connection is the only one: model ids stay plain names."""
        return len(self.connections) == 1 and self.connections[0].implicit

    def get(self, name: str) -> Connection | None:
        """The connection called ``name``, or ``None``."""
        return self._by_name.get(name)

    def model_id(self, connection: str, model: str) -> str:
        """The id of ``model`` on ``connection``: ``"connection/model"`` (plain ``model``
        when ``single``)."""
        return model if self.single else f"{connection}/{model}"

    @property
    def default_model_id(self) -> str:
        """The id of the default connection's default model."""
        return self.model_id(self.default.name, self.default.default_model)

    def resolve(self, model_id: str | None, known_models: Iterable[str] = ()) -> Route:
        """The ``Route`` for a request's ``model`` (rules in the module docstring).

        ``known_models``: further model names the default connection serves (its
        upstream list), so that a vendor-prefixed plain name such as
        ``"anthropic/claude-sonnet-4.5"`` is not taken for a removed connection's.
        Never raises: an unknown plain model goes to the default connection (the
        upstream answers 404 if it does not serve it).
        """
        requested = (model_id or "").strip()
        default = self.default
        if not requested:
            return default.route(default.default_model, self.default_model_id, requested)
        head, sep, tail = requested.partition("/")
        connection = self._by_name.get(head) if sep and tail else None
        if connection is not None:
            return connection.route(tail, self.model_id(connection.name, tail), requested)
        if sep and not self.single and requested not in default.models and requested not in set(known_models):
            # "x/model" of a connection that no longer exists: the default, with a notice
            return default.route(default.default_model, self.default_model_id, requested, fallback=True)
        return default.route(requested, self.model_id(default.name, requested), requested)

    def grouped_models(self, upstream: Mapping[str, Iterable[str] | None] | None = None) -> list[dict[str, Any]]:
        """The model list grouped by connection, default first, JSON-ready::

            [{"connection": "default", "label": "DeepSeek", "default": true,
              "models": [{"id": "deepseek-chat", "model": "deepseek-chat"}, ...]},
             {"connection": "work", "label": "work", "default": false,
              "models": [{"id": "work/gpt-4o", "model": "gpt-4o"}]}]

        Each group lists the connection's configured models, then the names in
        ``upstream[connection]`` (its ``/models`` list, already filtered to chat
        models) not listed yet. A connection whose list failed (``None`` or missing)
        still shows its configured models, so one connection that is down does not
        hide the others'. No base URL or key is included.
        """
        upstream = upstream or {}
        groups = []
        for connection in self.connections:
            names = list(connection.models)
            for name in upstream.get(connection.name) or ():
                if name not in names:
                    names.append(name)
            groups.append({
                "connection": connection.name,
                "label": connection.label,
                "default": connection is self.default,
                "models": [{"id": self.model_id(connection.name, name), "model": name} for name in names],
            })
        return groups

    def model_info(self, route: Route) -> ModelMeta:
        """Context window, price and capabilities of ``route``'s model, looked up (each
        by exact name, then longest prefix) in: the settings' tables under the key
        ``"<connection>/<model>"`` (MODEL_CONTEXT_WINDOWS etc. may name one connection's
        model so), the connection's provider data, then the settings' tables under the
        plain model name; the context window defaults to the provider's
        ``default_context_window``, else ``DEFAULT_CONTEXT_WINDOW``."""
        connection = self._by_name[route.connection]
        qualified = f"{connection.name}/{route.model}"
        prefix = connection.name + "/"

        def pick(settings_table: Mapping[str, Any], own_table: Mapping[str, Any], default: Any) -> Any:
            scoped = {k: v for k, v in settings_table.items() if k.startswith(prefix)}
            for key, table in ((qualified, scoped), (route.model, own_table), (route.model, settings_table)):
                value = lookup(key, dict(table))
                if value is not None:
                    return value
            return default

        window = pick(self._windows, connection.context_windows, connection.default_context_window or self._default_window)
        return ModelMeta(
            context_window=window,
            price=pick(self._prices, connection.prices, None),
            capabilities=pick(self._capabilities, connection.capabilities, ModelCapabilities()),
        )

    def secrets(self) -> tuple[str, ...]:
        """Every configured key (not the placeholder), to redact from upstream error text
        whichever connection a request used."""
        keys = {c.api_key.get_secret_value() for c in self.connections if c.api_key is not None}
        keys.discard(PLACEHOLDER_API_KEY)
        return tuple(sorted(keys))
