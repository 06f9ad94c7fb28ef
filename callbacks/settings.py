"""Callbacks of the settings drawer (clientside: the user's API key never reaches a
Dash callback on the server; it leaves the browser only in the stream request body)."""

from __future__ import annotations

from dash import ClientsideFunction, Input, Output, State, clientside_callback

from chatcore.settings_spec import SETTINGS
from components import ids

# one field per setting, in the spec's order (the page reads the same order from
# config.settings), then the user's own key and base URL
FIELDS = [spec.component_id for spec in SETTINGS] + [ids.SET_API_KEY, ids.SET_BASE_URL]

# Open the drawer (or switch scope): fill the fields from the conversation or the defaults.
clientside_callback(
    ClientsideFunction(namespace="chat", function_name="openSettings"),
    Output(ids.SETTINGS_DRAWER, "visible"),
    *[Output(field, "value") for field in FIELDS],
    Input(ids.SETTINGS_BUTTON, "nClicks"),
    Input(ids.SETTINGS_SCOPE, "value"),
    State(ids.HISTORY_STORE, "data"),
    State(ids.PREFS_STORE, "data"),
    prevent_initial_call=True,
)

# Validate ranges as they are typed.
clientside_callback(
    ClientsideFunction(namespace="chat", function_name="validateSettings"),
    *[Output(f"{spec[0]}-item", "validateStatus") for spec in ids.NUMERIC_SETTINGS],
    *[Output(f"{spec[0]}-item", "help") for spec in ids.NUMERIC_SETTINGS],
    Output(ids.SET_BASE_URL_ITEM, "validateStatus"),
    Output(ids.SET_BASE_URL_ITEM, "help"),
    Output(ids.SETTINGS_SAVE, "disabled"),
    Output(ids.SETTINGS_ERROR, "children"),
    *[Input(spec[0], "value") for spec in ids.NUMERIC_SETTINGS],
    Input(ids.SET_BASE_URL, "value"),
)

# Save.
clientside_callback(
    ClientsideFunction(namespace="chat", function_name="saveSettings"),
    Output(ids.HISTORY_STORE, "data", allow_duplicate=True),
    Output(ids.PREFS_STORE, "data", allow_duplicate=True),
    Output(ids.SETTINGS_DRAWER, "visible", allow_duplicate=True),
    Input(ids.SETTINGS_SAVE, "nClicks"),
    State(ids.SETTINGS_SCOPE, "value"),
    *[State(field, "value") for field in FIELDS],
    State(ids.HISTORY_STORE, "data"),
    State(ids.PREFS_STORE, "data"),
    prevent_initial_call=True,
)

# First run: the user's own key from the no-key panel goes to prefs (this browser only).
clientside_callback(
    ClientsideFunction(namespace="chat", function_name="saveOwnKey"),
    Output(ids.PREFS_STORE, "data", allow_duplicate=True),
    Output(ids.FIRST_RUN_KEY, "value"),
    Input(ids.FIRST_RUN_SAVE, "nClicks"),
    State(ids.FIRST_RUN_KEY, "value"),
    State(ids.PREFS_STORE, "data"),
    prevent_initial_call=True,
)

# Theme: the button flips it; the prefs store applies it (antd algorithm + page class).
clientside_callback(
    ClientsideFunction(namespace="chat", function_name="toggleTheme"),
    Output(ids.PREFS_STORE, "data", allow_duplicate=True),
    Input(ids.THEME_BUTTON, "nClicks"),
    State(ids.PREFS_STORE, "data"),
    prevent_initial_call=True,
)
clientside_callback(
    ClientsideFunction(namespace="chat", function_name="applyTheme"),
    Output(ids.THEME_PROVIDER, "algorithm"),
    Input(ids.PREFS_STORE, "data"),
    State(ids.CONFIG_STORE, "data"),
)

# Language: remember the other locale (cookie) and reload the page in it.
clientside_callback(
    ClientsideFunction(namespace="chat", function_name="switchLanguage"),
    Output(ids.LANGUAGE_BUTTON, "loading"),
    Input(ids.LANGUAGE_BUTTON, "nClicks"),
    State(ids.CONFIG_STORE, "data"),
    prevent_initial_call=True,
)
