"""The top bar: sidebar toggle (phones), app title, the model switch (searchable,
per conversation) and the current model, the usage budget
(when one applies), then Settings, theme, language, Clear (with confirm), Export, Export selected (the
ticked messages), Share as image, Copy as Markdown, the keyboard shortcuts (these five behind a
"more" button on phones) and (with access codes) Log out."""

from __future__ import annotations

import feffery_antd_components as fac
from dash import html

from . import ids
from .paths import app_path
from .texts import t


def _logout_form(locale: str):
    """A native ``POST /logout`` form with one submit button: no JavaScript, and a POST
    so the same-origin check applies (``chatserver.access``; ``GET /logout`` is 405)."""
    label = t("logout", locale)
    return html.Form(
        action=app_path("/logout"),
        method="POST",
        className="chat-logout-form",
        style={"display": "inline-block", "margin": 0},
        children=html.Button(
            [fac.AntdIcon(icon="antd-logout"), html.Span(label, style={"marginLeft": 6})],
            id=ids.LOGOUT_BUTTON,
            type="submit",
            title=label,
            className="chat-logout-button",
            style={
                "background": "none", "border": 0, "cursor": "pointer", "padding": "4px 8px",
                "fontFamily": "inherit", "fontSize": 14, "lineHeight": "22px", "color": "inherit", "borderRadius": 6,
            },
        ),
    )


def _icon_action(component_id: str, label_key: str, icon, locale: str):
    """An icon button with a title; its label shows only inside the phones' "more" menu."""
    label = t(label_key, locale)
    return fac.AntdButton(
        html.Span(label, className="chat-header-label"),
        id=component_id,
        icon=icon,
        type="text",
        title=label,
        className="chat-header-icon-button",
        **{"aria-label": label},
    )


def _more_menu(locale: str):
    """The conversation's ways out: Export, Export selected (the ticked messages), Share as
    image and Copy as Markdown (assets/js/share.mjs), and the keyboard shortcuts dialog
    (assets/js/shortcuts.mjs). One set of elements (one id each): a row on wide screens; on
    phones (assets/chat.css) a menu opened by the "more" button (share.mjs toggles it)."""
    return html.Div(
        id=ids.HEADER_MORE,
        className="chat-header-more",
        children=[
            fac.AntdButton(
                id=ids.HEADER_MORE_BUTTON,
                icon=fac.AntdIcon(icon="antd-ellipsis"),
                type="text",
                title=t("more", locale),
                className="chat-header-more-button",
                **{"aria-label": t("more", locale), "aria-haspopup": "true", "aria-expanded": "false"},
            ),
            html.Div(
                className="chat-header-more-menu",
                children=[
                    fac.AntdButton(
                        t("export", locale),
                        id=ids.EXPORT_BUTTON,
                        icon=fac.AntdIcon(icon="antd-download"),
                        className="chat-header-text-button",
                        title=t("export", locale),
                    ),
                    # only the messages ticked with their checkboxes
                    fac.AntdButton(
                        t("export_selected", locale),
                        id=ids.EXPORT_SELECTED_BUTTON,
                        icon=fac.AntdIcon(icon="antd-export"),
                        className="chat-header-text-button",
                        title=t("export_selected", locale),
                    ),
                    _icon_action(ids.SHARE_IMAGE_BUTTON, "share_image", fac.AntdIcon(icon="antd-picture"), locale),
                    _icon_action(ids.COPY_MARKDOWN_BUTTON, "copy_markdown", fac.AntdIcon(icon="antd-file-markdown"), locale),
                    _icon_action(ids.SHORTCUTS_BUTTON, "shortcuts", html.Span("\u2328\ufe0e", className="chat-kbd-icon"), locale),
                ],
            ),
        ],
    )


def render(model: str, locale: str = "en-US", show_logout: bool = False, models: list[str] | None = None):
    """The header region; ``models``: the offered model names (the page replaces them
    with /api/models' list, grouped by connection); ``show_logout`` (True when
    ``ACCESS_CODES`` is set) adds the Log out button."""
    return html.Header(
        className="chat-header",
        children=[
            # sidebar toggle (visible on narrow screens), title and model
            html.Div(
                className="chat-header-title",
                children=[
                    fac.AntdButton(
                        id=ids.SIDEBAR_TOGGLE,
                        icon=fac.AntdIcon(icon="antd-menu"),
                        type="text",
                        className="chat-sidebar-toggle",
                        title=t("menu", locale),
                    ),
                    html.Span(t("app_title", locale), className="chat-app-name"),
                    # the model switch: the open conversation's model (callbacks/header.py)
                    html.Div(
                        id=ids.MODEL_SELECT,
                        className="chat-model-select",
                        title=t("model_switch", locale),
                        children=fac.AntdSelect(
                            id=ids.MODEL_PICKER,
                            options=[{"label": name, "value": name} for name in (models or [model])],
                            value=model,
                            showSearch=True,
                            optionFilterProp="label",
                            allowClear=False,
                            variant="borderless",
                            popupMatchSelectWidth=False,
                            placeholder=model,
                            className="chat-model-picker",
                        ),
                    ),
                    # the model in effect, as text (kept for readers and tests; the select shows it)
                    fac.AntdTag(id=ids.HEADER_MODEL, content=model, color="blue", bordered=False, className="chat-model-tag"),
                    # the signed-in access code's usage budget, filled by callbacks/budget.py
                    html.Span(id=ids.BUDGET, className="chat-budget", hidden=True, style={"fontSize": 12, "opacity": 0.75}),
                ],
            ),
            # page and conversation actions
            fac.AntdSpace(
                [
                    fac.AntdButton(
                        id=ids.SETTINGS_BUTTON,
                        icon=fac.AntdIcon(icon="antd-setting"),
                        type="text",
                        title=t("settings", locale),
                    ),
                    fac.AntdButton(
                        id=ids.THEME_BUTTON,
                        icon=fac.AntdIcon(icon="antd-bulb"),
                        type="text",
                        title=t("theme_dark", locale),
                    ),
                    fac.AntdButton(
                        t("language", locale),
                        id=ids.LANGUAGE_BUTTON,
                        type="text",
                        className="chat-language-button",
                    ),
                    fac.AntdPopconfirm(
                        fac.AntdButton(
                            t("clear", locale),
                            id=ids.CLEAR_BUTTON,
                            icon=fac.AntdIcon(icon="antd-delete"),
                            className="chat-header-text-button",
                            title=t("clear", locale),
                        ),
                        id=ids.CLEAR_CONFIRM,
                        title=t("clear_confirm", locale),
                        description=t("clear_confirm_desc", locale),
                        okText=t("ok", locale),
                        cancelText=t("cancel", locale),
                        okButtonProps={"danger": True},
                    ),
                    # Export, Export selected, Share as image, Copy as Markdown and the
                    # shortcuts: in a row on wide screens, behind "more" on phones
                    _more_menu(locale),
                ]
                # end the session (server-side revocation), only when logins exist
                + ([_logout_form(locale)] if show_logout else []),
                size="small",
            ),
        ],
    )
