"""The one place every request passes before it reaches a route.

``install(server, settings)`` registers a Flask ``before_request`` hook that runs
``check_request`` for every route — the Dash page, Dash callback routes
(``/_dash-update-component`` …), the stream endpoint and static assets — and an
``after_request`` hook for response headers. Access control (login, rate limits)
plugs in here so that no route can forget it.
"""

from __future__ import annotations

from flask import Flask, Response, jsonify, request

from .errors import ChatError
from .i18n import normalize_locale

# Paths that never need a login: health checks and static files.
PUBLIC_PREFIXES = ("/healthz", "/assets/", "/_dash-component-suites/", "/favicon.ico")


def request_locale() -> str:
    """The client's locale from ``Accept-Language`` (``zh*`` → zh-CN, else en-US)."""
    return normalize_locale(request.headers.get("Accept-Language", "").split(",")[0])


def error_response(error: ChatError, status: int | None = None) -> Response:
    """A JSON error ``{"error": {status, code, message, retry_after}}`` with its status."""
    response = jsonify({"error": error.to_dict()})
    response.status_code = status or error.status
    if error.retry_after is not None:
        response.headers["Retry-After"] = str(int(error.retry_after + 0.999))
    return response


def check_request() -> Response | None:
    """Return a response to refuse the current request, or ``None`` to let it through.

    No access control is configured yet, so every request passes.
    """
    return None


def install(server: Flask, settings: object) -> None:
    """Register the access hook and the JSON 413 handler on ``server``."""
    server.before_request(check_request)

    @server.errorhandler(413)
    def _too_large(_exc: Exception) -> Response:
        limit = server.config.get("MAX_CONTENT_LENGTH") or 0
        return error_response(ChatError.make(413, "payload_too_large", request_locale(), limit=limit))
