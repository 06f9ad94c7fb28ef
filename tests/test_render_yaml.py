"""render.yaml against the fields Render documents for a Blueprint.

Source: Render's "Blueprint YAML Reference" (render.com/docs/blueprint-spec): root
fields, service fields, runtimes, plans, and the environment variable forms (`value`,
`generateValue: true`, `sync: false`, `fromDatabase`, `fromService`, `fromGroup`).
"""

from __future__ import annotations

import shlex

import pytest
import yaml

from config import Settings
from tests.conftest import ROOT

ROOT_FIELDS = {"services", "databases", "envVarGroups", "projects", "ungrouped", "previews", "version"}
SERVICE_FIELDS = {
    "type", "name", "runtime", "plan", "region", "repo", "branch", "rootDir", "buildCommand", "startCommand",
    "preDeployCommand", "healthCheckPath", "envVars", "autoDeploy", "autoDeployTrigger", "buildFilter",
    "numInstances", "scaling", "disk", "domains", "previews", "maxShutdownDelaySeconds", "dockerfilePath",
    "dockerContext", "dockerCommand", "image", "registryCredential", "staticPublishPath", "headers", "routes",
    "pullRequestPreviewsEnabled", "ipAllowList", "initialDeployHook",
}
SERVICE_TYPES = {"web", "pserv", "worker", "cron", "keyvalue", "redis"}
RUNTIMES = {"docker", "elixir", "go", "node", "python", "ruby", "rust", "image", "static"}
PLANS = {"free", "starter", "standard", "pro", "pro plus", "pro max", "pro ultra"}
VALUE_SOURCES = {"value", "generateValue", "sync", "fromDatabase", "fromService"}
# Variables read by something other than config.Settings.
OTHER_VARIABLES = {"PYTHON_VERSION", "WEB_CONCURRENCY", "PORT", "FORWARDED_ALLOW_IPS"}
SECRETS = {"OPENAI_API_KEY", "ACCESS_CODES", "SECRET_KEY"}


@pytest.fixture(scope="module")
def blueprint() -> dict:
    """render.yaml parsed with a safe YAML loader."""
    return yaml.safe_load((ROOT / "render.yaml").read_text())


@pytest.fixture(scope="module")
def web(blueprint) -> dict:
    """The one web service."""
    services = [s for s in blueprint["services"] if s.get("type") == "web"]
    assert len(services) == 1
    return services[0]


def test_root_and_service_fields_are_documented(blueprint):
    """Only documented root and service fields, with documented values."""
    assert set(blueprint) <= ROOT_FIELDS
    assert isinstance(blueprint["services"], list) and blueprint["services"]
    for service in blueprint["services"]:
        assert set(service) <= SERVICE_FIELDS, set(service) - SERVICE_FIELDS
        assert service["type"] in SERVICE_TYPES
        assert isinstance(service["name"], str) and service["name"].strip()


def test_web_service_is_python_with_build_start_and_health(web):
    """Python runtime, a build command installing the pinned requirements, gunicorn start, health path."""
    assert web["runtime"] in RUNTIMES and web["runtime"] == "python"
    assert web.get("plan", "free") in PLANS
    assert 1 <= web.get("maxShutdownDelaySeconds", 30) <= 300
    build = shlex.split(web["buildCommand"])
    assert build[:3] == ["pip", "install", "-r"] and (ROOT / build[3]).is_file()
    requirements = (ROOT / build[3]).read_text()
    for package in ("gunicorn==", "gevent=="):
        assert package in requirements  # what the start command and gunicorn.conf.py need
    start = shlex.split(web["startCommand"])
    assert start[0] == "gunicorn"
    module, _, attribute = start[1].partition(":")
    assert (ROOT / f"{module}.py").is_file() and attribute == "server"
    assert "--bind" not in start and "-b" not in start  # gunicorn.conf.py binds 0.0.0.0:$PORT
    assert web["healthCheckPath"].startswith("/")


def test_env_vars_use_documented_forms_and_keep_secrets_out(web):
    """Each variable has exactly one source; secrets are `sync: false` or generated, never literal."""
    known = {name.upper() for name in Settings.model_fields} | OTHER_VARIABLES
    keys = []
    for entry in web["envVars"]:
        if "fromGroup" in entry:
            assert set(entry) == {"fromGroup"}
            continue
        keys.append(entry["key"])
        assert entry["key"] in known, f"{entry['key']} is read by nothing"
        sources = set(entry) & VALUE_SOURCES
        assert len(sources) == 1 and set(entry) == {"key"} | sources, entry
        if "value" in entry:
            assert isinstance(entry["value"], str), f"{entry['key']}: quote the value"
            assert entry["key"] not in SECRETS
        if "sync" in entry:
            assert entry["sync"] is False
        if "generateValue" in entry:
            assert entry["generateValue"] is True
    assert len(keys) == len(set(keys))
    secrets = {e["key"]: e for e in web["envVars"] if e.get("key") in SECRETS}
    assert secrets["OPENAI_API_KEY"] == {"key": "OPENAI_API_KEY", "sync": False}
    assert "SECRET_KEY" in secrets and "value" not in secrets["SECRET_KEY"]


def test_health_check_path_is_public_and_reveals_nothing(web, make_client):
    """The health check path answers 200 without a login (access codes set) and shows no config."""
    client = make_client(access_codes=["let-me-in"], secret_key="s" * 32)
    assert client.get("/").status_code in (200, 302, 401)  # the page itself is guarded
    response = client.get(web["healthCheckPath"])
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    body = response.get_data(as_text=True)
    assert "sk-" not in body and "let-me-in" not in body and "127.0.0.1" not in body
