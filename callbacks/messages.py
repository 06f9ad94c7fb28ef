"""Callbacks of the conversation region (all clientside: the history stays in the browser)."""

from __future__ import annotations

from dash import ClientsideFunction, Input, Output, State, clientside_callback

from components import ids

# Render the active conversation's messages (clientside: 1,000 messages do not travel
# to the server to be drawn; only the newest are drawn until the reader scrolls up).
clientside_callback(
    ClientsideFunction(namespace="chat", function_name="renderMessages"),
    Output(ids.MESSAGES, "children"),
    Output(ids.EMPTY_STATE, "style"),
    Output(ids.ERROR_BOX, "style"),
    Output(ids.ERROR_TEXT, "children"),
    Output(ids.HEADER_MODEL, "content"),
    Input(ids.HISTORY_STORE, "data"),
    Input(ids.VIEW_STORE, "data"),
    Input(ids.PREFS_STORE, "data"),
    Input(ids.ACTIVE_STORE, "data"),
    State(ids.CONFIG_STORE, "data"),
)

# Retry after an error: resend the conversation (dropping an incomplete reply).
clientside_callback(
    ClientsideFunction(namespace="chat", function_name="retry"),
    Output(ids.HISTORY_STORE, "data", allow_duplicate=True),
    Input(ids.RETRY_BUTTON, "nClicks"),
    State(ids.HISTORY_STORE, "data"),
    State(ids.CONFIG_STORE, "data"),
    prevent_initial_call=True,
)

# Edit dialog "Resend": replace the user message, drop the turns after it, stream again.
clientside_callback(
    ClientsideFunction(namespace="chat", function_name="editResend"),
    Output(ids.HISTORY_STORE, "data", allow_duplicate=True),
    Input(ids.EDIT_MODAL, "okCounts"),
    State(ids.EDIT_INPUT, "value"),
    State(ids.HISTORY_STORE, "data"),
    State(ids.CONFIG_STORE, "data"),
    prevent_initial_call=True,
)
