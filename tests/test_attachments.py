"""Text extraction of attached documents (issue 13): ``POST /api/attachments/extract``
(chatserver/attachments_api.py) and chatcore/attachments.py with its subprocess
(chatcore/extract_worker.py). Every file is made here: PDFs with fpdf2 or by hand,
DOCX with python-docx, zip and PDF bombs, an encrypted PDF with pypdf."""

from __future__ import annotations

import io
import zipfile
import zlib

import pytest

from chatcore.attachments import AttachmentError, extract
from chatcore.context import estimate_tokens

URL = "/api/attachments/extract"


# --- files made in the test -----------------------------------------------------------------


def fpdf_pdf(*lines: str) -> bytes:
    """A PDF (fpdf2, core Helvetica) with one line of text per ``lines`` entry."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    for line in lines:
        pdf.cell(text=line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def hand_pdf(content: bytes, compress: bool = True) -> bytes:
    """A one-page PDF written byte by byte whose page content stream is ``content``
    (Flate-compressed when ``compress``), with a correct xref table."""
    stream = zlib.compress(content, 6) if compress else content
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d%s >>\nstream\n" % (len(stream), b" /Filter /FlateDecode" if compress else b"") + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def encrypted_pdf(user_password: str) -> bytes:
    """The fpdf2 PDF encrypted with AES-256 (pypdf; needs the cryptography package)."""
    from pypdf import PdfWriter

    writer = PdfWriter(clone_from=io.BytesIO(fpdf_pdf("Secret text 314")))
    writer.encrypt(user_password, "owner-password", algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def make_docx() -> bytes:
    """A Word document with two paragraphs and a 2×2 table."""
    import docx

    document = docx.Document()
    document.add_paragraph("Quarterly report: revenue grew 12%.")
    table = document.add_table(rows=2, cols=2)
    for r, row in enumerate((("Region", "Sales"), ("North", "42"))):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    document.add_paragraph("中文段落也能读出。")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def zip_bomb(name: str = "word/document.xml", size: int = 30_000_000) -> bytes:
    """A .docx-shaped zip whose document part uncompresses to ``size`` bytes (about 1/1000 of it on disk)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open(name, "w", force_zip64=True) as member:
            block = b" " * 1_000_000
            for _ in range(size // len(block)):
                member.write(block)
    return out.getvalue()


def post(client, data: bytes, name: str, **form):
    """POST one file as the page does (multipart field ``file``)."""
    return client.post(URL, data={"file": (io.BytesIO(data), name), **form}, content_type="multipart/form-data")


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["status"] == status and error["message"]
    return error


@pytest.fixture
def client(make_client):
    return make_client()


# --- text comes back --------------------------------------------------------------------------


def test_a_pdf_made_with_fpdf2_gives_its_text(client):
    data = fpdf_pdf("Hello from a PDF", "Second line 42")
    response = post(client, data, "report.pdf")
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"name", "mime", "size", "text", "tokens", "truncated"}
    assert "Hello from a PDF" in body["text"] and "Second line 42" in body["text"]
    assert body["name"] == "report.pdf" and body["mime"] == "application/pdf" and body["size"] == len(data)
    assert body["tokens"] == estimate_tokens(body["text"]) and body["truncated"] is False


def test_a_hand_made_pdf_and_a_docx_give_their_text(client):
    pdf = post(client, hand_pdf(b"BT /F1 12 Tf 72 700 Td (Hand made text) Tj ET"), "hand.pdf").get_json()
    assert pdf["text"] == "Hand made text"
    docx = post(client, make_docx(), "q3.docx").get_json()
    assert docx["text"] == "Quarterly report: revenue grew 12%.\nRegion\tSales\nNorth\t42\n中文段落也能读出。"
    assert docx["mime"] == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert docx["tokens"] == estimate_tokens(docx["text"])


@pytest.mark.parametrize("data, name, text, mime", [
    ("a,b\r\n1,2\r\n".encode(), "t.csv", "a,b\n1,2\n", "text/csv"),
    ("\ufeff# Title\n你好".encode("utf-8"), "n.md", "# Title\n你好", "text/markdown"),
    ("hello utf-16".encode("utf-16"), "u.txt", "hello utf-16", "text/plain"),
    (b'{"k": [1, 2]}', "d.json", '{"k": [1, 2]}', "application/json"),
    (b"def f():\n\treturn 1\n", "src/main.py", "def f():\n\treturn 1\n", "text/plain"),
])
def test_text_files_are_decoded(client, data, name, text, mime):
    body = post(client, data, name).get_json()
    assert body["text"] == text and body["mime"] == mime and body["name"] == name.rsplit("/", 1)[-1]


def test_long_text_is_cut_to_max_message_chars(make_client):
    client = make_client(max_message_chars=100)
    body = post(client, b"x" * 250, "long.txt").get_json()
    assert body["text"] == "x" * 100 and body["truncated"] is True and body["size"] == 250
    pdf = post(client, fpdf_pdf(*[f"line {i} " + "y" * 40 for i in range(20)]), "long.pdf").get_json()
    assert len(pdf["text"]) == 100 and pdf["truncated"] is True


def test_an_aes_pdf_with_an_empty_user_password_opens(client):
    body = post(client, encrypted_pdf(""), "aes.pdf").get_json()
    assert "Secret text 314" in body["text"]


# --- every error ------------------------------------------------------------------------------


@pytest.mark.parametrize("locale, needle", [("en-US", "too large"), ("zh-CN", "过大")])
def test_a_file_over_attachment_max_bytes_is_413(make_client, locale, needle):
    client = make_client(attachment_max_bytes=2048)
    error = error_of(post(client, b"x" * 5000, "big.txt", locale=locale), 413)
    assert error["code"] == "attachment_too_large" and needle in error["message"] and "2048" in error["message"]
    # announced larger than the route's limit (the file and the form's framing): refused unread
    huge = client.post(URL, data=b"x" * 200_000, content_type="multipart/form-data; boundary=x",
                       headers={"Accept-Language": locale})
    assert error_of(huge, 413)["code"] == "attachment_too_large"
    assert post(client, b"y" * 2048, "ok.txt").status_code == 200


@pytest.mark.parametrize("data, name, status, code", [
    (b"MZ\x90\x00binary", "setup.exe", 415, "attachment_unsupported"),
    (b"\x89PNG\r\n\x1a\n", "photo.png", 415, "attachment_unsupported"),
    (b"no extension", "README", 415, "attachment_unsupported"),
    (b"\x00\x01\x02\x03binary\x00data" * 10, "data.txt", 415, "attachment_not_text"),
    ("caf\u00e9".encode("latin-1"), "latin.txt", 415, "attachment_not_text"),
    (b"%PDF-1.4\nnot really a pdf" * 5, "broken.pdf", 422, "attachment_corrupt"),
    (b"just text", "fake.pdf", 422, "attachment_corrupt"),
    (b"not a zip", "fake.docx", 422, "attachment_corrupt"),
    (b"PK\x03\x04broken zip", "broken.docx", 422, "attachment_corrupt"),
])
def test_unsupported_binary_and_corrupt_files(client, data, name, status, code):
    assert error_of(post(client, data, name), status)["code"] == code


def test_a_docx_zip_without_a_document_is_corrupt(client):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("hello.txt", "hi")
    assert error_of(post(client, out.getvalue(), "empty.docx"), 422)["code"] == "attachment_corrupt"


@pytest.mark.parametrize("locale, needle", [("en-US", "scanned"), ("zh-CN", "扫描")])
def test_a_scanned_pdf_without_text(client, locale, needle):
    scanned = hand_pdf(b"q 100 0 0 100 0 0 cm 0.5 g 0 0 1 1 re f Q")  # draws, writes no text
    error = error_of(post(client, scanned, "scan.pdf", locale=locale), 422)
    assert error["code"] == "attachment_no_text" and needle in error["message"]


@pytest.mark.parametrize("locale, needle", [("en-US", "password"), ("zh-CN", "密码")])
def test_a_password_protected_pdf(client, locale, needle):
    error = error_of(post(client, encrypted_pdf("hunter2"), "locked.pdf", locale=locale), 422)
    assert error["code"] == "attachment_encrypted" and needle in error["message"]


def test_decompression_bombs(client):
    docx_bomb = zip_bomb()
    assert len(docx_bomb) < 2_000_000
    assert error_of(post(client, docx_bomb, "bomb.docx"), 422)["code"] == "attachment_bomb"
    pdf_bomb = hand_pdf(b"0" * 80_000_000)  # one content stream of 80 MB (pypdf stops at 75 MB), ~80 KB compressed
    assert len(pdf_bomb) < 1_000_000
    error = error_of(post(client, pdf_bomb, "bomb.pdf", locale="zh-CN"), 422)
    assert error["code"] == "attachment_bomb" and "压缩炸弹" in error["message"]


@pytest.mark.parametrize("locale, needle", [("en-US", "took too long"), ("zh-CN", "耗时过长")])
def test_an_extraction_over_the_time_limit_is_504(client, locale, needle):
    client.application.config["CHAT_EXTRACT_TIMEOUT"] = 0.05  # the worker needs longer just to start
    error = error_of(post(client, fpdf_pdf("slow"), "slow.pdf", locale=locale), 504)
    assert error["code"] == "attachment_timeout" and needle in error["message"]


def test_the_worker_runs_under_a_memory_limit():
    pdf = fpdf_pdf("fits in memory")
    assert "fits in memory" in extract(pdf, "a.pdf", max_chars=1000, max_bytes=10**7).text
    with pytest.raises(AttachmentError) as caught:
        extract(pdf, "a.pdf", max_chars=1000, max_bytes=10**7, memory=40 * 1024 * 1024)  # too little to even start
    assert caught.value.code == "attachment_bomb" and caught.value.status == 422


def test_no_file_field_is_400(client):
    response = client.post(URL, data={"other": "x"}, content_type="multipart/form-data")
    assert error_of(response, 400)["code"] == "invalid_request"


def test_nothing_is_written_to_disk(client, monkeypatch):
    """A file over werkzeug's 500 KB in-memory threshold would be spooled to a temporary
    file by Flask's own form parser; this route keeps it in memory."""
    import tempfile

    def refuse(*args, **kwargs):
        raise AssertionError("a temporary file was created")

    monkeypatch.setattr(tempfile, "SpooledTemporaryFile", refuse)
    monkeypatch.setattr(tempfile, "TemporaryFile", refuse)
    monkeypatch.setattr(tempfile, "NamedTemporaryFile", refuse)
    response = post(client, ("line of text\n" * 80_000).encode(), "big.txt")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["size"] == 13 * 80_000


def test_the_access_check_covers_the_route(make_client):
    client = make_client(access_codes="letmein-please", secret_key="s" * 32)
    error = error_of(post(client, b"hi", "a.txt"), 401)
    assert error["code"] == "login_required"
    cross = make_client().post(URL, data={"file": (io.BytesIO(b"hi"), "a.txt")}, content_type="multipart/form-data",
                               headers={"Origin": "https://evil.example"})
    assert cross.status_code == 403


@pytest.mark.slow
def test_an_extraction_does_not_block_the_gevent_worker(upstream):
    """Under gunicorn's gevent worker (gunicorn.conf.py, one worker), /healthz answers at
    once while a slow PDF is being parsed: the subprocess wait is cooperative. (The PDF:
    1.5 million text operators that draw nothing, ~2 s of pypdf here, then 422 no text;
    a bomb is refused too quickly — 0.4 s — to show anything.)"""
    import sys
    import threading
    import time
    import urllib.request

    from tests.conftest import NO_LIMITS, AppProcess, app_env, free_port

    port = free_port()
    env = app_env(upstream, GUNICORN_BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY="1", **NO_LIMITS)
    app = AppProcess(env, command=[sys.executable, "-m", "gunicorn", "chat_app:server"], port=port)
    try:
        boundary = "testboundary"
        bomb = hand_pdf(b"BT /F1 1 Tf 0 0 Td ET\n" * 1_500_000)
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"slow.pdf\"\r\n"
                f"Content-Type: application/pdf\r\n\r\n").encode() + bomb + f"\r\n--{boundary}--\r\n".encode()
        # an upload under 1 s (a very fast machine) says nothing about blocking: sent again
        for _attempt in range(3):
            outcome: dict = {}

            def upload() -> None:
                outcome["start"] = time.monotonic()
                request = urllib.request.Request(app.url + URL, data=body, method="POST",
                                                 headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
                try:
                    urllib.request.urlopen(request, timeout=30)
                except urllib.error.HTTPError as error:
                    outcome["status"] = error.code
                outcome["end"] = time.monotonic()

            thread = threading.Thread(target=upload)
            thread.start()
            latencies = []
            while thread.is_alive():
                started = time.monotonic()
                urllib.request.urlopen(app.url + "/healthz", timeout=10).read()
                latencies.append((started, time.monotonic() - started))
                time.sleep(0.05)
            thread.join()
            assert outcome["status"] == 422, outcome
            during = [latency for at, latency in latencies if outcome["start"] + 0.3 < at < outcome["end"] - 0.3]
            assert max(during, default=0) < 0.5, (during, outcome)
            if outcome["end"] - outcome["start"] > 1.0 and during:
                break
        else:
            pytest.fail(f"no extraction took over 1 s: {outcome}")
    finally:
        app.stop()
