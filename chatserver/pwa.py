"""The installable app (PWA): the web app manifest, the icons and the service worker.

``install(server, dash_app)`` adds two routes (under the app's base path, Dash's
``requests_pathname_prefix``, which a proxy strips before the request reaches Flask):

* ``GET /manifest.webmanifest`` → ``manifest(prefix, locale)``
  (``application/manifest+json``): name, ``start_url``/``scope``/``id`` = the base path,
  ``display: standalone``, colours and three PNG icons (192 and 512 ``any``, 512
  ``maskable``; ``assets/icons/``, drawn by ``docs/make_icons.py``), each URL carrying
  ``?v=`` = a hash of its bytes;
* ``GET /sw.js`` → ``chatserver/sw.js`` with its ``CONFIG`` (``sw_config``) filled in:
  ``text/javascript``, ``Cache-Control: no-cache`` (the browser checks it on every
  navigation), scope = the base path. Its ``version`` is a hash of the page's
  fingerprinted bundle URLs (Dash puts each package's version and file time in them)
  and of the worker's own source, so a new release (or any changed bundle) makes a
  new worker, which deletes the old caches when it activates.

``with_head_tags(index_string, dash_app)`` puts into the page head (the chat page and
the login page share Dash's index): ``<link rel="manifest">`` carrying the worker's URL
and scope in ``data-sw`` / ``data-scope`` (``assets/js/pwa.mjs`` registers it from
there), ``theme-color`` (light and dark) and ``apple-touch-icon``.

Neither route needs the login (``chatserver.access.PUBLIC_PATHS``): they hold nothing
but public paths and hashes, the browser fetches the manifest without cookies
(credentials "omit"), and the login page registers the worker too. What the worker
keeps: the public bundles, and the page HTML (no conversation: that is in IndexedDB
and comes through ``/_dash-layout`` and callbacks, which it never stores). Logging out
deletes its caches (the worker, on the logout POST) and the HTTP cache
(``Clear-Site-Data: "cache"`` on the logout response); never ``"storage"``, which
would wipe the conversations in IndexedDB.

Measured (docs/pwa.md): a cold load receives about 2.0 MB over the network, a repeat
visit with the worker about 34 KB (no versioned bundle or module reaches the server; the
rest is the layout, the HTML and the callbacks).
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
from functools import lru_cache
from pathlib import Path

from flask import Flask, Response, current_app

SW_PATH = "/sw.js"
MANIFEST_PATH = "/manifest.webmanifest"
SW_SOURCE = Path(__file__).with_name("sw.js")
CONFIG_MARK = "/*PWA_CONFIG*/ null"

# (file under assets/, pixel size, purpose); drawn by docs/make_icons.py
ICONS = (
    ("icons/icon-192.png", 192, "any"),
    ("icons/icon-512.png", 512, "any"),
    ("icons/icon-maskable-512.png", 512, "maskable"),
)
APPLE_TOUCH_ICON = "icons/icon-192.png"
# the page background (assets/chat.css --chat-bg, light and dark): title bar and splash
THEME_COLOR = "#ffffff"
THEME_COLOR_DARK = "#141414"
BACKGROUND_COLOR = "#ffffff"

# Paths under the base path the worker never answers nor stores: the API (and so the
# chat stream), Dash's callback and layout routes, the admin pages, the health check.
NETWORK_ONLY = ("/api/", "/_dash-update-component", "/_dash-layout", "/_dash-dependencies", "/_reload-hash", "/admin", "/healthz")
# Versioned URLs (path under the base path + query), the only ones cached cache-first:
# Dash's fingerprinted component bundles ("<name>.v<version>m<mtime>.<ext>", or "?v="),
# assets with Dash's "?m=<mtime>", our icons' "?v=<hash>" and the vendored libraries
# ("assets/vendor/<name>-<version>.min.js"). Regex sources that Python's
# re and JavaScript's RegExp read alike (the worker compiles the same strings).
VERSIONED = (
    r"^/_dash-component-suites/[^?]+\.v[\w-]+m[0-9a-fA-F]+\.[\w.]+$",
    r"^/_dash-component-suites/[^?]+\?(?:[^#]*&)?v=",
    r"^/assets/[^?]+\?(?:[^#]*&)?[mv]=",
    r"^/_favicon\.ico\?v=",  # Dash's own favicon, versioned by Dash's version
    # vendored libraries carry their version in the name (assets/vendor/README.md)
    r"^/assets/vendor/[\w.-]+-\d+\.\d+\.\d+(?:\.min)?\.js$",
)
_VERSIONED = [re.compile(source) for source in VERSIONED]
_URL_ATTR = re.compile(r'(?:src|href)="([^"]+)"')


def is_versioned(path: str) -> bool:
    """True when ``path`` (under the base path, with its query: ``/assets/chat.css?m=1``)
    is a URL whose content never changes, which the worker serves cache-first."""
    return any(pattern.search(path) for pattern in _VERSIONED)


def base_path(dash_app) -> str:
    """The app's base path as the browser sees it, ending in ``/`` (``/``, ``/chat/``)."""
    prefix = dash_app.config.requests_pathname_prefix or "/"
    return prefix if prefix.endswith("/") else prefix + "/"


def content_version(data: bytes) -> str:
    """The version a URL carries for content ``data`` (``?v=``): the first 12 hex digits
    of its SHA-256."""
    return hashlib.sha256(data).hexdigest()[:12]


@lru_cache(maxsize=16)
def _file_hash(path: str) -> str:
    return content_version(Path(path).read_bytes())


def icon_url(dash_app, name: str) -> str:
    """The URL of the icon ``name`` (under assets/) with ``?v=`` = a hash of its bytes."""
    return f"{dash_app.get_asset_url(name)}?v={_file_hash(str(Path(dash_app.config.assets_folder) / name))}"


def manifest(dash_app, locale: str = "en-US") -> dict:
    """The web app manifest (W3C Web Application Manifest) of ``dash_app`` in ``locale``."""
    from components.texts import t

    prefix = base_path(dash_app)
    return {
        "id": prefix,
        "name": t("app_title", locale),
        "short_name": t("app_title", locale),
        "description": t("pwa_description", locale),
        "lang": locale,
        "start_url": prefix,
        "scope": prefix,
        "display": "standalone",
        "theme_color": THEME_COLOR,
        "background_color": BACKGROUND_COLOR,
        "icons": [
            {"src": icon_url(dash_app, name), "sizes": f"{size}x{size}", "type": "image/png", "purpose": purpose}
            for name, size, purpose in ICONS
        ],
    }


def with_head_tags(index_string: str, dash_app) -> str:
    """Dash's ``index_string`` with the manifest link (carrying the worker's URL and
    scope for assets/js/pwa.mjs), the theme colours and the apple-touch-icon added to the
    head, after the favicon."""
    prefix = base_path(dash_app)
    esc = html.escape
    tags = (
        f'<link rel="manifest" href="{esc(prefix + MANIFEST_PATH[1:])}" data-sw="{esc(prefix + SW_PATH[1:])}" data-scope="{esc(prefix)}">\n'
        f'        <meta name="theme-color" content="{THEME_COLOR}" media="(prefers-color-scheme: light)">\n'
        f'        <meta name="theme-color" content="{THEME_COLOR_DARK}" media="(prefers-color-scheme: dark)">\n'
        f'        <link rel="apple-touch-icon" href="{esc(icon_url(dash_app, APPLE_TOUCH_ICON))}">'
    )
    if "{%favicon%}" not in index_string:
        raise ValueError("index_string has no {%favicon%} to put the PWA head tags after")
    return index_string.replace("{%favicon%}", "{%favicon%}\n        " + tags, 1)


def bundle_urls(dash_app) -> list[str]:
    """The versioned URLs the page loads (Dash's scripts and stylesheets in its index,
    under the base path, the bundles it loads on demand, and the favicon) plus the icons:
    what the worker precaches. Call inside a request
    (Dash lists the assets folder on its first request)."""
    page = dash_app._generate_scripts_html() + dash_app._generate_css_dist_html()  # what index() writes
    prefix = base_path(dash_app)
    urls = []
    for url in _URL_ATTR.findall(page):
        url = html.unescape(url)
        if url.startswith(prefix) and is_versioned("/" + url[len(prefix):]) and url not in urls:
            urls.append(url)
    # and the bundles the page loads on first need (fmc's Markdown: components/bundles.py)
    from components import bundles  # here: the worker's config is built inside a request

    urls += [url for url in bundles.urls(dash_app).values() if url not in urls]
    # and the page script's modules, which main.mjs imports (chatserver/modules.py)
    page_modules = dash_app.server.config.get("CHAT_MODULES")
    if page_modules is not None:
        urls += [u for u in (page_modules.url(dash_app, name) for name in page_modules.versions) if u not in urls]
    return urls + [_favicon_url(dash_app)] + [icon_url(dash_app, name) for name, _size, _purpose in ICONS]


def _favicon_url(dash_app) -> str:
    """The favicon URL Dash writes into the page (``Dash.index``): an assets favicon with
    ``?m=<mtime>``, else Dash's own with ``?v=<dash version>``."""
    import dash  # here: this module needs no Dash to be imported

    if dash_app._favicon:
        mtime = os.path.getmtime(os.path.join(dash_app.config.assets_folder, dash_app._favicon))
        return f"{dash_app.get_asset_url(dash_app._favicon)}?m={mtime}"
    return f"{base_path(dash_app)}_favicon.ico?v={dash.__version__}"


def sw_config(dash_app) -> dict:
    """The worker's ``CONFIG``: its ``version``, ``scope`` (the base path), the cache
    name prefix of this scope, the URLs to ``precache``, ``versioned`` (regex sources),
    ``network_only`` (path prefixes) and ``logout_path`` (paths under the base path)."""
    from .access import LOGOUT_PATH  # here: chatserver.access imports this module

    prefix = base_path(dash_app)
    precache = bundle_urls(dash_app)
    source = SW_SOURCE.read_text(encoding="utf-8")
    version = hashlib.sha256(json.dumps([precache, VERSIONED, NETWORK_ONLY, source]).encode()).hexdigest()[:16]
    return {
        "version": version,
        "scope": prefix,
        "cache_prefix": f"dash-chat:{prefix}:",
        "precache": precache,
        "versioned": list(VERSIONED),
        "network_only": list(NETWORK_ONLY),
        "logout_path": LOGOUT_PATH,
    }


def sw_script(dash_app) -> str:
    """The worker's source with its config filled in (``</`` escaped: JSON in JS)."""
    source = SW_SOURCE.read_text(encoding="utf-8")
    if CONFIG_MARK not in source:
        raise RuntimeError(f"{SW_SOURCE} lost its {CONFIG_MARK!r} mark")
    config = json.dumps(sw_config(dash_app), separators=(",", ":")).replace("</", "<\\/")
    return source.replace(CONFIG_MARK, config, 1)


def _sw_view() -> Response:
    """``GET /sw.js``: the worker, built once per process (Dash's fingerprints do not
    change while it runs) and kept in ``app.config["CHAT_SW"]``."""
    script = current_app.config.get("CHAT_SW")
    if script is None:
        script = current_app.config["CHAT_SW"] = sw_script(current_app.config["CHAT_PWA_DASH_APP"])
    response = Response(script, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    return response


def _manifest_view() -> Response:
    """``GET /manifest.webmanifest`` in the request's locale (Accept-Language or the
    language cookie; the browser sends no cookie with it, so usually the former)."""
    from .access import request_locale

    body = json.dumps(manifest(current_app.config["CHAT_PWA_DASH_APP"], request_locale()), ensure_ascii=False)
    response = Response(body, mimetype="application/manifest+json")
    response.headers["Cache-Control"] = "no-cache"
    response.vary.add("Accept-Language")
    return response


def install(server: Flask, dash_app) -> None:
    """Add ``GET /sw.js`` and ``GET /manifest.webmanifest`` to ``server``."""
    server.config["CHAT_PWA_DASH_APP"] = dash_app
    server.add_url_rule(SW_PATH, "chat_sw", _sw_view, methods=["GET"])
    server.add_url_rule(MANIFEST_PATH, "chat_manifest", _manifest_view, methods=["GET"])
