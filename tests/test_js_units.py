"""Unit tests of the page's ES modules (assets/js/*.mjs) with Node's built-in runner.

The modules get the page config exactly as the server builds it
(``components.layout.public_config``: ids, the settings spec, roles, limits, schema),
written to a file the tests read (``CHAT_TEST_CONFIG``), so a contract changed in
Python is what the JavaScript is tested against. ``.ci/run`` installs nodejs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from components.layout import public_config
from tests.conftest import make_settings

ROOT = Path(__file__).resolve().parent.parent
NODE = shutil.which("node")


@pytest.mark.skipif(NODE is None, reason="node is not installed (.ci/run installs nodejs)")
def test_page_modules_pass_their_node_unit_tests(tmp_path):
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(public_config(make_settings())), encoding="utf-8")
    files = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests" / "js").glob("*.test.mjs"))
    assert len(files) >= 4, files
    result = subprocess.run(
        [NODE, "--test", *files],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "CHAT_TEST_CONFIG": str(config_file)},
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout and "# pass 0" not in result.stdout


def test_no_module_is_over_400_lines_and_each_says_what_it_owns():
    for path in sorted((ROOT / "assets" / "js").glob("*.mjs")):
        text = path.read_text(encoding="utf-8")
        assert len(text.splitlines()) <= 400, path.name
        assert text.startswith("/**\n * " + path.name + " — "), path.name
