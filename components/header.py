"""The top bar: app title, current model, Clear (with confirm) and Export."""

from __future__ import annotations

import feffery_antd_components as fac
from dash import html

from . import ids
from .texts import t


def render(model: str, locale: str = "en-US"):
    """The header region."""
    return html.Header(
        className="chat-header",
        children=[
            # title and model
            html.Div(
                className="chat-header-title",
                children=[
                    html.Span(t("app_title", locale), className="chat-app-name"),
                    fac.AntdTag(id=ids.HEADER_MODEL, content=model, color="blue", bordered=False),
                ],
            ),
            # conversation actions
            fac.AntdSpace(
                [
                    fac.AntdPopconfirm(
                        fac.AntdButton(
                            t("clear", locale),
                            id=ids.CLEAR_BUTTON,
                            icon=fac.AntdIcon(icon="antd-delete"),
                        ),
                        id=ids.CLEAR_CONFIRM,
                        title=t("clear_confirm", locale),
                        description=t("clear_confirm_desc", locale),
                        okText=t("ok", locale),
                        cancelText=t("cancel", locale),
                        okButtonProps={"danger": True},
                    ),
                    fac.AntdButton(
                        t("export", locale),
                        id=ids.EXPORT_BUTTON,
                        icon=fac.AntdIcon(icon="antd-download"),
                    ),
                ]
            ),
        ],
    )
