"""Sitting (rapat) vocabulary and the status machine."""

from __future__ import annotations

import datetime as dt
import enum
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from server.domain.errors import Conflict
from server.i18n import N_, Label


class SittingType(enum.StrEnum):
    PARIPURNA = "paripurna"
    KOMISI = "komisi"
    BANGGAR = "banggar"
    BANMUS = "banmus"
    BAPEMPERDA = "bapemperda"
    PANSUS = "pansus"
    RDP = "rdp"


SITTING_TYPE_LABELS = {
    SittingType.PARIPURNA: N_("Rapat Paripurna"),
    SittingType.KOMISI: N_("Rapat Komisi"),
    SittingType.BANGGAR: N_("Rapat Badan Anggaran"),
    SittingType.BANMUS: N_("Rapat Badan Musyawarah"),
    SittingType.BAPEMPERDA: N_("Rapat Bapemperda"),
    SittingType.PANSUS: N_("Rapat Pansus"),
    SittingType.RDP: N_("Rapat Dengar Pendapat"),
}


class SittingStatus(enum.StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    LIVE = "live"
    ENDED = "ended"
    PUBLISHED = "published"


STATUS_LABELS = {
    SittingStatus.DRAFT: N_("Draf"),
    SittingStatus.SCHEDULED: N_("Terjadwal"),
    SittingStatus.LIVE: N_("Siaran langsung"),
    SittingStatus.ENDED: N_("Selesai"),
    SittingStatus.PUBLISHED: N_("Dipublikasikan"),
}

# Going back from scheduled to draft withdraws a sitting from the public schedule; everything
# else moves forward only, because a recording and its votes must never be "un-ended".
TRANSITIONS: dict[SittingStatus, frozenset[SittingStatus]] = {
    SittingStatus.DRAFT: frozenset({SittingStatus.SCHEDULED}),
    SittingStatus.SCHEDULED: frozenset({SittingStatus.DRAFT, SittingStatus.LIVE}),
    SittingStatus.LIVE: frozenset({SittingStatus.ENDED}),
    SittingStatus.ENDED: frozenset({SittingStatus.PUBLISHED}),
    SittingStatus.PUBLISHED: frozenset(),
}


class InvalidTransition(Conflict):
    def __init__(self, current: SittingStatus, target: SittingStatus) -> None:
        super().__init__(
            N_("Status rapat tidak dapat diubah dari '%(current)s' ke '%(target)s'."),
            current=Label(STATUS_LABELS[current]),
            target=Label(STATUS_LABELS[target]),
        )
        self.current = current
        self.target = target


def check_transition(current: SittingStatus, target: SittingStatus) -> None:
    if target not in TRANSITIONS[current]:
        raise InvalidTransition(current, target)


def check_resume(current: SittingStatus, interrupted: bool) -> None:
    """A sitting whose stream a crash cut short may go live again: a plenary cannot be
    re-created mid-debate, so its recording continues as a second part of the same record.
    A sitting ended on purpose stays ended."""
    if current is not SittingStatus.ENDED or not interrupted:
        raise InvalidTransition(current, SittingStatus.LIVE)


def check_takeover(current: SittingStatus) -> None:
    """Another node continues a live sitting whose owner died; it stays live throughout. One
    ended meanwhile (staff ended it through the new owner) stays ended."""
    if current is not SittingStatus.LIVE:
        raise InvalidTransition(current, SittingStatus.LIVE)


class QuorumRule(enum.StrEnum):
    """UU 23/2014 art. 183: more than a half, at least two thirds, or at least three quarters."""

    HALF = "1/2"
    TWO_THIRDS = "2/3"
    THREE_QUARTERS = "3/4"


QUORUM_RULE_LABELS = {
    QuorumRule.HALF: N_("lebih dari 1/2 jumlah anggota"),
    QuorumRule.TWO_THIRDS: N_("paling sedikit 2/3 jumlah anggota"),
    QuorumRule.THREE_QUARTERS: N_("paling sedikit 3/4 jumlah anggota"),
}


def sitting_body(sitting_type: str, komisi: str) -> str | None:
    """The body (alat kelengkapan) whose members a sitting belongs to, or None for the whole
    DPRD.

    The rule applied (Tata Tertib DPRD after PP 12/2018 on the guidelines for DPRD rules of
    procedure): a rapat paripurna is quorate against all members of the DPRD; any other sitting
    (komisi, gabungan komisi, badan, panitia khusus) against the members of the body holding it.
    The body is named by the sitting's `komisi` field; a non-paripurna sitting that names none
    counts the whole DPRD, as before. The same reading decides who may enter a closed sitting.
    """
    name = komisi.strip()
    if sitting_type == SittingType.PARIPURNA.value or not name:
        return None
    return name


def quorum_required(rule: QuorumRule, seats: int) -> int:
    """The number of members that must be present for the sitting to be quorate.

    "More than half" of 35 is 18; "at least two thirds" of 35 is 24 (23.33 rounded up).
    """
    if seats <= 0:
        raise ValueError("seats must be positive")
    if rule is QuorumRule.HALF:
        return seats // 2 + 1
    numerator, denominator = (2, 3) if rule is QuorumRule.TWO_THIRDS else (3, 4)
    return math.ceil(seats * numerator / denominator)


class Dated(Protocol):
    status: str
    starts_at: dt.datetime


S = TypeVar("S", bound=Dated)


@dataclass(frozen=True)
class ScheduleGroups(Generic[S]):
    live: list[S]
    upcoming: list[S]
    past: list[S]


def schedule_groups(sittings: Iterable[S]) -> ScheduleGroups[S]:
    """The public schedule groups by status, not by the clock: a sitting that runs late is
    still live, one published early is still past. Live first, then upcoming (soonest first),
    then past (latest first)."""
    ordered = sorted(sittings, key=lambda s: s.starts_at)
    held = (SittingStatus.ENDED.value, SittingStatus.PUBLISHED.value)
    return ScheduleGroups(
        live=[s for s in ordered if s.status == SittingStatus.LIVE.value],
        upcoming=[s for s in ordered if s.status == SittingStatus.SCHEDULED.value],
        past=[s for s in reversed(ordered) if s.status in held],
    )
