"""Attendance, quorum and voting rules (UU 23/2014; PP 12/2018 on DPRD rules of procedure).

Plain code, so the store, the room and the API agree on one reading of the rules:
- a member present both in the hall and remotely counts once;
- a vote (or any decision) cannot be opened without quorum;
- one ballot per member per vote, none after the vote closes (by the chair or at its deadline);
- with a secret ballot only the totals are kept, never who chose what.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable
from dataclasses import dataclass

from server.domain.errors import Conflict, InvalidInput
from server.domain.sitting import QuorumRule, quorum_required
from server.i18n import N_

MAX_VOTE_S = 60 * 60


class AttendanceMode(enum.StrEnum):
    REMOTE = "remote"
    HALL = "hall"


class Choice(enum.StrEnum):
    SETUJU = "setuju"
    TIDAK_SETUJU = "tidak_setuju"
    ABSTAIN = "abstain"


CHOICE_LABELS = {
    Choice.SETUJU: N_("Setuju"),
    Choice.TIDAK_SETUJU: N_("Tidak setuju"),
    Choice.ABSTAIN: N_("Abstain"),
}


class VoteStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class NoQuorum(Conflict):
    message = N_("Kuorum belum tercapai; keputusan atau pemungutan suara belum dapat dibuka.")


class VoteClosed(Conflict):
    message = N_("Pemungutan suara sudah ditutup; suara Anda tidak dihitung.")


class AlreadyVoted(Conflict):
    message = N_("Anggota ini sudah memberikan suara pada pemungutan suara ini.")


@dataclass(frozen=True)
class Quorum:
    rule: QuorumRule
    seats: int
    present: int

    @property
    def required(self) -> int:
        return quorum_required(self.rule, self.seats)

    @property
    def reached(self) -> bool:
        return self.present >= self.required


def count_present(remote: Iterable[int], hall: Iterable[int]) -> int:
    """Members present in either way; someone in both counts once."""
    return len(set(remote) | set(hall))


def check_can_open(quorum: Quorum, vote_already_open: bool) -> None:
    if not quorum.reached:
        raise NoQuorum(
            N_(
                "Kuorum belum tercapai (%(present)s/%(seats)s hadir, syarat %(required)s); "
                "pemungutan suara belum dapat dibuka."
            ),
            present=quorum.present,
            seats=quorum.seats,
            required=quorum.required,
        )
    if vote_already_open:
        raise Conflict(N_("Masih ada pemungutan suara yang terbuka; tutup terlebih dahulu."))


def deadline(opened_at: dt.datetime, duration_s: object) -> dt.datetime | None:
    """None means the chair closes the vote by hand."""
    if duration_s is None:
        return None
    if (
        not isinstance(duration_s, int)
        or isinstance(duration_s, bool)
        or not 0 < duration_s <= MAX_VOTE_S
    ):
        raise InvalidInput(
            N_("Lama pemungutan suara harus 1 sampai %(max)s detik."), max=MAX_VOTE_S
        )
    return opened_at + dt.timedelta(seconds=duration_s)


def check_ballot_allowed(
    status: VoteStatus, closes_at: dt.datetime | None, now: dt.datetime
) -> None:
    if status is not VoteStatus.OPEN or (closes_at is not None and now >= closes_at):
        raise VoteClosed()


def check_hall_ballot(member_id: int, present: dict[AttendanceMode, set[int]]) -> None:
    """Staff enter a ballot only for a member seen in the hall. A member connected remotely
    votes from their own screen: a hall ballot for them would be a second voice for one seat
    (the chair connected remotely was once given one)."""
    if member_id in present[AttendanceMode.REMOTE]:
        raise Conflict(
            N_("Anggota ini tersambung dari ruang rapat daring dan memberikan suara sendiri.")
        )
    if member_id not in present[AttendanceMode.HALL]:
        raise Conflict(N_("Anggota ini tidak tercatat hadir di ruang sidang."))


@dataclass(frozen=True)
class HallPlan:
    """What a bulk entry records, and whom it leaves out and why."""

    ballots: dict[int, Choice]
    remote: frozenset[int]
    already_voted: frozenset[int]


def plan_hall_ballots(
    default: Choice,
    exceptions: dict[int, Choice | None],
    present: dict[AttendanceMode, set[int]],
    voted: set[int],
) -> HallPlan:
    """ "Everyone present in the hall votes `default`, except ...": an exception gives a member
    another choice, or None to record nothing for them. Members connected remotely and those
    who already voted are left out, so the entry can be repeated safely."""
    hall = present[AttendanceMode.HALL]
    remote = hall & present[AttendanceMode.REMOTE]
    unknown = set(exceptions) - hall
    if unknown:
        raise InvalidInput(
            N_("Pengecualian hanya untuk anggota yang hadir di ruang sidang (anggota %(ids)s)."),
            ids=", ".join(str(i) for i in sorted(unknown)),
        )
    ballots: dict[int, Choice] = {}
    for member_id in sorted(hall - remote - voted):
        choice = exceptions.get(member_id, default)
        if choice is not None:
            ballots[member_id] = choice
    return HallPlan(ballots, frozenset(remote), frozenset(hall & voted - remote))


def parse_choice(value: object) -> Choice:
    try:
        return Choice(value)
    except ValueError:
        raise InvalidInput(
            N_("Pilihan suara harus salah satu dari: %(choices)s."),
            choices=", ".join(c.value for c in Choice),
        ) from None


@dataclass(frozen=True)
class Totals:
    setuju: int = 0
    tidak_setuju: int = 0
    abstain: int = 0

    @property
    def cast(self) -> int:
        return self.setuju + self.tidak_setuju + self.abstain

    def adopted(self, present: int) -> bool:
        """Adopted by more than half of the members present when the vote opened."""
        return self.setuju * 2 > present
