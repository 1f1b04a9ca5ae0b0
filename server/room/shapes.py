"""JSON shapes shared by the room, the public summary, the archive and the API."""

from __future__ import annotations

import json
from typing import Any

from server.bus import Bus
from server.domain.sitting import SittingStatus
from server.domain.votes import Quorum, Totals, VoteStatus
from server.store import Store, repo
from server.store import room as room_store
from server.store.models import Attendance, Vote

PUBLIC_CACHE_TTL_S = 5.0


def public_cache_key(sitting_id: int) -> str:
    return f"room:public:{sitting_id}"


def quorum_json(quorum: Quorum) -> dict[str, Any]:
    return {
        "rule": quorum.rule.value,
        "seats": quorum.seats,
        "present": quorum.present,
        "required": quorum.required,
        "reached": quorum.reached,
    }


def vote_json(vote: Vote, *, live: bool = False) -> dict[str, Any]:
    """Totals always; per-member choices only for an open ballot (never for a secret one).
    While a vote is open (`live`), the running totals stay hidden so nobody votes by the trend."""
    totals = Totals(vote.setuju, vote.tidak_setuju, vote.abstain)
    closed = vote.status == VoteStatus.CLOSED.value
    body: dict[str, Any] = {
        "id": vote.id,
        "title": vote.title,
        "agenda_item_id": vote.agenda_item_id,
        "status": vote.status,
        "secret": vote.secret,
        "opened_at": vote.opened_at.isoformat(),
        "closes_at": vote.closes_at.isoformat() if vote.closes_at else None,
        "closed_at": vote.closed_at.isoformat() if vote.closed_at else None,
        "present_at_open": vote.present_at_open,
        "cast": totals.cast,
    }
    if live and not closed:
        return body
    body["totals"] = {"setuju": totals.setuju, "tidak_setuju": totals.tidak_setuju}
    body["totals"]["abstain"] = totals.abstain
    body["adopted"] = totals.adopted(vote.present_at_open) if closed else None
    body["ballots"] = (
        []
        if vote.secret
        else [
            {"member_id": b.member_id, "name": b.member.name, "choice": b.choice, "via": b.via}
            for b in vote.ballots
        ]
    )
    return body


def attendance_json(rows: list[Attendance]) -> list[dict[str, Any]]:
    return [
        {
            "member_id": row.member_id,
            "name": row.member.name,
            "mode": row.mode,
            "joined_at": row.joined_at.isoformat(),
            "left_at": row.left_at.isoformat() if row.left_at else None,
        }
        for row in rows
    ]


async def public_summary(store: Store, bus: Bus, sitting_id: int) -> dict[str, Any]:
    """Quorum and vote results for the public page, cached briefly on the bus. Once the sitting
    is over, `quorum` holds the final attendance (everyone who attended), not the empty room."""
    cached = await bus.get_value(public_cache_key(sitting_id))
    if cached is not None:
        return json.loads(cached)
    async with store.read() as db:
        sitting = await repo.get_sitting(db, sitting_id, public_only=True)
        live = sitting.status == SittingStatus.LIVE.value
        quorum = await room_store.quorum(db, sitting, final=not live)
        votes = await room_store.list_votes(db, sitting_id)
        started = [i for i in sitting.agenda_items if i.start_offset is not None]
        current = max(started, key=lambda i: i.start_offset) if live and started else None
        summary = {
            "status": sitting.status,
            "live": live,
            # The agenda item under discussion: the one staff started last.
            "agenda_item": current.position if current else None,
            "quorum": quorum_json(quorum),
            "votes": [vote_json(v, live=True) for v in votes],
        }
    await bus.set_value(public_cache_key(sitting_id), json.dumps(summary), PUBLIC_CACHE_TTL_S)
    return summary
