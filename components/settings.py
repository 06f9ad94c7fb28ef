"""The settings drawer: per-conversation values and global defaults.

Fields: model, system prompt, temperature, top_p, presence_penalty,
frequency_penalty, max_tokens, how many history messages to send, and (defaults only)
the user's own API key and, when the operator allows it, base URL. Ranges are checked
as they are typed (``assets/js/settings.mjs`` → ``validateSettings``); values live only in
the browser (conversation settings in the history store, defaults in
``chat-prefs-store``, localStorage).
"""

from __future__ import annotations

import feffery_antd_components as fac
from dash import html

from chatcore.settings_spec import SETTINGS, SettingSpec

from . import ids
from .texts import t


def _number_item(component_id: str, label: str, minimum: float, maximum: float, integer: bool, locale: str):
    """One numeric field with its range in the placeholder; help is set while typing."""
    return fac.AntdFormItem(
        fac.AntdInputNumber(
            id=component_id,
            placeholder=f"{minimum} – {maximum}",
            step=1 if integer else 0.1,
            style={"width": "100%"},
        ),
        id=f"{component_id}-item",
        className=f"{component_id}-item",  # AntdFormItem does not put its id on the DOM
        label=label,
    )


def _setting_item(spec: SettingSpec, settings, locale: str):
    """The drawer field of one setting (``chatcore.settings_spec``), by its kind."""
    if spec.kind == "number":
        return _number_item(spec.component_id, t(spec.label, locale), spec.minimum, spec.maximum, spec.integer, locale)
    if spec.kind == "model":
        field = fac.AntdSelect(
            id=spec.component_id,
            options=[{"label": name, "value": name} for name in settings.models],
            placeholder=settings.openai_model,
            allowClear=True,
            showSearch=True,
        )
    elif spec.kind == "text":
        field = fac.AntdInput(
            id=spec.component_id,
            mode="text-area",
            autoSize={"minRows": 2, "maxRows": 8},
            maxLength=settings.max_message_chars,
            value="",
        )
    else:  # choice: sent only when set (reasoning_effort: reasoning models only)
        field = fac.AntdSelect(
            id=spec.component_id,
            options=[{"label": t(f"{spec.key}_{choice}", locale), "value": choice} for choice in spec.choices],
            allowClear=True,
        )
    return fac.AntdFormItem(field, label=t(spec.label, locale))


def render(settings, locale: str = "en-US"):
    """The settings drawer (hidden until the Settings button opens it): one field per
    entry of ``chatcore.settings_spec.SETTINGS``, then the user's own credentials."""
    return fac.AntdDrawer(
        id=ids.SETTINGS_DRAWER,
        title=t("settings", locale),
        visible=False,
        width="min(440px, 100vw)",
        forceRender=True,
        footer=html.Div(
            className="chat-settings-footer",
            children=[
                html.Span(id=ids.SETTINGS_ERROR, className="chat-settings-error"),
                fac.AntdButton(t("save", locale), id=ids.SETTINGS_SAVE, type="primary"),
            ],
        ),
        children=fac.AntdForm(
            layout="vertical",
            children=[
                # which values are edited: this conversation's or the defaults
                fac.AntdSegmented(
                    id=ids.SETTINGS_SCOPE,
                    block=True,
                    value="conversation",
                    options=[
                        {"label": t("settings_scope_conv", locale), "value": "conversation"},
                        {"label": t("settings_scope_global", locale), "value": "global"},
                    ],
                    style={"marginBottom": 16},
                ),
                html.Div(t("settings_inherit", locale), className="chat-settings-hint"),
                *[_setting_item(spec, settings, locale) for spec in SETTINGS],
                # the user's own credentials (defaults only; kept in this browser)
                fac.AntdFormItem(
                    fac.AntdInput(id=ids.SET_API_KEY, mode="password", autoComplete="off", value=""),
                    id=ids.SET_API_KEY_ITEM,
                    className=ids.SET_API_KEY_ITEM,
                    label=t("api_key", locale),
                    extra=t("api_key_help", locale),
                    hidden=not settings.allow_user_api_key,
                ),
                fac.AntdFormItem(
                    fac.AntdInput(id=ids.SET_BASE_URL, placeholder="https://…/v1", value=""),
                    id=ids.SET_BASE_URL_ITEM,
                    className=ids.SET_BASE_URL_ITEM,
                    label=t("base_url", locale),
                    extra=t("base_url_help", locale),
                    hidden=not (settings.allow_user_api_key and settings.allow_user_base_url),
                ),
                # used and available space in this browser (navigator.storage.estimate)
                html.Div(id=ids.STORAGE_INFO, className="chat-settings-hint"),
            ],
        ),
    )
