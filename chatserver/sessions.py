"""Session lifetime and server-side revocation (logout), without any Flask import.

A signed-in session (``chatserver.access``) is a signed cookie holding

    sid   random id, ``secrets.token_urlsafe(18)``
    cd    keyed digest of the access code it signed in with
    iat   sign-in time, integer Unix seconds

The lifetime is absolute: the session is valid while ``now < iat + SESSION_MAX_AGE``,
and using it does not extend it (the cookie's ``Expires`` is ``iat + SESSION_MAX_AGE``
and the cookie is not re-sent on every response). A copied cookie therefore dies at
the same moment as the original.

Logout revokes the session on the server: a counter ``chat/revoked/<sid>`` in the
limits storage (``RATELIMIT_STORAGE_URI``: ``memory://`` for one process, Redis for
several workers or instances — the same ``limits`` storage object flask-limiter
uses, see ``chatserver.limits``). The entry lives until the session would have expired
anyway (plus ``CLOCK_SKEW``), so the storage never fills with dead entries.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping

REVOKED_KEY = "chat/revoked/{sid}"
CLOCK_SKEW = 60  # seconds a revocation outlives the session (clocks of several instances)


def signed_in_at(data: Mapping) -> int | None:
    """The session's sign-in time (Unix seconds, ``iat``), or ``None`` when absent or not a number."""
    value = data.get("iat")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return int(value)


def expires_at(data: Mapping, max_age: int) -> int | None:
    """When the session ends (Unix seconds): sign-in time + ``max_age``; ``None`` without a sign-in time."""
    signed_in = signed_in_at(data)
    return None if signed_in is None else signed_in + max_age


def is_expired(data: Mapping, max_age: int, now: float | None = None) -> bool:
    """True when the session has no sign-in time or is ``max_age`` seconds old or older."""
    end = expires_at(data, max_age)
    return end is None or (time.time() if now is None else now) >= end


def _key(sid: str) -> str:
    return REVOKED_KEY.format(sid=sid)


def revoke(storage, sid: str, seconds_left: float) -> None:
    """Record in ``storage`` (a ``limits`` storage) that session ``sid`` is revoked.

    The entry expires after ``seconds_left`` (the session's remaining lifetime, at
    least 1 s) plus ``CLOCK_SKEW``. Storage errors (Redis down) propagate: a logout
    that could not be recorded must not look successful.
    """
    storage.incr(_key(sid), max(1, math.ceil(seconds_left)) + CLOCK_SKEW, amount=1)


def is_revoked(storage, sid: str) -> bool:
    """True when session ``sid`` was revoked (logged out) on any worker or instance sharing ``storage``."""
    return storage.get(_key(sid)) > 0
