"""The root layout: stores, header, conversation, composer and global slots."""

from __future__ import annotations

import feffery_antd_components as fac
import feffery_utils_components as fuc
from dash import dcc, html

from . import composer, header, ids, messages
from .texts import UI_TEXTS


def public_config(settings) -> dict:
    """What the page script needs to know about the server. Never includes a secret."""
    return {
        "model": settings.openai_model,
        "models": settings.models,
        "max_message_chars": settings.max_message_chars,
        "stream_url": "/api/chat/stream",
        "has_server_key": settings.has_server_key,
        "allow_user_api_key": settings.allow_user_api_key,
        "texts": UI_TEXTS,
    }


def render(settings, locale: str = "en-US"):
    """The whole page for ``settings`` (a ``config.Settings``)."""
    return fac.AntdConfigProvider(
        locale="en-us" if locale == "en-US" else "zh-cn",
        children=html.Div(
            className="chat-app",
            children=[
                # conversations live in IndexedDB; initialSync loads them on page load
                fuc.FefferyLocalLargeStorage(id=ids.HISTORY_STORE, initialSync=True),
                dcc.Store(id=ids.CONFIG_STORE, data=public_config(settings)),
                dcc.Download(id=ids.DOWNLOAD),
                # global feedback slot, filled with set_props
                fac.Fragment(id=ids.GLOBAL_MESSAGE),
                header.render(settings.openai_model, locale),
                messages.render(settings.has_server_key, locale),
                composer.render(settings.max_message_chars, locale),
            ],
        ),
    )
