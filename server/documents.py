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


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    size: int
    pages: int


def check_pdf(data: bytes) -> int:
    """Return the page count, or refuse anything that is not a readable PDF."""
    if not looks_like_pdf(data):
        raise InvalidInput("Berkas bukan PDF. Hanya dokumen PDF yang dapat diunggah.")
    try:
        return len(PdfReader(io.BytesIO(data)).pages)
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise InvalidInput(f"Berkas PDF rusak atau tidak dapat dibaca: {exc}") from None


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
        pages = await asyncio.to_thread(check_pdf, data)
        stored = StoredFile(hashlib.sha256(data).hexdigest(), len(data), pages)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(dir=self.root, suffix=".part")
            with os.fdopen(fd, "wb") as tmp:
                tmp.write(data)
                tmp.flush()
                os.fsync(tmp.fileno())
        except OSError as exc:
            raise StorageUnavailable(f"Berkas tidak dapat disimpan: {exc.strerror}.") from exc
        try:
            yield stored
            final = self.path_for(stored.sha256)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp_name, final)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)
