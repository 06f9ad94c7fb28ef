"""The chat core: plain Python with no Dash or Flask import (the server is ``chatserver``).

Modules:
    messages   request/message model and validation (OpenAI Chat Completions shapes)
    errors     typed errors and mapping of openai SDK exceptions to user-facing ones
    i18n       user-facing texts in zh-CN and en-US
    client     OpenAI SDK client construction and the streaming generator
    backend    CHAT_BACKEND: a Python generator in place of the OpenAI call
    sse        Server-Sent Events framing
    export     Markdown export and its parser (round trip)
    context    token estimates and trimming to the context window
    reasoning  reasoning_content / reasoning / <think> tags split from the answer
    schema     pydantic models of every stored and streamed shape (page_schema.json)
    budgets    usage budgets per access-code label
    settings_spec  the conversation settings, defined once (drawer, request bounds, page config)
    providers  the provider catalog (providers.toml): PROVIDER, prices, capabilities, first run
    connections  CONNECTIONS: several upstreams, model ids "connection/model", routing
    netguard   SSRF guard for user-supplied base URLs
    logsafe    escaping of client-supplied values in log lines (stdlib only)
    vision     which models accept images (VISION_MODELS, the catalog, defaults)
    attachments  text of attached documents (txt, csv, json, source, PDF, DOCX), limits, errors
    extract_worker  the subprocess that parses one document under a time and memory limit
    presets    prompt presets: the built-ins (en-US, zh-CN) and the preset file format
"""
