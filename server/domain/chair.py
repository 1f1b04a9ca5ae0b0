"""The chair's side of the member room: seats, the floor, the speaker queue, the timer and mutes.

Plain state with no aiohttp, no SQL and no media: the glue (server/room/) applies a command,
then reads `audio_allowed` for every seat and the floor holder, and tells the media room and the
program what changed. Keeping the rules here makes every rule a one-line unit test.

Two switches decide whether a member's voice reaches the public mix: their own microphone toggle
(`mic_open`) and the chair's hard mute (`hard_muted`). A hard-muted member cannot open their
microphone until the chair allows it; the server enforces that by dropping their audio, so a
modified page cannot get around it.

A seat survives a dropped connection: it is marked disconnected and kept, with its hand, floor
and mute state, until the glue's grace period ends and calls `leave`. The whole state survives
the node too: `to_json` is kept on the bus after every change, and the node that takes a live
sitting over carries on `from_json`, so a hard mute, a removal or the floor outlive a crash.
"""

from __future__ import annotations

import enum
import itertools
from dataclasses import asdict, dataclass, field
from typing import Any

from server.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from server.domain.roles import STAFF, Role
from server.domain.sitting import sitting_body
from server.i18n import N_

DEFAULT_SPEAKING_S = 5 * 60
MIN_SPEAKING_S = 10
MAX_SPEAKING_S = 60 * 60


class RequestKind(enum.StrEnum):
    """A raised hand waits its turn; an interupsi (point of order) goes ahead of every hand."""

    HAND = "hand"
    INTERUPSI = "interupsi"


@dataclass
class Seat:
    member_id: int
    name: str
    chair: bool = False
    connected: bool = True
    mic_open: bool = False
    hard_muted: bool = False
    request: RequestKind | None = None
    requested_seq: int = 0
    disconnected_at: float | None = None


@dataclass
class Floor:
    """Who speaks, since when, for how long. `overtime_seen` makes the limit fire only once."""

    member_id: int
    granted_at: float
    limit_s: int
    overtime_seen: bool = False
    cut: bool = False

    def remaining(self, now: float) -> float:
        return self.limit_s - (now - self.granted_at)

    def overtime(self, now: float) -> bool:
        return self.remaining(now) <= 0


def check_limit(value: object) -> int:
    if (
        not isinstance(value, int)
        or isinstance(value, bool)
        or not MIN_SPEAKING_S <= value <= MAX_SPEAKING_S
    ):
        raise InvalidInput(
            N_("Batas waktu bicara harus %(min)s sampai %(max)s detik."),
            min=MIN_SPEAKING_S,
            max=MAX_SPEAKING_S,
        )
    return value


@dataclass
class ChairState:
    """One live sitting's room, keyed by member id."""

    default_limit_s: int = DEFAULT_SPEAKING_S
    auto_mute: bool = False
    seats: dict[int, Seat] = field(default_factory=dict)
    floor: Floor | None = None
    removed: dict[int, str] = field(default_factory=dict)  # member id -> name, for the chair
    _seq: itertools.count = field(default_factory=lambda: itertools.count(1), repr=False)

    # -- presence ---------------------------------------------------------------------------------

    def join(self, member_id: int, name: str, chair: bool = False) -> Seat:
        """A first join takes a seat; a rejoin (reconnection) finds the same seat unchanged.
        `chair` marks the pimpinan's own seat, which the chair's blanket commands spare."""
        if member_id in self.removed:
            raise PermissionDenied(N_("Anda telah dikeluarkan dari ruang rapat oleh pimpinan."))
        seat = self.seats.get(member_id)
        if seat is None:
            seat = self.seats[member_id] = Seat(member_id, name, chair)
        seat.connected = True
        seat.disconnected_at = None
        return seat

    def disconnect(self, member_id: int, now: float) -> None:
        seat = self.seats.get(member_id)
        if seat is not None and seat.connected:
            seat.connected = False
            seat.disconnected_at = now

    def expired(self, now: float, grace_s: float) -> list[int]:
        """Members whose connection has been gone longer than the grace period."""
        return [
            s.member_id
            for s in self.seats.values()
            if not s.connected
            and s.disconnected_at is not None
            and now - s.disconnected_at >= grace_s
        ]

    def leave(self, member_id: int) -> Seat | None:
        """Grace over (or removed): the seat goes, with its place in the queue and the floor."""
        seat = self.seats.pop(member_id, None)
        if self.floor is not None and self.floor.member_id == member_id:
            self.floor = None
        return seat

    def remove(self, member_id: int) -> Seat:
        seat = self._seat(member_id)
        self.leave(member_id)
        self.removed[member_id] = seat.name
        return seat

    def readmit(self, member_id: int) -> None:
        self.removed.pop(member_id, None)

    # -- the speaker queue ------------------------------------------------------------------------

    def raise_hand(self, member_id: int, interruption: bool = False) -> None:
        seat = self._seat(member_id)
        if self.floor is not None and self.floor.member_id == member_id:
            raise Conflict(N_("Anda sedang memegang hak bicara."))
        kind = RequestKind.INTERUPSI if interruption else RequestKind.HAND
        if seat.request is kind:
            return
        seat.request = kind
        seat.requested_seq = next(self._seq)

    def lower_hand(self, member_id: int) -> None:
        seat = self._seat(member_id)
        seat.request = None
        seat.requested_seq = 0

    def queue(self) -> list[int]:
        """Interupsi first, then hands, each in the order they were raised."""
        waiting = [s for s in self.seats.values() if s.request is not None]
        waiting.sort(key=lambda s: (s.request is not RequestKind.INTERUPSI, s.requested_seq))
        return [s.member_id for s in waiting]

    # -- the floor and its timer ------------------------------------------------------------------

    def give_floor(self, member_id: int, now: float, limit_s: int | None = None) -> Floor:
        """The speaker's microphone opens (and any hard mute lifts); the previous holder's
        microphone closes."""
        seat = self._seat(member_id)
        limit = self.default_limit_s if limit_s is None else check_limit(limit_s)
        self.take_floor()
        seat.request = None
        seat.requested_seq = 0
        seat.hard_muted = False
        seat.mic_open = True
        self.floor = Floor(member_id, now, limit)
        return self.floor

    def next_speaker(self, now: float, limit_s: int | None = None) -> Floor:
        queue = self.queue()
        if not queue:
            raise Conflict(N_("Antrean bicara kosong."))
        return self.give_floor(queue[0], now, limit_s)

    def take_floor(self) -> None:
        if self.floor is None:
            return
        seat = self.seats.get(self.floor.member_id)
        if seat is not None:
            seat.mic_open = False
        self.floor = None

    def extend(self, seconds: int) -> None:
        """More time; if the limit had cut the speaker off, their microphone comes back."""
        floor = self._floor()
        floor.limit_s = check_limit(floor.limit_s + seconds)
        floor.overtime_seen = False
        if floor.cut:
            floor.cut = False
            seat = self.seats.get(floor.member_id)
            if seat is not None:
                seat.hard_muted = False
                seat.mic_open = True

    def tick(self, now: float) -> bool:
        """Called about once a second. True when the limit was just reached (the chair must
        see it), and with `auto_mute` the speaker is hard-muted at that moment."""
        floor = self.floor
        if floor is None or floor.overtime_seen or not floor.overtime(now):
            return False
        floor.overtime_seen = True
        if self.auto_mute:
            floor.cut = True
            self.mute(floor.member_id)
        return True

    # -- microphones ------------------------------------------------------------------------------

    def set_mic(self, member_id: int, open_: bool) -> None:
        """The member's own toggle. Closing always works; opening needs the chair's leave."""
        seat = self._seat(member_id)
        if open_ and seat.hard_muted:
            raise PermissionDenied(
                N_("Mikrofon Anda dimatikan oleh pimpinan. Tunggu izin pimpinan untuk berbicara.")
            )
        seat.mic_open = open_

    def mute(self, member_id: int) -> None:
        seat = self._seat(member_id)
        seat.hard_muted = True
        seat.mic_open = False

    def mute_all(self) -> list[int]:
        """Everyone but the floor holder and the chair, who must stay able to speak to run the
        sitting; returns who was muted."""
        holder = self.floor.member_id if self.floor is not None else None
        muted = [m for m, seat in self.seats.items() if m != holder and not seat.chair]
        for member_id in muted:
            self.mute(member_id)
        return muted

    def allow(self, member_id: int) -> None:
        """Lift a hard mute: the member may open their microphone again themselves."""
        self._seat(member_id).hard_muted = False

    def audio_allowed(self, member_id: int) -> bool:
        seat = self.seats.get(member_id)
        return seat is not None and seat.mic_open and not seat.hard_muted

    # -- carried over to another node -------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """Everything but connections; times are wall-clock seconds, which every node shares."""
        return {
            "default_limit_s": self.default_limit_s,
            "auto_mute": self.auto_mute,
            "seats": [
                {
                    "member_id": seat.member_id,
                    "name": seat.name,
                    "chair": seat.chair,
                    "mic_open": seat.mic_open,
                    "hard_muted": seat.hard_muted,
                    "request": seat.request.value if seat.request else None,
                    "requested_seq": seat.requested_seq,
                }
                for seat in self.seats.values()
            ],
            "floor": None if self.floor is None else asdict(self.floor),
            "removed": [[member_id, name] for member_id, name in self.removed.items()],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], now: float) -> ChairState:
        """The room as the previous node left it. Every seat comes back disconnected, with its
        grace period starting `now`: its member reconnects to this node or leaves as usual."""
        seats = {
            item["member_id"]: Seat(
                item["member_id"],
                item["name"],
                item["chair"],
                connected=False,
                mic_open=item["mic_open"],
                hard_muted=item["hard_muted"],
                request=RequestKind(item["request"]) if item["request"] else None,
                requested_seq=item["requested_seq"],
                disconnected_at=now,
            )
            for item in data["seats"]
        }
        last_seq = max((seat.requested_seq for seat in seats.values()), default=0)
        return cls(
            default_limit_s=data["default_limit_s"],
            auto_mute=data["auto_mute"],
            seats=seats,
            floor=Floor(**data["floor"]) if data["floor"] else None,
            removed={member_id: name for member_id, name in data["removed"]},
            _seq=itertools.count(last_seq + 1),
        )

    # -- helpers ----------------------------------------------------------------------------------

    def _seat(self, member_id: int) -> Seat:
        seat = self.seats.get(member_id)
        if seat is None:
            raise NotFound(N_("Anggota ini tidak berada di ruang rapat."))
        return seat

    def _floor(self) -> Floor:
        if self.floor is None:
            raise Conflict(N_("Tidak ada anggota yang sedang memegang hak bicara."))
        return self.floor


def may_chair(role: Role) -> bool:
    """Pimpinan runs the sitting; sekretariat (and admin) may assist."""
    return role in STAFF or role is Role.PIMPINAN


def takes_part(
    *,
    role: Role,
    is_public: bool,
    sitting_type: str,
    sitting_komisi: str,
    member_komisi: str | None,
) -> bool:
    """Whether a user may enter a sitting's room. Open sittings admit every member; a closed
    sitting admits staff always, every member for a paripurna, and otherwise only members of the
    sitting's komisi (or all members when the sitting names none)."""
    if is_public or role in STAFF:
        return True
    if member_komisi is None:
        return False
    body = sitting_body(sitting_type, sitting_komisi)
    return body is None or member_komisi.casefold() == body.casefold()
