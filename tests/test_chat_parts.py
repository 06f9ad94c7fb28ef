"""Messages with attachments on the request path (issue 13): content parts (text,
document, image_url) validated at the edge, documents sent as fenced blocks and cut to
the context window with a notice, flattening, images only for models that accept them,
the image size limit, the stream's own body limit, an upstream that refuses images."""

from __future__ import annotations

import base64
import json
import struct
import zlib

import pytest

from chatcore.context import IMAGE_TOKENS, MESSAGE_OVERHEAD_TOKENS, document_block, estimate_tokens, message_tokens
from chatcore.messages import IMAGE_DATA_URL_PATTERN, MAX_ATTACHMENTS, ChatRequest
from chatcore.schema import MetaEvent
from tests.test_stream_api import parse_events
from tests.upstream import IMAGE_REJECTION

VISION = "gpt-4o-mini"  # accepts images (catalog and default patterns); "test-model" does not


def png(width: int = 2, height: int = 2, extra: bytes = b"") -> bytes:
    """A real PNG (RGB, 8 bit) of ``width`` × ``height`` grey pixels; ``extra`` bytes in a
    private ancillary chunk make it as large as a test needs."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + b"\x80\x80\x80" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + (chunk(b"teSt", extra) if extra else b"") + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def data_url(data: bytes, kind: str = "png") -> str:
    return f"data:image/{kind};base64," + base64.b64encode(data).decode()


def image(url: str) -> dict:
    return {"type": "image_url", "image_url": {"url": url}}


def user(*parts: dict) -> dict:
    return {"role": "user", "content": list(parts)}


def stream(client, body: dict, **headers):
    """POST ``body``; the (streamed) answer is read whole, so the upstream saw the request."""
    response = client.post("/api/chat/stream", json=body, headers=headers)
    response.get_data()
    return response


def sent_messages(upstream) -> list[dict]:
    return upstream.requests[-1]["body"]["messages"]


# --- validation of parts ---------------------------------------------------------------


def test_text_document_and_image_reach_the_upstream_in_openai_shape(make_client, fresh_upstream):
    client = make_client()
    url = data_url(png())
    body = {"model": VISION, "messages": [user({"type": "text", "text": "What is in these?"},
                                               {"type": "document", "name": "notes.md", "text": "alpha\nbeta"},
                                               image(url))]}
    response = stream(client, body)
    assert response.status_code == 200, response.get_data(as_text=True)
    events = parse_events(response.get_data())
    assert events[-1][0] == "done"
    content = sent_messages(fresh_upstream)[-1]["content"]
    assert content == [
        {"type": "text", "text": "What is in these?\n\nFile: notes.md\n```\nalpha\nbeta\n```"},
        {"type": "image_url", "image_url": {"url": url}},
    ]
    meta = dict(events)["meta"]
    assert meta["prompt_tokens_est"] >= IMAGE_TOKENS  # the image counts in the estimate
    assert "notices" not in meta


@pytest.mark.parametrize("content, fragment", [
    ([], "1 to"),
    ([{"type": "video", "text": "x"}], "does not match"),
    ([{"type": "text", "text": "x", "extra": 1}], "Extra inputs"),
    ([{"type": "text", "text": 5}], "string"),
    ([image("https://example.com/cat.png")], "pattern"),
    ([image("data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=")], "pattern"),
    ([image(data_url(b"<svg onload=alert(1)></svg>"))], "not image/png"),
    ([image(data_url(png(), "jpeg"))], "not image/jpeg"),
    ([image("data:image/png;base64,!!!")], "pattern"),
    ([{"type": "image_url", "image_url": {"url": data_url(png()), "x": 1}}], "Extra inputs"),
    ([{"type": "document", "name": "a\nb.txt", "text": "x"}], "pattern"),
    ([{"type": "document", "name": "", "text": "x"}], "at least 1"),
    ([{"type": "document", "name": "a.txt", "text": "x" * 1001}], "longer than 1000"),
    ([{"type": "text", "text": "x" * 1001}], "longer than 1000"),
    ([{"type": "document", "name": f"{i}.txt", "text": "x"} for i in range(MAX_ATTACHMENTS + 1)], "attachments"),
])
def test_bad_parts_get_422_and_never_reach_the_upstream(make_client, fresh_upstream, content, fragment):
    client = make_client(max_message_chars=1000)
    response = stream(client, {"model": VISION, "messages": [{"role": "user", "content": content}]})
    assert response.status_code == 422, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["code"] == "invalid_request" and fragment in error["message"], error
    assert fresh_upstream.requests == []


def test_only_a_user_message_carries_parts(make_client, fresh_upstream):
    client = make_client()
    for role in ("assistant", "system"):
        body = {"model": VISION, "messages": [{"role": role, "content": [{"type": "text", "text": "x"}]},
                                              {"role": "user", "content": "q"}]}
        response = stream(client, body)
        assert response.status_code == 422 and "only a user message" in response.get_json()["error"]["message"]
    assert fresh_upstream.requests == []


def test_the_string_content_works_as_before(make_client, fresh_upstream):
    response = stream(make_client(), {"messages": [{"role": "user", "content": "plain"}]})
    assert response.status_code == 200
    assert sent_messages(fresh_upstream) == [{"role": "user", "content": "plain"}]


def test_page_schema_and_request_share_the_image_pattern():
    from chatcore import schema

    assert schema.IMAGE_DATA_URL_PATTERN == IMAGE_DATA_URL_PATTERN


# --- images: size and model ---------------------------------------------------------------


@pytest.mark.parametrize("locale, needle", [("en-US", "too large"), ("zh-CN", "过大")])
def test_an_image_over_image_max_bytes_is_413(make_client, fresh_upstream, locale, needle):
    client = make_client(image_max_bytes=2048)
    small, big = png(), png(extra=b"x" * 3000)
    ok = stream(client, {"model": VISION, "messages": [user(image(data_url(small)))]})
    assert ok.status_code == 200
    response = stream(client, {"model": VISION, "messages": [user(image(data_url(big)))]}, **{"Accept-Language": locale})
    assert response.status_code == 413
    error = response.get_json()["error"]
    assert error["code"] == "image_too_large" and needle in error["message"] and str(len(big)) in error["message"]
    assert len(fresh_upstream.requests) == 1


@pytest.mark.parametrize("locale, needle", [("en-US", "does not accept images"), ("zh-CN", "不支持图片")])
def test_an_image_for_a_model_without_vision_is_refused_before_any_upstream_request(make_client, fresh_upstream, locale, needle):
    client = make_client()
    body = {"model": "test-model", "locale": locale,
            "messages": [user({"type": "text", "text": "look"}, image(data_url(png())))]}
    response = stream(client, body)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "model_no_images" and needle in error["message"] and "test-model" in error["message"]
    assert fresh_upstream.requests == []


def test_vision_models_setting_lets_a_model_take_images(make_client, fresh_upstream):
    client = make_client(vision_models="test-*")
    response = stream(client, {"model": "test-model", "messages": [user(image(data_url(png())))]})
    assert response.status_code == 200
    assert sent_messages(fresh_upstream)[-1]["content"][0]["type"] == "image_url"


def test_older_images_are_left_out_with_a_notice_for_a_model_without_vision(make_client, fresh_upstream):
    client = make_client()
    history = [user({"type": "text", "text": "see"}, image(data_url(png()))),
               {"role": "assistant", "content": "a cat"}, {"role": "user", "content": "and now?"}]
    response = stream(client, {"model": "test-model", "messages": history})
    assert response.status_code == 200
    meta = dict(parse_events(response.get_data()))["meta"]
    assert meta["notices"] == [{"code": "images_left_out", "count": 1}]
    first = sent_messages(fresh_upstream)[0]
    assert first == {"role": "user", "content": "see\n\n[image left out: this model does not accept images]"}


def test_an_upstream_that_rejects_image_parts_reaches_the_page_as_an_error_event(make_client, fresh_upstream):
    fresh_upstream.reject_image_parts = True
    client = make_client()
    response = stream(client, {"model": VISION, "messages": [user({"type": "text", "text": "hi"}, image(data_url(png())))]})
    assert response.status_code == 200  # the stream had started (meta) when the upstream answered
    events = parse_events(response.get_data())
    names = [name for name, _ in events]
    assert names[0] == "meta" and "error" in names and "delta" not in names
    error = dict(events)["error"]
    assert error["status"] == 400 and IMAGE_REJECTION in error["message"]
    assert fresh_upstream.requests[-1]["body"]["messages"][-1]["content"][1]["type"] == "image_url"


# --- documents: block, cut, flatten ---------------------------------------------------------


def test_document_block_fence_is_longer_than_any_backtick_run():
    assert document_block("a.md", "plain") == "File: a.md\n```\nplain\n```"
    text = "before\n````\ninner ``` fence\n````\nafter `x`"
    block = document_block("b.md", text)
    assert block.startswith("File: b.md\n`````\n") and block.endswith("\n`````")
    assert block.count("`````") == 2  # only the outer fence has five
    assert document_block("c.txt", "x", "[cut]").endswith("```\n[cut]")


def test_a_document_without_images_is_sent_as_one_string(make_client, fresh_upstream):
    client = make_client()
    body = {"messages": [user({"type": "text", "text": "Summarize"}, {"type": "document", "name": "r.txt", "text": "```x```"})]}
    assert stream(client, body).status_code == 200
    assert sent_messages(fresh_upstream) == [{"role": "user", "content": "Summarize\n\nFile: r.txt\n````\n```x```\n````"}]


def test_text_parts_around_images_keep_their_order(make_client, fresh_upstream):
    client = make_client()
    one, two = data_url(png(1, 1)), data_url(png(3, 3))
    body = {"model": VISION, "messages": [user({"type": "text", "text": "q"}, {"type": "document", "name": "d.txt", "text": "t"},
                                               image(one), {"type": "text", "text": "[image left out: old.png]"}, image(two))]}
    assert stream(client, body).status_code == 200
    assert sent_messages(fresh_upstream)[-1]["content"] == [
        {"type": "text", "text": "q\n\nFile: d.txt\n```\nt\n```"}, image(one),
        {"type": "text", "text": "[image left out: old.png]"}, image(two)]


def test_a_document_larger_than_the_context_window_is_cut_with_a_notice(make_client, fresh_upstream):
    client = make_client(model_context_windows={"test-model": 2000}, context_reserve_tokens=200, max_message_chars=100_000)
    text = "".join(f"line {i} of the report\n" for i in range(2000))  # ~ 11,000 tokens
    history = [{"role": "user", "content": "earlier"}, {"role": "assistant", "content": "ok"},
               user({"type": "text", "text": "Summarize it"}, {"type": "document", "name": "report.txt", "text": text})]
    response = stream(client, {"messages": history})
    assert response.status_code == 200
    meta = dict(parse_events(response.get_data()))["meta"]
    MetaEvent.model_validate(meta)  # the page's schema accepts it
    (notice,) = meta["notices"]
    assert notice["code"] == "document_cut" and notice["name"] == "report.txt"
    assert notice["tokens"] == estimate_tokens(text) and 0 < notice["sent_tokens"] < notice["tokens"]
    assert meta["prompt_tokens_est"] <= 2000 - 200
    sent = sent_messages(fresh_upstream)[-1]["content"]
    assert sent.startswith("Summarize it\n\nFile: report.txt\n```\nline 0 of the report\n")
    assert sent.endswith(f"[report.txt was cut to fit the context window: only about {notice['sent_tokens']} of its "
                         f"{notice['tokens']} tokens are above.]")
    assert "line 1999 of the report" not in sent
    assert meta["trimmed"] == 2  # the older turn made room first


def test_a_document_that_fits_is_sent_whole(make_client, fresh_upstream):
    client = make_client(model_context_windows={"test-model": 2000}, context_reserve_tokens=200)
    response = stream(client, {"messages": [user({"type": "document", "name": "small.txt", "text": "tiny"})]})
    assert "notices" not in dict(parse_events(response.get_data()))["meta"]
    assert sent_messages(fresh_upstream) == [{"role": "user", "content": "File: small.txt\n```\ntiny\n```"}]


def test_message_tokens_count_parts():
    doc = {"type": "document", "name": "a.txt", "text": "你好" * 10}
    message = {"role": "user", "content": [{"type": "text", "text": "abcd"}, doc, {"type": "image_url", "image_url": {"url": "x"}}]}
    expected = MESSAGE_OVERHEAD_TOKENS + 1 + estimate_tokens(document_block("a.txt", "你好" * 10)) + IMAGE_TOKENS
    assert message_tokens(message) == expected
    assert estimate_tokens("𠀀𠀁") == 2  # CJK extension B counts like other ideographs


def test_request_model_keeps_parts_as_dicts():
    request = ChatRequest.model_validate({"messages": [user({"type": "text", "text": "x"}, image(data_url(png())))]})
    out = request.messages[0].as_message()
    assert out["content"][1] == image(data_url(png())) and out["content"][0] == {"type": "text", "text": "x"}


# --- body limits -------------------------------------------------------------------------------


def test_the_stream_has_its_own_body_limit_other_routes_keep_max_body_bytes(make_client, fresh_upstream):
    client = make_client(max_body_bytes=100_000, max_chat_body_bytes=400_000)
    big = {"model": VISION, "messages": [user({"type": "text", "text": "x"}, image(data_url(png(extra=b"y" * 200_000))))]}
    assert len(json.dumps(big)) > 200_000
    assert stream(client, big).status_code == 200  # over MAX_BODY_BYTES, within MAX_CHAT_BODY_BYTES
    over = {"model": VISION, "messages": [user(image(data_url(png(extra=b"y" * 320_000))))]}
    response = stream(client, over)
    assert response.status_code == 413
    error = response.get_json()["error"]
    assert error["code"] == "payload_too_large" and "400000" in error["message"]
    other = client.post("/_dash-update-component", data=b"x" * 150_000, content_type="application/json")
    assert other.status_code == 413  # the other routes: MAX_BODY_BYTES
    assert len(fresh_upstream.requests) == 1


def test_defaults_and_page_config():
    from components.layout import public_config
    from tests.conftest import make_settings

    settings = make_settings()
    assert (settings.max_chat_body_bytes, settings.max_body_bytes) == (20_000_000, 2_000_000)
    assert (settings.image_max_side, settings.image_max_bytes, settings.attachment_max_bytes) == (2048, 1_000_000, 10_000_000)
    attachments = public_config(settings)["attachments"]
    assert attachments["extract_url"] == "/api/attachments/extract"
    assert attachments["image_budget_bytes"] == 16_000_000 and attachments["max_attachments"] == MAX_ATTACHMENTS
    assert attachments["image_types"] == ["image/png", "image/jpeg", "image/webp", "image/gif"]
    assert {".txt", ".md", ".csv", ".json", ".pdf", ".docx", ".py", ".js"} <= set(attachments["document_extensions"])


def test_slow_clients_middleware_uses_the_route_limits(make_client):
    from chatserver.slow_clients import BodyDeadline

    client = make_client(max_chat_body_bytes=5000)
    middleware = client.application.wsgi_app
    while not isinstance(middleware, BodyDeadline):
        middleware = middleware.app
    assert middleware.limit_for({"PATH_INFO": "/api/chat/stream"}) == 5000
    assert middleware.limit_for({"PATH_INFO": "/api/attachments/extract"}) == 10_000_000 + 64 * 1024
    client = make_client(max_chat_body_bytes=5_000_000)
    middleware = client.application.wsgi_app
    while not isinstance(middleware, BodyDeadline):
        middleware = middleware.app
    assert middleware.limit_for({"PATH_INFO": "/api/import/markdown"}) == 5_000_000  # an export holds images too
    assert middleware.limit_for({"PATH_INFO": "/login"}) == 2_000_000
