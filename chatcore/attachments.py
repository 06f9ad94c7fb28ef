"""Text of an attached document (issue 13): plain text files in-process, PDF and DOCX in
a subprocess with a time and a memory limit.

``extract(data, name, ...)`` answers an ``Extracted`` (``name``, ``mime``, ``size``,
``text`` cut to ``max_chars``, ``truncated``, ``tokens`` by the app's one estimator
``chatcore.context.estimate_tokens``) or raises ``AttachmentError`` with a code of
``chatcore.i18n.TEXTS`` and an HTTP status:

    413 attachment_too_large     over ATTACHMENT_MAX_BYTES
    415 attachment_unsupported   an extension not in DOCUMENT_EXTENSIONS
    415 attachment_not_text      a "text" file that is binary or not UTF-8 (UTF-16 with a BOM is read)
    422 attachment_no_text       a PDF (or DOCX) with no text: a scanned PDF holds only images
    422 attachment_encrypted     a PDF with a real password (an empty user password is opened;
                                 AES needs the ``cryptography`` package, in requirements.txt)
    422 attachment_corrupt       not what its extension says, or damaged
    422 attachment_bomb          decompresses to far more than it holds (a DOCX zip bomb, a
                                 PDF stream over pypdf's 75 MB limit), or hit the memory limit
    504 attachment_timeout       took longer than the time limit (10 s)

PDF (pypdf) and DOCX (python-docx) are parsed by ``python -m chatcore.extract_worker``:
the bytes go in on stdin and JSON comes out on stdout, nothing touches the disk, the
child's address space is capped (``resource.RLIMIT_AS``, ``EXTRACT_MEMORY_BYTES``) and
it is killed at the time limit. Under gunicorn's gevent worker ``subprocess`` is
cooperative (gevent patches it), so the worker keeps serving streams meanwhile. The
child gets an environment without the app's settings (no API key reaches it).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

from .context import estimate_tokens

ROOT = Path(__file__).resolve().parent.parent

# plain text: read as UTF-8 (a BOM is dropped; UTF-16 with a BOM is read too)
TEXT_EXTENSIONS = (
    ".txt", ".md", ".markdown", ".csv", ".tsv", ".json", ".jsonl", ".xml", ".yaml", ".yml", ".toml", ".ini",
    ".cfg", ".conf", ".log", ".tex", ".rst", ".html", ".htm", ".css", ".scss", ".py", ".ipynb", ".js", ".mjs",
    ".cjs", ".ts", ".tsx", ".jsx", ".vue", ".svelte", ".java", ".kt", ".scala", ".c", ".h", ".cc", ".cpp",
    ".hpp", ".cs", ".go", ".rs", ".rb", ".php", ".swift", ".m", ".r", ".jl", ".lua", ".pl", ".dart", ".sh",
    ".bash", ".zsh", ".ps1", ".bat", ".sql", ".graphql", ".proto", ".gradle", ".cmake", ".mk",
)
DOCUMENT_EXTENSIONS = TEXT_EXTENSIONS + (".pdf", ".docx")
MIME_TYPES = {
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".md": "text/markdown", ".markdown": "text/markdown", ".csv": "text/csv", ".tsv": "text/tab-separated-values",
    ".json": "application/json", ".html": "text/html", ".htm": "text/html", ".xml": "application/xml",
}
EXTRACT_TIMEOUT = 10.0  # seconds a PDF or DOCX may take (then 504 attachment_timeout)
EXTRACT_MEMORY_BYTES = 768 * 1024 * 1024  # address space of the extraction process
EXTRACT_CONCURRENCY = 4  # extraction processes at once per app process (then they wait)
# a "text" file with more than this share of control characters (not tab/newline) is binary
CONTROL_SHARE = 0.01
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_SLOTS = threading.BoundedSemaphore(EXTRACT_CONCURRENCY)
STATUS = {
    "attachment_too_large": 413, "attachment_unsupported": 415, "attachment_not_text": 415,
    "attachment_no_text": 422, "attachment_encrypted": 422, "attachment_corrupt": 422, "attachment_bomb": 422,
    "attachment_timeout": 504, "attachment_busy": 503,
}


class AttachmentError(Exception):
    """A file whose text cannot be given: ``code`` (``chatcore.i18n`` text), ``status``
    (HTTP) and the text's ``params``."""

    def __init__(self, code: str, **params: object):
        super().__init__(code)
        self.code = code
        self.status = STATUS[code]
        self.params = params


@dataclass(frozen=True)
class Extracted:
    """The answer of ``POST /api/attachments/extract`` (``as_dict``): ``size`` in bytes
    of the file, ``tokens`` estimated for ``text``, ``truncated`` = cut to MAX_MESSAGE_CHARS."""

    name: str
    mime: str
    size: int
    text: str
    tokens: int
    truncated: bool

    def as_dict(self) -> dict:
        return asdict(self)


def clean_name(name: str | None) -> str:
    """A file name as shown and sent: its last path part, without control characters,
    at most 255 characters; ``"file"`` when nothing is left."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = re.sub(r"[\x00-\x1f\x7f]", "", base).strip()
    return base[:255] or "file"


def extension(name: str) -> str:
    """The lower-case extension of ``name`` (from its last dot), or ``""``."""
    lower = name.lower()
    dot = lower.rfind(".")
    return lower[dot:] if dot > 0 else ""


def decode_text(data: bytes) -> str:
    """``data`` as text: UTF-8 (a BOM dropped) or UTF-16 with its BOM; line ends made ``\\n``.

    Raises:
        AttachmentError: ``attachment_not_text`` for binary data or another encoding.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16").removeprefix("\ufeff")
        except UnicodeDecodeError:
            raise AttachmentError("attachment_not_text") from None
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise AttachmentError("attachment_not_text") from None
    if "\x00" in text or len(_CONTROL.findall(text[:100_000])) > CONTROL_SHARE * min(len(text), 100_000):
        raise AttachmentError("attachment_not_text")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def run_worker(kind: str, data: bytes, *, max_chars: int, timeout: float = EXTRACT_TIMEOUT,
               memory: int = EXTRACT_MEMORY_BYTES) -> tuple[str, bool]:
    """``(text, truncated)`` of a ``pdf`` or ``docx`` from ``python -m chatcore.extract_worker``.

    At most ``EXTRACT_CONCURRENCY`` run at once in this process (a request waits up to
    ``timeout`` for a slot: 503 ``attachment_busy``); the child is killed after
    ``timeout`` seconds (504). A child that dies (the memory cap: a MemoryError it could
    not report) is ``attachment_bomb``."""
    if not _SLOTS.acquire(timeout=timeout):
        raise AttachmentError("attachment_busy")
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "chatcore.extract_worker", kind, str(memory), str(max_chars)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=ROOT,
            env={"PATH": os.environ.get("PATH", ""), "PYTHONIOENCODING": "utf-8", "PYTHONDONTWRITEBYTECODE": "1"},
        )
        try:
            out, _ = process.communicate(data, timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise AttachmentError("attachment_timeout", seconds=f"{timeout:g}") from None
    finally:
        _SLOTS.release()
    try:
        answer = json.loads(out.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        # no answer: the child died (the address-space cap ends it without a traceback)
        raise AttachmentError("attachment_bomb") from None
    if "error" in answer:
        raise AttachmentError(answer["error"] if answer["error"] in STATUS else "attachment_corrupt")
    return answer["text"], bool(answer.get("truncated"))


def extract(data: bytes, name: str | None, *, max_chars: int, max_bytes: int, timeout: float = EXTRACT_TIMEOUT,
            memory: int = EXTRACT_MEMORY_BYTES) -> Extracted:
    """The text of one uploaded file (module docstring). ``data``: its bytes; ``name``:
    the name the browser gave (its extension decides the kind); ``max_chars``:
    MAX_MESSAGE_CHARS; ``max_bytes``: ATTACHMENT_MAX_BYTES.

    Raises:
        AttachmentError: see the module docstring.
    """
    name = clean_name(name)
    if len(data) > max_bytes:
        raise AttachmentError("attachment_too_large", limit=max_bytes)
    ext = extension(name)
    if ext not in DOCUMENT_EXTENSIONS:
        raise AttachmentError("attachment_unsupported")
    if ext == ".pdf":
        if b"%PDF-" not in data[:1024]:  # a PDF starts with its header (PDF 32000-1 §7.5.2)
            raise AttachmentError("attachment_corrupt")
        text, truncated = run_worker("pdf", data, max_chars=max_chars, timeout=timeout, memory=memory)
    elif ext == ".docx":
        if not data.startswith(b"PK"):
            raise AttachmentError("attachment_corrupt")
        text, truncated = run_worker("docx", data, max_chars=max_chars, timeout=timeout, memory=memory)
    else:
        text, truncated = decode_text(data), False
    if len(text) > max_chars:
        text, truncated = text[:max_chars], True
    return Extracted(name=name, mime=MIME_TYPES.get(ext, "text/plain"), size=len(data), text=text,
                     tokens=estimate_tokens(text), truncated=truncated)
