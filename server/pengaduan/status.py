"""The complaint status machine and privacy modes: plain rules, no aiohttp and no SQL."""

from __future__ import annotations

import enum

from server.domain.errors import Conflict, InvalidInput
from server.i18n import N_


class Status(enum.StrEnum):
    DITERIMA = "diterima"
    DIVERIFIKASI = "diverifikasi"
    DITERUSKAN = "diteruskan"
    DITINDAKLANJUTI = "ditindaklanjuti"
    SELESAI = "selesai"
    DITOLAK = "ditolak"


STATUS_LABELS = {
    Status.DITERIMA: N_("Diterima"),
    Status.DIVERIFIKASI: N_("Diverifikasi"),
    Status.DITERUSKAN: N_("Diteruskan"),
    Status.DITINDAKLANJUTI: N_("Ditindaklanjuti"),
    Status.SELESAI: N_("Selesai"),
    Status.DITOLAK: N_("Ditolak"),
}

NEXT: dict[Status, frozenset[Status]] = {
    Status.DITERIMA: frozenset({Status.DIVERIFIKASI, Status.DITOLAK}),
    Status.DIVERIFIKASI: frozenset({Status.DITERUSKAN, Status.DITOLAK}),
    Status.DITERUSKAN: frozenset({Status.DITINDAKLANJUTI, Status.DITOLAK}),
    Status.DITINDAKLANJUTI: frozenset({Status.SELESAI}),
    Status.SELESAI: frozenset(),
    Status.DITOLAK: frozenset(),
}
OPEN = frozenset({Status.DITERIMA, Status.DIVERIFIKASI, Status.DITERUSKAN, Status.DITINDAKLANJUTI})
CLOSED = frozenset({Status.SELESAI, Status.DITOLAK})


class Privacy(enum.StrEnum):
    """As in LAPOR!: *anonim* reports are public but the reporter is known only to handlers;
    *rahasia* reports are not public at all."""

    BIASA = "biasa"
    ANONIM = "anonim"
    RAHASIA = "rahasia"


PRIVACY_LABELS = {
    Privacy.BIASA: N_("Biasa: laporan dan nama Anda tampil untuk umum"),
    Privacy.ANONIM: N_("Anonim: laporan tampil untuk umum, identitas Anda tidak"),
    Privacy.RAHASIA: N_("Rahasia: laporan tidak tampil untuk umum"),
}


def check_transition(
    current: Status, target: Status, *, opd: str, komisi: str, reason: str
) -> None:
    """Forwarding names where it goes; a refusal says why."""
    if target not in NEXT[current]:
        raise Conflict(
            N_("Status %(current)s tidak dapat diubah menjadi %(target)s."),
            current=current.value,
            target=target.value,
        )
    if target is Status.DITERUSKAN and not (opd or komisi):
        raise InvalidInput(
            N_("Sebutkan komisi atau OPD tujuan."), fields={"opd": N_("Wajib diisi.")}
        )
    if target is Status.DITOLAK and not reason:
        raise InvalidInput(N_("Sebutkan alasan penolakan."), fields={"message": N_("Wajib diisi.")})


def parse_status(value: object) -> Status:
    try:
        return Status(str(value))
    except ValueError:
        raise InvalidInput(N_("Status tidak dikenal.")) from None


def parse_privacy(value: object) -> Privacy:
    try:
        return Privacy(str(value or Privacy.BIASA))
    except ValueError:
        raise InvalidInput(
            N_("Pilih mode privasi."), fields={"privacy": N_("Pilih salah satu.")}
        ) from None
