"""Callbacks of the header: Clear, the model switch, the Markdown export and Export
selected (the ticked messages of the active conversation, through the same request and
download).

Export: a clientside callback writes the active conversation (the branch on screen) with
its effective model and system prompt (the per-conversation value, else the browser's
default; the operator's SYSTEM_PROMPT only with ``SYSTEM_PROMPT_EDITABLE=true``) as
Markdown in the browser (assets/js/exporter.mjs, byte for byte what
``chatcore.export.to_markdown`` writes) and downloads it: images and long conversations
never go through a request body. ``chat-export-request`` is only its output slot.
"""

from __future__ import annotations

from dash import ClientsideFunction, Input, Output, State, clientside_callback

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
