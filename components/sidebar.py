"""The conversation sidebar: New, search, the list (drawn clientside), backup, Export all
(.zip), restore (a JSON backup or a Markdown export), and the rename / delete dialogs.

The list items are built in ``assets/js/sidebar.mjs`` (``renderSidebar``) from the history
store, newest first; clicks on them are handled there by event delegation
(``data-conv-id`` / ``data-action`` attributes), so the history never travels to the
server.
"""

from __future__ import annotations

import feffery_antd_components as fac
from dash import dcc, html

from . import ids
from .texts import t


def render(locale: str = "en-US"):
    """The sidebar region and its dialogs."""
    return html.Aside(
        id=ids.SIDEBAR,
        className="chat-sidebar",
        children=[
            # new conversation and search
            html.Div(
                className="chat-sidebar-top",
                children=[
                    # New chat, and the prompt presets beside it (assets/js/presetdialog.mjs opens the dialog)
                    html.Div(
                        className="chat-sidebar-new-row",
                        children=[
                            fac.AntdButton(
                                t("new_chat", locale),
                                id=ids.NEW_BUTTON,
                                icon=fac.AntdIcon(icon="antd-plus"),
                                block=True,
                                type="dashed",
                            ),
                            fac.AntdButton(
                                t("presets", locale),
                                id=ids.PRESETS_BUTTON,
                                icon=fac.AntdIcon(icon="antd-bulb"),
                                title=t("presets_title", locale),
                                type="dashed",
                            ),
                        ],
                    ),
                    fac.AntdInput(
                        id=ids.SEARCH_INPUT,
                        placeholder=t("search", locale),
                        allowClear=True,
                        debounceWait=150,
                        prefix=fac.AntdIcon(icon="antd-search"),
                    ),
                ],
            ),
            # the conversation list (filled clientside)
            html.Div(id=ids.CONVERSATION_LIST, className="chat-conversation-list", children=[]),
            # backup, export and restore of all conversations
            html.Div(
                className="chat-sidebar-bottom",
                children=[
                    fac.AntdButton(
                        t("backup_export", locale),
                        id=ids.BACKUP_EXPORT_BUTTON,
                        icon=fac.AntdIcon(icon="antd-cloud-download"),
                        size="small",
                        type="text",
                    ),
                    # every conversation as a .zip of .md files plus the JSON backup (built in the browser)
                    fac.AntdButton(
                        t("export_all", locale),
                        id=ids.EXPORT_ALL_BUTTON,
                        icon=fac.AntdIcon(icon="antd-file-zip"),
                        size="small",
                        type="text",
                    ),
                    # a JSON backup, or a Markdown export read back as a new conversation
                    dcc.Upload(
                        id=ids.BACKUP_UPLOAD,
                        accept=".json,application/json,.md,.markdown,text/markdown",
                        multiple=False,
                        max_size=200 * 1024 * 1024,
                        children=fac.AntdButton(
                            t("backup_import", locale),
                            icon=fac.AntdIcon(icon="antd-cloud-upload"),
                            size="small",
                            type="text",
                        ),
                    ),
                ],
            ),
            # rename dialog
            fac.AntdModal(
                id=ids.RENAME_MODAL,
                title=t("rename_title", locale),
                renderFooter=True,
                okText=t("save", locale),
                cancelText=t("cancel", locale),
                visible=False,
                children=fac.AntdInput(id=ids.RENAME_INPUT, maxLength=120, value=""),
            ),
            # delete confirmation
            fac.AntdModal(
                id=ids.DELETE_MODAL,
                title=t("delete_title", locale),
                renderFooter=True,
                okText=t("delete", locale),
                cancelText=t("cancel", locale),
                okButtonProps={"danger": True},
                visible=False,
                children=html.P(t("delete_desc", locale)),
            ),
        ],
    )
