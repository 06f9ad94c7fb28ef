"""Entry point: builds the Dash app, exposes ``server`` for gunicorn, runs on 8050.

    python chat_app.py           serve on HOST:PORT (default 127.0.0.1:8050)
    python chat_app.py local     same, sending OpenAI traffic through LOCAL_PROXY
    gunicorn chat_app:server     production (settings in gunicorn.conf.py)
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

import dash

from chatserver import access, compression, export_api, pwa, stream_api
from chatcore.backend import BackendLoadError, load_backend
from chatcore.connections import ConnectionRegistry
from chatserver import modules
from chatserver import slow_clients
from chatserver import attachments_api
from components import bundles, layout, login
from config import Settings, SettingsError, get_settings

log = logging.getLogger("chat_app")
# the page script: ES modules under assets/js (not auto-included: main.mjs imports the rest)
PAGE_SCRIPT = "js/main.mjs"
# Dash starts once the document is parsed: module scripts run before DOMContentLoaded,
# so every window.dash_clientside.chat function exists before the first callback.
DEFERRED_RENDERER = "document.addEventListener('DOMContentLoaded', function () { %s });"


def create_app(settings: Settings) -> dash.Dash:
    """Build the Dash app (Flask backend) for ``settings``.

    The Flask server gets the stream blueprint and the access hook; the layout is a
    function so each page load gets fresh server config.
    """
    app = dash.Dash(
        __name__,
        title="Dash Chat",
        update_title=None,
        suppress_callback_exceptions=True,
        serve_locally=True,
        compress=False,  # chatserver.compression instead: cached bundles, never the SSE stream
        # big vendor scripts (mermaid) load on demand (assets/js/mermaid.mjs); the page's
        # modules are imported by assets/js/main.mjs, not listed one by one
        assets_path_ignore=["vendor", "js"],
    )
    bundles.defer()  # fmc's bundle loads when the page first draws Markdown (components/bundles.py)
    # the IndexedDB library under assets/storage.js, before the page's own scripts
    app.config.external_scripts.append(app.get_asset_url(layout.VENDOR["dexie"]))
    # the page script's modules by versioned URL, preloaded at once (chatserver/modules.py)
    page_modules = modules.install(app, PAGE_SCRIPT)
    app.config.external_scripts.append({"src": page_modules.url(app, PAGE_SCRIPT), "type": "module"})
    app.renderer = DEFERRED_RENDERER % app.renderer
    # installable app: manifest link (with the service worker's URL), theme-color, touch icon
    app.index_string = pwa.with_head_tags(app.index_string, app)
    app.index_string = modules.with_head_tags(app.index_string, app)
    server = app.server
    compression.install(server, settings)  # flask-compress, and the precompressed bundle store
    server.config["CHAT_SETTINGS"] = settings
    server.config["CHAT_BACKEND"] = configure_backend(settings)
    # CONNECTIONS (or the single OPENAI_* connection): which URL and key serve a model id
    server.config["CHAT_CONNECTIONS"] = ConnectionRegistry.from_settings(settings)
    server.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    slow_clients.install(server, settings)  # 408 for stalled bodies; before access: ProxyFix wraps it
    access.install(server, settings, app)
    server.register_blueprint(stream_api.bp)
    server.register_blueprint(export_api.bp)  # POST /api/import/markdown
    server.register_blueprint(attachments_api.bp)  # POST /api/attachments/extract
    pwa.install(server, app)  # GET /sw.js, /manifest.webmanifest (chatserver/pwa.py)
    app.layout = lambda: serve_layout(settings)
    compression.warm(app)  # the page's bundles at Brotli 11 / gzip 9, in a child process
    return app


def configure_backend(settings: Settings):
    """Load ``CHAT_BACKEND`` (``None`` when unset) and make its models the offered ones.

    With a backend, ``settings.openai_model``/``openai_models`` are set to what the
    backend offers (``Backend.offered_models``), so the page, the header, exports and
    ``/api/models`` agree.

    Raises:
        SettingsError: the module does not import, or the function is missing or not
            callable; the message names CHAT_BACKEND.
    """
    if not settings.chat_backend:
        return None
    try:
        backend = load_backend(settings.chat_backend)
    except BackendLoadError as exc:
        raise SettingsError(f"Invalid configuration:\n  CHAT_BACKEND: {exc}") from None
    default, others = backend.offered_models(settings.openai_model, "openai_model" in settings.model_fields_set)
    settings.openai_model, settings.openai_models = default, others
    log.info("chat backend: %s (models: %s)", backend.spec, ", ".join(settings.models))
    return backend


def serve_layout(settings: Settings):
    """The page for this request: the login form while signed out (ACCESS_CODES), else the chat."""
    if access.needs_login():
        from flask import session

        return login.render(access.request_locale(), session.pop("login_error", None), session.pop("login_retry", None))
    return layout.render(settings)


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Command-line arguments: an optional ``local`` mode."""
    parser = argparse.ArgumentParser(
        prog="chat_app.py",
        description="A ChatGPT-style chat app (Dash) for any OpenAI-compatible endpoint.",
        epilog=(
            "Settings come from the environment or .env (see .env.example): OPENAI_API_KEY, "
            "OPENAI_BASE_URL, OPENAI_MODEL, HOST, PORT, LOCAL_PROXY …"
        ),
    )
    parser.add_argument(
        "mode",
        nargs="?",
        choices=["local"],
        help="'local': send all OpenAI traffic through the HTTP proxy in LOCAL_PROXY "
        "(default http://127.0.0.1:10809). Without it no proxy is used.",
    )
    return parser.parse_args(argv)


logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
# The HTTP client's INFO line per upstream request ("HTTP Request: POST …") repeats what
# chatserver.stream logs once per reply, and costs the worker a formatted line each time.
logging.getLogger("httpx2").setLevel(logging.WARNING)
if __name__ == "__main__":
    parse_args(sys.argv[1:])  # --help and bad arguments answer before settings are read
settings = get_settings()
app = create_app(settings)
server = app.server
if "gunicorn" in os.environ.get("SERVER_SOFTWARE", ""):
    # gunicorn binds where gunicorn.conf.py says (0.0.0.0 unless GUNICORN_BIND)
    _bind = os.environ.get("GUNICORN_BIND") or "0.0.0.0:"
    _warning = access.open_proxy_warning(settings, _bind.rsplit(":", 1)[0])
    if _warning:
        log.warning("\n%s", _warning)

import callbacks  # noqa: E402,F401  (side effect: registers every Dash callback)


def main(argv: list[str] | None = None) -> None:
    """Run the development server on HOST:PORT."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.mode == "local":
        settings.use_local_proxy = True
    if settings.use_local_proxy:
        log.info("local mode: OpenAI traffic goes through the proxy %s", settings.local_proxy)
    warning = access.open_proxy_warning(settings, settings.host)
    if warning:
        log.warning("\n%s", warning)
    app.run(host=settings.host, port=settings.port, debug=False, threaded=True)


if __name__ == "__main__":
    main()
