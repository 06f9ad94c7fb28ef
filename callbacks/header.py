"""Callbacks of the header: Clear, the model switch, the Markdown export and Export
selected (the ticked messages of the active conversation, through the same request and
download).

Export: the page writes the active conversation (the branch on screen) as Markdown in the
browser (assets/js/backup.mjs with assets/js/exporter.mjs, byte for byte what
``chatcore.export.to_markdown`` writes), so images and long conversations never go
through a request body. ``export_markdown`` below is the same export on the server, for
a request placed in ``chat-export-request`` (what the page did before; tests use it to
check the rules both follow: the operator's SYSTEM_PROMPT is recorded only with
``SYSTEM_PROMPT_EDITABLE=true``, reasoning strings only).
"""

from __future__ import annotations

from datetime import datetime, timezone

from dash import ClientsideFunction, Input, Output, State, callback, clientside_callback, dcc, no_update
from flask import current_app

from chatcore.export import export_filename, to_markdown
from components import ids

# Clear (after confirm): stop any reply and empty the active conversation.
clientside_callback(
    ClientsideFunction(namespace="chat", function_name="clear"),
    Output(ids.HISTORY_STORE, "data", allow_duplicate=True),
    Input(ids.CLEAR_CONFIRM, "confirmCounts"),
    State(ids.HISTORY_STORE, "data"),
    prevent_initial_call=True,
)

# Export: the active conversation only (never the whole history, never the prefs).
clientside_callback(
    ClientsideFunction(namespace="chat", function_name="prepareExport"),
    Output(ids.EXPORT_REQUEST, "data"),
    Input(ids.EXPORT_BUTTON, "nClicks"),
    State(ids.HISTORY_STORE, "data"),
    State(ids.PREFS_STORE, "data"),
    State(ids.CONFIG_STORE, "data"),
    prevent_initial_call=True,
)

# Export selected: only the ticked messages of the active conversation, by the same path.
clientside_callback(
    ClientsideFunction(namespace="chat", function_name="prepareExportSelected"),
    Output(ids.EXPORT_REQUEST, "data", allow_duplicate=True),
    Input(ids.EXPORT_SELECTED_BUTTON, "nClicks"),
    State(ids.HISTORY_STORE, "data"),
    State(ids.PREFS_STORE, "data"),
    State(ids.CONFIG_STORE, "data"),
    prevent_initial_call=True,
)

# The header's model switch shows the open conversation's model (the tag's text, which
# renderMessages keeps current) and a pick becomes that conversation's own model.
clientside_callback(
    ClientsideFunction(namespace="chat", function_name="showModel"),
    Output(ids.MODEL_PICKER, "value"),
    Input(ids.HEADER_MODEL, "content"),
)
clientside_callback(
    ClientsideFunction(namespace="chat", function_name="pickModel"),
    Output(ids.HISTORY_STORE, "data", allow_duplicate=True),
    Input(ids.MODEL_PICKER, "value"),
    State(ids.CONFIG_STORE, "data"),
    prevent_initial_call=True,
)


def export_messages(request: dict | None) -> list[dict]:
    """The ``{"role", "content"}`` messages of an export request (others dropped); an
    assistant message keeps its ``"reasoning"`` when that is a non-empty string (any
    other value is left out), for the export's reasoning block."""
    if not isinstance(request, dict):
        return []
    out = []
    for m in request.get("messages") or []:
        if isinstance(m, dict) and m.get("role") in ("user", "assistant", "system") and isinstance(m.get("content"), str):
            message = {"role": m["role"], "content": m["content"]}
            if m["role"] == "assistant" and isinstance(m.get("reasoning"), str) and m["reasoning"]:
                message["reasoning"] = m["reasoning"]
            if isinstance(m.get("attachments"), list) and m["attachments"]:
                message["attachments"] = m["attachments"]  # checked by chatcore.export (ValueError)
            out.append(message)
    return out


@callback(
    Output(ids.DOWNLOAD, "data"),
    Input(ids.EXPORT_REQUEST, "data"),
    prevent_initial_call=True,
)
def export_markdown(request: dict | None):
    """Download the requested conversation as ``chat-YYYYMMDD-HHMMSS.md``, recording
    its model and system prompt."""
    messages = export_messages(request)
    if not messages:
        return no_update
    settings = current_app.config["CHAT_SETTINGS"]
    model = request.get("model") if isinstance(request.get("model"), str) and request.get("model") else settings.openai_model
    system_prompt = request.get("system_prompt")
    if not isinstance(system_prompt, str):
        # the operator's prompt only when it is shown in the page anyway
        system_prompt = settings.system_prompt if settings.system_prompt_editable else None
    title = request.get("title") if isinstance(request.get("title"), str) else "Chat"
    now = datetime.now(timezone.utc)
    markdown = to_markdown(messages, model=model, title=title or "Chat", system_prompt=system_prompt, exported_at=now)
    return dcc.send_string(markdown, export_filename(now.astimezone()))
