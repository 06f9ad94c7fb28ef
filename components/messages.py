"""The conversation region: empty state, message list, the streaming reply, errors.

Stored messages are rendered into ``chat-messages`` by a clientside callback
(``assets/js/render.mjs`` → ``renderMessages``); the reply being streamed lives in its own
element so that each update re-renders one Markdown block, not the whole list.
"""

from __future__ import annotations

import feffery_antd_components as fac
import feffery_markdown_components  # noqa: F401  (Dash serves its bundle: the page draws FefferyMarkdown, assets/js/messageview.mjs, streamview.mjs)
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


def first_run(env_lines: list[str], allow_own_key: bool, locale: str):
    """What a new operator (or user) needs when no key is configured (hook
    ``chat-first-run``): the exact ``.env`` lines for the chosen provider
    (``chatcore.providers.first_run_env_lines``) and, when ALLOW_USER_API_KEY, a field
    for a key of the user's own (kept in this browser: assets/js/settings.mjs)."""
    children = [
        html.P(t("no_key_desc", locale)),
        html.Pre(html.Code("\n".join(env_lines)), className="chat-first-run-env"),
    ]
    if allow_own_key:
        children += [
            html.P(t("first_run_own_key", locale)),
            html.Div(
                className="chat-first-run-own",
                children=[
                    fac.AntdInput(id=ids.FIRST_RUN_KEY, mode="password", autoComplete="off", value="", placeholder="sk-…"),
                    fac.AntdButton(t("save", locale), id=ids.FIRST_RUN_SAVE, type="primary"),
                ],
            ),
        ]
    return html.Div(id=ids.FIRST_RUN, className="chat-first-run", children=children)


def render(has_key: bool, locale: str = "en-US", env_lines: list[str] | None = None, allow_own_key: bool = False):
    """The scrollable conversation region (``env_lines``/``allow_own_key``: the first-run
    panel shown when no key is configured)."""
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
                    description=first_run(env_lines or [], allow_own_key, locale) if not has_key else "",
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
                                        # drawn by assets/js/streamview.mjs (StreamMarkdown)
                                        html.Div(id=ids.STREAM_REASONING_MARKDOWN),
                                    ],
                                ),
                                # the server's "Retrying in N s…" before the reply starts (assets/js/stream.mjs)
                                html.Div(id=ids.STREAM_STATUS, className="chat-stream-status", role="status"),
                                # the reply so far: its finished blocks (drawn once each) and the
                                # growing tail (re-rendered on every paint; assets/js/blocks.mjs),
                                # painted by assets/js/streamview.mjs, not through Dash
                                html.Div(id=ids.STREAM_MARKDOWN, className="chat-stream-markdown"),
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
