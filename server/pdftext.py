"""A PDF's text for search, extracted in a child process that can be stopped.

pypdf's extraction is pure Python with no time bound: a 16.7 KB upload with 300,000 content
operators took 88 s of CPU before pypdf gave up. A thread cannot be stopped, so the text is
read by `python -m server.pdftext` with a deadline (the process is killed past it), a CPU-time
and memory limit of its own, and a cap on the text it returns. A PDF whose text cannot be read
within those bounds is still stored, just without searchable text, like a scanned one.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import resource
import sys
from pathlib import Path

from pypdf import PdfReader
from pypdf.errors import PyPdfError

log = logging.getLogger(__name__)

EXTRACT_TIMEOUT_S = 20.0
MAX_TEXT_CHARS = 2_000_000
MEMORY_LIMIT_BYTES = 1 << 30
# What pypdf raises on hostile input besides its own family: malformed objects surface as
# plain Python errors, and deep nesting as RecursionError.
PDF_ERRORS = (PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError)
_ROOT = Path(__file__).resolve().parent.parent


async def extract_text(data: bytes) -> str:
    """The PDF's text, or "" when it cannot be read within the bounds."""
    timeout_s = EXTRACT_TIMEOUT_S
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        __name__,
        str(timeout_s),
        cwd=_ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        async with asyncio.timeout(timeout_s):
            out, _ = await child.communicate(data)
    except TimeoutError:
        log.warning("PDF text extraction stopped after %.0f s; stored without text", timeout_s)
        return ""
    finally:
        if child.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                child.kill()
            await child.wait()
    if child.returncode != 0:
        log.warning("PDF text extraction failed (exit %s); stored without text", child.returncode)
        return ""
    return out.decode("utf-8", errors="replace")


def page_texts(data: bytes, max_chars: int = MAX_TEXT_CHARS) -> str:
    """Each page's text, stripped, up to `max_chars`; a page that fails counts as empty."""
    texts: list[str] = []
    size = 0
    for page in PdfReader(io.BytesIO(data)).pages:
        try:
            text = (page.extract_text() or "").strip()
        except PDF_ERRORS:
            text = ""
        if text:
            texts.append(text[: max_chars - size])
            size += len(texts[-1])
        if size >= max_chars:
            break
    return "\n".join(texts)


def _main(timeout_s: float) -> None:
    cpu_s = int(timeout_s) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))
    try:
        text = page_texts(sys.stdin.buffer.read())
    except PDF_ERRORS:
        sys.exit(1)
    sys.stdout.buffer.write(text.encode("utf-8", errors="replace"))


if __name__ == "__main__":
    _main(float(sys.argv[1]))
