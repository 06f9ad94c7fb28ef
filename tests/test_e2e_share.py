"""Browser tests: Share as image and Copy as Markdown (assets/js/share.mjs).

Share as image saves the open conversation as a PNG drawn from the page (light or dark),
or — taller than the safe canvas (``components.shortcuts.SHARE_LIMITS``) — as several
numbered PNGs covering every message, also the ones not drawn yet. Copy as Markdown puts
the conversation on the clipboard in the export format (``chatcore.export.to_markdown``'s
bytes); a denied clipboard says so. On a phone both sit in the header's "more" menu,
which does not overflow the header.
"""

from __future__ import annotations

import re
import struct
import zlib
from datetime import datetime, timezone

import pytest
from playwright.sync_api import expect

from chatcore.export import to_markdown
from components.shortcuts import SHARE_LIMITS
from tests.conftest import AppProcess, app_env
from tests.e2e_chat import open_chat, set_history

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def share_app(upstream):
    """The app against the session upstream (one process for the module)."""
    app = AppProcess(app_env(upstream))
    yield app
    app.stop()


def conversation(title: str, count: int, lines: int = 2) -> dict:
    """A history with one conversation of ``count`` messages of ``lines`` lines each."""
    messages = []
    for i in range(count):
        role = "user" if i % 2 == 0 else "assistant"
        body = "\n".join(f"Line {j} of message {i}: a **sentence** to draw." for j in range(lines))
        messages.append({"id": f"m{i}", "role": role, "content": body, "created_at": 1000 + i, "seq": i})
    return {"version": 3, "active_id": "c1", "conversations": [
        {"id": "c1", "title": title, "created_at": 1000, "updated_at": 2000, "settings": {}, "error": None, "messages": messages}
    ]}


def png_info(data: bytes) -> tuple[int, int, tuple[int, int, int]]:
    """(width, height, RGB of the top-left pixel) of an 8-bit RGB(A) PNG; asserts the signature."""
    assert data[:8] == PNG_SIGNATURE
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    assert depth == 8 and colour in (2, 6)
    pos, idat = 8, b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"IDAT":
            idat += data[pos + 8:pos + 8 + length]
        pos += 12 + length
    raw = zlib.decompressobj().decompress(idat, 1 + width * 4)
    # the first scanline's first pixel: no filter, Sub, Up (0 above), Average or Paeth all leave it as is
    assert raw[0] in (0, 1, 2, 3, 4)
    return width, height, tuple(raw[1:4])


def share(page, count: int) -> list:
    """Click Share as image and collect the ``count`` downloads it makes."""
    downloads = []

    def collect(download):
        downloads.append(download)

    page.on("download", collect)
    page.click("#chat-share-image-button")
    page.wait_for_function("() => /saved/i.test((document.querySelector('.ant-message') || {}).innerText || '')", timeout=90000)
    page.wait_for_timeout(500 + 400 * count)
    page.remove_listener("download", collect)
    return downloads


def read(download) -> bytes:
    with open(download.path(), "rb") as handle:
        return handle.read()


def list_width(page) -> int:
    return page.evaluate("() => document.getElementById('chat-messages').clientWidth")


def test_a_short_conversation_is_one_png_light_and_dark(page, share_app):
    """Four messages → one ``<title>.png``, the column's width at the share scale, on the
    theme's background: white in light, the dark background in dark."""
    open_chat(page, share_app.url)
    set_history(page, conversation("Trip plan", 4))
    expect(page.locator(".chat-message")).to_have_count(4)
    scale = SHARE_LIMITS["scale"]
    (light,) = share(page, 1)
    assert light.suggested_filename == "Trip plan.png"
    width, height, pixel = png_info(read(light))
    assert width == list_width(page) * scale
    assert 4 * 60 * scale < height <= SHARE_LIMITS["max_area"] // width
    assert pixel == (255, 255, 255)
    expect(page.locator(".ant-message")).to_contain_text("Image saved.")
    page.click("#chat-theme-button")
    expect(page.locator("html")).to_have_class(re.compile("chat-dark"))
    (dark,) = share(page, 1)
    width, dark_height, pixel = png_info(read(dark))
    assert pixel == (20, 20, 20) and abs(dark_height - height) <= 4 * scale
    assert page.errors == []


def test_a_long_conversation_is_several_numbered_pngs(page, share_app):
    """Seventy messages (more than the page draws at first) taller than one safe canvas →
    ``<title>-1.png``, ``-2.png`` …, each within the canvas limits, together as tall as the
    whole conversation drawn; afterwards the page draws what it drew before."""
    open_chat(page, share_app.url)
    set_history(page, conversation("Long/talk", 70, lines=4))
    expect(page.locator("#chat-messages > .chat-messages-chunk > .chat-message")).to_have_count(50)  # the page draws the newest first
    drawn = 50
    images = share(page, 4)
    assert len(images) >= 2
    assert [d.suggested_filename for d in images] == [f"Long_talk-{i}.png" for i in range(1, len(images) + 1)]
    expect(page.locator(".ant-message")).to_contain_text(f"{len(images)} numbered images saved")
    sizes = [png_info(read(d))[:2] for d in images]
    scale = SHARE_LIMITS["scale"]
    width = list_width(page) * scale
    assert all(w == width and 0 < h <= SHARE_LIMITS["max_side"] and w * h <= SHARE_LIMITS["max_area"] for w, h in sizes)
    expect(page.locator("#chat-messages > .chat-messages-chunk > .chat-message")).to_have_count(drawn)  # the window is put back
    # the images together cover the whole conversation (each adds the list's padding)
    page.locator(".chat-show-earlier").dispatch_event("click")  # (scrolling to it draws them too)
    expect(page.locator("#chat-messages > .chat-messages-chunk > .chat-message")).to_have_count(70)
    full = page.evaluate("() => document.getElementById('chat-messages').getBoundingClientRect().height")
    total = sum(h for _, h in sizes) / scale
    assert abs(total - full) <= 24 * len(sizes), (total, full)
    assert page.errors == []


def test_copy_as_markdown_puts_the_export_on_the_clipboard(browser, share_app):
    """Copy as Markdown → the clipboard holds exactly what the export writes for the
    conversation (chatcore.export.to_markdown, its model and title), with a toast."""
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    try:
        open_chat(page, share_app.url)
        history = conversation("Markdown me", 4)
        history["conversations"][0]["messages"][1]["content"] = "```python\nprint('hi')\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |"
        history["conversations"][0]["messages"][1]["reasoning"] = "thinking it over"
        set_history(page, history)
        expect(page.locator(".chat-message")).to_have_count(4)
        page.click("#chat-copy-markdown-button")
        expect(page.locator(".ant-message")).to_contain_text("Conversation copied as Markdown.")
        copied = page.evaluate("() => navigator.clipboard.readText()")
        stamp = re.search(r"^- Exported: (.+) UTC$", copied, re.M).group(1)
        exported_at = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)
        messages = [{k: m[k] for k in ("role", "content", "reasoning") if k in m} for m in history["conversations"][0]["messages"]]
        assert copied == to_markdown(messages, model="test-model", title="Markdown me", exported_at=exported_at)
        assert copied.startswith("# Markdown me\n") and "thinking it over" in copied
    finally:
        context.close()


def test_a_denied_clipboard_says_so(browser, share_app):
    """With clipboard access denied, Copy as Markdown and the copy-last-reply shortcut say
    so in the page's locale (and nothing else breaks)."""
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        # deny the clipboard as a reader's site settings would (Chromium grants it to a focused page)
        cdp = context.new_cdp_session(page)
        browser_context = cdp.send("Target.getTargetInfo")["targetInfo"]["browserContextId"]
        cdp.send("Browser.setPermission", {"permission": {"name": "clipboard-write"}, "setting": "denied", "browserContextId": browser_context})
        open_chat(page, share_app.url)
        set_history(page, conversation("Denied", 2))
        expect(page.locator(".chat-message")).to_have_count(2)
        page.click("#chat-copy-markdown-button")
        expect(page.locator(".ant-message")).to_contain_text("浏览器不允许访问剪贴板")
        expect(page.locator(".ant-message-notice")).to_have_count(0, timeout=10000)  # the toast has gone
        page.evaluate("() => document.activeElement && document.activeElement.blur()")
        page.keyboard.press("Control+Shift+;")
        expect(page.locator(".ant-message")).to_contain_text("浏览器不允许访问剪贴板")
        assert errors == []
    finally:
        context.close()


def test_on_a_phone_the_more_menu_holds_share(browser, share_app):
    """At 390 px the header does not overflow; "more" opens a menu with Export, Share as
    image and Copy as Markdown, and sharing from it saves the image."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, accept_downloads=True)
    page = context.new_page()
    try:
        open_chat(page, share_app.url)
        set_history(page, conversation("Phone", 2))
        header = page.evaluate("() => { const h = document.querySelector('.chat-header'); return [h.scrollWidth, h.clientWidth]; }")
        assert header[0] <= header[1] <= 390
        share_button = page.locator("#chat-share-image-button")
        expect(share_button).to_be_hidden()
        page.click("#chat-header-more-button")
        for hook in ("#chat-export-button", "#chat-share-image-button", "#chat-copy-markdown-button", "#chat-shortcuts-button"):
            box = page.locator(hook).bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390, hook
        expect(share_button).to_contain_text("Share as image")
        (image,) = share(page, 1)
        assert image.suggested_filename == "Phone.png"
        assert png_info(read(image))[0] == list_width(page) * SHARE_LIMITS["scale"]
        expect(share_button).to_be_hidden()  # choosing closed the menu
    finally:
        context.close()
