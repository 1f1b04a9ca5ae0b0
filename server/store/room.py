"""Repository functions of the member room: attendance, quorum, votes and ballots.

Like server/store/repo.py, each takes the caller's session, so a handler commits all or nothing.
The rules themselves live in server/domain/votes.py; this module only reads and writes rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.domain.errors import InvalidInput, NotFound
from server.domain.sitting import QuorumRule, sitting_body
from server.domain.votes import (
    AlreadyVoted,
    AttendanceMode,
    Choice,
    Quorum,
    VoteClosed,
    VoteStatus,
    check_ballot_allowed,
    check_can_open,
)
from server.i18n import N_
from server.store import repo
from server.store.models import Attendance, Ballot, Member, Sitting, Vote, utcnow

# -- attendance -----------------------------------------------------------------------------------


async def mark_present(
    session: AsyncSession,
    sitting_id: int,
    member_id: int,
    mode: AttendanceMode,
    marked_by: str = "",
    now: dt.datetime | None = None,
) -> Attendance:
    """Open a stretch of presence, unless one in the same mode is already open."""
    row = await _open_row(session, sitting_id, member_id, mode)
    if row is None:
        row = Attendance(
            sitting_id=sitting_id,
            member_id=member_id,
            mode=mode.value,
            joined_at=now or utcnow(),
            marked_by=marked_by,
        )
        session.add(row)
        await session.flush()
    return row


async def mark_absent(
    session: AsyncSession,
    sitting_id: int,
    member_id: int,
    mode: AttendanceMode,
    now: dt.datetime | None = None,
) -> None:
    row = await _open_row(session, sitting_id, member_id, mode)
    if row is not None:
        row.left_at = now or utcnow()
        await session.flush()


async def close_attendance(
    session: AsyncSession, sitting_id: int, now: dt.datetime | None = None
) -> None:
    """The room closed: every open stretch ends now."""
    await session.execute(
        update(Attendance)
        .where(Attendance.sitting_id == sitting_id, Attendance.left_at.is_(None))
        .values(left_at=now or utcnow())
    )


async def _open_row(
    session: AsyncSession, sitting_id: int, member_id: int, mode: AttendanceMode
) -> Attendance | None:
    return await session.scalar(
        select(Attendance).where(
            Attendance.sitting_id == sitting_id,
            Attendance.member_id == member_id,
            Attendance.mode == mode.value,
            Attendance.left_at.is_(None),
        )
    )


async def present_by_mode(session: AsyncSession, sitting_id: int) -> dict[AttendanceMode, set[int]]:
    rows = await session.execute(
        select(Attendance.mode, Attendance.member_id).where(
            Attendance.sitting_id == sitting_id, Attendance.left_at.is_(None)
        )
    )
    present: dict[AttendanceMode, set[int]] = {mode: set() for mode in AttendanceMode}
    for mode, member_id in rows:
        present[AttendanceMode(mode)].add(member_id)
    return present


async def list_attendance(session: AsyncSession, sitting_id: int) -> Sequence[Attendance]:
    query = (
        select(Attendance)
        .where(Attendance.sitting_id == sitting_id)
        .order_by(Attendance.joined_at, Attendance.id)
    )
    return (await session.scalars(query)).all()


async def quorum(session: AsyncSession, sitting: Sitting, *, final: bool = False) -> Quorum:
    """Distinct members present now, against the sitting's rule and the seats of the body that
    holds it (`sitting_body`): the institution's seats for the whole DPRD, the body's active
    members otherwise, of whom only those present count. `final` counts everyone who attended
    at any time: the record of a finished sitting, whose stretches are all closed."""
    attended = select(Attendance.member_id).where(Attendance.sitting_id == sitting.id)
    if not final:
        attended = attended.where(Attendance.left_at.is_(None))
    present_ids = set(await session.scalars(attended))
    rule = QuorumRule(sitting.quorum_rule)
    body = sitting_body(sitting.type, sitting.komisi)
    if body is not None:
        members = {
            m.id
            for m in await session.scalars(select(Member).where(Member.active.is_(True)))
            if m.komisi.strip().casefold() == body.casefold()
        }
        if members:
            return Quorum(rule, len(members), len(present_ids & members))
    institution = await repo.get_institution(session)
    return Quorum(rule, institution.seats, len(present_ids))


async def get_member(session: AsyncSession, member_id: int) -> Member:
    member = await session.get(Member, member_id)
    if member is None or not member.active:
        raise InvalidInput(N_("Anggota %(id)s tidak ditemukan."), id=member_id)
    return member


# -- votes ---------------------------------------------------------------------------------------


async def open_vote(
    session: AsyncSession,
    sitting: Sitting,
    *,
    title: str,
    agenda_item_id: int | None,
    closes_at: dt.datetime | None,
    opened_by: str,
    now: dt.datetime,
) -> Vote:
    title = title.strip()
    if agenda_item_id is not None:
        item = await repo.get_agenda_item(session, sitting, agenda_item_id)
        title = title or item.title
    if not title or len(title) > 300:
        raise InvalidInput(N_("Judul pemungutan suara wajib diisi (paling banyak 300 karakter)."))
    present = await quorum(session, sitting)
    check_can_open(present, await current_vote(session, sitting.id) is not None)
    vote = Vote(
        sitting_id=sitting.id,
        agenda_item_id=agenda_item_id,
        title=title,
        secret=sitting.secret_ballot,
        status=VoteStatus.OPEN.value,
        opened_at=now,
        closes_at=closes_at,
        opened_by=opened_by,
        present_at_open=present.present,
        setuju=0,
        tidak_setuju=0,
        abstain=0,
        ballots=[],
    )
    session.add(vote)
    await session.flush()
    return vote


async def get_vote(session: AsyncSession, sitting_id: int, vote_id: int) -> Vote:
    vote = await session.get(Vote, vote_id)
    if vote is None or vote.sitting_id != sitting_id:
        raise NotFound(N_("Pemungutan suara %(id)s tidak ditemukan pada rapat ini."), id=vote_id)
    return vote


async def current_vote(session: AsyncSession, sitting_id: int) -> Vote | None:
    return await session.scalar(
        select(Vote).where(Vote.sitting_id == sitting_id, Vote.status == VoteStatus.OPEN.value)
    )


async def list_votes(session: AsyncSession, sitting_id: int) -> Sequence[Vote]:
    query = select(Vote).where(Vote.sitting_id == sitting_id).order_by(Vote.opened_at, Vote.id)
    return (await session.scalars(query)).all()


async def cast_ballot(
    session: AsyncSession,
    vote: Vote,
    member_id: int,
    choice: Choice,
    *,
    via: AttendanceMode,
    entered_by: str,
    now: dt.datetime,
) -> None:
    """Insert the ballot, then count it with a guarded UPDATE: the unique constraint refuses a
    second ballot and the status guard refuses one that races the close, each rolling back the
    whole transaction."""
    check_ballot_allowed(VoteStatus(vote.status), vote.closes_at, now)
    ballot = Ballot(
        vote_id=vote.id,
        member_id=member_id,
        choice=None if vote.secret else choice.value,
        via=via.value,
        entered_by=entered_by,
        cast_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(ballot)
    except IntegrityError:
        raise AlreadyVoted() from None
    column = getattr(Vote, choice.value)
    counted = await session.execute(
        update(Vote)
        .where(Vote.id == vote.id, Vote.status == VoteStatus.OPEN.value)
        .values({column: column + 1})
        .execution_options(synchronize_session=False)
    )
    if counted.rowcount != 1:
        raise VoteClosed()
    await session.refresh(vote)


async def close_vote(session: AsyncSession, vote: Vote, now: dt.datetime) -> bool:
    """False when it was already closed (the chair and the deadline may race)."""
    closed = await session.execute(
        update(Vote)
        .where(Vote.id == vote.id, Vote.status == VoteStatus.OPEN.value)
        .values(status=VoteStatus.CLOSED.value, closed_at=now)
        .execution_options(synchronize_session=False)
    )
    await session.refresh(vote)
    return closed.rowcount == 1
