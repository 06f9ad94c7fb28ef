"""Callbacks of the sidebar: the list, New, rename, delete, backup, Export all and restore
(clientside; a Markdown export chosen in Restore is read by POST /api/import/markdown)."""

from __future__ import annotations

from dash import ClientsideFunction, Input, Output, State, clientside_callback

from components import ids

# The conversation list filtered by the search box (title and content); with every
# commit the list is drawn by renderMessages (one callback per commit, not two).
clientside_callback(
    ClientsideFunction(namespace="chat", function_name="renderSidebar"),
    Output(ids.CONVERSATION_LIST, "children"),
    Input(ids.SEARCH_INPUT, "debounceValue"),
    State(ids.CONFIG_STORE, "data"),
)

# New chat.
clientside_callback(
    ClientsideFunction(namespace="chat", function_name="newConversation"),
    Output(ids.HISTORY_STORE, "data", allow_duplicate=True),
    Input(ids.NEW_BUTTON, "nClicks"),
    State(ids.HISTORY_STORE, "data"),
    prevent_initial_call=True,
)

# Rename dialog OK (the dialog is opened by a click on an item's Rename in assets/js/actions.mjs).
clientside_callback(
    ClientsideFunction(namespace="chat", function_name="renameConversation"),
    Output(ids.HISTORY_STORE, "data", allow_duplicate=True),
    Input(ids.RENAME_MODAL, "okCounts"),
    State(ids.RENAME_INPUT, "value"),
    State(ids.HISTORY_STORE, "data"),
    prevent_initial_call=True,
)

# Delete dialog OK.
clientside_callback(
    ClientsideFunction(namespace="chat", function_name="deleteConversation"),
    Output(ids.HISTORY_STORE, "data", allow_duplicate=True),
    Input(ids.DELETE_MODAL, "okCounts"),
    State(ids.HISTORY_STORE, "data"),
    prevent_initial_call=True,
)

# Back up all conversations as one JSON file.
clientside_callback(
    ClientsideFunction(namespace="chat", function_name="backupExport"),
    Output(ids.DOWNLOAD, "data", allow_duplicate=True),
    Input(ids.BACKUP_EXPORT_BUTTON, "nClicks"),
    State(ids.HISTORY_STORE, "data"),
    prevent_initial_call=True,
)

# Export all: a .zip of one .md per conversation and the JSON backup, built in the browser
# (assets/js/exporter.mjs writes what chatcore.export.to_markdown writes); downloaded by set_props.
clientside_callback(
    ClientsideFunction(namespace="chat", function_name="exportAll"),
    Output(ids.DOWNLOAD, "data", allow_duplicate=True),
    Input(ids.EXPORT_ALL_BUTTON, "nClicks"),
    State(ids.PREFS_STORE, "data"),
    State(ids.CONFIG_STORE, "data"),
    prevent_initial_call=True,
)

# Restore from a backup file or a Markdown export (merge; a bad file changes nothing).
clientside_callback(
    ClientsideFunction(namespace="chat", function_name="importBackup"),
    Output(ids.HISTORY_STORE, "data", allow_duplicate=True),
    Output(ids.BACKUP_UPLOAD, "contents"),
    Input(ids.BACKUP_UPLOAD, "contents"),
    State(ids.BACKUP_UPLOAD, "filename"),
    State(ids.HISTORY_STORE, "data"),
    State(ids.CONFIG_STORE, "data"),
    prevent_initial_call=True,
)
