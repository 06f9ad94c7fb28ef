"""The settings drawer: per-conversation values and global defaults.

Fields: model, system prompt, temperature, top_p, presence_penalty,
frequency_penalty, max_tokens, how many history messages to send, and (defaults only)
the user's own API key and, when the operator allows it, base URL. Ranges are checked
as they are typed (``assets/chat.js`` → ``validateSettings``); values live only in
the browser (conversation settings in the history store, defaults in
``chat-prefs-store``, localStorage).
"""

from __future__ import annotations

import feffery_antd_components as fac
from dash import html

from chatcore.messages import REASONING_EFFORTS

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


def render(settings, locale: str = "en-US"):
    """The settings drawer (hidden until the Settings button opens it)."""
    labels = {
        "temperature": t("temperature", locale),
        "top_p": t("top_p", locale),
        "presence_penalty": t("presence_penalty", locale),
        "frequency_penalty": t("frequency_penalty", locale),
        "max_tokens": t("max_tokens", locale),
        "history": t("history_count", locale),
    }
    numeric = [
        _number_item(component_id, labels[field], minimum, maximum, integer, locale)
        for component_id, field, minimum, maximum, integer in ids.NUMERIC_SETTINGS
    ]
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
                fac.AntdFormItem(
                    fac.AntdSelect(
                        id=ids.SET_MODEL,
                        options=[{"label": name, "value": name} for name in settings.models],
                        placeholder=settings.openai_model,
                        allowClear=True,
                        showSearch=True,
                    ),
                    label=t("model", locale),
                ),
                fac.AntdFormItem(
                    fac.AntdInput(
                        id=ids.SET_SYSTEM_PROMPT,
                        mode="text-area",
                        autoSize={"minRows": 2, "maxRows": 8},
                        maxLength=settings.max_message_chars,
                        value="",
                    ),
                    label=t("system_prompt", locale),
                ),
                *numeric,
                # reasoning models only (OpenAI o-series, DeepSeek, Qwen …); sent only when set
                fac.AntdFormItem(
                    fac.AntdSelect(
                        id=ids.SET_REASONING_EFFORT,
                        options=[{"label": t(f"reasoning_effort_{level}", locale), "value": level} for level in REASONING_EFFORTS],
                        allowClear=True,
                    ),
                    label=t("reasoning_effort", locale),
                ),
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
