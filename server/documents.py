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

from server.domain.documents import looks_like_pdf
from server.domain.errors import InvalidInput, StorageUnavailable
from server.i18n import N_
from server.pdftext import PDF_ERRORS, extract_text
from server.schemas import DocumentMeta
from server.store import Store, repo
from server.store import archive as archive_store
from server.store.models import Document


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    size: int
    pages: int
    text: str = ""  # for search; empty for a scanned PDF, or one too costly to read (pdftext)


def count_pages(data: bytes) -> int:
    """The page count, or a 400 for a file that is not a readable PDF."""
    if not looks_like_pdf(data):
        raise InvalidInput(N_("Berkas bukan PDF. Hanya dokumen PDF yang dapat diunggah."))
    try:
        return len(PdfReader(io.BytesIO(data)).pages)
    except PDF_ERRORS as exc:
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
        pages = await asyncio.to_thread(count_pages, data)
        text = await extract_text(data)
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
