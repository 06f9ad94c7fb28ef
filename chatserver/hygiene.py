"""Log hygiene on the Flask server: bad requests get a 4xx and one warning line, not a
traceback, and client-supplied text in log lines is escaped (``chatcore.logsafe``).

``install(server, dash_app)`` (called by ``chatserver.access.install``):

* JSON bodies nested deeper than Python's parser can go (``[[[[…]]]]``, 100,000
  levels fit in a 2 MB body) raise ``RecursionError`` inside ``json.loads``; the
  app's JSON provider turns that into ``ValueError``, which Flask answers with 400
  (``request.get_json()``, as Dash's callback route calls it) or ``None``
  (``get_json(silent=True)``, the stream endpoint → 400 ``invalid_request``);
* a request for a Dash component file that does not exist (a bad or malformed path
  under ``/_dash-component-suites/``, e.g. invalid percent-encoding or UTF-8) makes
  Dash raise ``DependencyException``; it is answered 404;
* Flask's own "Exception on <path>" line escapes the path and method.
"""

from __future__ import annotations

import logging

from flask import Flask, has_request_context, request
from flask.json.provider import DefaultJSONProvider

from chatcore.logsafe import escape

log = logging.getLogger("chatserver.hygiene")


def _where() -> str:
    """``METHOD path`` of the current request, escaped for a log line ("" outside a request)."""
    return f"{escape(request.method)} {escape(request.path)}" if has_request_context() else ""


class DepthLimitedJSONProvider(DefaultJSONProvider):
    """Flask's default JSON provider whose ``loads`` refuses too-deep nesting as bad JSON."""

    def loads(self, s, **kwargs):
        """``json.loads``; a ``RecursionError`` (nesting beyond the interpreter's
        recursion limit) becomes ``ValueError`` after one warning line."""
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            log.warning("refused a JSON body nested too deeply (%s)", _where())
            raise ValueError("JSON nested too deeply") from None


def install(server: Flask, dash_app=None) -> None:
    """Install the JSON provider, the Dash missing-file 404 and the escaped exception line on ``server``."""
    server.json = DepthLimitedJSONProvider(server)

    def log_exception(exc_info) -> None:
        """Flask's ``log_exception`` with the client-chosen path and method escaped."""
        server.logger.error("Exception on %s [%s]", escape(request.path), escape(request.method), exc_info=exc_info)

    server.log_exception = log_exception  # type: ignore[method-assign]

    if dash_app is not None:
        from dash.exceptions import DependencyException  # only with Dash: chatcore stays importable without it

        @server.errorhandler(DependencyException)
        def _missing_component_file(_exc: Exception):
            """404 for an unknown Dash component file (one warning line, no traceback)."""
            log.warning("no such Dash component file (%s): 404", _where())
            return "Not Found", 404, {"Content-Type": "text/plain; charset=utf-8"}
