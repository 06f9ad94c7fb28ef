"""The text-extraction subprocess: ``python -m chatcore.extract_worker KIND MEMORY MAX_CHARS``.

Reads one file's bytes on stdin (KIND ``pdf`` or ``docx``), writes one JSON object on
stdout: ``{"text": str, "truncated": bool}`` or ``{"error": code}`` with a code of
``chatcore.attachments`` (``attachment_no_text``, ``attachment_encrypted``,
``attachment_corrupt``, ``attachment_bomb``). Nothing is written to disk.

It runs apart from the app (``chatcore.attachments.extract`` starts it with a time
limit and kills it after) and first caps its own address space at MEMORY bytes
(``resource.RLIMIT_AS``), so a hostile file can cost a bounded amount of memory and
time and never blocks the worker that serves the streams. Only the standard library,
pypdf and python-docx are imported (not the ``chatcore`` package's other modules).
"""

from __future__ import annotations

import io
import json
import re
import sys
import zipfile

# A .docx whose parts uncompress to more than this, or one part more than
# DOCX_MAX_RATIO times its compressed size, is taken for a zip bomb (a real Word
# document of 10 MB holds far less text; deflate rarely passes 1:100 on XML).
DOCX_MAX_UNCOMPRESSED = 200_000_000
DOCX_MAX_RATIO = 200
DOCX_MAX_MEMBERS = 10_000
PDF_MAX_PAGES = 5_000


class Refused(Exception):
    """The file cannot be read; ``code`` says why (an ``attachment_*`` text code)."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def _enough(parts: list[str], max_chars: int) -> bool:
    """True once the pieces already hold more than ``max_chars`` characters."""
    return sum(map(len, parts)) > max_chars


def pdf_text(data: bytes, max_chars: int) -> tuple[str, bool]:
    """The text of a PDF, page by page (blank line between pages).

    Encrypted with an empty user password (AES needs ``cryptography``): opened; with a
    real password: ``attachment_encrypted``. pypdf's own limits (a stream that
    decompresses to more than 75 MB, huge arrays) raise ``attachment_bomb``."""
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError, LimitReachedError, PyPdfError

    if b"%PDF-" not in data[:1024]:
        raise Refused("attachment_corrupt")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                if not reader.decrypt(""):
                    raise Refused("attachment_encrypted")
            except (DependencyError, FileNotDecryptedError, NotImplementedError):
                raise Refused("attachment_encrypted") from None
        parts: list[str] = []
        for number, page in enumerate(reader.pages):
            if number >= PDF_MAX_PAGES or _enough(parts, max_chars):
                return "\n\n".join(parts), True
            parts.append((page.extract_text() or "").strip())
    except Refused:
        raise
    except LimitReachedError:
        raise Refused("attachment_bomb") from None
    except FileNotDecryptedError:
        raise Refused("attachment_encrypted") from None
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, AssertionError, OSError,
            RecursionError, ZeroDivisionError):
        raise Refused("attachment_corrupt") from None
    return "\n\n".join(p for p in parts if p), False


def _check_zip(data: bytes) -> None:
    """Refuse a zip that is not one, or that uncompresses to far more than it holds."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise Refused("attachment_corrupt") from None
    if len(members) > DOCX_MAX_MEMBERS:
        raise Refused("attachment_bomb")
    total = 0
    for member in members:
        total += member.file_size
        if member.file_size > 1_000_000 and member.file_size > DOCX_MAX_RATIO * max(1, member.compress_size):
            raise Refused("attachment_bomb")
    if total > DOCX_MAX_UNCOMPRESSED:
        raise Refused("attachment_bomb")


def docx_text(data: bytes, max_chars: int) -> tuple[str, bool]:
    """The text of a Word .docx: its body's paragraphs and tables in document order
    (a table row's cells separated by tabs)."""
    _check_zip(data)
    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(io.BytesIO(data))
        parts: list[str] = []
        for child in document.element.body.iterchildren():
            if _enough(parts, max_chars):
                return "\n".join(parts), True
            tag = child.tag.rsplit("}", 1)[-1]
            if tag == "p":
                parts.append(Paragraph(child, document).text)
            elif tag == "tbl":
                for row in Table(child, document).rows:
                    parts.append("\t".join(cell.text for cell in row.cells))
    except (PackageNotFoundError, KeyError, ValueError, TypeError, AttributeError, zipfile.BadZipFile, OSError):
        raise Refused("attachment_corrupt") from None
    except Exception as exc:  # lxml's XMLSyntaxError and the like: a broken document
        if type(exc).__module__.startswith(("lxml", "docx")):
            raise Refused("attachment_corrupt") from None
        raise
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(parts)).strip()
    return text, False


def main(argv: list[str]) -> int:
    """Cap memory, read stdin, extract, print the JSON answer (see the module docstring)."""
    kind, memory, max_chars = argv[0], int(argv[1]), int(argv[2])
    if memory > 0:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    data = sys.stdin.buffer.read()
    try:
        text, truncated = (pdf_text if kind == "pdf" else docx_text)(data, max_chars)
        if not text.strip():
            raise Refused("attachment_no_text")
        answer = {"text": text, "truncated": truncated}
    except Refused as refused:
        answer = {"error": refused.code}
    except MemoryError:
        answer = {"error": "attachment_bomb"}
    except RecursionError:
        answer = {"error": "attachment_corrupt"}
    sys.stdout.write(json.dumps(answer, ensure_ascii=False))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
