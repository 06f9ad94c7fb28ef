"""The Markdown import endpoint: ``POST /api/import/markdown``.

The page's Restore control (``chat-backup-upload``) sends a ``.md`` file here as the
request body (its bytes, as chosen: UTF-8 is checked here, not in the browser); the
one parser, ``chatcore.export.import_markdown``, turns it into a new conversation,
which the page coerces against the schema and merges like a JSON backup
(assets/js/backup.mjs). Nothing is stored on the server.

Answers ``{"conversation": {...}}`` (``chatcore.schema.Conversation``; a message's
images and documents as ``attachments``, each with a new ``id``: the shape of
``chatcore.schema.StoredMessage``), or ``{"error": {status, code, message, retry_after}}``
(``chatserver.access.error_response``) with a localized message: 413
``md_import_too_large`` above ``import_limit`` (checked on the announced length, before
the body is read or parsed; a chunked body once it passes the limit), 422
``md_import_*`` for a file that is not an export, is of a newer format, has an unknown
role, an attachment that does not read back (``md_import_bad_attachment``) or is not
UTF-8 text. The access check (login, same origin) applies as to every ``/api`` route
(``chatserver.access.check_request``).

The body limit is this route's own, ``MAX_CHAT_BODY_BYTES`` (20 MB by default), not
``MAX_BODY_BYTES`` (2 MB): an export embeds its images as data URLs (an image of
``IMAGE_MAX_BYTES`` is about 1.33 times as many characters), and the chat stream, which
carries a conversation with its images, has that limit too.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

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


def import_limit(settings) -> int:
    """The largest Markdown file this route reads, in bytes: ``MAX_CHAT_BODY_BYTES`` (an
    export holds its images), never less than ``MAX_BODY_BYTES``."""
    return max(settings.max_chat_body_bytes, settings.max_body_bytes)


def _import_error(error: MarkdownImportError, status: int, locale: str) -> Response:
    """``error`` as the JSON error every endpoint answers with."""
    return error_response(ChatError(status=status, code=error.code, message=error.text(locale)))


@bp.post(IMPORT_PATH)
def import_markdown_file() -> Response:
    """Read a Markdown export (the request body) into a new conversation."""
    locale = _locale()
    limit = import_limit(current_app.config["CHAT_SETTINGS"])
    # this route's own limit (Flask's MAX_CONTENT_LENGTH is MAX_BODY_BYTES), plus one byte:
    # Werkzeug cuts a chunked body at the limit without a word, and a file cut after a
    # message would import without the rest; one byte more is seen, and refused, below
    request.max_content_length = limit + 1
    too_large = MarkdownImportError("md_import_too_large", f"above {limit} bytes", limit=limit)
    length = request.content_length
    if length is not None and length > limit:
        # refused before the body is read (Flask's limit would too, with the generic
        # payload_too_large text)
        return _import_error(too_large, 413, locale)
    try:
        body = request.get_data(cache=False)
    except RequestEntityTooLarge:  # a chunked body that passed the limit
        return _import_error(too_large, 413, locale)
    try:
        conversation = import_markdown(body, max_bytes=limit)  # md_import_too_large above the limit
    except MarkdownImportError as error:
        return _import_error(error, 413 if error.code == "md_import_too_large" else 422, locale)
    return jsonify({"conversation": conversation})
