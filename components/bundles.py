"""Component bundles the page loads on demand, not with the page (issue 16: the first
screen loads only what it needs).

fmc's bundle (feffery-markdown-components, 2.45 MB of JavaScript, the largest the page
has) draws Markdown; the layout holds no fmc component (assets/js/messageview.mjs and
streamview.mjs draw FefferyMarkdown themselves), so Dash does not need it to start. It
is marked ``dynamic`` in the package's ``_js_dist`` (Dash's resource flag: registered
for serving, left out of the page's script tags) and the page loads it from
:func:`urls` when a message is to be drawn, the composer is typed in, or a reply starts
(messageview.mjs ``loadMarkdown``).
"""

from __future__ import annotations

import importlib

import dash

# name the page uses → (namespace, the bundle's path in the package)
ON_DEMAND = {"markdown": ("feffery_markdown_components", "feffery_markdown_components.min.js")}


def defer() -> None:
    """Mark each ON_DEMAND bundle ``dynamic`` (idempotent; before Dash writes a page)."""
    for namespace, path in ON_DEMAND.values():
        for entry in importlib.import_module(namespace)._js_dist:
            if entry.get("relative_package_path") == path:
                entry["dynamic"] = True


def urls(app: dash.Dash | None = None) -> dict[str, str]:
    """``{name: URL}`` of the ON_DEMAND bundles: Dash's fingerprinted component-suite URL
    under the base path (``/_dash-component-suites/<namespace>/<file>.v<version>m<mtime>.js``),
    served with Dash's long-lived caching, for ``app`` (``dash.get_app()`` by default);
    ``{}`` outside an app (tests that build the page config directly: the page then draws
    Markdown as plain text)."""
    if app is None:
        try:
            app = dash.get_app()
        except Exception:  # no app yet
            return {}
    return {name: app._collect_and_register_resources([{"relative_package_path": path, "namespace": namespace}])[0]  # noqa: SLF001
            for name, (namespace, path) in ON_DEMAND.items()}
