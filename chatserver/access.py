"""The one place every request passes before it reaches a route.

``install(server, settings, dash_app)`` registers on the Flask server:

* ``before_request`` → ``check_request``: the cross-site check for every unsafe
  method, the login guard (``ACCESS_CODES``) for every route — the Dash page, every
  Dash callback route (``/_dash-update-component`` …), the stream endpoint — and the
  chat request rate limit. Only ``PUBLIC_PREFIXES`` (health check, static files),
  ``PUBLIC_PATHS`` (the service worker and the manifest, ``chatserver.pwa``) and the
  login page itself answer without a session.
* ``POST /login`` / ``POST /logout`` (the login page is the Dash index, whose layout
  is ``components.login`` while signed out, see ``needs_login``); ``GET /logout`` is
  405, so an image or link in a model reply cannot sign the user out;
* ``after_request`` → security headers on every response (``security_headers``);
* the JSON 413 handler.

Sessions are Flask's signed cookies (itsdangerous, ``SECRET_KEY``): HttpOnly,
SameSite=Lax, Secure when the request came over HTTPS (or ``SESSION_COOKIE_SECURE``),
ending ``SESSION_MAX_AGE`` seconds after sign-in however much they are used (the
cookie is not re-issued per request; ``chatserver.sessions``). Logout revokes the
session in the limits storage, so a copy of the cookie stops working on every worker
too. A session remembers a keyed digest of the
access code it signed in with, so removing a code from ``ACCESS_CODES`` signs out its
sessions, and the code's label (``lb``, ``label:code`` entries; ``default`` when
unlabelled): usage budgets are charged to it (``chatcore.budgets``), and giving the
code another label signs its sessions out too. Codes are compared in constant time
(``hmac.compare_digest`` over SHA-256 digests, every code tried) and are never logged.

``/admin`` and ``/admin/usage.json`` (``chatserver.admin``) skip the login guard: they
have their own (HTTP Basic with ``ADMIN_CODES``). With a Redis storage, an unreachable
Redis refuses every request that needs it with 503 ``limits_unavailable`` (fail
closed) and one log line.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import secrets
import time
from datetime import datetime, timedelta, timezone
from urllib.parse import unquote, urlsplit

from flask import Flask, Response, current_app, g, has_request_context, jsonify, redirect, request, session
from flask.sessions import SecureCookieSessionInterface
from limits.storage import MemoryStorage
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from chatcore import budgets
from . import hygiene, modules, pwa, sessions
from chatcore.errors import ChatError
from chatcore.i18n import LOCALE_COOKIE, resolve_locale
from .limits import ChatLimits, client_address
from chatcore.logsafe import escape

log = logging.getLogger("chatserver.access")

# Paths that never need a login: health checks and static files.
PUBLIC_PREFIXES = ("/healthz", "/assets/", "/_dash-component-suites/", "/favicon.ico", "/_favicon.ico")
# The installable app's service worker and manifest (chatserver.pwa): public paths and
# hashes only; the browser fetches the manifest without cookies, and the login page
# registers the worker too.
PUBLIC_PATHS = (pwa.SW_PATH, pwa.MANIFEST_PATH)
LOGIN_PATH = "/login"
LOGOUT_PATH = "/logout"
# Dash routes the login page itself needs (the layout is the login form while signed
# out; the dependency list holds only ids). /_dash-update-component is NOT here.
LOGIN_PAGE_ROUTES = ("/_dash-layout", "/_dash-dependencies")
STREAM_PATH = "/api/chat/stream"
ADMIN_PATHS = ("/admin", "/admin/usage.json")  # chatserver.admin
UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
SESSION_COOKIE = "chat_session"

# Content-Security-Policy (CSP Level 3). Scripts: only our origin plus the sha256
# hashes of Dash's inline renderer/clientside scripts (``Dash.csp_hashes()``), so
# injected inline scripts, event handlers and ``javascript:`` URLs cannot run.
# 'unsafe-eval' is allowed on purpose: fmc 0.4.3 evaluates its ``linkTransformFunc``
# string with eval(); without it that filter (javascript:/data: links → '#') throws
# and links keep their raw href. With 'unsafe-eval' the link filter works AND the
# missing 'unsafe-inline' still blocks javascript: URLs, so we keep two layers; our
# code never evals user or model text. Styles need 'unsafe-inline' (antd's CSS-in-JS
# injects <style> tags). Images only from this origin or data:/blob: — a remote image
# in model output could leak the conversation through its URL.
CSP_TEMPLATE = (
    "default-src 'self'; script-src 'self' 'unsafe-eval' {hashes}; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; manifest-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


class _SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, marked Secure when the request came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        """Secure when configured, or when this request's scheme is https (after ProxyFix)."""
        return bool(app.config.get("SESSION_COOKIE_SECURE")) or request.is_secure

    def get_expiration_time(self, app: Flask, session) -> datetime | None:
        """The cookie's ``Expires``: sign-in time + ``SESSION_MAX_AGE`` for a signed-in
        session (absolute, never sliding), Flask's default (now + lifetime) otherwise."""
        end = sessions.expires_at(session, int(app.permanent_session_lifetime.total_seconds()))
        if session.permanent and end is not None:
            return datetime.fromtimestamp(end, tz=timezone.utc)
        return super().get_expiration_time(app, session)


def request_locale(chosen: str | None = None) -> str:
    """The locale of the current request (``chatcore.i18n.resolve_locale``: ``chosen``,
    else the language the user picked (cookie), else ``Accept-Language``); en-US
    outside a request."""
    if not has_request_context():
        return resolve_locale(chosen=chosen)
    return resolve_locale(request.cookies.get(LOCALE_COOKIE), request.headers.get("Accept-Language"), chosen)


def error_response(error: ChatError, status: int | None = None) -> Response:
    """A JSON error ``{"error": {status, code, message, retry_after}}`` with its status."""
    response = jsonify({"error": error.to_dict()})
    response.status_code = status or error.status
    if error.retry_after is not None:
        response.headers["Retry-After"] = str(int(error.retry_after + 0.999))
    return response


def _digest(secret: str, code: str) -> str:
    """Keyed digest of an access code, stored in the session instead of the code."""
    return hmac.new(secret.encode(), b"access-code:" + code.encode(), hashlib.sha256).hexdigest()[:32]


def code_matches(given: str, codes: list[str]) -> str | None:
    """The configured code equal to ``given``, compared in constant time, or ``None``.

    Every code is compared (no early exit) on SHA-256 digests, so neither the time
    nor the length of a comparison reveals a code.
    """
    given_hash = hashlib.sha256(given.encode("utf-8", "replace")).digest()
    found = None
    for code in codes:
        if hmac.compare_digest(given_hash, hashlib.sha256(code.encode()).digest()):
            found = code
    return found


def _settings():
    return current_app.config["CHAT_SETTINGS"]


def is_signed_in() -> bool:
    """True when the session was signed in with a code that is still configured (with
    the same label, when the session recorded one), less than ``SESSION_MAX_AGE`` seconds
    ago (absolute), and was not logged out (revocation looked up in the limits storage
    once per request). Sets ``g.chat_label`` to the code's label."""
    settings = _settings()
    digest = session.get("cd")
    sid = session.get("sid")
    if not isinstance(digest, str) or not isinstance(sid, str):
        return False
    secret = settings.secret_key.get_secret_value()
    label = None
    for code, code_label in settings.access_code_labels.items():
        if hmac.compare_digest(digest, _digest(secret, code)):
            label = code_label
    # sessions from before labels existed have no "lb": the configured label applies
    if label is None or session.get("lb", label) != label:
        return False
    g.chat_label = label
    if sessions.is_expired(session, settings.session_max_age):
        return False
    revoked = g.get("chat_revoked")
    if revoked is None or revoked[0] != sid:
        limits: ChatLimits | None = current_app.extensions.get("chat_limits")
        revoked = g.chat_revoked = (sid, limits is not None and sessions.is_revoked(limits.storage, sid))
    return not revoked[1]


def session_label() -> str | None:
    """The access-code label of this request's signed-in session (what usage budgets are
    charged to), or ``None`` without ``ACCESS_CODES``, when not signed in, or outside a
    request."""
    if not has_request_context() or not _settings().access_codes or not is_signed_in():
        return None
    return g.chat_label


def needs_login() -> bool:
    """True when access codes are on and this request's session is not signed in
    (the Dash layout function then serves the login form). False outside a request."""
    if not has_request_context():
        return False
    return bool(_settings().access_codes) and not is_signed_in()


def _same_origin(value: str) -> bool:
    """True when an Origin URL names this request's host (and port).

    The scheme is not compared: behind a TLS-terminating proxy that is not trusted
    (``TRUSTED_PROXIES=0``, e.g. Render) the app sees http while the browser says
    https; another site cannot choose our host name, so the host is what matters.
    """
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    host = request.host.lower()
    netloc = parts.netloc.lower()
    default_port = {"http": ":80", "https": ":443"}[parts.scheme]
    return netloc == host or netloc + default_port == host or netloc == host.removesuffix(default_port)


def cross_site_refusal() -> Response | None:
    """Refuse unsafe-method requests a browser sent from another site (CSRF).

    Uses the Fetch Metadata ``Sec-Fetch-Site`` header when present and the
    ``Origin`` header (RFC 6454) otherwise; requests with neither (curl, SDKs) are
    not browser requests and pass.
    """
    if request.method not in UNSAFE_METHODS:
        return None
    fetch_site = request.headers.get("Sec-Fetch-Site")
    origin = request.headers.get("Origin")
    refused = False
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        refused = True
    elif origin is not None and not _same_origin(origin):
        refused = True
    if refused:
        return error_response(ChatError.make(403, "forbidden_origin", request_locale()))
    return None


def _is_public(path: str) -> bool:
    return path.startswith(PUBLIC_PREFIXES) or path in PUBLIC_PATHS


def _wants_page(path: str) -> bool:
    """A browser navigation to a page (redirect to login) rather than an API call (401)."""
    return request.method in ("GET", "HEAD") and not path.startswith(("/api/", "/_dash")) and "text/html" in request.headers.get("Accept", "")


def check_request() -> Response | None:
    """Return a response to refuse the current request, or ``None`` to let it through.

    Order: cross-site check (403), public paths, login guard (302 to the login page
    for page navigations, 401 JSON ``login_required`` otherwise), then the chat
    request rate limit for the stream endpoint (429 with ``Retry-After``).
    """
    refused = cross_site_refusal()
    if refused is not None:
        return refused
    path = request.path
    if _is_public(path):
        return None
    if path in ADMIN_PATHS:
        return None  # guarded by ADMIN_CODES in chatserver.admin, not by a chat session
    settings = _settings()
    if current_app.secret_key and not isinstance(session.get("sid"), str) and not settings.access_codes:
        session["sid"] = secrets.token_urlsafe(18)  # anonymous session: per-session limits
        session.permanent = True
    signed_in = bool(settings.access_codes) and is_signed_in()
    if signed_in and path == LOGIN_PATH and request.method == "GET":
        return redirect("/", code=302)
    if settings.access_codes and not signed_in:
        if path in (LOGIN_PATH, LOGOUT_PATH) or path in LOGIN_PAGE_ROUTES:
            return None
        if _wants_page(path):
            return redirect(LOGIN_PATH, code=302)
        return error_response(ChatError.make(401, "login_required", request_locale()))
    if path == STREAM_PATH and request.method == "POST":
        limits: ChatLimits | None = current_app.extensions.get("chat_limits")
        if limits is not None:
            try:
                limits.check_rate(request_locale())
            except ChatError as error:
                log.info("chat request limited (%s)", error.code)
                return error_response(error)
    return None


def content_security_policy(app: Flask) -> str:
    """The CSP header value of ``app``, computed once (on its first response: by then
    every callback, and so every inline script Dash hashes, is registered) and kept in
    ``app.config["CHAT_CSP"]``."""
    policy = app.config.get("CHAT_CSP")
    if policy is None:
        dash_app = app.config.get("CHAT_DASH_APP")
        sources = list(dash_app.csp_hashes()) if dash_app is not None else []
        import_map = modules.csp_hash(dash_app) if dash_app is not None else None  # chatserver/modules.py
        hashes = " ".join(sources + ([import_map] if import_map else []))
        policy = app.config["CHAT_CSP"] = CSP_TEMPLATE.format(hashes=hashes)
    return policy


def security_headers(response: Response) -> Response:
    """Add CSP, nosniff, Referrer-Policy, framing and (over HTTPS) HSTS headers."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", content_security_policy(current_app))
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


def _unsafe_path(text: str) -> bool:
    """True when ``text`` could leave this origin or is not a plain path: whitespace or
    control characters (browsers drop tab/CR/LF from URLs, so ``/<TAB>/evil`` is
    ``//evil``; CR/LF would split the header), a backslash (browsers read ``/<BACKSLASH>evil``
    as ``//evil``), not starting with exactly one ``/``, or a scheme or host in ``urlsplit``."""
    if any(char.isspace() or not char.isprintable() for char in text) or "\\" in text:
        return True
    if not text.startswith("/") or text.startswith("//"):
        return True
    try:
        parts = urlsplit(text)
    except ValueError:
        return True
    return bool(parts.scheme or parts.netloc)


def safe_next(value: object) -> str:
    """The local path to redirect to after login: ``value`` when it is a same-origin
    path, else ``"/"``.

    ``value`` (the login form's ``next`` field) is refused when it, or any of its
    percent-decodings (up to three rounds, so ``/%2F/evil`` and ``/%252F/evil`` count
    as ``//evil``), fails ``_unsafe_path``. URL syntax: RFC 3986 §4.2 (a reference
    starting ``//`` names another host); browsers follow the WHATWG URL Standard,
    which also drops tab/newline and reads a backslash as ``/``. A percent-encoding
    that is not UTF-8 is refused too.
    """
    if not isinstance(value, str) or not value or len(value) > 2000:
        return "/"
    text = value
    for _ in range(4):
        if _unsafe_path(text):
            return "/"
        try:
            decoded = unquote(text, errors="strict")
        except UnicodeDecodeError:
            return "/"
        if decoded == text:
            return value
        text = decoded
    return "/"  # still changing after three decodings: not a path a page links to


def _login_view():
    """``POST /login`` (form field ``code``): sign in, or back to the form with an error."""
    settings = _settings()
    if not settings.access_codes:
        return redirect("/", code=303)
    given = request.form.get("code", "")
    labels = settings.access_code_labels
    code = code_matches(given, list(labels)) if given else None
    if code is None:
        log.warning("failed login from %s", escape(client_address()))  # never the code itself
        session["login_error"] = "invalid"
        response = redirect(LOGIN_PATH, code=303)
        response.headers["X-Login-Result"] = "invalid"
        return response
    session.clear()
    session["sid"] = secrets.token_urlsafe(18)
    session["cd"] = _digest(settings.secret_key.get_secret_value(), code)
    session["lb"] = labels[code]  # usage budgets are per label (chatcore.budgets)
    session["iat"] = int(time.time())  # sign-in time: the lifetime counts from here
    session.permanent = True
    log.info("login from %s", escape(client_address()))
    response = redirect(safe_next(request.form.get("next")), code=303)
    response.headers["X-Login-Result"] = "ok"
    return response


def _logout_view():
    """``POST /logout``: revoke the session server-side (every worker and instance
    sharing ``RATELIMIT_STORAGE_URI``), clear the cookie, back to the login page.

    Only POST (``GET`` is 405), and like every POST it passes ``cross_site_refusal``
    first, so another site or a URL in a model reply cannot sign the user out.
    """
    settings = _settings()
    sid = session.get("sid")
    limits: ChatLimits | None = current_app.extensions.get("chat_limits")
    if isinstance(sid, str) and limits is not None:
        end = sessions.expires_at(session, settings.session_max_age)
        left = settings.session_max_age if end is None else end - time.time()
        sessions.revoke(limits.storage, sid, left)
        log.info("logout from %s", escape(client_address()))
    session.clear()
    response = redirect(LOGIN_PATH if settings.access_codes else "/", code=303)
    # the HTTP cache of this origin (the service worker deletes its own caches on this
    # POST, chatserver.pwa); never "storage": that would wipe the conversations in IndexedDB
    response.headers["Clear-Site-Data"] = '"cache"'
    return response


def _login_key() -> str:
    """The login limit's key: the client address, escaped (flask-limiter writes the key
    into its "ratelimit … exceeded" log line; escaping is one-to-one, so addresses
    still count apart)."""
    return escape(client_address())


def _logout_get() -> Response:
    """``GET``/``HEAD /logout``: 405 (RFC 9110 §15.5.6, ``Allow: POST``), session untouched.

    A browser sends this GET for an image or link in a model reply
    (``![x](/logout)``); it must not sign the user out. (Without this rule Dash's
    catch-all page route would answer it.)
    """
    return Response("Log out with POST /logout.\n", status=405, headers={"Allow": "POST"}, mimetype="text/plain")


def _login_locked(limit) -> Response:
    """flask-limiter ``on_breach`` for logins: back to the form with a lockout message."""
    wait = max(1, int(limit.reset_at - time.time() + 0.999))
    log.warning("login locked for %s (%d s)", escape(client_address()), wait)
    session["login_error"] = "locked"
    session["login_retry"] = wait
    response = redirect(LOGIN_PATH, code=303)
    response.headers["Retry-After"] = str(wait)
    response.headers["X-Login-Result"] = "locked"
    return response


def open_proxy_warning(settings, host: str) -> str | None:
    """The loud warning text when the server key is open to anyone, else ``None``.

    An open deployment = a server API key, no ``ACCESS_CODES``, listening on a
    non-loopback address: anyone who reaches it spends the owner's key.
    """
    if not settings.has_server_key or settings.access_codes:
        return None
    name = host.strip("[]") or "0.0.0.0"
    try:
        if ipaddress.ip_address(name).is_loopback:
            return None
    except ValueError:
        if name == "localhost":
            return None
    return (
        "!" * 78 + "\n"
        f"!! OPEN PROXY: listening on {host} with a server API key and no ACCESS_CODES.\n"
        "!! Anyone who can reach this address can spend your API key.\n"
        "!! Set ACCESS_CODES and SECRET_KEY (see README, Configuration), or bind to 127.0.0.1.\n"
        + "!" * 78
    )


def _limits_unavailable(exc: Exception) -> Response:
    """503 ``limits_unavailable`` (JSON) when the limits storage (Redis) cannot be
    reached: fail closed, with one log line saying why (no URL, no password)."""
    budgets.log_storage_failure(exc, f"{request.method} {escape(request.path)[:100]} refused with 503")
    return error_response(ChatError.make(503, "limits_unavailable", request_locale()))


def install(server: Flask, settings, dash_app=None) -> None:
    """Register the access hook, login routes, limits, usage budgets (``chatcore.budgets``)
    and the admin pages (``chatserver.admin``), headers, the JSON 413 handler and (with
    Redis) the 503 for an unreachable storage.

    ``dash_app`` (a ``dash.Dash``) supplies the CSP hashes of its inline scripts.
    """
    if settings.trusted_proxies:
        # X-Forwarded-For and -Proto only; -Host/-Port (which the same-origin check
        # and redirects would believe) only when the operator says the proxy sets them.
        n = settings.trusted_proxies
        m = n if settings.trusted_proxy_host else 0
        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=n, x_proto=n, x_host=m, x_port=m)  # type: ignore[method-assign]
    if settings.secret_key and settings.secret_key.get_secret_value().strip():
        server.secret_key = settings.secret_key.get_secret_value()
    server.session_interface = _SessionInterface()
    server.config.update(
        SESSION_COOKIE_NAME=SESSION_COOKIE,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.session_cookie_secure,
        PERMANENT_SESSION_LIFETIME=timedelta(seconds=settings.session_max_age),
        SESSION_REFRESH_EACH_REQUEST=False,  # the lifetime is absolute: no sliding re-issue
        CHAT_DASH_APP=dash_app,
    )
    hygiene.install(server, dash_app)  # 4xx + one warning line for malformed requests
    # Our guard runs first; flask-limiter's own hook (login limit) after it.
    server.before_request(check_request)
    limits = ChatLimits(server, settings)

    login = limits.limiter.limit(
        settings.login_rate_limit or "1000000 per second",
        key_func=_login_key,
        deduct_when=lambda response: response.headers.get("X-Login-Result") != "ok",
        on_breach=_login_locked,
    )(_login_view)
    server.add_url_rule(LOGIN_PATH, "chat_login", login, methods=["POST"])
    server.add_url_rule(LOGOUT_PATH, "chat_logout", _logout_view, methods=["POST"])
    server.add_url_rule(LOGOUT_PATH, "chat_logout_get", _logout_get, methods=["GET"])  # 405, see _logout_get
    server.after_request(security_headers)
    from . import admin  # here: chatserver.admin imports this module

    book = budgets.install(server, settings, limits.storage)
    admin.install(server, settings, limits, book)
    if not isinstance(limits.storage, MemoryStorage):
        # Redis unreachable: every request that needs it (session revocation, rate and
        # stream limits, budgets, login limits) gets a clear 503 instead of a 500.
        errors = limits.storage.base_exceptions
        for error_class in errors if isinstance(errors, tuple) else (errors,):
            server.register_error_handler(error_class, _limits_unavailable)

    @server.errorhandler(413)
    def _too_large(_exc: Exception) -> Response:
        limit = server.config.get("MAX_CONTENT_LENGTH") or 0
        return error_response(ChatError.make(413, "payload_too_large", request_locale(), limit=limit))

    @server.errorhandler(HTTPException)
    def _api_http_error(exc: HTTPException):
        """JSON instead of Werkzeug's HTML error pages under /api/ (e.g. 405)."""
        if not request.path.startswith("/api/") or exc.code is None:
            return exc
        return error_response(ChatError.make(exc.code, "invalid_request", request_locale(), detail=exc.name))

    @server.errorhandler(500)
    def _internal(exc: Exception):
        """A JSON 500 without any exception text for /api/ routes (logged server-side)."""
        if not request.path.startswith("/api/"):
            return exc
        return error_response(ChatError.make(500, "internal", request_locale()))
