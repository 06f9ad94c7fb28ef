"""URLs of the app under its base path (``requests_pathname_prefix``), so the page, its
forms and its script work behind a path prefix (nginx ``location /chat/``)."""

from __future__ import annotations

import dash


def app_path(path: str) -> str:
    """``path`` (``/api/models``) under the app's base path (``/chat/api/models`` with
    ``requests_pathname_prefix="/chat/"``); as given outside a Dash app (tests that
    build components directly)."""
    try:
        return dash.get_relative_path(path)
    except Exception:  # no app yet
        return path
