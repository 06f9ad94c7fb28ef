"""The input area: message box, Send and Stop, and the attachments (issue 13).

Enter sends and Shift+Enter inserts a new line (handled in ``assets/js/actions.mjs``, which
also respects IME composition so Chinese input is not sent half-typed).

Attachments (``assets/js/attach.mjs``): the attach button (a "+" icon) (``chat-attach-button``)
opens the hidden ``input[type=file]`` that attach.mjs puts inside ``#chat-attach`` (its
``accept`` — the image types and document extensions — comes from the page config,
``attachments``); images
can also be pasted, and files dropped onto the composer. The pending attachments are
drawn into ``chat-attach-list`` as ``.chat-attachment`` thumbnails and chips.
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
            className="chat-column chat-composer-stack",
            children=[
                # the pending attachments (filled by assets/js/attach.mjs)
                html.Div(id=ids.ATTACH_LIST, className="chat-attach-list", role="list"),
                html.Div(
                    className="chat-composer-inner",
                    children=[
                        # attach: the button opens the file input that attach.mjs puts in here
                        # (an input[type=file], multiple, accept from the config: Dash has no
                        # plain file input, and dcc.Upload would carry the files through Dash)
                        html.Div(
                            id=ids.ATTACH,
                            className="chat-attach",
                            children=[
                                fac.AntdButton(
                                    id=ids.ATTACH_BUTTON,
                                    icon=fac.AntdIcon(icon="antd-plus-circle"),  # (fac has no paper clip)
                                    title=t("attach", locale),
                                    className="chat-attach-button",
                                ),
                            ],
                        ),
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
            ],
        ),
    )
