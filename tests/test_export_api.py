"""``POST /api/import/markdown`` (chatserver/export_api.py): a Markdown export read back
into a new conversation with the one parser (``chatcore.export.import_markdown``), its
images and documents as the stored message's ``attachments``; localized JSON errors for
what is not an export, a newer format, an unknown role, an attachment that does not read
back, a body that is not UTF-8 and a file above the route's limit (``MAX_CHAT_BODY_BYTES``,
not the 2 MB ``MAX_BODY_BYTES``: an export embeds its images; refused before parsing);
the same access check as every ``/api`` route."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from chatcore.export import to_markdown
from chatcore.schema import Conversation

URL = "/api/import/markdown"
MESSAGES = [
    {"role": "user", "content": "写一个函数 😀"},
    {"role": "assistant", "content": "Sure:\n```python\ndef f():\n    return 1", "reasoning": "think"},
]


def _export(**kwargs) -> str:
    options = {"model": "test-model", "title": "函数", "system_prompt": "Be brief.",
               "exported_at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)}
    options.update(kwargs)
    return to_markdown(MESSAGES, **options)


def _post(client, body: bytes | str, **kwargs):
    data = body.encode("utf-8") if isinstance(body, str) else body
    return client.post(URL, data=data, content_type="text/markdown; charset=utf-8", **kwargs)


def test_an_export_comes_back_as_a_new_conversation(make_client):
    response = _post(make_client(), _export())
    assert response.status_code == 200
    conversation = response.json["conversation"]
    Conversation.model_validate(conversation)
    assert conversation["title"] == "函数"
    assert conversation["settings"]["system_prompt"] == "Be brief."
    got = [{k: m[k] for k in ("role", "content", "reasoning") if k in m} for m in conversation["messages"]]
    assert got == MESSAGES


@pytest.mark.parametrize(
    ("body", "code", "status"),
    [
        ("# Notes\n\nJust some Markdown, not an export.\n", "md_import_not_export", 422),
        (_export().replace("- Format: 2", "- Format: 99"), "md_import_too_new", 422),
        (_export().replace("role=user", "role=wizard"), "md_import_unknown_role", 422),
        (b"\xff\xfe# not utf-8", "md_import_not_text", 422),
    ],
)
def test_what_is_not_an_export_gets_a_clear_error(make_client, body, code, status):
    response = _post(make_client(), body)
    assert response.status_code == status
    error = response.json["error"]
    assert error["code"] == code and error["status"] == status
    assert "Nothing was imported" in error["message"]


def test_errors_speak_the_pages_language(make_client):
    response = _post(make_client(), "# x\n", query_string={"locale": "zh-CN"})
    assert response.json["error"]["code"] == "md_import_not_export"
    assert "未导入任何内容" in response.json["error"]["message"]


def test_a_file_above_the_body_limit_is_refused_before_parsing(make_client, monkeypatch):
    import chatserver.export_api as export_api

    def never(*args, **kwargs):
        raise AssertionError("parsed a body above the limit")

    monkeypatch.setattr(export_api, "import_markdown", never)
    client = make_client(max_body_bytes=4096, max_chat_body_bytes=4096)
    response = _post(client, _export() + "x" * 5000)
    assert response.status_code == 413
    error = response.json["error"]
    assert error["code"] == "md_import_too_large" and "4096" in error["message"]


def test_a_file_at_the_limit_is_read(make_client):
    body = _export()
    size = max(1024, len(body.encode("utf-8")))
    client = make_client(max_body_bytes=size, max_chat_body_bytes=size)
    assert _post(client, body).status_code == 200


def test_the_access_check_applies(make_client):
    client = make_client(access_codes="alpha-code-1", secret_key="s" * 40)
    response = _post(client, _export())
    assert response.status_code == 401 and response.json["error"]["code"] == "login_required"
    cross_site = _post(make_client(), _export(), headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"})
    assert cross_site.status_code == 403 and cross_site.json["error"]["code"] == "forbidden_origin"



# ================================================================ attachments (issue 13)
from chatcore.schema import StoredMessage  # noqa: E402
from tests.test_export_attachments import ATT_ID, attached_conversation, data_url, document, image, without_ids  # noqa: E402


def test_an_export_with_attachments_comes_back_in_the_stored_shape(make_client):
    messages = attached_conversation()
    response = _post(make_client(), to_markdown(messages, model="test-model", title="附件"))
    assert response.status_code == 200
    conversation = response.json["conversation"]
    Conversation.model_validate(conversation)
    for original, stored in zip(messages, conversation["messages"]):
        StoredMessage.model_validate(stored)  # the page schema's stored message, attachments and all
        assert without_ids(stored.get("attachments", [])) == without_ids(original.get("attachments", []))
        assert all(ATT_ID.match(a["id"]) for a in stored.get("attachments", []))


def test_an_export_with_images_above_max_body_bytes_is_read(make_client):
    """Three images of ~1 MB: a 4 MB file, above MAX_BODY_BYTES (2 MB), within MAX_CHAT_BODY_BYTES."""
    images = [image(f"big {n}.jpg", data_url("image/jpeg", bytes([n]) * 1_000_000), "image/jpeg", size=1_000_000)
              for n in range(3)]
    body = to_markdown([{"role": "user", "content": "three photos", "attachments": images}], model="test-model")
    size = len(body.encode("utf-8"))
    assert size > 2_000_000
    response = _post(make_client(max_chat_body_bytes=size), body)
    assert response.status_code == 200
    back = response.json["conversation"]["messages"][0]["attachments"]
    assert [a["data"] for a in back] == [a["data"] for a in images]
    refused = _post(make_client(max_chat_body_bytes=size - 1), body)
    assert refused.status_code == 413 and refused.json["error"]["code"] == "md_import_too_large"
    assert str(size - 1) in refused.json["error"]["message"]


def test_a_chunked_body_above_the_limit_is_refused_not_cut(make_client):
    """A chunked body (no Content-Length) one byte above the limit: 413, never the file
    cut at the limit (a cut after a message would import without the rest)."""
    import io

    messages = [{"role": "user", "content": "q" * 2000, "attachments": [image(f"{n}.png") for n in range(3)]},
                {"role": "assistant", "content": "last"}]
    body = to_markdown(messages, model="test-model").encode("utf-8")
    chunked = {"headers": {"Transfer-Encoding": "chunked", "Content-Type": "text/markdown"},
               "environ_overrides": {"wsgi.input_terminated": True}}  # as gunicorn sets it for chunked bodies
    url = "/api/import/markdown"
    ok = make_client(max_body_bytes=1024, max_chat_body_bytes=len(body)).post(url, input_stream=io.BytesIO(body), **chunked)
    assert ok.status_code == 200 and ok.json["conversation"]["messages"][-1]["content"] == "last"
    over = make_client(max_body_bytes=1024, max_chat_body_bytes=len(body) - 1).post(url, input_stream=io.BytesIO(body), **chunked)
    assert over.status_code == 413 and over.json["error"]["code"] == "md_import_too_large"


def test_a_damaged_attachment_gets_a_localized_error(make_client):
    text = to_markdown([{"role": "user", "content": "q", "attachments": [image("p.png"), document()]}], model="test-model")
    bad = text.replace("data:image/png;base64,", "data:image/svg+xml;base64,", 1)
    for locale, words in (("en-US", "cannot be read back"), ("zh-CN", "无法读取")):
        response = _post(make_client(), bad, query_string={"locale": locale})
        assert response.status_code == 422
        error = response.json["error"]
        assert error["code"] == "md_import_bad_attachment" and words in error["message"]
        assert "conversation" not in response.json
