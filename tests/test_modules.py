"""The page script's modules (chatserver/modules.py): versioned URLs, the import map, the
preloads and their caching, and that Chromium runs the page from those URLs alone."""

from __future__ import annotations

import base64
import hashlib
import json
import re

import pytest

from chatserver.modules import ModuleSet
from tests.e2e_chat import open_chat, send


def write(root, name: str, text: str) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_scan_walks_the_static_imports_and_versions_each_file(tmp_path):
    write(tmp_path, "js/main.mjs", "import { a } from './a.mjs';\nimport './side.mjs';\nimport {\n  b,\n} from \"./lib/b.mjs\";\n")
    write(tmp_path, "js/a.mjs", "export * from './lib/b.mjs';\nexport const a = 1;\n")
    write(tmp_path, "js/side.mjs", "const later = () => import('./lazy.mjs');\n")
    write(tmp_path, "js/lib/b.mjs", "import { a } from '../a.mjs';\nexport const b = a;\n")
    write(tmp_path, "js/lazy.mjs", "export const lazy = 1;\n")
    write(tmp_path, "js/unused.mjs", "export const unused = 1;\n")
    modules = ModuleSet.scan(tmp_path, "js/main.mjs")
    assert list(modules.versions) == ["js/main.mjs", "js/a.mjs", "js/side.mjs", "js/lib/b.mjs"]  # no lazy, no unused
    assert modules.versions["js/a.mjs"] == hashlib.sha256((tmp_path / "js/a.mjs").read_bytes()).hexdigest()[:12]
    write(tmp_path, "js/lib/b.mjs", "import { a } from '../a.mjs';\nexport const b = a + 1;\n")
    changed = ModuleSet.scan(tmp_path, "js/main.mjs")
    assert changed.versions["js/lib/b.mjs"] != modules.versions["js/lib/b.mjs"]
    assert changed.versions["js/a.mjs"] == modules.versions["js/a.mjs"]


def test_a_missing_import_fails_at_start_up(tmp_path):
    write(tmp_path, "js/main.mjs", "import './gone.mjs';\n")
    with pytest.raises(FileNotFoundError):
        ModuleSet.scan(tmp_path, "js/main.mjs")


@pytest.fixture(scope="module")
def served(upstream):
    from chat_app import create_app
    from tests.conftest import make_settings

    app = create_app(make_settings(upstream))
    return app, app.server.test_client()


def test_the_page_maps_and_preloads_every_module_and_the_csp_allows_the_map(served):
    app, client = served
    modules = app.server.config["CHAT_MODULES"]
    response = client.get("/")
    page = response.get_data(as_text=True)
    text = re.search(r'<script type="importmap">(.*?)</script>', page, re.S).group(1)
    imports = json.loads(text)["imports"]
    assert len(modules.versions) > 20 and set(imports) == {f"/assets/{name}" for name in modules.versions}
    assert all(url == f"{key}?v={modules.versions[key[len('/assets/'):]]}" for key, url in imports.items())
    preloads = re.findall(r'<link rel="modulepreload" href="([^"]+)">', page)
    assert sorted(preloads) == sorted(imports.values())
    assert page.index('type="importmap"') < page.index('type="module"')  # the map comes before any module
    assert f'src="{imports["/assets/js/main.mjs"]}"' in page  # the entry by its versioned URL
    digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in response.headers["Content-Security-Policy"]


def test_a_current_version_is_immutable_and_any_other_is_not(served):
    app, client = served
    modules = app.server.config["CHAT_MODULES"]
    current = client.get(modules.url(app, "js/stream.mjs"))
    assert current.status_code == 200 and current.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    stale = client.get("/assets/js/stream.mjs?v=000000000000")
    assert stale.status_code == 200 and stale.headers["Cache-Control"] == "no-cache"
    assert stale.get_data() == current.get_data()


@pytest.mark.browser
def test_chromium_loads_each_module_once_by_its_versioned_url(page, app_server, fresh_upstream):
    open_chat(page, app_server.url)
    send(page, "hello")
    loaded = page.evaluate("() => performance.getEntriesByType('resource').map((e) => e.name).filter((n) => /\\.mjs(\\?|$)/.test(n))")
    plain = [url for url in loaded if "?v=" not in url]
    names = [url.split("?")[0] for url in loaded]
    assert not plain, plain  # every import went through the map
    assert len(names) == len(set(names)) and len(names) > 20  # each module once
    assert not page.errors
    # a repeat visit fetches no module over the network (the HTTP cache, or the worker)
    responses = []
    page.on("response", lambda r: responses.append((r.url, r.status)) if ".mjs" in r.url else None)
    open_chat(page, app_server.url)
    fetched = page.evaluate("() => performance.getEntriesByType('resource').filter((e) => /\\.mjs/.test(e.name) && e.transferSize > 0).map((e) => e.name)")
    assert fetched == [], (fetched, responses)
