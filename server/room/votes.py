"""Ballots and attendance in the store, and telling every node about a change.

Staff record hall attendance and hall ballots over plain HTTP on any node, without joining the
room, so this desk stands apart from the room registry: it writes to the store, drops the public
summary cached on the bus, and publishes on `room:{sitting}`; the node that owns the room reads
that and refreshes.
"""

from __future__ import annotations

from typing import Any

from server.bus import Bus
from server.domain.errors import Conflict
from server.domain.votes import (
    AttendanceMode,
    HallPlan,
    check_hall_ballot,
    deadline,
    parse_choice,
    plan_hall_ballots,
)
from server.i18n import N_
from server.room.session import channel_for
from server.room.shapes import public_cache_key
from server.store import Store, repo
from server.store import room as room_store
from server.store.models import utcnow


class VoteDesk:
    def __init__(self, store: Store, bus: Bus) -> None:
        self.store = store
        self.bus = bus

    async def open_vote(
        self,
        sitting_id: int,
        actor: str,
        *,
        title: str,
        agenda_item: int | None,
        duration_s: object,
    ) -> None:
        now = utcnow()
        closes_at = deadline(now, duration_s)
        async with self.store.transaction() as db:
            sitting = await repo.get_sitting(db, sitting_id, public_only=False)
            vote = await room_store.open_vote(
                db,
                sitting,
                title=title,
                agenda_item_id=agenda_item,
                closes_at=closes_at,
                opened_by=actor,
                now=now,
            )
            await repo.audit(db, actor, "vote.open", f"sitting:{sitting.id}", f"vote:{vote.id}")
        await self.votes_changed(sitting_id)

    async def close_vote(self, sitting_id: int, vote_id: int, actor: str) -> None:
        async with self.store.transaction() as db:
            vote = await room_store.get_vote(db, sitting_id, vote_id)
            if await room_store.close_vote(db, vote, utcnow()):
                target = f"sitting:{sitting_id}"
                await repo.audit(db, actor, "vote.close", target, f"vote:{vote_id}")
        await self.votes_changed(sitting_id)

    async def cast(
        self,
        sitting_id: int,
        vote_id: int,
        member_id: int,
        choice: object,
        *,
        via: AttendanceMode,
        entered_by: str,
    ) -> None:
        """One ballot, remote or entered by staff for a member in the hall. Only a member who
        is present in that way may vote."""
        parsed = parse_choice(choice)
        async with self.store.transaction() as db:
            present = await room_store.present_by_mode(db, sitting_id)
            if via is AttendanceMode.HALL:
                check_hall_ballot(member_id, present)
            elif member_id not in present[via]:
                raise Conflict(N_("Anda belum tercatat hadir di ruang rapat."))
            vote = await room_store.get_vote(db, sitting_id, vote_id)
            await room_store.cast_ballot(
                db, vote, member_id, parsed, via=via, entered_by=entered_by, now=utcnow()
            )
        await self.votes_changed(sitting_id)

    async def cast_hall_bulk(
        self,
        sitting_id: int,
        vote_id: int,
        default: object,
        exceptions: dict[int, object],
        *,
        entered_by: str,
    ) -> HallPlan:
        """Staff's "all present in the hall vote X, except ..." in one transaction: all the
        ballots are recorded, or none."""
        choice = parse_choice(default)
        parsed = {m: None if c in (None, "") else parse_choice(c) for m, c in exceptions.items()}
        async with self.store.transaction() as db:
            present = await room_store.present_by_mode(db, sitting_id)
            vote = await room_store.get_vote(db, sitting_id, vote_id)
            voted = {b.member_id for b in vote.ballots}
            plan = plan_hall_ballots(choice, parsed, present, voted)
            now = utcnow()
            for member_id, ballot in plan.ballots.items():
                await room_store.cast_ballot(
                    db,
                    vote,
                    member_id,
                    ballot,
                    via=AttendanceMode.HALL,
                    entered_by=entered_by,
                    now=now,
                )
            await repo.audit(
                db,
                entered_by,
                "vote.hall_bulk",
                f"sitting:{sitting_id}",
                f"vote:{vote_id} {len(plan.ballots)}",
            )
        await self.votes_changed(sitting_id)
        return plan

    async def hall_state(self, sitting_id: int) -> dict[str, Any]:
        """What the staff's hall panel needs, without joining the room: the open vote, who is
        in the hall, who is connected remotely, and whose ballot is in."""
        async with self.store.read() as db:
            await repo.get_sitting(db, sitting_id, public_only=False)
            present = await room_store.present_by_mode(db, sitting_id)
            vote = await room_store.current_vote(db, sitting_id)
            ballots = [] if vote is None else vote.ballots
        return {
            "vote": None if vote is None else {"id": vote.id, "title": vote.title},
            "hall": sorted(present[AttendanceMode.HALL]),
            "remote": sorted(present[AttendanceMode.REMOTE]),
            "ballots": {str(b.member_id): {"via": b.via, "choice": b.choice} for b in ballots},
        }

    async def attendance_changed(self, sitting_id: int) -> None:
        await self._changed(sitting_id, "attendance")

    async def votes_changed(self, sitting_id: int) -> None:
        await self._changed(sitting_id, "vote")

    async def _changed(self, sitting_id: int, what: str) -> None:
        await self.bus.delete_value(public_cache_key(sitting_id))
        await self.bus.publish(channel_for(sitting_id), {"type": what})
