"""The Markdown import endpoint: ``POST /api/import/markdown``.

The page's Restore control (``chat-backup-upload``) sends a ``.md`` file here as the
request body (its bytes, as chosen: UTF-8 is checked here, not in the browser); the
one parser, ``chatcore.export.import_markdown``, turns it into a new conversation,
which the page coerces against the schema and merges like a JSON backup
(assets/js/backup.mjs). Nothing is stored on the server.

Answers ``{"conversation": {...}}`` (``chatcore.schema.Conversation``), or
``{"error": {status, code, message, retry_after}}`` (``chatserver.access.error_response``)
with a localized message: 413 ``md_import_too_large`` above ``MAX_BODY_BYTES`` (checked
on the announced length, before the body is read or parsed), 422 ``md_import_*`` for a
file that is not an export, is of a newer format, has an unknown role or is not UTF-8
text. The access check (login, same origin) applies as to every ``/api`` route
(``chatserver.access.check_request``).
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from chatcore.errors import ChatError
from chatcore.export import MarkdownImportError, import_markdown
from chatcore.i18n import normalize_locale

from .access import error_response, request_locale

bp = Blueprint("chat_export", __name__)
IMPORT_PATH = "/api/import/markdown"


def _locale() -> str:
    """The page's locale (``?locale=``, as the page sends it), else the request's."""
    chosen = request.args.get("locale")
    return normalize_locale(chosen) if chosen else request_locale()


def _import_error(error: MarkdownImportError, status: int, locale: str) -> Response:
    """``error`` as the JSON error every endpoint answers with."""
    return error_response(ChatError(status=status, code=error.code, message=error.text(locale)))


@bp.post(IMPORT_PATH)
def import_markdown_file() -> Response:
    """Read a Markdown export (the request body) into a new conversation."""
    locale = _locale()
    limit = current_app.config["CHAT_SETTINGS"].max_body_bytes
    length = request.content_length
    if length is not None and length > limit:
        # refused before the body is read (Flask's MAX_CONTENT_LENGTH would too, with
        # the generic payload_too_large text)
        return _import_error(MarkdownImportError("md_import_too_large", f"{length} bytes", limit=limit), 413, locale)
    body = request.get_data(cache=False)
    try:
        conversation = import_markdown(body, max_bytes=limit)
    except MarkdownImportError as error:
        return _import_error(error, 413 if error.code == "md_import_too_large" else 422, locale)
    return jsonify({"conversation": conversation})
