"""Document files: checked by content, stored under their SHA-256, written atomically."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import os
import tempfile
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from pypdf import PdfReader
from pypdf.errors import PdfReadError

from server.domain.documents import looks_like_pdf
from server.domain.errors import InvalidInput, StorageUnavailable
from server.i18n import N_
from server.schemas import DocumentMeta
from server.store import Store, repo
from server.store import archive as archive_store
from server.store.models import Document


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    size: int
    pages: int
    text: str = ""  # extracted for search; empty for a scanned PDF without a text layer


def read_pdf(data: bytes) -> tuple[int, str]:
    """Page count and text; a page whose text cannot be extracted counts as having none."""
    reader = _reader(data)
    texts = []
    for page in reader.pages:
        try:
            texts.append(page.extract_text() or "")
        except (PdfReadError, ValueError, KeyError, TypeError):
            texts.append("")
    return len(reader.pages), "\n".join(t.strip() for t in texts if t.strip())


def _reader(data: bytes) -> PdfReader:
    if not looks_like_pdf(data):
        raise InvalidInput(N_("Berkas bukan PDF. Hanya dokumen PDF yang dapat diunggah."))
    try:
        reader = PdfReader(io.BytesIO(data))
        len(reader.pages)
        return reader
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise InvalidInput(
            N_("Berkas PDF rusak atau tidak dapat dibaca: %(error)s"), error=exc
        ) from None


class DocumentFiles:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, sha256: str) -> Path:
        return self.root / sha256[:2] / f"{sha256}.pdf"

    @asynccontextmanager
    async def staged(self, data: bytes):
        """Check and stage a PDF; it lands under its hash only if the block succeeds.

        Use around the database transaction so that a refused row leaves no file behind.
        """
        pages, text = await asyncio.to_thread(read_pdf, data)
        stored = StoredFile(hashlib.sha256(data).hexdigest(), len(data), pages, text)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(dir=self.root, suffix=".part")
            with os.fdopen(fd, "wb") as tmp:
                tmp.write(data)
                tmp.flush()
                os.fsync(tmp.fileno())
        except OSError as exc:
            raise StorageUnavailable(
                N_("Berkas tidak dapat disimpan: %(error)s."), error=exc.strerror
            ) from exc
        try:
            yield stored
            final = self.path_for(stored.sha256)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp_name, final)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)


async def save_upload(
    store: Store, root: Path, actor: str, meta: DocumentMeta, data: bytes, filename: str | None
) -> Document:
    """Check, store and index an uploaded PDF with its JDIH metadata: all of it or nothing."""
    files = DocumentFiles(root)
    async with files.staged(data) as stored, store.transaction() as session:
        document = await repo.create_document(
            session,
            **vars(meta),
            sha256=stored.sha256,
            size=stored.size,
            original_filename=(filename or "dokumen.pdf")[:300],
        )
        await archive_store.save_document_text(session, document, stored.text, stored.pages)
        await repo.audit(session, actor, "document.upload", f"document:{document.id}")
    return document
