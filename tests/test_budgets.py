"""Usage budgets per access-code label (chatcore/budgets.py, config.py, chatserver/access.py,
chatserver/stream_api.py, chatserver/admin.py, callbacks/budget.py): labels in ACCESS_CODES,
BUDGETS validation, charging from reported usage and from the estimate on Stop, own
keys not charged, the 429 past the budget, resets at midnight of BUDGET_TIMEZONE (an
injected clock), fail closed without Redis, one Redis shared by two gunicorn workers,
the admin page and JSON, and the header text from the Dash callback."""

from __future__ import annotations

import base64
import logging
import shutil
import socket
import subprocess
import threading
import time
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from werkzeug.serving import make_server

from chatcore import budgets
from chatserver import access
from chatcore.context import estimate_tokens, message_tokens
from chatcore.errors import ChatError
from chatcore.i18n import TEXTS
from chatcore.sse import parse_events
from config import Settings, SettingsError, load_settings, split_access_code
from tests.conftest import TEST_KEY, free_port
from tests.test_config_cli import run_app
from tests.test_limits_redis import _gunicorn, _pids_that_served, redis_url  # noqa: F401 (redis_url is a fixture)
from tests.test_sessions import _burst, _login_cookie, _refused_by_both_workers, _request
from tests.upstream import Reply

SECRET = "s3cret-for-budget-tests-" + "b" * 16
# "alpha-code-1" because tests/test_sessions._login_cookie signs in with it
CODES = "design:alpha-code-1,beta-code-2,ops:a:b:c"
CHAT = {"messages": [{"role": "user", "content": "hi"}]}
NOON_UTC = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc).timestamp()


def budget_client(make_client, budgets_json: dict, **overrides):
    """A test client of an app with CODES, ``budgets_json`` as BUDGETS and no chat rate
    limits, signed in as label ``design``; its ``BudgetBook`` as ``client.book``."""
    values = {
        "access_codes": CODES, "secret_key": SECRET, "budgets": budgets_json,
        "chat_rate_limit_session": "", "chat_rate_limit_address": "", "max_streams_per_session": 0,
    }
    values.update(overrides)
    client = make_client(**values)
    response = client.post("/login", data={"code": "alpha-code-1"})
    assert response.headers["X-Login-Result"] == "ok"
    client.book = client.application.extensions[budgets.EXTENSION]
    return client


def used(client, label: str = "design") -> dict:
    """``{"day": (tokens, cost_micro), "month": (...)}`` of ``label`` now."""
    return {kind: (u.tokens, u.cost_micro) for kind, u in client.book.usage(label).items()}


def chat(client, **body) -> tuple[int, list[tuple[str, dict]] | dict, dict]:
    """One chat request; ``(status, SSE events or the JSON error, headers)``."""
    headers = body.pop("headers", {})
    response = client.post("/api/chat/stream", json={**CHAT, **body}, headers=headers)
    if response.status_code != 200:
        return response.status_code, response.json["error"], response.headers
    return 200, parse_events(response.get_data()), response.headers


def session_cookie(app, code: str, label: str) -> str:
    """A signed-in session cookie for ``code`` (as ``POST /login`` would set it)."""
    serializer = app.session_interface.get_signing_serializer(app)
    data = {"sid": "forged-sid-1", "cd": access._digest(SECRET, code), "lb": label, "iat": int(time.time())}
    return serializer.dumps(data)


# ------------------------------------------------------------------ labels and settings
def test_access_code_labels():
    assert split_access_code("design:code1") == ("design", "code1")
    assert split_access_code("ops:a:b") == ("ops", "a:b")  # only the first colon splits
    assert split_access_code("plain-code") == ("default", "plain-code")
    settings = Settings(_env_file=None, access_codes=CODES, secret_key=SECRET)
    assert settings.access_code_labels == {"alpha-code-1": "design", "beta-code-2": "default", "a:b:c": "ops"}


@pytest.mark.parametrize(
    "codes,fragment",
    [("design:", "no code"), ("bad label:hunter2-secret", "label"), ("x:hunter2-secret,y:hunter2-secret", "repeats")],
)
def test_bad_access_code_entries_stop_start_up(monkeypatch, codes, fragment):
    monkeypatch.setenv("ACCESS_CODES", codes)
    monkeypatch.setenv("SECRET_KEY", SECRET)
    with pytest.raises(SettingsError) as info:
        load_settings(_env_file=None)
    message = str(info.value)
    assert "ACCESS_CODES:" in message and fragment in message
    assert "hunter2" not in message  # codes are secrets


@pytest.mark.parametrize(
    "value,fragment",
    [
        ("not json", "must be valid JSON"),
        ('{"design": {"tokens_per_day": 0}}', "design.tokens_per_day"),
        ('{"design": {"tokens_per_day": "100"}}', "valid integer"),
        ('{"design": {"token_per_day": 100}}', "Extra inputs"),
        ('{"design": {"cost_per_month": -1}}', "greater than 0"),
        ('{"design": {"cost_per_month": true}}', "must be a number"),
        ('{"desing": {"tokens_per_day": 100}}', "no ACCESS_CODES entry has the label 'desing'"),
        ('{"de/sign": {}}', "not a valid label"),
        ('["design"]', "valid dictionary"),
    ],
)
def test_bad_budgets_stop_start_up(monkeypatch, value, fragment):
    monkeypatch.setenv("ACCESS_CODES", CODES)
    monkeypatch.setenv("SECRET_KEY", SECRET)
    monkeypatch.setenv("BUDGETS", value)
    with pytest.raises(SettingsError) as info:
        load_settings(_env_file=None)
    assert "BUDGETS:" in str(info.value) and fragment in str(info.value)


@pytest.mark.parametrize("name,value", [("BUDGET_TIMEZONE", "Mars/Olympus"), ("BUDGET_TIMEZONE", "../etc/passwd"), ("BUDGET_CURRENCY", "dollars")])
def test_bad_budget_zone_or_currency_stops_start_up(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as info:
        load_settings(_env_file=None)
    assert f"{name}:" in str(info.value)


def test_the_real_command_line_refuses_bad_budgets(upstream):
    from tests.conftest import app_env

    result = run_app([], app_env(upstream, ACCESS_CODES=CODES, SECRET_KEY=SECRET, BUDGETS='{"design": {"tokens_per_day": -5}}'))
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "BUDGETS: design.tokens_per_day" in output and "Traceback" not in output


def test_the_session_remembers_the_label(make_client):
    client = budget_client(make_client, {})
    app = client.application
    data = app.session_interface.get_signing_serializer(app).loads(client.get_cookie(access.SESSION_COOKIE).value)
    assert data["lb"] == "design" and "alpha-code-1" not in str(data)
    # the same code under another label: its sessions must sign in again
    other = make_client(access_codes="ops:alpha-code-1", secret_key=SECRET)
    other.set_cookie(access.SESSION_COOKIE, client.get_cookie(access.SESSION_COOKIE).value)
    assert other.post("/api/chat/stream", json=CHAT).status_code == 401
    # a session from before labels (no "lb") keeps working, charged to the code's label
    old = {key: value for key, value in data.items() if key != "lb"}
    client.set_cookie(access.SESSION_COOKIE, app.session_interface.get_signing_serializer(app).dumps(old))
    assert chat(client)[0] == 200 and used(client)["day"][0] > 0


# ------------------------------------------------------------------ charging
def test_reported_usage_is_charged_in_tokens_and_cost(make_client, fresh_upstream):
    prices = {"test-model": {"prompt": 1.5, "completion": 2.0}, "yuan-model": {"prompt": 1, "completion": 1, "currency": "CNY"}}
    client = budget_client(make_client, {"design": {"tokens_per_day": 100000}}, model_prices=prices)
    fresh_upstream.script(Reply(content="hello", usage={"prompt_tokens": 20, "completion_tokens": 10}))
    status, events, _ = chat(client)
    assert status == 200 and ("usage", {"prompt_tokens": 20, "completion_tokens": 10, "total_tokens": 30}) in events
    # 20 × 1.5 + 10 × 2.0 micro-units (prices per 1M tokens = micro-units per token)
    assert used(client) == {"day": (30, 50), "month": (30, 50)}
    # priced in another currency than BUDGET_CURRENCY (USD): tokens only
    fresh_upstream.script(Reply(content="ni hao", usage={"prompt_tokens": 5, "completion_tokens": 5}))
    assert chat(client, model="yuan-model")[0] == 200
    assert used(client) == {"day": (40, 50), "month": (40, 50)}
    # the counters' keys: label, period and unit
    day, month = client.book.periods()
    storage = client.book.storage
    assert storage.get(f"chat/budget/design/day/{day.stamp}/tokens") == 40
    assert storage.get(f"chat/budget/design/month/{month.stamp}/cost") == 50
    assert used(client, "default") == {"day": (0, 0), "month": (0, 0)}  # each label on its own


def test_stop_mid_reply_is_charged_with_the_estimate(make_client, fresh_upstream):
    """Stop after two deltas: no usage arrives, so the estimate is charged (the prompt as
    sent plus the text received) when the server closes the response."""
    client = budget_client(make_client, {"design": {"tokens_per_day": 100000}})
    fresh_upstream.script(Reply(content="abcdefgh" * 20, chunk_size=4, chunk_delay=0.05, usage={"prompt_tokens": 999, "completion_tokens": 999}))
    response = client.post("/api/chat/stream", json=CHAT, buffered=False)
    received = b""
    for chunk in response.response:
        received += chunk
        if received.count(b"event: delta") >= 2:
            break
    response.close()  # what the WSGI server does when the browser aborts (Stop)
    deltas = "".join(d["content"] for n, d in parse_events(received) if n == "delta")
    expected = message_tokens(CHAT["messages"][0]) + estimate_tokens(deltas)
    assert deltas == "abcdefgh" and expected == 5 + 2
    assert used(client) == {"day": (expected, 0), "month": (expected, 0)}
    assert fresh_upstream.wait_closed(1, timeout=5)[0]["chunks_sent"] < 40


def test_stop_before_the_first_token_is_charged_with_the_prompt_estimate(make_client, fresh_upstream):
    """A real HTTP server (werkzeug, so the disconnect watcher closes the silent upstream):
    the browser leaves before any token; the prompt estimate is charged."""
    client = budget_client(make_client, {"design": {"tokens_per_day": 100000}})
    server = make_server("127.0.0.1", 0, client.application, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        fresh_upstream.script(Reply(content="late", first_token_delay=4))
        body = b'{"messages": [{"role": "user", "content": "think long"}]}'
        cookie = client.get_cookie(access.SESSION_COOKIE).value
        with socket.create_connection(("127.0.0.1", server.server_port), timeout=10) as sock:
            sock.sendall(
                b"POST /api/chat/stream HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Cookie: chat_session=%s\r\nContent-Length: %d\r\n\r\n%s" % (cookie.encode(), len(body), body)
            )
            seen = b""
            while b"event: meta" not in seen:
                seen += sock.recv(4096)
            assert fresh_upstream.wait_for(lambda s: s.open_streams >= 1, timeout=5)
        assert fresh_upstream.wait_closed(1, timeout=3)  # the watcher closed the upstream
        expected = message_tokens({"role": "user", "content": "think long"})
        deadline = time.monotonic() + 5
        while used(client)["day"][0] == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert used(client) == {"day": (expected, 0), "month": (expected, 0)} and expected == 7
    finally:
        server.shutdown()
        thread.join(5)


def test_own_key_is_neither_checked_nor_charged(make_client, fresh_upstream):
    client = budget_client(make_client, {"design": {"tokens_per_day": 10}})
    fresh_upstream.script(Reply(content="x", usage={"prompt_tokens": 50, "completion_tokens": 50}))
    assert chat(client, api_key="sk-user-own-key-0123456789")[0] == 200
    assert used(client)["day"] == (0, 0)
    fresh_upstream.script(Reply(content="x", usage={"prompt_tokens": 50, "completion_tokens": 50}))
    assert chat(client)[0] == 200 and used(client)["day"] == (100, 0)  # server key: charged, now past 10
    assert chat(client)[0] == 429
    fresh_upstream.script(Reply(content="still fine"))
    assert chat(client, api_key="sk-user-own-key-0123456789")[0] == 200  # own key: not refused


def test_upstream_refusal_before_any_text_is_not_charged(make_client, fresh_upstream):
    client = budget_client(make_client, {"design": {"tokens_per_day": 1000}})
    fresh_upstream.script(Reply(status=400, fault="http_error"))
    status, events, _ = chat(client)
    assert status == 200 and [n for n, _ in events][-2] == "error"
    assert used(client)["day"] == (0, 0)


def test_without_access_codes_there_are_no_budgets(make_client, fresh_upstream):
    client = make_client(budgets={"default": {"tokens_per_day": 1}}, chat_rate_limit_session="")
    for _ in range(3):
        fresh_upstream.script(Reply(content="x", usage={"prompt_tokens": 5, "completion_tokens": 5}))
        assert client.post("/api/chat/stream", json=CHAT).status_code == 200
    assert client.application.extensions[budgets.EXTENSION].report()["labels"] == []


# ------------------------------------------------------------------ refusal and reset
def test_refused_past_the_budget_with_retry_after_and_a_localized_message(make_client, fresh_upstream):
    client = budget_client(make_client, {"design": {"tokens_per_day": 30}})
    client.book.clock = lambda: NOON_UTC
    fresh_upstream.script(Reply(content="x", usage={"prompt_tokens": 25, "completion_tokens": 15}))
    assert chat(client)[0] == 200  # 0 used: starts, then 40 are charged
    before = len(fresh_upstream.requests)
    status, error, headers = chat(client)
    assert status == 429 and error["code"] == "budget_exceeded"
    assert headers["Retry-After"] == "43200" and error["retry_after"] == 43200  # until midnight UTC
    assert error["message"] == (
        "The daily usage budget of your access code is used up (40 of 30 tokens). "
        "It resets at 2026-12-02 00:00 (UTC). Your message is kept."
    )
    status, error, _ = chat(client, headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert status == 429
    assert error["message"] == TEXTS["budget_exceeded"]["zh-CN"].format(
        period="每日", used="40", limit="30 tokens", reset="2026-12-02 00:00", zone="UTC"
    )
    assert "2026-12-02 00:00" in error["message"] and "每日" in error["message"]
    assert len(fresh_upstream.requests) == before  # refused before any upstream work
    # other labels have their own allowance (the default budget here is none)
    other = make_client(access_codes=CODES, secret_key=SECRET, budgets={"design": {"tokens_per_day": 30}})
    other.post("/login", data={"code": "beta-code-2"})
    assert other.post("/api/chat/stream", json=CHAT).status_code == 200


def test_day_and_month_reset_at_midnight_of_the_budget_timezone(make_client, fresh_upstream):
    """Asia/Shanghai is UTC+8: its day ends at 16:00 UTC, when the UTC date is still the
    same; the month counter goes on across the day and ends at the local new year."""
    zone = ZoneInfo("Asia/Shanghai")
    client = budget_client(
        make_client, {"design": {"tokens_per_day": 30, "tokens_per_month": 100}}, budget_timezone="Asia/Shanghai"
    )
    now = [datetime(2026, 12, 30, 23, 59, 30, tzinfo=zone).timestamp()]
    client.book.clock = lambda: now[0]
    fresh_upstream.script(
        Reply(content="x", usage={"prompt_tokens": 20, "completion_tokens": 20}),
        Reply(content="x", usage={"prompt_tokens": 30, "completion_tokens": 30}),
    )
    assert chat(client)[0] == 200
    status, error, headers = chat(client)
    assert status == 429 and headers["Retry-After"] == "30"
    assert "2026-12-31 00:00 (Asia/Shanghai)" in error["message"] and "daily" in error["message"]
    now[0] += 30  # 2026-12-31 00:00 in Shanghai, 16:00 on 2026-12-30 in UTC
    assert datetime.fromtimestamp(now[0], timezone.utc).date().isoformat() == "2026-12-30"
    assert chat(client)[0] == 200
    assert used(client) == {"day": (60, 0), "month": (100, 0)}
    # day and month both used up: the later reset (the month's, at the local new year) is reported
    now[0] = datetime(2026, 12, 31, 23, 0, tzinfo=zone).timestamp()
    status, error, headers = chat(client)
    assert status == 429 and headers["Retry-After"] == "3600" and "monthly" in error["message"]
    assert "(100 of 100 tokens)" in error["message"] and "2027-01-01 00:00 (Asia/Shanghai)" in error["message"]
    now[0] += 3600
    fresh_upstream.script(Reply(content="x", usage={"prompt_tokens": 1, "completion_tokens": 1}))
    assert chat(client)[0] == 200 and used(client) == {"day": (2, 0), "month": (2, 0)}


def test_periods_follow_daylight_saving_time():
    zone = ZoneInfo("America/New_York")
    start = datetime(2026, 3, 8, 0, 0, tzinfo=zone).timestamp()  # clocks go forward at 02:00
    day, month = budgets.current_periods(start + 60, zone)
    assert day.stamp == "2026-03-08" and day.resets_at - start == 23 * 3600
    assert month.stamp == "2026-03" and month.resets_at == datetime(2026, 4, 1, tzinfo=zone).timestamp()


# ------------------------------------------------------------------ storage failures
def test_fail_closed_when_redis_is_unreachable(make_client, fresh_upstream, caplog):
    port = free_port()  # nothing listens there
    client = make_client(
        access_codes=CODES, secret_key=SECRET, budgets={"design": {"tokens_per_day": 1000}},
        ratelimit_storage_uri=f"redis://:hunter2-redis-pass@127.0.0.1:{port}/0",
    )
    client.set_cookie(access.SESSION_COOKIE, session_cookie(client.application, "alpha-code-1", "design"))
    with caplog.at_level(logging.INFO):
        response = client.post("/api/chat/stream", json=CHAT)
    assert response.status_code == 503 and response.json["error"]["code"] == "limits_unavailable"
    assert response.json["error"]["message"] == TEXTS["limits_unavailable"]["en-US"]
    assert fresh_upstream.requests == []
    lines = [r.getMessage() for r in caplog.records if "limits storage unreachable" in r.getMessage()]
    assert len(lines) == 1 and "ConnectionError" in lines[0] and "503" in lines[0], lines
    assert "hunter2" not in caplog.text and "\n" not in lines[0]
    # the budget check on its own refuses too (503, not "no budget")
    book = client.application.extensions[budgets.EXTENSION]
    with pytest.raises(ChatError) as info:
        book.check("design", "zh-CN")
    assert info.value.status == 503 and info.value.message == TEXTS["limits_unavailable"]["zh-CN"]


# ------------------------------------------------------------------ two workers, one Redis
@pytest.mark.slow
@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server not installed (.ci/run installs it)")
def test_two_workers_share_a_daily_budget_through_redis(upstream, redis_url):  # noqa: F811 (the imported fixture)
    """1,000 tokens a day, 400 per reply: two replies at once (one per worker), then a
    third (800 < 1,000 used: it starts), then every request is refused on both workers."""
    url, port = redis_url
    upstream.reset()
    app = _gunicorn(
        upstream, url, ACCESS_CODES=CODES, SECRET_KEY=SECRET, BUDGETS='{"design": {"tokens_per_day": 1000}}',
        CHAT_RATE_LIMIT_ADDRESS="", MAX_STREAMS_PER_SESSION="0",
    )
    try:
        cookie = _login_cookie(app.url)
        usage = {"prompt_tokens": 300, "completion_tokens": 100}
        upstream.script(*[Reply(content="ok", first_token_delay=0.3, usage=usage) for _ in range(3)])
        assert _burst(app.url, cookie, 2) == [200, 200]
        time.sleep(0.3)
        served = _pids_that_served(app.log())
        assert len(served) == 2, f"each worker must have charged one reply: {served}"
        assert _burst(app.url, cookie, 1) == [200]  # 800 used: may start
        refused = _refused_by_both_workers(app, cookie, 429, 8)
        assert len(refused) == 2, f"both workers must refuse past the budget: {refused}"
        assert _request(app.url, "POST", "/api/chat/stream", cookie, b'{"messages": [{"role": "user", "content": "x"}]}')[0] == 429
    finally:
        app.stop()
        upstream.reset()
    cli = ["redis-cli", "-p", str(port)]
    keys = subprocess.run([*cli, "--scan", "--pattern", "*chat/budget/design/day/*/tokens"], capture_output=True, text=True).stdout.split()
    assert len(keys) == 1, keys
    assert subprocess.run([*cli, "get", keys[0]], capture_output=True, text=True).stdout.strip() == "1200"
    ttl = int(subprocess.run([*cli, "ttl", keys[0]], capture_output=True, text=True).stdout)
    assert 0 < ttl <= 86400 + budgets.KEY_GRACE


# ------------------------------------------------------------------ the operator's view
def basic(code: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"admin:{code}".encode()).decode()}


def test_admin_pages_need_admin_codes_and_show_use_per_label(make_client, fresh_upstream, caplog):
    off = make_client(access_codes=CODES, secret_key=SECRET)
    assert off.get("/admin/usage.json", headers=basic("anything")).status_code == 404
    client = budget_client(
        make_client, {"design": {"tokens_per_day": 1000, "cost_per_month": 20}, "default": {"tokens_per_day": 500}},
        admin_codes="admin-code-9", login_rate_limit="3 per minute",
        model_prices={"test-model": {"prompt": 1000, "completion": 1000}},
    )
    fresh_upstream.script(Reply(content="x", usage={"prompt_tokens": 300, "completion_tokens": 40}))
    assert chat(client)[0] == 200
    # a signed-in chat session is not an admin; no credentials: the browser's prompt
    response = client.get("/admin")
    assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Basic ")
    with caplog.at_level(logging.INFO):
        assert client.get("/admin/usage.json", headers=basic("alpha-code-1")).status_code == 401
    assert "alpha-code-1" not in caplog.text and "failed admin login" in caplog.text
    report = client.get("/admin/usage.json", headers=basic("admin-code-9"))
    assert report.status_code == 200 and report.headers["Cache-Control"] == "no-store"
    labels = {entry["label"]: entry for entry in report.json["labels"]}
    assert set(labels) == {"default", "design", "ops"}
    assert labels["design"]["day"] == {"tokens": 340, "cost": 0.34} and labels["design"]["month"]["tokens"] == 340
    assert labels["design"]["budget"] == {"tokens_per_day": 1000, "cost_per_month": 20.0}
    assert labels["ops"]["day"]["tokens"] == 0 and labels["ops"]["budget"] == {"tokens_per_day": 500}
    assert report.json["timezone"] == "UTC" and report.json["currency"] == "USD"
    page = client.get("/admin", headers=basic("admin-code-9"))
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert 'id="admin-usage-table"' in html and '<tr data-label="design"><td>design</td>' in html
    assert "340 / 1,000" in html and "0.3400 / 20.00" in html
    assert "<script" not in html and "script-src" in page.headers["Content-Security-Policy"]
    # the admin pages work without a chat session too (ACCESS_CODES does not guard them)
    fresh = make_client(access_codes=CODES, secret_key=SECRET, admin_codes="admin-code-9")
    assert fresh.get("/admin/usage.json", headers=basic("admin-code-9")).status_code == 200
    # wrong codes are limited per address like logins: then even the right one waits
    for _ in range(2):
        assert client.get("/admin", headers=basic("wrong")).status_code == 401
    locked = client.get("/admin/usage.json", headers=basic("admin-code-9"))
    assert locked.status_code == 429 and 1 <= int(locked.headers["Retry-After"]) <= 61


# ------------------------------------------------------------------ the header text
def test_header_budget_text_from_the_dash_callback(make_client, fresh_upstream):
    from callbacks.budget import show_budget
    from components import ids

    client = budget_client(make_client, {"design": {"tokens_per_day": 100000, "cost_per_month": 20}, "default": {}})
    # the element is in the header, hidden until the callback fills it
    layout = client.get("/_dash-layout").get_data(as_text=True)
    assert f'"id":"{ids.BUDGET}"' in layout.replace(" ", "")
    fresh_upstream.script(Reply(content="x", usage={"prompt_tokens": 12000, "completion_tokens": 340}))
    assert chat(client)[0] == 200
    app = client.application
    cookie = client.get_cookie(access.SESSION_COOKIE).value

    def run(cookie_header: str, language: str = "en-US"):
        headers = {"Cookie": cookie_header, "Accept-Language": language}
        with app.test_request_context("/_dash-update-component", method="POST", headers=headers):
            return show_budget(1234567890)

    text, hidden, title = run(f"chat_session={cookie}")
    assert hidden is False
    assert text == "Used 12,340 of 100,000 tokens today · Used 0.00 of 20.00 USD this month"
    assert "00:00" in title and "UTC" in title
    text, hidden, _ = run(f"chat_session={cookie}; chat_locale=zh-CN")
    assert text == "今日已用 12,340 / 100,000 tokens · 本月已用 0.00 / 20.00 USD" and hidden is False
    # no session, or a label whose budget is empty: hidden
    assert run("")[:2] == ("", True)
    beta = make_client(access_codes=CODES, secret_key=SECRET, budgets={"design": {"tokens_per_day": 5}, "default": {}})
    beta.post("/login", data={"code": "beta-code-2"})
    with beta.application.test_request_context(
        "/_dash-update-component", method="POST", headers={"Cookie": f"chat_session={beta.get_cookie(access.SESSION_COOKIE).value}"}
    ):
        assert show_budget(None)[:2] == ("", True)


def test_budget_check_uses_the_test_key_nowhere(make_client, fresh_upstream):
    """The refusal and the admin JSON carry neither the server key nor an access code."""
    client = budget_client(make_client, {"design": {"tokens_per_day": 1}}, admin_codes="admin-code-9")
    fresh_upstream.script(Reply(content="x", usage={"prompt_tokens": 1, "completion_tokens": 1}))
    chat(client)
    refused = client.post("/api/chat/stream", json=CHAT).get_data(as_text=True)
    admin = client.get("/admin/usage.json", headers=basic("admin-code-9")).get_data(as_text=True)
    for text in (refused, admin):
        assert TEST_KEY not in text and "alpha-code-1" not in text and "beta-code-2" not in text


@pytest.mark.browser
def test_header_shows_the_budget_in_chromium(upstream, page):
    """The real page: the callback fills ``chat-budget`` at load and again after a reply
    (the history store commits), with no page-script change."""
    from tests.conftest import AppProcess, app_env

    upstream.reset()
    app = AppProcess(app_env(upstream, ACCESS_CODES=CODES, SECRET_KEY=SECRET, BUDGETS='{"design": {"tokens_per_day": 100000}}'))
    try:
        page.goto(app.url)
        page.fill("#login-code", "alpha-code-1")
        page.click("#login-submit")
        page.wait_for_selector("#chat-budget:not([hidden])", timeout=15000)
        assert page.inner_text("#chat-budget") == "Used 0 of 100,000 tokens today"
        upstream.script(Reply(content="hello", usage={"prompt_tokens": 1200, "completion_tokens": 34}))
        page.fill("#chat-input", "hi")
        page.keyboard.press("Enter")
        page.wait_for_function("document.querySelector('#chat-budget').innerText.includes('1,234')", timeout=15000)
        assert page.inner_text("#chat-budget") == "Used 1,234 of 100,000 tokens today"
        assert page.errors == []
    finally:
        app.stop()
        upstream.reset()
