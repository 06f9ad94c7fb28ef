"""Make the attachment screenshots (issue 13): a sent message with an image and a
document, and the composer holding pending attachments — desktop, phone and dark —
with Playwright and Debian's Chromium against the local test upstream.

    python docs/make_attachment_screenshots.py   # writes docs/attachments-*.png
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shots import PHONE, running  # noqa: E402  (docs/shots.py)
from tests.e2e_chat import open_chat, wait_idle  # noqa: E402
from tests.upstream import Reply  # noqa: E402

REPLY = """The chart shows **revenue by region** for the last four quarters:

- **North** grows steadily, from 8.1k to 12.4k.
- **South** dips in Q3 and recovers to 9.9k.

The report you attached agrees: the Q3 dip came from the delayed shipment it mentions on page 2.
"""


def chart_png() -> bytes:
    """A small bar chart drawn with Pillow (the picture the user attaches)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (960, 640), (250, 250, 252))
    draw = ImageDraw.Draw(image)
    for i, (north, south) in enumerate(((81, 70), (95, 84), (108, 61), (124, 99))):
        x = 120 + i * 200
        draw.rectangle([x, 560 - north * 4, x + 60, 560], fill=(16, 163, 127))
        draw.rectangle([x + 70, 560 - south * 4, x + 130, 560], fill=(82, 113, 255))
    draw.line([80, 560, 900, 560], fill=(60, 60, 60), width=3)
    draw.line([80, 80, 80, 560], fill=(60, 60, 60), width=3)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def photo_png() -> bytes:
    """A gradient 'photo' for the pending thumbnail."""
    from PIL import Image

    image = Image.new("RGB", (640, 480))
    image.putdata([(int(40 + 200 * x / 640), int(90 + 120 * y / 480), 200) for y in range(480) for x in range(640)])
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def report_pdf() -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.multi_cell(0, 8, text="Quarterly report. Q3: the South region dipped because a shipment was delayed. " * 30)
    return bytes(pdf.output())


def attach(page, files) -> None:
    page.locator("#chat-attach input[type=file]").set_input_files(
        files=[{"name": name, "mimeType": mime, "buffer": data} for name, mime, data in files]
    )
    page.wait_for_function("() => window.chatDebug.attachments().reading === 0", timeout=30000)


def scene(page, upstream) -> None:
    """One sent turn with an image and a document; then pending attachments in the composer."""
    attach(page, [("revenue-chart.png", "image/png", chart_png()), ("q3-report.pdf", "application/pdf", report_pdf())])
    upstream.script(Reply(REPLY, usage={"prompt_tokens": 1412, "completion_tokens": 88}))
    runs = page.evaluate("() => window.chatDebug.runs")
    page.fill("#chat-input", "What does this chart say, and does the report explain the Q3 dip?")
    page.press("#chat-input", "Enter")
    page.wait_for_function(f"() => window.chatDebug.runs > {runs}", timeout=20000)
    wait_idle(page)
    attach(page, [("beach.png", "image/png", photo_png()), ("notes.md", "text/markdown", b"# Notes\n\n" + b"- an item to check\n" * 40),
                  ("IMG_2041.HEIC", "image/heic", b"\x00\x00\x00\x18ftypheic" + b"\x00" * 512)])
    page.fill("#chat-input", "And these?")
    page.wait_for_timeout(600)


def main() -> None:
    """Write docs/attachments-desktop.png, attachments-dark.png, attachments-phone.png."""
    out = ROOT / "docs"
    with running(OPENAI_MODEL="gpt-4o-mini") as (browser, app, upstream):
        context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="en-US")
        page = context.new_page()
        open_chat(page, app.url)
        scene(page, upstream)
        page.screenshot(path=str(out / "attachments-desktop.png"))
        page.click("#chat-theme-button")
        page.wait_for_timeout(600)
        page.screenshot(path=str(out / "attachments-dark.png"))
        context.close()

        context = browser.new_context(locale="en-US", **PHONE)
        page = context.new_page()
        open_chat(page, app.url)
        scene(page, upstream)
        page.screenshot(path=str(out / "attachments-phone.png"))
        context.close()


if __name__ == "__main__":
    main()
