"""``POST /api/import/markdown`` (chatserver/export_api.py): a Markdown export read back
into a new conversation with the one parser (``chatcore.export.import_markdown``);
localized JSON errors for what is not an export, a newer format, an unknown role, a
body that is not UTF-8 and a file above ``MAX_BODY_BYTES`` (refused before parsing);
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
    client = make_client(max_body_bytes=4096)
    response = _post(client, _export() + "x" * 5000)
    assert response.status_code == 413
    error = response.json["error"]
    assert error["code"] == "md_import_too_large" and "4096" in error["message"]


def test_a_file_at_the_limit_is_read(make_client):
    body = _export()
    client = make_client(max_body_bytes=max(1024, len(body.encode("utf-8"))))
    assert _post(client, body).status_code == 200


def test_the_access_check_applies(make_client):
    client = make_client(access_codes="alpha-code-1", secret_key="s" * 40)
    response = _post(client, _export())
    assert response.status_code == 401 and response.json["error"]["code"] == "login_required"
    cross_site = _post(make_client(), _export(), headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"})
    assert cross_site.status_code == 403 and cross_site.json["error"]["code"] == "forbidden_origin"

