"""Callbacks of the composer: Send and Stop (the stream itself runs in assets/js/stream.mjs)."""

from __future__ import annotations

from dash import ClientsideFunction, Input, Output, State, clientside_callback

from components import ids

# Send: append the user's message, clear the box, start streaming the reply.
clientside_callback(
    ClientsideFunction(namespace="chat", function_name="send"),
    Output(ids.HISTORY_STORE, "data", allow_duplicate=True),
    Output(ids.INPUT, "value"),
    Input(ids.SEND_BUTTON, "nClicks"),
    State(ids.INPUT, "value"),
    State(ids.HISTORY_STORE, "data"),
    State(ids.CONFIG_STORE, "data"),
    prevent_initial_call=True,
)

# Stop: abort the browser request; the server then closes the upstream request.
clientside_callback(
    ClientsideFunction(namespace="chat", function_name="stop"),
    Output(ids.STOP_BUTTON, "loading"),
    Input(ids.STOP_BUTTON, "nClicks"),
    prevent_initial_call=True,
)
