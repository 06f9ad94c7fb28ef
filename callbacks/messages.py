"""Callbacks of the conversation region."""

from __future__ import annotations

from dash import ClientsideFunction, Input, Output, State, clientside_callback

from components import ids

# Render the stored messages of the active conversation (clientside: the history
# stays in the browser and 1,000 messages do not travel to the server to be drawn).
clientside_callback(
    ClientsideFunction(namespace="chat", function_name="renderMessages"),
    Output(ids.MESSAGES, "children"),
    Output(ids.EMPTY_STATE, "style"),
    Output(ids.ERROR_BOX, "style"),
    Output(ids.ERROR_TEXT, "children"),
    Input(ids.HISTORY_STORE, "data"),
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
