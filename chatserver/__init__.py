"""The web server around the chat core: Flask and Dash glue, nothing a test of the core needs.

``chatcore`` stays framework-free (messages, context, export, errors, i18n, sse,
client, backend, reasoning, schema, budgets, netguard, logsafe); everything that
knows about Flask requests, sessions or sockets lives here.

Modules:
    access        the one place every request passes for access checks (codes, sign-in, CSRF, CSP)
    sessions      session lifetime (absolute, from sign-in) and logout revocation
    admin         the admin page for usage budgets (ADMIN_CODES)
    limits        rate limits and concurrent-stream limits (flask-limiter)
    compression   Brotli/gzip of the Dash bundles, never of the SSE stream
    hygiene       4xx + one warning line for malformed requests (JSON depth, Dash files)
    slow_clients  408 for request bodies that trickle in (REQUEST_BODY_TIMEOUT)
    disconnect    notices a client gone while the upstream is silent (closes the upstream)
    stream_api    the Flask blueprint: POST /api/chat/stream, GET /api/models
"""
