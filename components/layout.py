"""The root layout: stores, sidebar, header, conversation, composer, settings, global slots."""

from __future__ import annotations

from typing import get_args

import feffery_antd_components as fac
from dash import dcc, html

from chatcore.client import BACKOFF_BASE, BACKOFF_MAX, RETRY_AFTER_CAP
from chatcore.i18n import LOCALE_COOKIE
from chatcore.attachments import DOCUMENT_EXTENSIONS
from chatcore.export import DOWNLOAD_NAMES
from chatcore.messages import IMAGE_TYPES, MAX_ATTACHMENTS, Role
from chatcore.vision import vision_config
from chatcore.providers import CURRENCY_SYMBOLS, first_run_env_lines
from chatserver import access, export_api
from chatcore.schema import LEGACY_STORE, committed_schema
from chatcore.settings_spec import SETTINGS
from chatcore import presets as preset_spec

from . import composer, header, ids, messages, sidebar
from . import shortcuts
from . import presets as presets_dialog
from . import bundles
from .paths import app_path
from . import settings as settings_drawer
from .texts import UI_TEXTS

# vendored browser libraries under assets/ (versions and licenses: assets/vendor/README.md)
VENDOR = {
    "dexie": "vendor/dexie-4.4.7.min.js",  # IndexedDB (assets/storage.js), on every page
    "mermaid": "vendor/mermaid-10.9.8.min.js",  # diagrams, loaded on first need
    "purify": "vendor/purify-3.5.0.min.js",  # DOMPurify: mermaid's SVG is sanitized with it
    "markdownit": "vendor/markdown-it-14.3.3.min.js",  # the browser's Markdown exporter (Export all)
    "fflate": "vendor/fflate-0.8.3.min.js",  # the zip of Export all
    "screenshot": "vendor/modern-screenshot-4.7.0.min.js",  # Share as image (assets/js/share.mjs), on first use
}
# the committed JSON Schema (tests/test_schema.py keeps it equal to the pydantic models)
PAGE_SCHEMA = committed_schema()


def request_locale() -> str:
    """The UI locale of the current page request (``chatserver.access.request_locale``,
    the one rule the login page and server errors use too); en-US outside a request."""
    return access.request_locale()


def public_config(settings, locale: str = "en-US") -> dict:
    """What the page script needs to know about the server. Never includes a secret.

    Every contract the page shares with Python comes from here: component ids
    (``ids``), the settings spec (``settings``), roles, limits, URLs, the storage and
    backup schema, the UI texts.
    """
    return {
        "model": settings.openai_model,
        "models": settings.models,
        "max_message_chars": settings.max_message_chars,
        "max_messages": settings.max_messages,
        "max_body_bytes": settings.max_body_bytes,
        "ids": ids.page_ids(),
        "settings": [spec.page() for spec in SETTINGS],
        "roles": list(get_args(Role)),
        # every URL the page requests, under the app's base path (behind a path prefix too)
        "stream_url": app_path("/api/chat/stream"),
        "login_url": app_path("/login"),
        "vendor_urls": {name: app_path("/assets/" + path) for name, path in VENDOR.items() if name != "dexie"},
        # component bundles loaded on first need (components/bundles.py: fmc's Markdown)
        "bundle_urls": bundles.urls(),
        # one definition of how Markdown renders (no raw HTML, the link filter) for
        # the streaming reply and the stored messages drawn by assets/js/render.mjs
        "markdown_props": messages.MARKDOWN_PROPS,
        # what every value from outside (restore, browser storage, /api/models, server
        # events) is coerced against before it is stored or drawn (chatcore/schema.py)
        "schema": PAGE_SCHEMA,
        "models_url": app_path("/api/models"),
        # a .md export chosen in Restore is read back on the server (chatserver/export_api.py)
        "import_markdown_url": app_path("/api/import/markdown"),
        # its body limit (an export with images is larger than MAX_BODY_BYTES)
        "import_markdown_max_bytes": export_api.import_limit(settings),
        # the names of the files offered for download ({stamp}: local YYYYMMDD-HHMMSS)
        "download_names": DOWNLOAD_NAMES,
        # where format 1 of the history was kept (assets/storage.js migrates it once)
        "legacy_store": LEGACY_STORE,
        # images and documents attached to a message (issue 13; chatcore.attachments, chatcore.vision)
        "attachments": {
            "extract_url": app_path("/api/attachments/extract"),
            "image_max_side": settings.image_max_side,
            "image_max_bytes": settings.image_max_bytes,
            "attachment_max_bytes": settings.attachment_max_bytes,
            "max_chat_body_bytes": settings.max_chat_body_bytes,
            # data-URL characters of the images one request may carry (older ones are left out)
            "image_budget_bytes": int(0.8 * settings.max_chat_body_bytes),
            "max_attachments": MAX_ATTACHMENTS,
            "image_types": list(IMAGE_TYPES),
            "document_extensions": list(DOCUMENT_EXTENSIONS),
        },
        # which models accept images: assets/js/vision.mjs acceptsImages(model, config.vision)
        "vision": vision_config(settings),
        # true with a CHAT_BACKEND too: no "no key" banner (a boolean, nothing else)
        "has_server_key": settings.answers_without_user_key,
        # usage budgets per access-code label apply: the page refreshes the budget line after a reply
        "budgets": bool(settings.budgets and settings.access_codes),
        # the Retry button's wait (assets/js/retry.mjs): the server's RetryPolicy limits
        "retry": {"cap_s": RETRY_AFTER_CAP, "backoff_base_s": BACKOFF_BASE, "backoff_max_s": BACKOFF_MAX},
        "allow_user_api_key": settings.allow_user_api_key,
        "allow_user_base_url": settings.allow_user_base_url,
        # the operator's SYSTEM_PROMPT stays on the server unless SYSTEM_PROMPT_EDITABLE
        "system_prompt": settings.system_prompt if settings.system_prompt_editable else "",
        "system_prompt_editable": settings.system_prompt_editable,
        # per 1M tokens, with the currency's symbol for the usage line (¥ for CNY, $ for USD)
        "usage_cost_symbol": CURRENCY_SYMBOLS["USD"],  # a provider-reported usage.cost is USD (OpenRouter)
        "prices": {name: {**price.model_dump(), "symbol": price.symbol} for name, price in settings.model_prices.items()},
        "locale": locale,
        "locale_cookie": LOCALE_COOKIE,
        "texts": UI_TEXTS,
        # the key map (components/shortcuts.py): assets/js/shortcuts.mjs acts on it and lists it
        "shortcuts": shortcuts.page(),
        # Share as image (assets/js/share.mjs): the pixel ratio and the largest canvas an image
        # may use (iOS Safari's 16,777,216 px area; a side of 16,384 px), taller ones are split
        "share": shortcuts.SHARE_LIMITS,
        # prompt presets (chatcore/presets.py): the built-ins in this locale, the file and storage formats
        "presets": preset_spec.page_config(locale),
    }


def render(settings, locale: str | None = None):
    """The whole page for ``settings`` (a ``config.Settings``) in ``locale`` (default:
    from the request)."""
    locale = locale or request_locale()
    return fac.AntdConfigProvider(
        id=ids.THEME_PROVIDER,
        locale="en-us" if locale == "en-US" else "zh-cn",
        algorithm="default",
        children=html.Div(
            className="chat-app",
            lang=locale,
            children=[
                # the history in memory: assets/storage.js loads it from IndexedDB
                # (one record per conversation and per message) and writes changes back
                dcc.Store(id=ids.HISTORY_STORE, storage_type="memory"),
                # defaults, own API key and theme: this browser only (localStorage)
                dcc.Store(id=ids.PREFS_STORE, storage_type="local"),
                dcc.Store(id=ids.ACTIVE_STORE, storage_type="local"),
                dcc.Store(id=ids.VIEW_STORE, data={"limit": 0}),
                dcc.Store(id=ids.EXPORT_REQUEST),
                # the budget line is asked for again after each reply, only when budgets apply
                dcc.Store(id=ids.BUDGET_TICK, data=0),
                dcc.Store(id=ids.CONFIG_STORE, data=public_config(settings, locale)),
                dcc.Download(id=ids.DOWNLOAD),
                # global feedback slot, filled with set_props
                fac.Fragment(id=ids.GLOBAL_MESSAGE),
                sidebar.render(locale),
                html.Div(id=ids.SIDEBAR_MASK, className="chat-sidebar-mask"),
                html.Div(
                    className="chat-main",
                    children=[
                        header.render(settings.openai_model, locale, show_logout=bool(settings.access_codes), models=settings.models),
                        messages.render(
                            settings.answers_without_user_key, locale,
                            env_lines=first_run_env_lines(settings), allow_own_key=settings.allow_user_api_key,
                        ),
                        composer.render(settings.max_message_chars, locale),
                    ],
                ),
                settings_drawer.render(settings, locale),
                # the keyboard shortcuts dialog (its list is drawn by assets/js/shortcuts.mjs)
                shortcuts.render(locale),
                # the prompt presets dialog (its list and form are drawn by assets/js/presetdialog.mjs)
                presets_dialog.render(locale),
            ],
        ),
    )
