"""The conversation region: empty state, message list, the streaming reply, errors.

Stored messages are rendered into ``chat-messages`` by a clientside callback
(``assets/js/render.mjs`` → ``renderMessages``); the reply being streamed lives in its own
element so that each update re-renders one Markdown block, not the whole list.
"""

from __future__ import annotations

import feffery_antd_components as fac
import feffery_markdown_components as fmc
from dash import html

from . import ids
from .texts import t

# Links in model/user Markdown: only http(s), mailto and in-page anchors survive;
# anything else (javascript:, data:, vbscript: …) becomes "#". fmc 0.4.3 evals this
# string and calls it with each link's href.
SAFE_LINK_FUNC = (
    "(href) => { const h = String(href || '').trim(); "
    "return /^(https?:|mailto:|#)/i.test(h) ? h : '#'; }"
)

MARKDOWN_PROPS = {
    "renderHtml": False,
    "codeTheme": "gh-colors",
    "showLineNumbers": False,
    "showCopyButton": True,
    "wrapLongLines": True,
    "linkTransformFunc": SAFE_LINK_FUNC,
    "forceTableContentTextAlignCenter": False,
}


def avatar(role: str):
    """The avatar for a role (``user`` or ``assistant``): a coloured disc with a glyph,
    the same element assets/js/render.mjs draws for stored messages."""
    return html.Div("\u263a" if role == "user" else "\u2726", className=f"chat-avatar chat-avatar-{role}")


def render(has_key: bool, locale: str = "en-US"):
    """The scrollable conversation region."""
    return html.Div(
        id=ids.SCROLL,
        className="chat-scroll",
        children=html.Div(
            className="chat-column",
            children=[
                # shown when no API key is configured on the server
                fac.AntdAlert(
                    id=ids.KEY_ALERT,
                    type="warning",
                    showIcon=True,
                    message=t("no_key_title", locale),
                    description=t("no_key_desc", locale),
                    style={} if not has_key else {"display": "none"},
                ),
                # this browser cannot save (no IndexedDB, full, newer format): filled by assets/js/persist.mjs
                fac.AntdAlert(
                    id=ids.STORAGE_ALERT,
                    type="warning",
                    showIcon=True,
                    message="",
                    style={"display": "none"},
                ),
                # empty state
                html.Div(
                    id=ids.EMPTY_STATE,
                    className="chat-empty",
                    children=[
                        html.Div("💬", className="chat-empty-icon"),
                        html.H2(t("empty_title", locale)),
                        html.P(t("empty_desc", locale)),
                    ],
                ),
                # stored messages (filled clientside)
                html.Div(id=ids.MESSAGES, className="chat-messages", children=[]),
                # the reply being streamed (hidden when idle)
                html.Div(
                    id=ids.STREAM_MESSAGE,
                    className="chat-stream-idle",
                    children=[
                        avatar("assistant"),
                        html.Div(
                            className="chat-message-body",
                            children=[
                                html.Div(t("assistant", locale), className="chat-message-role"),
                                # the model's reasoning, live while it thinks, folded when the answer starts
                                html.Details(
                                    id=ids.STREAM_REASONING,
                                    className="chat-reasoning",
                                    open=True,
                                    style={"display": "none"},
                                    children=[
                                        html.Summary(t("thinking", locale), id=ids.STREAM_REASONING_SUMMARY),
                                        fmc.FefferyMarkdown(id=ids.STREAM_REASONING_MARKDOWN, markdownStr="", **MARKDOWN_PROPS),
                                    ],
                                ),
                                fmc.FefferyMarkdown(id=ids.STREAM_MARKDOWN, markdownStr="", **MARKDOWN_PROPS),
                            ],
                        ),
                    ],
                ),
                # edit a user message and resend (opened from a message's Edit action)
                fac.AntdModal(
                    id=ids.EDIT_MODAL,
                    title=t("edit_title", locale),
                    renderFooter=True,
                    okText=t("resend", locale),
                    cancelText=t("cancel", locale),
                    visible=False,
                    width=680,
                    children=[
                        html.P(t("edit_desc", locale), className="chat-settings-hint"),
                        fac.AntdInput(id=ids.EDIT_INPUT, mode="text-area", autoSize={"minRows": 3, "maxRows": 14}, value=""),
                    ],
                ),
                # the last error, with Retry
                html.Div(
                    id=ids.ERROR_BOX,
                    className="chat-error",
                    style={"display": "none"},
                    children=[
                        html.Span(id=ids.ERROR_TEXT, className="chat-error-text"),
                        fac.AntdButton(t("retry", locale), id=ids.RETRY_BUTTON, size="small", icon=fac.AntdIcon(icon="antd-reload")),
                    ],
                ),
            ],
        ),
    )
