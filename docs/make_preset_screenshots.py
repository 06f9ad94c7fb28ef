"""Make the prompt presets screenshots (issue 14) with Playwright and Debian's Chromium,
against the local test upstream: the dialog and the "/" picker on a desktop in the light
theme (en-US), on a phone in the dark theme (zh-CN), and the edit form (zh-CN).

    python docs/make_preset_screenshots.py      # writes docs/presets-*.png
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chatcore.presets import STORAGE_KEY, STORAGE_VERSION  # noqa: E402
from shots import PHONE, running  # noqa: E402  (docs/shots.py)
from tests.e2e_chat import open_chat  # noqa: E402

OWN = {
    "en-US": [
        {"id": "p-release", "name": "Release notes", "emoji": "🚀", "updated_at": 1767225600000,
         "system_prompt": "Turn the merged pull requests I paste into release notes for users: group them as New, Improved and Fixed, one line each, no internal jargon.",
         "parameters": {"temperature": 0.4, "max_tokens": 1200}},
    ],
    "zh-CN": [
        {"id": "p-release", "name": "版本说明", "emoji": "🚀", "updated_at": 1767225600000,
         "system_prompt": "把我贴出的已合并 PR 整理成面向用户的版本说明：按“新增”“改进”“修复”分组，每条一行，不用内部术语。",
         "parameters": {"temperature": 0.4, "max_tokens": 1200}},
    ],
}


def prepare(page, url: str, locale: str, dark: bool) -> None:
    """Open the app with one own preset stored, in the wanted theme."""
    open_chat(page, url)
    page.evaluate("([key, value]) => localStorage.setItem(key, value)", [STORAGE_KEY, json.dumps({"version": STORAGE_VERSION, "presets": OWN[locale]})])
    page.reload()
    open_chat(page, url)
    if dark:
        page.evaluate("() => document.getElementById('chat-theme-button').click()")
        page.wait_for_function("() => document.documentElement.classList.contains('chat-dark')")
    page.wait_for_timeout(300)


def open_dialog(page) -> None:
    page.evaluate("() => document.getElementById('chat-presets-button').click()")
    page.wait_for_selector(".ant-modal-wrap .chat-preset-item")
    page.wait_for_timeout(700)  # the opening animation


def open_picker(page, query: str) -> None:
    page.locator(".ant-modal-wrap:has(.chat-presets) .ant-modal-close").click()  # close the dialog
    page.wait_for_selector(".ant-modal-wrap .chat-presets", state="hidden")
    page.locator("#chat-input").focus()
    page.keyboard.type("/")
    page.keyboard.type(query)
    page.wait_for_selector("#chat-preset-picker:not([hidden])")
    page.wait_for_timeout(200)


def main() -> None:
    """Write the screenshots into docs/."""
    out = ROOT / "docs"
    with running(OPENAI_MODEL="gpt-4o-mini") as (browser, app, upstream):
        context = browser.new_context(viewport={"width": 1280, "height": 820}, locale="en-US")
        page = context.new_page()
        prepare(page, app.url, "en-US", dark=False)
        open_dialog(page)
        page.screenshot(path=str(out / "presets-dialog-en-US.png"))
        open_picker(page, "")
        page.screenshot(path=str(out / "presets-picker-en-US.png"))
        context.close()

        context = browser.new_context(locale="zh-CN", **PHONE)
        page = context.new_page()
        prepare(page, app.url, "zh-CN", dark=True)
        open_dialog(page)
        page.screenshot(path=str(out / "presets-dialog-phone-dark-zh-CN.png"))
        open_picker(page, "助手")
        page.screenshot(path=str(out / "presets-picker-phone-dark-zh-CN.png"))
        context.close()

        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        page = context.new_page()
        prepare(page, app.url, "zh-CN", dark=False)
        open_dialog(page)
        page.locator(".chat-preset-item", has_text="版本说明").locator("[data-preset-action=edit]").click()
        page.wait_for_selector(".chat-preset-form")
        page.wait_for_timeout(300)
        page.screenshot(path=str(out / "presets-editor-zh-CN.png"))
        context.close()


if __name__ == "__main__":
    main()
