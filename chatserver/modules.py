"""The page script's ES modules (``assets/js/*.mjs``): versioned URLs, an import map and
preloads, so the browser fetches them all at once and a repeat visit asks for none.

Without this the browser finds the modules one import at a time (``main.mjs`` → its
imports → theirs …) and revalidates each on every visit. Dash starts only after the
module scripts have run (``chat_app.DEFERRED_RENDERER``, on ``DOMContentLoaded``), so that
chain delayed the whole page: measured on the 2-core bench machine, 1.7 s of a cold
load and 0.5 s of a repeat visit went by before Dash fetched its layout.

* ``ModuleSet.scan(assets_folder, entry)``: the static import graph from the entry
  (``import … from './x.mjs'``, ``import './x.mjs'``, ``export … from``), each file with
  ``?v=`` = the first 12 hex digits of the SHA-256 of its bytes.
* ``with_head_tags(index_string, dash_app)``: an import map (WHATWG HTML, "Import maps") that maps each
  module's plain URL to its versioned URL (a relative import inside a module resolves
  to the plain URL, which the map rewrites), then one ``<link rel="modulepreload">``
  per module, in the page head before any module script. The import map is an inline
  script: its CSP hash is ``csp_hash(dash_app)`` (``chatserver.access`` adds it to
  ``script-src``).
* ``cache_headers(response)``: a module fetched with its current ``?v=`` is served
  ``Cache-Control: public, max-age=31536000, immutable`` (its URL changes with its
  bytes); any other version gets ``no-cache``.

The service worker precaches the same URLs (``chatserver.pwa.bundle_urls``; ``?v=`` URLs
are cache-first there).
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path

from flask import Response, current_app, request

from chatserver.compression import IMMUTABLE
from chatserver.pwa import content_version

# A relative module specifier of a static import or re-export (not `import(…)`).
_STATIC_IMPORT = re.compile(r"""(?:\bfrom\s*|\bimport\s*)(["'])(\.{1,2}/[^"'\s]+?\.mjs)\1""")


@dataclass(frozen=True)
class ModuleSet:
    """The modules of one page script: ``versions`` maps each module's path under the
    assets folder (``js/stream.mjs``) to its version (12 hex digits), entry first, then
    in the order the imports are found."""

    entry: str
    versions: dict[str, str] = field(default_factory=dict)

    @classmethod
    def scan(cls, assets_folder: str | Path, entry: str) -> "ModuleSet":
        """Walk the static imports from ``entry`` (a path under ``assets_folder``).

        Raises:
            FileNotFoundError: the entry, or a module it imports, does not exist (a
                broken page script fails at start-up, not in the browser).
        """
        root = Path(assets_folder)
        versions: dict[str, str] = {}
        todo = [entry]
        while todo:
            name = todo.pop(0)
            if name in versions:
                continue
            data = (root / name).read_bytes()
            versions[name] = content_version(data)
            base = posixpath.dirname(name)
            for _quote, spec in _STATIC_IMPORT.findall(data.decode("utf-8")):
                todo.append(posixpath.normpath(posixpath.join(base, spec)))  # "a/./b", "a/../b"
        return cls(entry, versions)

    def url(self, dash_app, name: str) -> str:
        """The versioned URL of module ``name`` as the page links it (``/assets/js/x.mjs?v=…``)."""
        return f"{dash_app.get_asset_url(name)}?v={self.versions[name]}"

    def import_map(self, dash_app) -> str:
        """The import map's JSON text: ``{"imports": {plain URL: versioned URL}}``."""
        imports = {dash_app.get_asset_url(name): self.url(dash_app, name) for name in self.versions}
        return json.dumps({"imports": imports}, separators=(",", ":")).replace("</", "<\\/")


def install(dash_app, entry: str) -> ModuleSet:
    """Scan ``entry``'s modules (``ModuleSet.scan``), keep them in the server's config
    (``CHAT_MODULES``) and add ``cache_headers`` to the server. Returns the set."""
    modules = ModuleSet.scan(dash_app.config.assets_folder, entry)
    dash_app.server.config["CHAT_MODULES"] = modules
    dash_app.server.after_request(cache_headers)
    return modules


def with_head_tags(index_string: str, dash_app) -> str:
    """Dash's ``index_string`` with the import map and the ``modulepreload`` links of the
    installed modules put into the head, before the stylesheets (``{%css%}``) and so
    before any module script."""
    modules: ModuleSet = dash_app.server.config["CHAT_MODULES"]
    esc = html.escape
    links = "".join(
        f'\n        <link rel="modulepreload" href="{esc(modules.url(dash_app, name))}">' for name in modules.versions
    )
    if "{%css%}" not in index_string:
        raise ValueError("index_string has no {%css%} to put the import map before")
    tags = f'<script type="importmap">{modules.import_map(dash_app)}</script>{links}'
    return index_string.replace("{%css%}", tags + "\n        {%css%}", 1)


def csp_hash(dash_app) -> str | None:
    """The CSP source (``'sha256-…'``, CSP Level 3 hash-source) of the inline import map,
    or ``None`` when no modules are installed."""
    modules: ModuleSet | None = dash_app.server.config.get("CHAT_MODULES")
    if modules is None:
        return None
    digest = hashlib.sha256(modules.import_map(dash_app).encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


def cache_headers(response: Response) -> Response:
    """``after_request``: immutable caching for a module fetched with its current version."""
    if request.method != "GET" or response.status_code not in (200, 304) or not request.path.endswith(".mjs"):
        return response
    modules: ModuleSet | None = current_app.config.get("CHAT_MODULES")
    version = request.args.get("v")
    if modules is None or version is None:
        return response
    name = request.path.split("/assets/", 1)[-1]
    if modules.versions.get(name) == version:
        response.headers["Cache-Control"] = IMMUTABLE
    else:
        response.headers["Cache-Control"] = "no-cache"
    return response
