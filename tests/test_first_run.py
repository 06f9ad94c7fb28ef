"""First run, server side: the exact ``.env`` lines for the chosen provider (for the page's
``chat-first-run`` panel) and the one warning the terminal prints at start-up when no
API key is configured.

The lines are checked by using them: written to a ``.env`` (with a key filled in where
the user would), they give the settings of that provider.
"""

from __future__ import annotations

import logging
import os
import sys

import pytest

import config
from chatcore import providers
from chatcore.providers import env_lines, first_run_env_lines, startup_warning
from config import load_settings
from tests.conftest import TEST_KEY, AppProcess, free_port

NAMES = list(providers.catalog())
SECRET = "sk-connection-secret-0123456789"


@pytest.fixture
def clean_env(monkeypatch):
    """No OPENAI_*, PROVIDER, CONNECTIONS or CHAT_BACKEND from the outer environment."""
    for name in list(os.environ):
        if name.startswith("OPENAI_") or name in ("PROVIDER", "CONNECTIONS", "CHAT_BACKEND", "ALLOW_USER_API_KEY"):
            monkeypatch.delenv(name)
    return monkeypatch


def settings_of(**values):
    """Settings from keyword values only (no environment or .env beyond the clean one)."""
    return load_settings(_env_file=None, **values)


@pytest.mark.parametrize("name", NAMES)
def test_env_lines_set_up_the_provider(clean_env, tmp_path, name):
    provider = providers.catalog()[name]
    lines = env_lines(provider)
    assert lines[0].startswith("# ") and f"PROVIDER={name}" in lines
    if provider.local:
        assert "No API key needed" in lines[0] and not any(line.startswith("OPENAI_API_KEY") for line in lines)
    else:
        assert lines[-1] == "OPENAI_API_KEY=" and provider.key_url in lines[0]
    # the lines as the user pastes them, with a key where they would type it
    dotenv = tmp_path / ".env"
    dotenv.write_text("\n".join(line + (TEST_KEY if line == "OPENAI_API_KEY=" else "") for line in lines) + "\n")
    settings = load_settings(_env_file=dotenv)
    assert settings.provider == name and settings.openai_base_url == provider.base_url
    assert settings.upstream_api_key is not None and settings.models == provider.listed_models
    assert startup_warning(settings) is None


def test_lines_follow_what_the_operator_chose(clean_env):
    assert first_run_env_lines(settings_of(provider="deepseek")) == [
        "# API key: https://platform.deepseek.com/api_keys", "PROVIDER=deepseek", "OPENAI_API_KEY="]
    # another model and a regional base URL are kept
    lines = first_run_env_lines(settings_of(provider="qwen", openai_model="qwen-max",
                                            openai_base_url="https://dashscope-intl.aliyuncs.com/compatible-mode/v1"))
    assert lines[1:] == ["PROVIDER=qwen", "OPENAI_BASE_URL=https://dashscope-intl.aliyuncs.com/compatible-mode/v1",
                         "OPENAI_MODEL=qwen-max", "OPENAI_API_KEY="]
    # no PROVIDER, but a catalog host: that provider's lines
    assert "PROVIDER=moonshot" in first_run_env_lines(settings_of(openai_base_url="https://api.moonshot.cn/v1"))
    # a custom endpoint: its own variables
    assert first_run_env_lines(settings_of(openai_base_url="https://llm.example.com/v1", openai_model="my-model")) == [
        "# API key of your OpenAI-compatible provider", "OPENAI_BASE_URL=https://llm.example.com/v1",
        "OPENAI_MODEL=my-model", "OPENAI_API_KEY="]
    assert first_run_env_lines(settings_of(provider="ollama", openai_model="qwen3:8b"))[1:] == [
        "PROVIDER=ollama", "OPENAI_MODEL=qwen3:8b"]
    # the operator's key never appears (the lines are for the page)
    assert TEST_KEY not in "".join(first_run_env_lines(settings_of(provider="deepseek", openai_api_key=TEST_KEY)))


def test_startup_warning_only_when_nothing_can_answer(clean_env):
    text = startup_warning(settings_of(provider="deepseek"))
    assert text.startswith("No API key is configured")
    assert "PROVIDER=deepseek" in text and "OPENAI_API_KEY=" in text and "ALLOW_USER_API_KEY" in text
    assert "ALLOW_USER_API_KEY" not in startup_warning(settings_of(provider="deepseek", allow_user_api_key=False))
    assert "PROVIDER may be any of" in startup_warning(settings_of())
    for quiet in (dict(openai_api_key=TEST_KEY), dict(provider="ollama"), dict(openai_base_url="http://127.0.0.1:8080/v1"),
                  dict(chat_backend="examples.echo_backend:echo")):
        assert startup_warning(settings_of(**quiet)) is None, quiet
    # CONNECTIONS: the connections without a key are named, keys never quoted
    clean_env.setenv("CONNECTIONS", '[{"name": "work", "base_url": "https://llm.example.com/v1", "api_key": "%s", '
                     '"models": ["m"]}, {"name": "spare", "base_url": "https://b.example.com/v1", "models": ["m"]}]' % SECRET)
    text = startup_warning(settings_of())
    assert "spare" in text and "work" not in text and SECRET not in text
    assert startup_warning(settings_of(openai_api_key=TEST_KEY)).count("spare") == 1


def test_get_settings_warns_once(clean_env, caplog):
    clean_env.setenv("PROVIDER", "zhipu")
    config.get_settings.cache_clear()
    try:
        with caplog.at_level(logging.WARNING, logger="config"):
            first = config.get_settings()
            assert config.get_settings() is first
    finally:
        config.get_settings.cache_clear()  # the next caller reads its own environment
    warnings = [r for r in caplog.records if r.name == "config" and r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "PROVIDER=zhipu" in warnings[0].getMessage()


@pytest.mark.slow
@pytest.mark.parametrize("command", ["chat_app", "gunicorn"])
def test_the_terminal_prints_exactly_one_warning(command):
    """`python3 chat_app.py` and `gunicorn chat_app:server` (one worker) without a key: one warning."""
    port = free_port()
    env = {"PROVIDER": "deepseek", "OPENAI_API_KEY": ""}
    argv = [sys.executable, "chat_app.py"] if command == "chat_app" else [
        sys.executable, "-m", "gunicorn", "chat_app:server", "--workers", "1"]
    app = AppProcess(env, argv, port)
    try:
        log = app.log()
    finally:
        app.stop()
    assert log.count("No API key is configured") == 1, log
    assert "PROVIDER=deepseek" in log and "Traceback" not in log


def test_env_example_is_a_valid_env_file(clean_env):
    """.env.example as copied (`cp .env.example .env`) loads, names only real settings,
    leaves PROVIDER's fields free (no OPENAI_BASE_URL/OPENAI_MODEL lines) and keeps the
    server on loopback; the provider lines it shows work."""
    from config import Settings
    from tests.conftest import ROOT

    example = ROOT / ".env.example"
    names = [line.split("=", 1)[0] for line in example.read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    assert set(name.lower() for name in names) <= set(Settings.model_fields)
    assert "OPENAI_BASE_URL" not in names and "OPENAI_MODEL" not in names and "PROVIDER" in names
    settings = load_settings(_env_file=example)
    assert settings.host == "127.0.0.1" and settings.port == 8050 and settings.connections == ()
    with_provider = load_settings(_env_file=example, provider="deepseek")
    assert with_provider.openai_base_url == "https://api.deepseek.com" and with_provider.models[0] == "deepseek-chat"
