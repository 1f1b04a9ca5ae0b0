"""Documents with JDIH metadata (Jaringan Dokumentasi dan Informasi Hukum)."""

from __future__ import annotations

import enum


class DocumentKind(enum.StrEnum):
    RISALAH = "risalah"
    BERITA_ACARA = "berita_acara"
    RAPERDA = "raperda"
    PERDA = "perda"
    APBD = "apbd"
    KEPUTUSAN_DPRD = "keputusan_dprd"
    LAINNYA = "lainnya"


DOCUMENT_KIND_LABELS = {
    DocumentKind.RISALAH: "Risalah Rapat",
    DocumentKind.BERITA_ACARA: "Berita Acara",
    DocumentKind.RAPERDA: "Rancangan Peraturan Daerah",
    DocumentKind.PERDA: "Peraturan Daerah",
    DocumentKind.APBD: "APBD",
    DocumentKind.KEPUTUSAN_DPRD: "Keputusan DPRD",
    DocumentKind.LAINNYA: "Lainnya",
}


class DocumentStatus(enum.StrEnum):
    BERLAKU = "berlaku"
    DICABUT = "dicabut"
    DIUBAH = "diubah"
    RANCANGAN = "rancangan"


DOCUMENT_STATUS_LABELS = {
    DocumentStatus.BERLAKU: "Berlaku",
    DocumentStatus.DICABUT: "Dicabut",
    DocumentStatus.DIUBAH: "Diubah",
    DocumentStatus.RANCANGAN: "Rancangan",
}

PDF_MAGIC = b"%PDF-"


def looks_like_pdf(head: bytes) -> bool:
    """Judge by content, never by file name: a PDF starts with %PDF- (maybe after a BOM/junk)."""
    return PDF_MAGIC in head[:1024]
