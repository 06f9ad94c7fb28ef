"""Browser tests of attachments (issue 13): images picked, pasted or dropped reach the
upstream as ``image_url`` parts with data URLs within IMAGE_MAX_BYTES (EXIF orientation
applied, downscaled, re-encoded; transparency kept; a GIF's first frame); PDF and DOCX
documents made here reach it as text; an undecodable image or an unsupported file gets
a localized error on its chip; an image to a model that does not accept images is
refused before any request with nothing lost; attachments survive a reload and a
backup round trip; images of older turns beyond the budget are left out with a notice.

One app process for the module (OPENAI_MODEL gpt-4o-mini: accepts images by the
default rule), the session's browser and upstream.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re

import pytest
from playwright.sync_api import expect

from tests.conftest import NO_LIMITS, AppProcess, app_env
from tests.e2e_chat import history, open_chat, set_history, wait_idle

pytestmark = [pytest.mark.timeout(180), pytest.mark.browser]

IMAGE_MAX_BYTES = 1_000_000  # the default (config.Settings.image_max_bytes)
IMAGE_MAX_SIDE = 2048


@pytest.fixture(scope="module")
def app(upstream):
    """The app for this module (vision model by default, no rate limits)."""
    process = AppProcess(app_env(upstream, **NO_LIMITS, OPENAI_MODEL="gpt-4o-mini"))
    yield process
    process.stop()


@pytest.fixture
def chat(browser, app, fresh_upstream):
    """A fresh browser context (empty storage) with the chat open; page errors collected."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True, locale="en-US")
    page = context.new_page()
    page.errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))  # type: ignore[attr-defined]
    open_chat(page, app.url)
    yield page
    context.close()


# --- files made in the test -----------------------------------------------------------
def noisy_png(width: int, height: int) -> bytes:
    """A PNG whose upper half is random pixels (it compresses badly: the page must lower
    the quality to get under the limit); the rest is flat, to keep the upload small."""
    from PIL import Image

    image = Image.new("RGB", (width, height), (240, 240, 240))
    noisy = height // 2
    image.paste(Image.frombytes("RGB", (width, noisy), os.urandom(width * noisy * 3)), (0, 0))
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=1)
    return out.getvalue()


def small_png(rgba: bool = False) -> bytes:
    from PIL import Image

    image = Image.new("RGBA" if rgba else "RGB", (120, 80), (200, 30, 30, 100) if rgba else (30, 120, 200))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def rotated_jpeg() -> bytes:
    """A 200×100 JPEG whose EXIF orientation (6) says: show it turned, 100×200."""
    from PIL import Image

    image = Image.new("RGB", (200, 100), (250, 200, 0))
    exif = Image.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def two_frame_gif() -> bytes:
    from PIL import Image

    frames = [Image.new("RGB", (64, 48), color) for color in ((255, 0, 0), (0, 0, 255))]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return out.getvalue()


def make_pdf(text: str) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=14)
    pdf.cell(text=text)
    return bytes(pdf.output())


def make_docx(text: str) -> bytes:
    import docx

    document = docx.Document()
    document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


# --- helpers --------------------------------------------------------------------------
def attach(page, *files: tuple[str, str, bytes]) -> None:
    """Choose files with the attach button's input, wait until every chip is read."""
    page.locator("#chat-attach input[type=file]").set_input_files(
        files=[{"name": name, "mimeType": mime, "buffer": data} for name, mime, data in files]
    )
    settle(page)


def settle(page) -> None:
    page.wait_for_function("() => window.chatDebug.attachments().reading === 0", timeout=30000)


def ready(page) -> list[dict]:
    return page.evaluate("() => window.chatDebug.attachments().ready")


def send_now(page, text: str = "") -> None:
    """Type ``text`` (may be empty), press Enter, wait for the reply."""
    runs = page.evaluate("() => window.chatDebug.runs")
    page.fill("#chat-input", text)
    page.press("#chat-input", "Enter")
    page.wait_for_function(f"() => window.chatDebug.runs > {runs}", timeout=20000)
    wait_idle(page)


def last_user_content(upstream):
    """The content of the last user message the upstream received."""
    body = upstream.requests[-1]["body"]
    return [m for m in body["messages"] if m["role"] == "user"][-1]["content"]


def image_urls(content) -> list[str]:
    return [p["image_url"]["url"] for p in content if isinstance(p, dict) and p.get("type") == "image_url"] if isinstance(content, list) else []


def decoded_size(url: str) -> int:
    assert re.fullmatch(r"data:image/(png|jpeg|webp|gif);base64,[A-Za-z0-9+/]+=*", url), url[:60]
    return len(base64.b64decode(url.split(",", 1)[1]))


def image_size(url: str) -> tuple[int, int]:
    from PIL import Image

    return Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).size


def toast_texts(page) -> str:
    return " | ".join(page.locator(".ant-message-notice").all_inner_texts())


# --- tests ----------------------------------------------------------------------------
def test_attached_png_reaches_the_upstream_as_an_image_url_part(chat, fresh_upstream):
    """A 2600×1800 half-noisy PNG (≈ 7 MB) is downscaled to 2048 px and re-encoded under 1 MB;
    the upstream gets the text and an image_url part with that data URL; the sent message
    shows the thumbnail, and a click shows it full size."""
    original = noisy_png(2600, 1800)
    assert len(original) > 5 * IMAGE_MAX_BYTES
    attach(chat, ("holiday.png", "image/png", original))
    chip = chat.locator("#chat-attach-list .chat-attachment")
    expect(chip).to_have_count(1)
    expect(chip.locator("img")).to_have_attribute("src", re.compile(r"^data:image/jpeg;base64,"))
    send_now(chat, "what is in this picture?")
    content = last_user_content(fresh_upstream)
    assert isinstance(content, list), content
    texts = [p.get("text") for p in content if p.get("type") == "text"]
    assert texts == ["what is in this picture?"]
    urls = image_urls(content)
    assert len(urls) == 1 and urls[0].startswith("data:image/")
    assert decoded_size(urls[0]) <= IMAGE_MAX_BYTES
    assert max(image_size(urls[0])) <= IMAGE_MAX_SIDE
    # the composer is empty again; the sent message shows the image, full size on click
    expect(chat.locator("#chat-attach-list .chat-attachment")).to_have_count(0)
    thumb = chat.locator(".chat-message-user .chat-attachment img")
    expect(thumb).to_have_count(1)
    assert thumb.get_attribute("src") == urls[0]
    thumb.click()
    expect(chat.locator("#chat-image-preview img")).to_be_visible()
    chat.keyboard.press("Escape")
    expect(chat.locator("#chat-image-preview")).to_have_count(0)
    stored = [m for m in history(chat)["conversations"][0]["messages"] if m["role"] == "user"][0]
    assert stored["content"] == "what is in this picture?"
    assert stored["attachments"][0]["kind"] == "image" and stored["attachments"][0]["data"] == urls[0]
    assert chat.errors == []


def test_orientation_transparency_and_gif_first_frame(chat, fresh_upstream):
    """EXIF orientation is applied (200×100 turned → 100×200), a transparent PNG stays a
    PNG, a GIF sends its first frame (as PNG or JPEG, never GIF)."""
    attach(chat, ("turned.jpg", "image/jpeg", rotated_jpeg()), ("clear.png", "image/png", small_png(rgba=True)),
           ("anim.gif", "image/gif", two_frame_gif()))
    items = ready(chat)
    assert [(a["width"], a["height"]) for a in items] == [(100, 200), (120, 80), (64, 48)]
    assert items[1]["mime"] == "image/png"
    assert items[2]["mime"] in ("image/png", "image/jpeg")
    send_now(chat, "three")
    urls = image_urls(last_user_content(fresh_upstream))
    assert len(urls) == 3
    assert image_size(urls[0]) == (100, 200)
    from PIL import Image

    first = Image.open(io.BytesIO(base64.b64decode(urls[2].split(",", 1)[1]))).convert("RGB").getpixel((10, 10))
    assert first[0] > 200 and first[2] < 60, first  # red: the first frame


def test_pasted_image_is_sent_without_any_text(chat, fresh_upstream):
    """An image pasted into the input becomes an attachment; a message with only an
    attachment is allowed."""
    chat.evaluate("""async () => {
        const canvas = document.createElement('canvas'); canvas.width = 90; canvas.height = 60;
        const g = canvas.getContext('2d'); g.fillStyle = '#0a0'; g.fillRect(0, 0, 90, 60);
        const blob = await new Promise((ok) => canvas.toBlob(ok, 'image/png'));
        const data = new DataTransfer();
        data.items.add(new File([blob], 'image.png', { type: 'image/png' }));
        const input = document.getElementById('chat-input');
        input.focus();
        input.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
    }""")
    settle(chat)
    assert [(a["kind"], a["width"], a["height"]) for a in ready(chat)] == [("image", 90, 60)]
    assert chat.input_value("#chat-input") == ""
    send_now(chat, "")
    content = last_user_content(fresh_upstream)
    assert [p["type"] for p in content] == ["image_url"]
    assert decoded_size(content[0]["image_url"]["url"]) <= IMAGE_MAX_BYTES


def test_dropped_file_is_attached(chat, fresh_upstream):
    """Files dropped onto the composer are attached."""
    chat.evaluate("""(b64) => {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const data = new DataTransfer();
        data.items.add(new File([bytes], 'dropped.png', { type: 'image/png' }));
        const target = document.getElementById('chat-input');
        for (const type of ['dragenter', 'dragover', 'drop']) {
            target.dispatchEvent(new DragEvent(type, { dataTransfer: data, bubbles: true, cancelable: true }));
        }
    }""", base64.b64encode(small_png()).decode())
    settle(chat)
    assert [a["name"] for a in ready(chat)] == ["dropped.jpg"]


def test_pdf_and_docx_text_reach_the_upstream(chat, fresh_upstream):
    """A PDF and a DOCX made here are read by the server; their chips show name, size
    and tokens; their known text reaches the upstream with the typed text."""
    attach(chat, ("report.pdf", "application/pdf", make_pdf("Quarterly revenue grew 4711 percent")),
           ("notes.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            make_docx("The secret word is periwinkle")))
    chips = chat.locator("#chat-attach-list .chat-attachment")
    expect(chips).to_have_count(2)
    expect(chips.nth(0)).to_contain_text("report.pdf")
    expect(chips.nth(0)).to_contain_text("tokens")
    expect(chips.nth(1)).to_contain_text("notes.docx")
    assert chat.locator("#chat-attach-list .chat-attachment-error").count() == 0
    send_now(chat, "summarise both")
    sent = json.dumps(last_user_content(fresh_upstream))
    assert "Quarterly revenue grew 4711 percent" in sent
    assert "The secret word is periwinkle" in sent
    assert "summarise both" in sent
    expect(chat.locator(".chat-message-user .chat-attachment")).to_have_count(2)
    expect(chat.locator(".chat-message-user .chat-attachment").nth(0)).to_contain_text("report.pdf")


def test_undecodable_image_and_unsupported_file_get_a_localized_error(browser, app, fresh_upstream):
    """A HEIC (undecodable here) and an .exe get their error on the chip, in the page's
    language; sending is refused until they are removed, and nothing was requested."""
    for locale, expected in (("en-US", "cannot be read"), ("zh-CN", "无法读取")):
        context = browser.new_context(locale=locale)
        page = context.new_page()
        try:
            open_chat(page, app.url)
            attach(page, ("IMG_0001.HEIC", "image/heic", b"\x00\x00\x00\x18ftypheic" + os.urandom(2000)),
                   ("tool.exe", "application/octet-stream", b"MZ" + os.urandom(100)))
            errors = page.locator("#chat-attach-list .chat-attachment-error")
            expect(errors).to_have_count(2)
            expect(errors.nth(0)).to_contain_text(expected)
            assert errors.nth(1).inner_text().strip()
            page.fill("#chat-input", "keep this text")
            page.press("#chat-input", "Enter")
            expect(page.locator(".ant-message-notice").last).to_be_visible()
            assert fresh_upstream.requests == []
            assert page.input_value("#chat-input") == "keep this text"
            # removed, the message goes
            page.locator("#chat-attach-list .chat-attachment-remove").first.click()
            page.locator("#chat-attach-list .chat-attachment-remove").first.click()
            expect(page.locator("#chat-attach-list .chat-attachment")).to_have_count(0)
            page.press("#chat-input", "Enter")
            page.wait_for_function("() => window.chatDebug.runs > 0", timeout=15000)
            fresh_upstream.reset()
        finally:
            context.close()


def blank_pdf() -> bytes:
    """A PDF with a drawing and no text (as a scanned page is to a text extractor)."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 100, 60, style="F")
    return bytes(pdf.output())


def test_the_servers_localized_extraction_errors_show_on_the_chip(browser, app, fresh_upstream):
    """A damaged PDF and one with no text: the server's message (in the page's language)
    is on each chip, the other attachment is still fine, nothing is sent for them."""
    for locale, damaged, empty in (("en-US", "damaged", "No text was found"), ("zh-CN", "已损坏", "没有可提取的文字")):
        context = browser.new_context(locale=locale)
        page = context.new_page()
        try:
            open_chat(page, app.url)
            attach(page, ("broken.pdf", "application/pdf", b"%PDF-1.7\n" + os.urandom(3000)),
                   ("scan.pdf", "application/pdf", blank_pdf()), ("fine.txt", "text/plain", "好的 fine".encode()))
            chips = page.locator("#chat-attach-list .chat-attachment")
            expect(chips.nth(0).locator(".chat-attachment-error")).to_contain_text(damaged)
            expect(chips.nth(1).locator(".chat-attachment-error")).to_contain_text(empty)
            expect(chips.nth(2).locator(".chat-attachment-error")).to_have_count(0)
            expect(chips.nth(2)).to_contain_text("tokens")
            page.fill("#chat-input", "x")
            page.press("#chat-input", "Enter")
            page.wait_for_timeout(300)
            assert fresh_upstream.requests == [] and (history(page) or {}).get("conversations", [{}])[0].get("messages", []) == []
        finally:
            context.close()


def test_image_to_a_model_without_vision_is_refused_before_any_request(chat, fresh_upstream):
    """With a conversation model that does not accept images, Send says so and requests
    nothing; the typed text and the attachment stay in the composer."""
    set_history(chat, {"version": 4, "active_id": "c-text", "conversations": [
        {"id": "c-text", "title": "", "settings": {"model": "text-only-model"}, "messages": []}]})
    expect(chat.locator("#header-model-tag")).to_contain_text("text-only-model")
    attach(chat, ("chart.png", "image/png", small_png()))
    chat.fill("#chat-input", "describe the chart")
    chat.press("#chat-input", "Enter")
    notice = chat.locator(".ant-message-notice").last
    expect(notice).to_contain_text("text-only-model does not accept images")
    chat.wait_for_timeout(300)
    assert fresh_upstream.requests == []
    assert chat.input_value("#chat-input") == "describe the chart"
    assert [a["name"] for a in ready(chat)] == ["chart.jpg"]
    assert history(chat)["conversations"][0]["messages"] == []
    assert history(chat)["conversations"][0]["settings"] == {"model": "text-only-model"}


def test_older_images_beyond_the_budget_are_left_out_with_a_notice(chat, fresh_upstream):
    """With an image budget that holds one image, the second turn sends its own image
    and the first one as "[image left out: …]", and the page says so."""
    attach(chat, ("first.png", "image/png", small_png()))
    send_now(chat, "one")
    first = image_urls(last_user_content(fresh_upstream))[0]
    chat.evaluate("""async (n) => { const m = await import('/assets/js/config.mjs');
        m.config().attachments.image_budget_bytes = n; }""", len(first) + 10)
    attach(chat, ("second.png", "image/png", small_png()))
    send_now(chat, "two")
    body = fresh_upstream.requests[-1]["body"]
    users = [m["content"] for m in body["messages"] if m["role"] == "user"]
    # no image left in the first turn: the server sends it upstream as a plain string
    assert "one" in json.dumps(users[0]) and "[image left out: first.jpg]" in json.dumps(users[0])
    assert len(image_urls(users[1])) == 1
    assert "left out of this request" in toast_texts(chat)


def test_attachments_survive_a_reload_and_a_backup_round_trip(browser, chat, app, fresh_upstream):
    """Images are Blobs in IndexedDB (not in the message record) and come back as the same
    data URLs after a reload; a backup (version 2) embeds them as base64 and restoring it
    in another browser brings the same attachments back, also after its reload."""
    attach(chat, ("keep.png", "image/png", small_png()), ("keep.docx", "application/octet-stream", make_docx("kept text 42")))
    send_now(chat, "keep these")
    before = history(chat)["conversations"][0]["messages"][0]["attachments"]
    assert [a["kind"] for a in before] == ["image", "document"]
    stored = chat.evaluate("""async () => { const db = window.chatStorage.database(); await db.open();
        const images = await db.images.toArray(); const messages = await db.messages.toArray(); db.close();
        return { images: images.map((i) => ({ id: i.id, blob: i.blob instanceof Blob, type: i.blob.type, size: i.blob.size })),
                 record: messages.filter((m) => m.role === 'user')[0].attachments }; }""")
    assert stored["images"] == [{"id": before[0]["id"], "blob": True, "type": before[0]["mime"], "size": before[0]["size"]}]
    assert "data" not in stored["record"][0] and stored["record"][1]["text"] == before[1]["text"]
    chat.reload()
    open_chat(chat, chat.url)
    assert history(chat)["conversations"][0]["messages"][0]["attachments"] == before
    expect(chat.locator(".chat-message-user .chat-attachment img")).to_have_attribute("src", before[0]["data"])
    with chat.expect_download() as info:
        chat.click("#chat-backup-export-button")
    raw = open(info.value.path(), encoding="utf-8").read()
    doc = json.loads(raw)
    assert doc["version"] == 3  # 3: branches; attachments since 2
    assert doc["conversations"][0]["messages"][0]["attachments"] == before

    other = browser.new_context()
    page = other.new_page()
    try:
        open_chat(page, app.url)
        page.locator("#chat-backup-upload input[type=file]").set_input_files(
            files=[{"name": "backup.json", "mimeType": "application/json", "buffer": raw.encode("utf-8")}])
        item = page.locator(".chat-conv-item", has_text="keep these")
        expect(item).to_have_count(1)
        conv_id = doc["conversations"][0]["id"]

        def restored():
            return [c for c in history(page)["conversations"] if c["id"] == conv_id][0]["messages"][0]["attachments"]

        assert restored() == before
        page.reload()
        open_chat(page, app.url)
        assert restored() == before
        page.locator(".chat-conv-item", has_text="keep these").click()
        expect(page.locator(".chat-message-user .chat-attachment img")).to_have_attribute("src", before[0]["data"])
    finally:
        other.close()


def test_an_edited_message_keeps_its_attachments(chat, fresh_upstream):
    """Edit and resend of a message with an image and a document: the new text goes with
    the same attachments."""
    attach(chat, ("edit.png", "image/png", small_png()), ("edit.txt", "text/plain", b"document for the edit 77"))
    send_now(chat, "before the edit")
    before = history(chat)["conversations"][0]["messages"][0]["attachments"]
    runs = chat.evaluate("() => window.chatDebug.runs")
    chat.locator(".chat-message-user").first.locator(".chat-action-edit").click()
    expect(chat.locator("#chat-edit-input")).to_have_value("before the edit")
    chat.fill("#chat-edit-input", "after the edit")
    chat.locator(".ant-modal-wrap:visible .ant-btn-primary").click()
    chat.wait_for_function(f"() => window.chatDebug.runs > {runs}", timeout=20000)
    wait_idle(chat)
    message = history(chat)["conversations"][0]["messages"][0]
    assert message["content"] == "after the edit" and message["attachments"] == before
    sent = json.dumps(last_user_content(fresh_upstream))
    assert "after the edit" in sent and "document for the edit 77" in sent and "data:image/jpeg;base64," in sent
