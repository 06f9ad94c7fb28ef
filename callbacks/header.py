"""Callbacks of the header: Clear and Export."""

from __future__ import annotations

from datetime import datetime, timezone

import feffery_antd_components as fac
from flask import current_app
from dash import ClientsideFunction, Input, Output, State, callback, clientside_callback, dcc, no_update, set_props

from chatcore.export import export_filename, to_markdown
from components import ids
from components.texts import t

# Clear (after confirm): stop any reply and empty the active conversation.
clientside_callback(
    ClientsideFunction(namespace="chat", function_name="clear"),
    Output(ids.HISTORY_STORE, "data", allow_duplicate=True),
    Input(ids.CLEAR_CONFIRM, "confirmCounts"),
    State(ids.HISTORY_STORE, "data"),
    prevent_initial_call=True,
)


def active_conversation(data: dict | None) -> dict | None:
    """The active conversation of a history store value, or ``None``."""
    if not isinstance(data, dict):
        return None
    conversations = data.get("conversations") or []
    for conversation in conversations:
        if isinstance(conversation, dict) and conversation.get("id") == data.get("active_id"):
            return conversation
    return None


@callback(
    Output(ids.DOWNLOAD, "data"),
    Input(ids.EXPORT_BUTTON, "nClicks"),
    State(ids.HISTORY_STORE, "data"),
    prevent_initial_call=True,
)
def export_markdown(n_clicks: int | None, data: dict | None):
    """Download the active conversation as ``chat-YYYYMMDD-HHMMSS.md``."""
    conversation = active_conversation(data)
    messages = [
        {"role": m["role"], "content": m["content"]}
        for m in (conversation or {}).get("messages", [])
        if isinstance(m, dict) and m.get("role") in ("user", "assistant", "system") and isinstance(m.get("content"), str)
    ]
    if not messages:
        set_props(ids.GLOBAL_MESSAGE, {"children": fac.AntdMessage(content=t("nothing_to_export"), type="info")})
        return no_update
    settings = current_app.config["CHAT_SETTINGS"]
    conv_settings = conversation.get("settings") or {}
    now = datetime.now(timezone.utc)
    markdown = to_markdown(
        messages,
        model=conv_settings.get("model") or settings.openai_model,
        title=conversation.get("title") or "Chat",
        system_prompt=conv_settings.get("system_prompt", settings.system_prompt),
        exported_at=now,
    )
    return dcc.send_string(markdown, export_filename(now.astimezone()))
