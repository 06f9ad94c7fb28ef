"""The login page shown instead of the chat while ``ACCESS_CODES`` is set and the
browser is not signed in.

A plain HTML form that POSTs to ``/login`` (``chatserver.access``): it needs no Dash
callback, because every callback route answers 401 until the session is signed in.
fac components give it the app's look; the input and the button are native so the
browser submits the form without JavaScript.
"""

from __future__ import annotations

import feffery_antd_components as fac
from dash import dcc, html

from .paths import app_path

# Ids of the login page (its own region; not used by any callback).
LOGIN_FORM = "login-form"
LOGIN_CODE = "login-code"
LOGIN_SUBMIT = "login-submit"
LOGIN_ERROR = "login-error"

LOGIN_TEXTS: dict[str, dict[str, str]] = {
    "en-US": {
        "title": "Dash Chat",
        "subtitle": "This chat is private. Enter your access code to continue.",
        "code": "Access code",
        "submit": "Sign in",
        "invalid": "That access code is not valid.",
        "locked": "Too many failed attempts. Try again in {seconds} s.",
    },
    "zh-CN": {
        "title": "Dash Chat",
        "subtitle": "这是一个私有聊天服务，请输入访问码后继续。",
        "code": "访问码",
        "submit": "登录",
        "invalid": "访问码无效。",
        "locked": "失败次数过多，请 {seconds} 秒后再试。",
    },
}


def render(locale: str = "en-US", error: str | None = None, retry_after: int | None = None):
    """The login page. ``error`` is ``"invalid"``, ``"locked"`` or ``None``;
    ``retry_after`` (seconds) fills the lockout message."""
    texts = LOGIN_TEXTS.get(locale, LOGIN_TEXTS["en-US"])
    alert = None
    if error in ("invalid", "locked"):
        alert = fac.AntdAlert(
            id=LOGIN_ERROR,
            type="error",
            showIcon=True,
            message=texts[error].format(seconds=retry_after or 60),
            style={"marginBottom": 16},
        )
    return fac.AntdConfigProvider(
        locale="en-us" if locale == "en-US" else "zh-cn",
        children=fac.AntdCenter(
            className="login-page",
            style={"minHeight": "100vh"},
            children=fac.AntdCard(
                title=texts["title"],
                style={"width": 360, "maxWidth": "92vw"},
                children=[
                    fac.AntdParagraph(texts["subtitle"], type="secondary"),
                    alert,
                    # native form: POST /login with field "code"
                    html.Form(
                        id=LOGIN_FORM,
                        action=app_path("/login"),
                        method="post",
                        style={"width": "100%", "display": "block"},
                        children=[
                            html.Label(texts["code"], htmlFor=LOGIN_CODE, className="login-label"),
                            dcc.Input(
                                id=LOGIN_CODE,
                                name="code",
                                type="password",
                                autoComplete="current-password",
                                debounce=True,
                                required=True,
                                maxLength=500,
                                autoFocus=True,
                                className="login-input",
                                style={"width": "100%"},
                            ),
                            html.Button(
                                texts["submit"], id=LOGIN_SUBMIT, type="submit", className="login-submit", style={"width": "100%"}
                            ),
                        ],
                    ),
                ],
            ),
        ),
    )
