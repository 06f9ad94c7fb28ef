"""The extraction endpoint: ``POST /api/attachments/extract`` (issue 13).

The page's attach control sends one document as ``multipart/form-data``: the field
``file`` (the file, its name as chosen) and optionally ``locale`` (the page's UI
locale; ``?locale=`` works too). The text comes back as JSON (``chatcore.attachments``):

    200 {"name", "mime", "size", "text", "tokens", "truncated"}
    {"error": {"status", "code", "message", "retry_after"}} with a localized message:
    413 attachment_too_large (over ATTACHMENT_MAX_BYTES, refused on the announced length
    before the body is read), 415 attachment_unsupported / attachment_not_text, 422
    attachment_no_text / _encrypted / _corrupt / _bomb, 504 attachment_timeout, 503
    attachment_busy, 400 invalid_request (no ``file`` field).

This route's body limit is ATTACHMENT_MAX_BYTES plus ``FORM_OVERHEAD_BYTES`` for the
multipart framing (every other route but the stream has MAX_BODY_BYTES). The form is
parsed in memory (werkzeug would spool a file part over 500 KB to a temporary file):
nothing is written to disk, and nothing is kept after the answer. The access check
(login, same origin) applies as to every ``/api`` route
(``chatserver.access.check_request``). The time limit is
``chatcore.attachments.EXTRACT_TIMEOUT`` (10 s); ``app.config["CHAT_EXTRACT_TIMEOUT"]``
overrides it (the tests' short limit).
"""

from __future__ import annotations

import io
import logging

from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import FormDataParser

from chatcore.attachments import EXTRACT_TIMEOUT, AttachmentError, extract
from chatcore.errors import ChatError
from chatcore.i18n import normalize_locale, text

from .access import error_response, request_locale

log = logging.getLogger("chatserver.attachments")

bp = Blueprint("chat_attachments", __name__)
EXTRACT_PATH = "/api/attachments/extract"
FORM_OVERHEAD_BYTES = 64 * 1024  # multipart boundaries, part headers and the locale field
# werkzeug's bound on a text field held in memory (its default; it must exceed the
# parser's 64 KiB read buffer, which it is checked against too)
FORM_FIELD_BYTES = 500_000


def body_limit(settings) -> int:
    """The most bytes this route reads: ATTACHMENT_MAX_BYTES and the form's framing."""
    return settings.attachment_max_bytes + FORM_OVERHEAD_BYTES


def _locale(form=None) -> str:
    """The page's locale (form field or ``?locale=``), else the request's."""
    chosen = (form.get("locale") if form is not None else None) or request.args.get("locale")
    return normalize_locale(chosen) if chosen else request_locale()


def _refuse(error: AttachmentError, locale: str) -> Response:
    """``error`` as the JSON error every endpoint answers with."""
    return error_response(ChatError(status=error.status, code=error.code, message=text(error.code, locale, **error.params)))


def _in_memory(total_content_length, content_type, filename, content_length=None):  # noqa: ARG001 - werkzeug's signature
    """werkzeug's stream factory: every file part in memory, never a temporary file."""
    return io.BytesIO()


@bp.post(EXTRACT_PATH)
def extract_attachment() -> Response:
    """The text of the uploaded ``file`` (see the module docstring)."""
    settings = current_app.config["CHAT_SETTINGS"]
    limit = settings.attachment_max_bytes
    too_large = AttachmentError("attachment_too_large", limit=limit)
    if request.content_length is not None and request.content_length > body_limit(settings):
        return _refuse(too_large, _locale())
    parser = FormDataParser(stream_factory=_in_memory, max_content_length=body_limit(settings),
                            max_form_memory_size=FORM_FIELD_BYTES, max_form_parts=20)
    try:
        _, form, files = parser.parse_from_environ(request.environ)
    except RequestEntityTooLarge:
        return _refuse(too_large, _locale())
    locale = _locale(form)
    upload = files.get("file")
    if upload is None:
        return error_response(ChatError.make(400, "invalid_request", locale, detail="send the file in the form field 'file'"))
    data = upload.stream.read(limit + 1)
    try:
        result = extract(data, upload.filename, max_chars=settings.max_message_chars, max_bytes=limit,
                         timeout=current_app.config.get("CHAT_EXTRACT_TIMEOUT", EXTRACT_TIMEOUT))
    except AttachmentError as error:
        log.info("attachment refused (%s, %d bytes)", error.code, len(data))
        return _refuse(error, locale)
    return jsonify(result.as_dict())
