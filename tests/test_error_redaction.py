"""Upstream error text is redacted before it is cut (chatcore.errors): no part of a key
that straddles the 300-character cut, of a ``Bearer`` token or of another ``sk-`` key
reaches the page or a log line, and every configured key is redacted whichever key the
request used."""

from __future__ import annotations

import logging

import httpx2
import openai
import pytest

from chatcore.errors import DETAIL_CHARS, map_exception
from chatcore.sse import parse_events
from tests.conftest import TEST_KEY
from tests.upstream import Reply

SERVER_KEY = "srv_live_0a1b2c3d4e5f60718293a4b5"  # not sk-shaped: only its value can redact it
USER_KEY = "uk_live_9f8e7d6c5b4a39281706f5e4"
BEARER = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJlLXZhbHVl"
OTHER_SK = "sk-proj-Zq8Xw7Vu6Ts5Rq4Po3Nm2Lk1"


def straddling(key: str, inside: int = 10, lead: str = "") -> str:
    """An error message (starting with ``lead``) with ``key`` across the cut: its first
    ``inside`` characters before position DETAIL_CHARS, the rest after it."""
    head = lead + f"Invalid value for 'messages' with key {OTHER_SK} and header Authorization: Bearer {BEARER}; "
    pad = "x" * (DETAIL_CHARS - inside - len(head))
    return head + pad + key + " was rejected (context_length_exceeded)."


def prefixes_found(text: str, *keys: str) -> list[str]:
    """The ≥ 8-character prefixes of ``keys`` (shortest first) that occur in ``text``."""
    return [key[:8] for key in keys if key[:8] in text]


def _error_400(message: str) -> openai.BadRequestError:
    response = httpx2.Response(400, request=httpx2.Request("POST", "http://127.0.0.1:9/v1/chat/completions"))
    return openai.BadRequestError(message, response=response, body={"error": {"message": message}})


@pytest.mark.parametrize("key", [TEST_KEY, SERVER_KEY, USER_KEY])
def test_map_exception_redacts_before_cutting(key):
    """A key straddling position 300 (sk-shaped or not), a Bearer token and another sk- key:
    none of their prefixes survive; the detail is still cut to DETAIL_CHARS."""
    message = straddling(key)
    assert message.index(key) == DETAIL_CHARS - 10  # 10 characters before the cut
    error = map_exception(_error_400(message), "en-US", USER_KEY, SERVER_KEY, TEST_KEY)
    assert error.code == "bad_request"
    assert not prefixes_found(error.message, key, BEARER, OTHER_SK), error.message
    assert "Bearer ***" in error.message and "***" in error.message.split("Bearer ***", 1)[1]
    assert len(error.message) <= DETAIL_CHARS + 100  # still cut (plus the text around the detail)


def test_stream_error_redacts_every_configured_key_page_and_logs(make_client, fresh_upstream, caplog):
    """Through the app: a user's own key is used, the upstream's 400 echoes it across the cut
    and also echoes the server's key, a Bearer token and another sk- key. The SSE error
    and every log record (all loggers at DEBUG) carry none of their prefixes."""
    caplog.set_level(logging.DEBUG)
    client = make_client(openai_api_key=SERVER_KEY, chat_rate_limit_session="", chat_rate_limit_address="")
    # the server's key early (the old code redacted only the key of the request)
    message = straddling(USER_KEY, lead=f"Server key {SERVER_KEY} is not this project's. ")
    fresh_upstream.script(
        Reply(status=400, fault="http_error", error_body={"error": {"message": message, "type": "invalid_request_error"}}),
        Reply(status=422, fault="http_error", error_body={"error": {"message": straddling(SERVER_KEY)}}),
    )
    outputs = []
    for body in ({"messages": [{"role": "user", "content": "hi"}], "api_key": USER_KEY},
                 {"messages": [{"role": "user", "content": "hi"}]}):
        response = client.post("/api/chat/stream", json=body)
        outputs.append(response.get_data(as_text=True))
        events = parse_events(response.get_data())
        errors = [data for name, data in events if name == "error"]
        assert errors and errors[0]["code"] == "bad_request", events
    assert fresh_upstream.requests[0]["headers"]["authorization"] == f"Bearer {USER_KEY}"
    assert fresh_upstream.requests[1]["headers"]["authorization"] == f"Bearer {SERVER_KEY}"
    for output in outputs:
        assert not prefixes_found(output, USER_KEY, SERVER_KEY, BEARER, OTHER_SK), output
    logged = "\n".join(record.getMessage() + " " + str(record.args) for record in caplog.records)
    assert "chat stream" in logged  # the error paths were logged
    assert not prefixes_found(logged, USER_KEY, SERVER_KEY, BEARER, OTHER_SK)
