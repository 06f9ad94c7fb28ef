"""Operator pages: usage per access-code label (``chatcore.budgets``).

* ``GET /admin`` — a plain HTML page (no script: the CSP forbids inline script and
  none is needed) with the table ``#admin-usage-table``: per label, tokens and cost
  used today and this month next to the budget's limits;
* ``GET /admin/usage.json`` — the same as JSON (``BudgetBook.report``).

Both need one of ``ADMIN_CODES`` as the password of HTTP Basic authentication (RFC
7617; any user name). Basic rather than a login form: no second session to keep,
revoke and expire, and the JSON route works from ``curl -u admin:CODE``; the browser
asks once and resends the code with each request, so put the app behind HTTPS
(``deploy/nginx/https.conf``) before using it over a network. Codes are compared in
constant time (``chatserver.access.code_matches``) and never logged. Wrong codes are
limited per client address like logins (``LOGIN_RATE_LIMIT``, one counter for both
routes; then 429 with ``Retry-After``). Without ``ADMIN_CODES`` both routes are 404.

These routes skip the chat login guard (``chatserver.access.ADMIN_PATHS``): an operator
does not need an access code, and an access code does not open them.
"""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, jsonify, render_template_string, request

from .access import _login_key, code_matches
from chatcore.budgets import BudgetBook
from .limits import client_address
from chatcore.logsafe import escape

log = logging.getLogger("chatserver.admin")

PAGE_PATH = "/admin"
JSON_PATH = "/admin/usage.json"
REALM = 'Basic realm="Dash Chat admin", charset="UTF-8"'
RESULT_HEADER = "X-Admin-Result"  # "invalid" marks the attempts the rate limit counts

# Jinja (autoescaped: render_template_string escapes every value); styles inline are
# allowed by the CSP (style-src 'unsafe-inline'), scripts are not and there are none.
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Dash Chat – usage</title>
<style>
body { font: 14px/1.5 system-ui, sans-serif; margin: 2rem; color: #222; }
table { border-collapse: collapse; } th, td { border: 1px solid #ccc; padding: 4px 10px; text-align: right; }
th:first-child, td:first-child { text-align: left; } .over { color: #b00; font-weight: 600; }
</style></head><body>
<h1>Usage per access-code label</h1>
<p>Day {{ r.day.period }} and month {{ r.month.period }} in {{ r.timezone }}; the day resets at
{{ r.day.resets_at }}, the month at {{ r.month.resets_at }}. Cost in {{ r.currency }}.
<a href="{{ json_path }}">JSON</a></p>
{% if rows %}
<table id="admin-usage-table">
<thead><tr><th>Label</th><th>Tokens today</th><th>Cost today</th><th>Tokens this month</th><th>Cost this month</th></tr></thead>
<tbody>
{% for row in rows %}<tr data-label="{{ row.label }}"><td>{{ row.label }}</td>
{% for cell in row.cells %}<td{% if cell.over %} class="over"{% endif %}>{{ cell.text }}</td>{% endfor %}</tr>
{% endfor %}</tbody></table>
{% else %}<p id="admin-usage-table">No access codes are configured (ACCESS_CODES), so there is nothing to count.</p>{% endif %}
</body></html>
"""


def _cell(used: float, limit: float | None, text: str, limit_text: str) -> dict:
    """One table cell: ``"12,340 / 100,000"`` (or the use alone without a limit)."""
    return {"text": f"{text} / {limit_text}" if limit is not None else text, "over": limit is not None and used >= limit}


def page_rows(report: dict) -> list[dict]:
    """The table rows of ``BudgetBook.report()``: ``[{"label", "cells": [{"text", "over"}] * 4}]``."""
    rows = []
    for entry in report["labels"]:
        budget = entry["budget"] or {}
        cells = []
        for kind in ("day", "month"):
            tokens, cost = entry[kind]["tokens"], entry[kind]["cost"]
            token_limit, cost_limit = budget.get(f"tokens_per_{kind}"), budget.get(f"cost_per_{kind}")
            cells.append(_cell(tokens, token_limit, f"{tokens:,}", f"{token_limit:,}" if token_limit else ""))
            cells.append(_cell(cost, cost_limit, f"{cost:,.4f}", f"{cost_limit:,.2f}" if cost_limit else ""))
        rows.append({"label": entry["label"], "cells": cells})
    return rows


def install(server: Flask, settings, limits, book: BudgetBook) -> None:
    """Register ``GET /admin`` and ``GET /admin/usage.json`` on ``server``, guarded by
    ``ADMIN_CODES`` (HTTP Basic) and limited with ``limits.limiter`` (``ChatLimits``)."""

    def refusal() -> Response | None:
        """``None`` when the request carries an admin code, else the 404/401 to send."""
        if not settings.admin_codes:
            return Response("Admin pages are off: set ADMIN_CODES.\n", status=404, mimetype="text/plain")
        auth = request.authorization
        given = auth.password if auth is not None and auth.type == "basic" else None
        if given and code_matches(given, settings.admin_codes) is not None:
            return None
        response = Response("Admin code required.\n", status=401, mimetype="text/plain")
        response.headers["WWW-Authenticate"] = REALM
        if given is not None:  # a wrong code (not the browser's first, credential-less try)
            log.warning("failed admin login from %s", escape(client_address()))
            response.headers[RESULT_HEADER] = "invalid"
        return response

    def locked(limit) -> Response:
        """``on_breach``: too many wrong admin codes from this address."""
        wait = max(1, int(limit.reset_at - time.time() + 0.999))
        log.warning("admin login locked for %s (%d s)", escape(client_address()), wait)
        response = Response(f"Too many wrong admin codes. Try again in {wait} s.\n", status=429, mimetype="text/plain")
        response.headers["Retry-After"] = str(wait)
        return response

    def usage_json() -> Response:
        """``BudgetBook.report()`` as JSON."""
        response = refusal() or jsonify(book.report())
        response.headers["Cache-Control"] = "no-store"
        return response

    def usage_page() -> Response:
        """The HTML table of ``BudgetBook.report()``."""
        response = refusal()
        if response is None:
            report = book.report()
            html = render_template_string(PAGE, r=report, rows=page_rows(report), json_path=JSON_PATH)
            response = Response(html, mimetype="text/html")
        response.headers["Cache-Control"] = "no-store"
        return response

    guard = limits.limiter.shared_limit(
        settings.login_rate_limit or "1000000 per second",
        scope="admin",
        key_func=_login_key,
        deduct_when=lambda response: response.headers.get(RESULT_HEADER) == "invalid",
        on_breach=locked,
    )
    server.add_url_rule(JSON_PATH, "chat_admin_usage_json", guard(usage_json), methods=["GET"])
    server.add_url_rule(PAGE_PATH, "chat_admin_usage", guard(usage_page), methods=["GET"])

