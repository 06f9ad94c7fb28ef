"""The chat core: plain Python with no Dash import.

Modules:
    messages   request/message model and validation (OpenAI Chat Completions shapes)
    errors     typed errors and mapping of openai SDK exceptions to user-facing ones
    i18n       user-facing texts in zh-CN and en-US
    client     OpenAI SDK client construction and the streaming generator
    backend    CHAT_BACKEND: a Python generator in place of the OpenAI call
    sse        Server-Sent Events framing
    export     Markdown export and its parser (round trip)
    stream_api the Flask blueprint with the streaming endpoint
    access     the one place every request passes for access checks
    sessions   session lifetime (absolute, from sign-in) and logout revocation
    logsafe    escaping of client-supplied values in log lines (stdlib only)
    hygiene    4xx + one warning line for malformed requests (JSON depth, Dash files)
"""
