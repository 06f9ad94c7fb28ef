"""Typed chat errors and the mapping from openai SDK exceptions to them.

Every failure the browser sees is a ``ChatError``: an HTTP-like ``status``, a stable
``code`` (see ``chatcore.i18n.TEXTS``), a localized ``message`` and, for rate limits,
``retry_after`` seconds. Raw upstream JSON and exception text never reach the page,
because they may echo request data; only the upstream error *message* for 400/422
(which describes the request, e.g. "context length exceeded") is passed on, after
redacting the configured keys, anything shaped like an API key and ``Bearer`` tokens,
and only then cut to ``DETAIL_CHARS`` characters (cutting first could split a key so
that neither its value nor the key pattern matches the part left).
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass

import openai

from .i18n import AFTER_SECONDS, normalize_locale, text
from .netguard import blocked_cause

_KEY_PATTERN = re.compile(r"\b(sk|rk|pk)-[A-Za-z0-9_\-]{8,}")
# RFC 6750 §2.1 b64token (plus "=" padding), after the auth scheme "Bearer" (RFC 9110
# §11.4 credentials; the scheme is case-insensitive).
_BEARER_PATTERN = re.compile(r"\b(Bearer)(\s+)[A-Za-z0-9\-._~+/]+=*", re.IGNORECASE)
DETAIL_CHARS = 300  # longest upstream error message passed on (after redaction)


def redact(value: str, *secrets: str | None) -> str:
    """``value`` with each given secret, every ``Bearer <token>`` token and anything
    shaped like an API key (``sk-``/``rk-``/``pk-`` and 8+ characters) replaced by ``***``.

    Secrets are replaced longest first, so a secret that contains another is replaced
    whole. Redact the whole text before cutting it (see ``DETAIL_CHARS``).
    """
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        value = value.replace(secret, "***")
    value = _BEARER_PATTERN.sub(r"\1\2***", value)
    return _KEY_PATTERN.sub("***", value)


@dataclass(frozen=True)
class ChatError(Exception):
    """A user-facing error.

    Attributes:
        status: HTTP status that best describes it (upstream status where there is one).
        code: stable machine code, e.g. ``"rate_limited"``.
        message: localized text for the user.
        retry_after: seconds to wait before retrying, when known (429).
    """

    status: int
    code: str
    message: str
    retry_after: float | None = None

    def to_dict(self) -> dict:
        """JSON-ready dict: ``{"status", "code", "message", "retry_after"}``."""
        return asdict(self)

    @classmethod
    def make(cls, status: int, code: str, locale: str | None = None, /, retry_after: float | None = None, **params: object) -> "ChatError":
        """Build a ChatError whose message is the localized text for ``code``.

        ``status``, ``code`` and ``locale`` are positional-only so that ``params``
        (the text's placeholders) may include ``status`` itself, e.g. ``bad_request``.
        """
        return cls(status=status, code=code, message=text(code, locale, **params), retry_after=retry_after)


def _retry_after(response: object) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds form, RFC 9110 §10.2.3)."""
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    value = headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _upstream_detail(exc: openai.APIStatusError, *secrets: str | None) -> str:
    """The upstream's own error message (OpenAI error body ``{"error": {"message"}}``),
    redacted (``redact`` with ``secrets``), then cut to ``DETAIL_CHARS`` characters;
    ``"HTTP <status>"`` when there is none."""
    body = exc.body
    message = ""
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            message = str(inner.get("message") or "")
    return redact(message, *secrets)[:DETAIL_CHARS] or f"HTTP {exc.status_code}"


def map_exception(exc: BaseException, locale: str | None = None, *secrets: str | None) -> ChatError:
    """Map an exception from the openai SDK (or the stream) to a ``ChatError``.

    Mapping (openai-python error classes, see its README "Handling errors"):
    AuthenticationError→401 auth, PermissionDeniedError→403, NotFoundError→404,
    RateLimitError→429 (with Retry-After), other 4xx→bad_request, 5xx→upstream_error
    (502 when the upstream gave no status), APITimeoutError→504 timeout,
    APIConnectionError→502 connection, anything else→500 internal. A connection the
    ``chatcore.netguard`` backend refused (a user base URL whose host now resolves to
    an internal address) → 400 base_url_blocked.
    """
    if isinstance(exc, ChatError):
        return exc
    loc = normalize_locale(locale)
    blocked = blocked_cause(exc)
    if blocked is not None:
        return ChatError.make(400, "base_url_blocked", loc, host=blocked.host)
    if isinstance(exc, openai.APITimeoutError):
        return ChatError.make(504, "timeout", loc)
    if isinstance(exc, openai.APIConnectionError):
        return ChatError.make(502, "connection", loc)
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        if status == 401:
            return ChatError.make(401, "auth", loc)
        if status == 403:
            return ChatError.make(403, "permission", loc)
        if status == 404:
            return ChatError.make(404, "not_found", loc)
        if status == 429:
            after = _retry_after(exc.response)
            hint = AFTER_SECONDS[loc].format(seconds=math.ceil(after)) if after else ""
            return ChatError.make(429, "rate_limited", loc, retry_after=after, after=hint)
        if 400 <= status < 500:
            return ChatError.make(status, "bad_request", loc, status=status, detail=_upstream_detail(exc, *secrets))
        return ChatError.make(status if status >= 500 else 502, "upstream_error", loc, status=status)
    if isinstance(exc, openai.APIError):
        # e.g. an error event or an unparsable chunk inside an otherwise fine stream
        return ChatError.make(502, "stream_interrupted", loc)
    return ChatError.make(500, "internal", loc)
