"""Content safety in Chromium: user text and model output carrying HTML, <script>,
event handlers, javascript:/data: links, SVG and mermaid payloads render inert.

Each payload is typed as the user's message AND scripted as the model's reply
(through the test upstream). Then every link in the conversation is clicked. The
test asserts that no dialog opened, no payload code ran (``window.__xss``), and that
the conversation DOM holds no script-capable element or attribute. It runs twice:
with the app's Content-Security-Policy, and with CSP bypassed, so the rendering is
inert on its own (defence in depth) and not only because the CSP blocks it.
"""

from __future__ import annotations

import pytest

from tests.conftest import AppProcess, app_env
from tests.upstream import Reply

X = "window.__xss=(window.__xss||0)+1;alert(document.domain)"

PAYLOADS = [
    # mermaid first, so a lazily loaded mermaid has rendered them before the end
    f"```mermaid\ngraph TD\nA[\"<img src=x onerror={X}>\"] --> B\nclick A call alert(1)\n```",
    f"```mermaid\n%%{{init: {{\"securityLevel\": \"loose\"}}}}%%\ngraph TD\nA-->B\nclick A href \"javascript:{X}\"\n```",
    f"```mermaid\nsequenceDiagram\nA->>B: <script>{X}</script>\n```",
    f"<script>{X}</script>",
    f"<img src=x onerror=\"{X}\">",
    f"<svg onload=\"{X}\"><circle r=\"1\"/></svg>",
    f"<svg><script>{X}</script></svg>",
    f"<svg><a xlink:href=\"javascript:{X}\"><text y=\"20\">svg link</text></a></svg>",
    f"[plain js link](javascript:{X})",
    f"[mixed case](JaVaScRiPt:{X})",
    f"[spaced]( javascript:{X})",
    f"[entity](&#106;avascript:{X})",
    f"[tabbed](java\tscript:{X})",
    "[data html](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    f"[vb](vbscript:{X})",
    f"<javascript:{X}>",
    f"[ref link][r]\n\n[r]: javascript:{X}",
    f"![img js](javascript:{X})",
    f"![img attr](x\" onerror=\"{X})",
    f"<a href=\"javascript:{X}\">raw anchor</a>",
    f"<iframe src=\"javascript:{X}\"></iframe>",
    f"<details open ontoggle=\"{X}\"><summary>s</summary></details>",
    f"<object data=\"javascript:{X}\"></object><embed src=\"javascript:{X}\">",
    f"<form action=\"javascript:{X}\"><button>go</button></form>",
    f"<math><mtext><table><mglyph><style><img src=x onerror=\"{X}\">",
    f"<base href=\"javascript:{X}//\">",
    f"$\\href{{javascript:{X}}}{{katex link}}$",
    f"```html\n<script>{X}</script>\n```",
]

INSPECT = """() => {
  const root = document.getElementById('chat-messages') || document.body;
  const bad = [];
  for (const el of root.querySelectorAll('*')) {
    const tag = el.tagName.toLowerCase();
    if (['script', 'iframe', 'object', 'embed', 'form', 'base'].includes(tag)) bad.push('<' + tag + '>');
    for (const attr of el.attributes) {
      const name = attr.name.toLowerCase();
      const value = (attr.value || '').replace(/[\\s\\u0000-\\u001f]/g, '').toLowerCase();
      if (name.startsWith('on')) bad.push(tag + '[' + name + ']');
      if (['href', 'src', 'xlink:href', 'action', 'formaction', 'data'].includes(name) &&
          (value.startsWith('javascript:') || value.startsWith('vbscript:') || value.startsWith('data:text/html'))) {
        bad.push(tag + '[' + name + '=' + value.slice(0, 30) + ']');
      }
    }
  }
  return bad;
}"""

TRIED = {"payloads": 0, "passed": 0, "csp_blocked": 0, "mermaid_active": False}
MERMAID_COUNT = sum(1 for p in PAYLOADS if p.startswith("```mermaid"))


CLICK_ODD_LINKS = """() => {
  let clicked = 0;
  const newest = Array.from(document.querySelectorAll('.chat-message')).slice(-2);
  for (const a of newest.flatMap(m => Array.from(m.querySelectorAll('a')))) {
    const href = (a.getAttribute('href') || '').trim().toLowerCase();
    if (a.dataset.xssClicked || /^(https?:|mailto:)/.test(href)) continue;
    a.dataset.xssClicked = '1';
    a.dispatchEvent(new MouseEvent('click', { bubbles: true, cancelable: true, view: window }));
    clicked += 1;
  }
  return clicked;
}"""


def _click_odd_links(page) -> int:
    """Click (a real click event) each link of the newest two messages that is not http(s)/mailto."""
    return page.evaluate(CLICK_ODD_LINKS)


@pytest.fixture(scope="module")
def xss_app(upstream):
    app = AppProcess(app_env(upstream, CHAT_RATE_LIMIT_SESSION="", CHAT_RATE_LIMIT_ADDRESS=""))
    yield app
    app.stop()
    print(f"\nXSS payloads: {TRIED['payloads']} tried (user text + model output), {TRIED['passed']} inert; "
          f"CSP reports (blocked attempts) {TRIED['csp_blocked']}; mermaid active: {TRIED['mermaid_active']}")


@pytest.mark.browser
@pytest.mark.parametrize("bypass_csp", [False, True], ids=["with-csp", "csp-bypassed"])
def test_payloads_render_inert(xss_app, upstream, browser, bypass_csp):
    upstream.reset()
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=bypass_csp)
    page = context.new_page()
    dialogs: list[str] = []
    errors: list[str] = []

    def on_dialog(dialog):
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    popups: list[str] = []

    def on_popup(popup):
        popups.append(popup.url)
        popup.close()

    context.on("page", on_popup)
    clicks = 0
    try:
        page.goto(xss_app.url)
        page.wait_for_selector("#chat-input")
        page.evaluate(
            "window.__csp = []; document.addEventListener('securitypolicyviolation',"
            " e => window.__csp.push(e.violatedDirective))"
        )
        bad: list[str] = []
        for index, payload in enumerate(PAYLOADS):
            upstream.script(Reply(content=payload))
            page.fill("#chat-input", payload)
            page.click("#chat-send-button")
            page.wait_for_function(f"window.chatDebug && window.chatDebug.runs >= {index + 1}", timeout=15000)
            page.wait_for_timeout(150)  # let Markdown, KaTeX and any mermaid render
            assert page.evaluate("JSON.stringify(window.chatDebug.lastRun.error)") == "null", payload
            # the newest user message and reply (older ones may be windowed out of the DOM)
            assert page.locator(".chat-message-user").count() >= 1
            bad += [f"{index}: {item}" for item in page.evaluate(INSPECT)]
            clicks += _click_odd_links(page)
            if index == MERMAID_COUNT - 1:
                try:  # mermaid may be loaded on first need (assets/js/mermaid.mjs); let it draw
                    page.wait_for_function("!!window.mermaid", timeout=8000)
                    page.wait_for_timeout(1000)
                    TRIED["mermaid_active"] = True
                except Exception:  # noqa: BLE001 - mermaid disabled: fenced code only
                    pass
                bad += [f"mermaid: {item}" for item in page.evaluate(INSPECT)]
        page.screenshot(path=f"test-artifacts/xss-{'csp' if not bypass_csp else 'nocsp'}.png", full_page=False)
        page.wait_for_timeout(300)
        assert page.url.startswith(xss_app.url), page.url  # no navigation to a payload
        ran = page.evaluate("window.__xss || 0")
        TRIED["payloads"] += 2 * len(PAYLOADS)
        TRIED["csp_blocked"] += len(page.evaluate("window.__csp"))
        assert dialogs == [], dialogs
        assert ran == 0
        assert bad == [], bad
        assert not [url for url in popups if url.lower().startswith(("javascript:", "data:", "vbscript:"))], popups
        assert clicks >= 5  # the rewritten javascript:/data: links were there and were clicked
        TRIED["passed"] += 2 * len(PAYLOADS)
    finally:
        context.close()
