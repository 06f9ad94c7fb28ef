"""The root layout: stores, sidebar, header, conversation, composer, settings, global slots."""

from __future__ import annotations

import feffery_antd_components as fac
from dash import dcc, html

from chatcore.schema import committed_schema

from . import composer, header, ids, messages, sidebar
from . import settings as settings_drawer
from .texts import UI_TEXTS, pick_locale

LOCALE_COOKIE = "chat_locale"
# the committed JSON Schema (tests/test_schema.py keeps it equal to the pydantic models)
PAGE_SCHEMA = committed_schema()


def request_locale() -> str:
    """The UI locale of the current page request: the ``chat_locale`` cookie (set by the
    language button) or the browser's Accept-Language; en-US outside a request."""
    try:
        from flask import request

        return pick_locale(request.cookies.get(LOCALE_COOKIE), list(request.accept_languages.values()))
    except RuntimeError:  # no request context (tests building the layout directly)
        return "en-US"


def public_config(settings, locale: str = "en-US") -> dict:
    """What the page script needs to know about the server. Never includes a secret."""
    return {
        "model": settings.openai_model,
        "models": settings.models,
        "max_message_chars": settings.max_message_chars,
        "max_messages": settings.max_messages,
        "max_body_bytes": settings.max_body_bytes,
        "stream_url": "/api/chat/stream",
        # one definition of how Markdown renders (no raw HTML, the link filter) for
        # the streaming reply and the stored messages drawn by assets/chat.js
        "markdown_props": messages.MARKDOWN_PROPS,
        # what every value from outside (restore, browser storage, /api/models, server
        # events) is coerced against before it is stored or drawn (chatcore/schema.py)
        "schema": PAGE_SCHEMA,
        "models_url": "/api/models",
        # true with a CHAT_BACKEND too: no "no key" banner (a boolean, nothing else)
        "has_server_key": settings.answers_without_user_key,
        "allow_user_api_key": settings.allow_user_api_key,
        "allow_user_base_url": settings.allow_user_base_url,
        # the operator's SYSTEM_PROMPT stays on the server unless SYSTEM_PROMPT_EDITABLE
        "system_prompt": settings.system_prompt if settings.system_prompt_editable else "",
        "system_prompt_editable": settings.system_prompt_editable,
        "prices": {name: price.model_dump() for name, price in settings.model_prices.items()},
        "locale": locale,
        "locale_cookie": LOCALE_COOKIE,
        "texts": UI_TEXTS,
    }


def render(settings, locale: str | None = None):
    """The whole page for ``settings`` (a ``config.Settings``) in ``locale`` (default:
    from the request)."""
    locale = locale or request_locale()
    return fac.AntdConfigProvider(
        id=ids.THEME_PROVIDER,
        locale="en-us" if locale == "en-US" else "zh-cn",
        algorithm="default",
        children=html.Div(
            className="chat-app",
            lang=locale,
            children=[
                # the history in memory: assets/storage.js loads it from IndexedDB
                # (one record per conversation and per message) and writes changes back
                dcc.Store(id=ids.HISTORY_STORE, storage_type="memory"),
                # defaults, own API key and theme: this browser only (localStorage)
                dcc.Store(id=ids.PREFS_STORE, storage_type="local"),
                dcc.Store(id=ids.ACTIVE_STORE, storage_type="local"),
                dcc.Store(id=ids.VIEW_STORE, data={"limit": 0}),
                dcc.Store(id=ids.EXPORT_REQUEST),
                dcc.Store(id=ids.CONFIG_STORE, data=public_config(settings, locale)),
                dcc.Download(id=ids.DOWNLOAD),
                # global feedback slot, filled with set_props
                fac.Fragment(id=ids.GLOBAL_MESSAGE),
                sidebar.render(locale),
                html.Div(id=ids.SIDEBAR_MASK, className="chat-sidebar-mask"),
                html.Div(
                    className="chat-main",
                    children=[
                        header.render(settings.openai_model, locale, show_logout=bool(settings.access_codes)),
                        messages.render(settings.answers_without_user_key, locale),
                        composer.render(settings.max_message_chars, locale),
                    ],
                ),
                settings_drawer.render(settings, locale),
            ],
        ),
    )
