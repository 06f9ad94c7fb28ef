"""gunicorn settings, read automatically by `gunicorn chat_app:server`.

The default sync worker serves one request at a time, so one streaming reply would
block everyone else. gthread workers hold many concurrent streams (one thread each).
"""

import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8050')}"
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "1"))
threads = int(os.environ.get("GUNICORN_THREADS", "64"))
# A slow reply may take minutes: do not kill a worker that is streaming.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "300"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "330"))
keepalive = 5
accesslog = "-"
errorlog = "-"
# Access log without request bodies or query strings (they may hold user text).
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'
