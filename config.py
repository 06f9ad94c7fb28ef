"""Typed settings for the chat app, read once from the environment and `.env`.

Every setting is an environment variable with the same (upper-case) name; see
`.env.example` for the documented list. A bad value stops start-up with a message
that names the variable (``load_settings`` raises ``SettingsError``).

The server's API key is held as a ``SecretStr`` so that it never shows up in a
``repr``, a log line or a traceback.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_SECRET_KEY = "change-me"


def _split_csv(value: object) -> object:
    """Turn ``"a, b,,c"`` into ``["a", "b", "c"]``; pass lists through unchanged."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    """All operator settings. Units: seconds for timeouts, characters for sizes."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    # --- upstream (OpenAI-compatible Chat Completions endpoint) ---
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
    local_proxy: str = Field(
        default="http://127.0.0.1:10809",
        description="HTTP proxy used for OpenAI traffic only when started with `local`.",
    )
    use_local_proxy: bool = Field(default=False, description="Same as passing `local` on the command line.")
    request_timeout: float = Field(default=60.0, gt=0, le=3600, description="Upstream timeout in seconds.")
    max_retries: int = Field(default=1, ge=0, le=5, description="SDK retries on connection errors/429/5xx before the first token.")
    system_prompt: str = Field(default="", description="Default system prompt sent first in every request.")

    # --- this server ---
    host: str = Field(default="127.0.0.1", min_length=1)
    port: int = Field(default=8050, ge=1, le=65535)
    max_message_chars: int = Field(default=32000, ge=1, description="Longest single message accepted.")
    max_messages: int = Field(default=500, ge=1, description="Most messages accepted in one request.")
    max_body_bytes: int = Field(default=2_000_000, ge=1024, description="Largest request body accepted (bytes).")

    # --- browser-supplied credentials ---
    allow_user_api_key: bool = Field(default=True, description="Let users enter their own API key in the page.")
    allow_user_base_url: bool = Field(default=False, description="Let users enter their own base URL.")

    # --- access control (issue: safe to put on the internet) ---
    access_codes: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Comma-separated access codes; empty = no login."
    )
    secret_key: SecretStr | None = Field(default=None, description="Signs session cookies.")

    _split_lists = field_validator("openai_models", "access_codes", mode="before")(_split_csv)

    @field_validator("openai_base_url", "local_proxy")
    @classmethod
    def _http_url(cls, value: str) -> str:
        """Accept only http(s) URLs; strip a trailing slash."""
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

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


class SettingsError(SystemExit):
    """Start-up stops: a setting has a bad value. The message names the variable."""


def format_validation_error(exc: ValidationError) -> str:
    """One line per bad variable: ``PORT: Input should be a valid integer``."""
    lines = ["Invalid configuration:"]
    for err in exc.errors():
        name = str(err["loc"][0]).upper() if err["loc"] else "?"
        lines.append(f"  {name}: {err['msg']}")
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


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read on first use."""
    return load_settings()
