"""Documents with JDIH metadata (Jaringan Dokumentasi dan Informasi Hukum)."""

from __future__ import annotations

import enum

from server.i18n import N_


class DocumentKind(enum.StrEnum):
    RISALAH = "risalah"
    BERITA_ACARA = "berita_acara"
    RAPERDA = "raperda"
    PERDA = "perda"
    APBD = "apbd"
    KEPUTUSAN_DPRD = "keputusan_dprd"
    LAINNYA = "lainnya"


DOCUMENT_KIND_LABELS = {
    DocumentKind.RISALAH: N_("Risalah Rapat"),
    DocumentKind.BERITA_ACARA: N_("Berita Acara"),
    DocumentKind.RAPERDA: N_("Rancangan Peraturan Daerah"),
    DocumentKind.PERDA: N_("Peraturan Daerah"),
    DocumentKind.APBD: N_("APBD"),
    DocumentKind.KEPUTUSAN_DPRD: N_("Keputusan DPRD"),
    DocumentKind.LAINNYA: N_("Lainnya"),
}


class DocumentStatus(enum.StrEnum):
    BERLAKU = "berlaku"
    DICABUT = "dicabut"
    DIUBAH = "diubah"
    RANCANGAN = "rancangan"


DOCUMENT_STATUS_LABELS = {
    DocumentStatus.BERLAKU: N_("Berlaku"),
    DocumentStatus.DICABUT: N_("Dicabut"),
    DocumentStatus.DIUBAH: N_("Diubah"),
    DocumentStatus.RANCANGAN: N_("Rancangan"),
}

PDF_MAGIC = b"%PDF-"


def looks_like_pdf(head: bytes) -> bool:
    """Judge by content, never by file name: a PDF starts with %PDF- (maybe after a BOM/junk)."""
    return PDF_MAGIC in head[:1024]
