"""Browser test: the SVG mermaid returns passes through DOMPurify before it enters the
page (assets/js/mermaid.mjs guardMermaid), so an event handler never reaches the DOM even
where the CSP would block it."""

from __future__ import annotations

import pytest

from tests.e2e_chat import open_chat, send
from tests.upstream import Reply

pytestmark = [pytest.mark.timeout(120), pytest.mark.browser]

DIAGRAM = "```mermaid\ngraph TD\nA[start] --> B[end]\n```"
# What a compromised or buggy mermaid could return: handlers, script, javascript: link.
HOSTILE_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" onload="window.__m=1"><g onclick="window.__m=2"><rect width="5" height="5"/>'
    '<text>stub-label</text></g><image href="x" onerror="window.__m=3"/><script>window.__m=4</script>'
    '<a href="javascript:window.__m=5"><text>link</text></a>'
    '<foreignObject width="50" height="20"><div onmouseover="window.__m=6">html-label</div></foreignObject></svg>'
)
HANDLERS_JS = """() => {
  const root = document.getElementById('chat-messages');
  const bad = [];
  for (const el of root.querySelectorAll('svg, svg *')) {
    if (el.tagName.toLowerCase() === 'script') bad.push('<script>');
    for (const attr of el.attributes) {
      if (attr.name.toLowerCase().startsWith('on')) bad.push(attr.name);
      if (/javascript:/i.test(attr.value)) bad.push(attr.name + '=' + attr.value);
    }
  }
  return bad;
}"""


def test_mermaid_svg_is_sanitized(page, app_server, fresh_upstream):
    open_chat(page, app_server.url)
    fresh_upstream.script(Reply(content=DIAGRAM))
    send(page, "draw a diagram")
    page.wait_for_function("() => !!window.mermaid && !!window.DOMPurify", timeout=15000)
    # the real diagram renders (sanitizing keeps the SVG and its labels)
    page.wait_for_function("() => !!document.querySelector('#chat-messages svg') "
                           "&& document.getElementById('chat-messages').innerText.includes('start')", timeout=15000)
    assert page.evaluate(HANDLERS_JS) == []
    # a render that returns hostile markup: only the sanitized SVG reaches the page
    page.evaluate(f"() => {{ window.mermaid.render = async () => ({{ svg: {HOSTILE_SVG!r} }}); }}")
    fresh_upstream.script(Reply(content=DIAGRAM.replace("start", "second")))
    send(page, "draw another")
    page.wait_for_function("() => document.getElementById('chat-messages').innerText.includes('stub-label')", timeout=15000)
    page.wait_for_timeout(200)
    assert page.evaluate(HANDLERS_JS) == []
    assert "html-label" in page.inner_text("#chat-messages")
    assert page.evaluate("() => window.__m") is None
