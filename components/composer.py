"""The input area: message box, Send and Stop.

Enter sends and Shift+Enter inserts a new line (handled in ``assets/js/actions.mjs``, which
also respects IME composition so Chinese input is not sent half-typed).
"""

from __future__ import annotations

import feffery_antd_components as fac
from dash import html

from . import ids
from .texts import t


def render(max_chars: int, locale: str = "en-US"):
    """The composer region under the conversation."""
    return html.Footer(
        className="chat-composer",
        children=html.Div(
            className="chat-column chat-composer-inner",
            children=[
                fac.AntdInput(
                    id=ids.INPUT,
                    mode="text-area",
                    autoSize={"minRows": 1, "maxRows": 8},
                    placeholder=t("input_placeholder", locale),
                    className="chat-input",
                    value="",
                ),
                html.Div(
                    className="chat-composer-buttons",
                    children=[
                        fac.AntdButton(
                            t("send", locale),
                            id=ids.SEND_BUTTON,
                            type="primary",
                            icon=fac.AntdIcon(icon="antd-send"),
                        ),
                        fac.AntdButton(
                            t("stop", locale),
                            id=ids.STOP_BUTTON,
                            danger=True,
                            icon=fac.AntdIcon(icon="antd-pause"),
                            style={"display": "none"},
                        ),
                    ],
                ),
            ],
        ),
    )
