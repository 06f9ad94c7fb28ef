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

import email.utils
import math
import re
import time
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
        retry_after: seconds to wait before retrying, when the upstream said
            (``Retry-After`` / ``retry-after-ms`` of a 408/409/429/5xx); the page's
            Retry button counts it down.
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


RETRYABLE_STATUSES = frozenset({408, 409, 429})  # plus every 5xx (``is_retryable_status``)


def is_retryable_status(status: int) -> bool:
    """Whether an upstream HTTP status is worth retrying: 408 Request Timeout, 409
    Conflict, 429 Too Many Requests and every 5xx (the openai SDK's own rule,
    ``_should_retry``; RFC 9110 §15.5.9, §15.5.10, §15.6; RFC 6585 §4)."""
    return status in RETRYABLE_STATUSES or 500 <= status <= 599


def parse_retry_after(headers: object, now: float | None = None) -> float | None:
    """Seconds to wait from an upstream response's headers, or ``None``.

    ``headers`` is any mapping with case-insensitive ``get`` (``httpx2.Headers``).
    ``retry-after-ms`` (milliseconds; OpenAI and Anthropic send it, the openai SDK
    reads it first) wins over ``Retry-After``, which is either delta-seconds or an
    HTTP-date (RFC 9110 §10.2.3; the date is compared with ``now``, seconds since
    the epoch, default ``time.time()``). Negative or non-finite numbers and dates
    not in the future give ``None`` (no wait asked for); a number is kept as given
    (fractions included), ``0`` meaning "retry at once".
    """
    get = getattr(headers, "get", None)
    if get is None:
        return None
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = get(name)
        if value is None:
            continue
        try:
            seconds = float(str(value).strip()) / scale
        except ValueError:
            continue
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    value = get("retry-after")
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(str(value))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None or when.tzinfo is None:
        return None
    left = when.timestamp() - (time.time() if now is None else now)
    return left if left > 0 else None


def _retry_after(response: object) -> float | None:
    """``parse_retry_after`` of an SDK exception's ``response``."""
    return parse_retry_after(getattr(response, "headers", None))


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
    (502 when the upstream gave no status; 408/409/5xx carry ``retry_after`` too when
    the upstream sent ``Retry-After``/``retry-after-ms``, see ``parse_retry_after``), APITimeoutError→504 timeout,
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
            after = _retry_after(exc.response) if is_retryable_status(status) else None
            return ChatError.make(status, "bad_request", loc, retry_after=after, status=status,
                                  detail=_upstream_detail(exc, *secrets))
        after = _retry_after(exc.response) if is_retryable_status(status) else None
        return ChatError.make(status if status >= 500 else 502, "upstream_error", loc, retry_after=after, status=status)
    if isinstance(exc, openai.APIError):
        # e.g. an error event or an unparsable chunk inside an otherwise fine stream
        return ChatError.make(502, "stream_interrupted", loc)
    return ChatError.make(500, "internal", loc)


def stream_error(error: object, locale: str | None = None) -> ChatError:
    """The ``ChatError`` for an ``{"error": ...}`` object inside a stream (OpenAI-style
    gateways such as OpenRouter send one mid-stream instead of an HTTP status; the
    openai SDK raises ``APIError`` for it).

    ``error`` is the value of that ``"error"`` key. Its status is a numeric ``code``
    or ``status`` between 400 and 599 (OpenRouter: ``{"code": 502, "message"}``),
    else 502: 429 → ``rate_limited``, anything else → ``upstream_error``. The
    upstream's message is not passed on (it may echo the request).
    """
    status = 502
    if isinstance(error, dict):
        for key in ("code", "status"):
            value = error.get(key)
            if isinstance(value, str) and value.isdigit():
                value = int(value)
            if isinstance(value, int) and not isinstance(value, bool) and 400 <= value <= 599:
                status = value
                break
    loc = normalize_locale(locale)
    if status == 429:
        return ChatError.make(429, "rate_limited", loc, after="")
    return ChatError.make(status, "upstream_error", loc, status=status)
