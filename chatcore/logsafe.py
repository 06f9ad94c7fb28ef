"""Client-supplied values made safe to write into a log line (standard library only).

Anything a client chooses — a header such as ``X-Forwarded-For`` (which becomes the
client address behind ``TRUSTED_PROXIES``), the request path, a model name — may
hold CR/LF, NEL (U+0085), U+2028, ANSI escape sequences or other control characters.
Written raw, such a value starts a forged log line or repaints the operator's
terminal. ``escape`` turns it into one visible line with backslash escapes, like
``repr`` without the quotes.

Every log call that formats a client-supplied value passes it through ``escape``
(``chatserver.access``, ``chatserver.stream_api``, Flask's exception line via
``chatserver.access.install``, gunicorn's access log via ``gunicorn.conf.py``).
This module imports nothing outside the standard library, so ``gunicorn.conf.py``
can import it in the master process before a gevent worker patches the stdlib.
"""

from __future__ import annotations

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}


def escape(value: object) -> str:
    """``value`` as text with every non-printable character backslash-escaped.

    ``str.isprintable`` decides (so CR, LF, NEL U+0085, U+2028/U+2029, ESC and other
    C0/C1 controls, and non-space separators are escaped; letters of any script,
    including CJK, stay as they are). The backslash itself is doubled, so the result
    is unambiguous. Non-``str`` values are converted with ``str()`` first.

    >>> escape("1.2.3.4\\r\\nFAKE")
    '1.2.3.4\\\\r\\\\nFAKE'
    """
    text = value if isinstance(value, str) else str(value)
    if text.isprintable() and "\\" not in text:
        return text
    out = []
    for char in text:
        if char in _NAMED:
            out.append(_NAMED[char])
        elif char.isprintable():
            out.append(char)
        else:
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
    return "".join(out)
