"""Repository functions for complaints (pengaduan): categories, reports, history, photos,
holidays and Open311 keys."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.store.models import (
    AgendaItem,
    Complaint,
    ComplaintCategory,
    ComplaintEvent,
    ComplaintPhoto,
    Holiday,
    Member,
    Open311Key,
)


async def categories(
    session: AsyncSession, active_only: bool = True
) -> Sequence[ComplaintCategory]:
    query = select(ComplaintCategory).order_by(ComplaintCategory.name)
    if active_only:
        query = query.where(ComplaintCategory.active.is_(True))
    return (await session.scalars(query)).all()


async def get_category(session: AsyncSession, category_id: int) -> ComplaintCategory | None:
    return await session.get(ComplaintCategory, category_id)


async def add_category(session: AsyncSession, name: str, komisi: str) -> ComplaintCategory:
    category = ComplaintCategory(name=name, komisi=komisi, active=True)
    session.add(category)
    await session.flush()
    return category


async def holidays(session: AsyncSession) -> set[dt.date]:
    return set((await session.scalars(select(Holiday.day))).all())


async def holiday_list(session: AsyncSession) -> Sequence[Holiday]:
    return (await session.scalars(select(Holiday).order_by(Holiday.day))).all()


async def set_holiday(session: AsyncSession, day: dt.date, name: str) -> None:
    await session.merge(Holiday(day=day, name=name))
    await session.flush()


async def code_taken(session: AsyncSession, code: str) -> bool:
    return await session.scalar(select(Complaint.id).where(Complaint.code == code)) is not None


async def add_complaint(session: AsyncSession, complaint: Complaint, photos: list[bytes]) -> None:
    session.add(complaint)
    await session.flush()
    for position, data in enumerate(photos, start=1):
        session.add(ComplaintPhoto(complaint_id=complaint.id, position=position, data=data))
    await session.flush()


async def get_complaint(session: AsyncSession, code: str) -> Complaint | None:
    return await session.scalar(select(Complaint).where(Complaint.code == code))


async def add_event(
    session: AsyncSession,
    complaint: Complaint,
    status: str,
    message: str,
    at: dt.datetime,
    member_name: str = "",
) -> ComplaintEvent:
    event = ComplaintEvent(
        complaint_id=complaint.id, status=status, message=message, at=at, member_name=member_name
    )
    session.add(event)
    await session.flush()
    return event


async def events(session: AsyncSession, complaint_id: int) -> Sequence[ComplaintEvent]:
    query = (
        select(ComplaintEvent)
        .where(ComplaintEvent.complaint_id == complaint_id)
        .order_by(ComplaintEvent.at, ComplaintEvent.id)
    )
    return (await session.scalars(query)).all()


async def photo_positions(session: AsyncSession, complaint_id: int) -> list[int]:
    query = (
        select(ComplaintPhoto.position)
        .where(ComplaintPhoto.complaint_id == complaint_id)
        .order_by(ComplaintPhoto.position)
    )
    return list((await session.scalars(query)).all())


async def photo(session: AsyncSession, complaint_id: int, position: int) -> bytes | None:
    query = select(ComplaintPhoto.data).where(
        ComplaintPhoto.complaint_id == complaint_id, ComplaintPhoto.position == position
    )
    return await session.scalar(query)


async def inbox(
    session: AsyncSession, komisi: str | None = None, limit: int = 100
) -> Sequence[Complaint]:
    """Open reports, the nearest deadline first (the overdue ones on top), then those being
    acted on, which have no deadline left. Only open reports awaiting a step have `due_on`,
    so the first part walks its index instead of sorting every open report."""
    due = select(Complaint).where(Complaint.due_on.is_not(None))
    acting = select(Complaint).where(Complaint.status == "ditindaklanjuti")
    if komisi:
        due, acting = (
            due.where(Complaint.komisi == komisi),
            acting.where(Complaint.komisi == komisi),
        )
    found = list(await session.scalars(due.order_by(Complaint.due_on, Complaint.id).limit(limit)))
    if len(found) < limit:
        rest = acting.order_by(Complaint.id).limit(limit - len(found))
        found += list(await session.scalars(rest))
    return found


async def public_list(
    session: AsyncSession, limit: int = 50, offset: int = 0, status: str | None = None
) -> Sequence[Complaint]:
    """What anyone may see: never a *rahasia* report, nor one held for review."""
    query = select(Complaint).where(Complaint.privacy != "rahasia", Complaint.held.is_(False))
    if status:
        query = query.where(Complaint.status == status)
    query = query.order_by(Complaint.filed_at.desc(), Complaint.id.desc())
    return (await session.scalars(query.limit(limit).offset(offset))).all()


async def held(session: AsyncSession) -> Sequence[Complaint]:
    query = select(Complaint).where(Complaint.held.is_(True)).order_by(Complaint.id)
    return (await session.scalars(query)).all()


async def sealed_contacts(session: AsyncSession) -> Sequence[Complaint]:
    query = select(Complaint).where(Complaint.contact_token.is_not(None))
    return (await session.scalars(query)).all()


async def add_open311_key(session: AsyncSession, name: str, key_hash: str) -> Open311Key:
    key = Open311Key(name=name, key_hash=key_hash, revoked=False)
    session.add(key)
    await session.flush()
    return key


async def open311_key(session: AsyncSession, key_hash: str) -> Open311Key | None:
    query = select(Open311Key).where(Open311Key.key_hash == key_hash, Open311Key.revoked.is_(False))
    return await session.scalar(query)


async def merged_into(session: AsyncSession, complaint_id: int) -> Sequence[Complaint]:
    query = select(Complaint).where(Complaint.merged_into_id == complaint_id)
    return (await session.scalars(query)).all()


async def member(session: AsyncSession, member_id: int) -> Member | None:
    return await session.get(Member, member_id)


async def open311_requests(
    session: AsyncSession,
    *,
    codes: list[str] | None = None,
    category_id: int | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    statuses: tuple[str, ...] | None = None,
    limit: int = 1000,
) -> Sequence[Complaint]:
    """Public reports (never *rahasia* or held) by the GeoReport v2 filters, newest first."""
    query = select(Complaint).where(Complaint.privacy != "rahasia", Complaint.held.is_(False))
    if codes:
        query = query.where(Complaint.code.in_(codes))
    if category_id is not None:
        query = query.where(Complaint.category_id == category_id)
    if start is not None:
        query = query.where(Complaint.filed_at >= start)
    if end is not None:
        query = query.where(Complaint.filed_at <= end)
    if statuses:
        query = query.where(Complaint.status.in_(statuses))
    query = query.order_by(Complaint.filed_at.desc(), Complaint.id.desc()).limit(limit)
    return (await session.scalars(query)).all()


async def with_photos(session: AsyncSession, complaint_ids: list[int]) -> set[int]:
    query = select(ComplaintPhoto.complaint_id).where(
        ComplaintPhoto.complaint_id.in_(complaint_ids), ComplaintPhoto.position == 1
    )
    return set((await session.scalars(query)).all())


async def latest_notes(session: AsyncSession, complaint_ids: list[int]) -> dict[int, str]:
    """The newest status message of each report (members' answers are not status notes)."""
    query = (
        select(ComplaintEvent.complaint_id, ComplaintEvent.message)
        .where(ComplaintEvent.complaint_id.in_(complaint_ids), ComplaintEvent.member_name == "")
        .order_by(ComplaintEvent.at, ComplaintEvent.id)
    )
    return {complaint_id: message for complaint_id, message in (await session.execute(query))}


# Statistics: reports held for review are not counted; *rahasia* ones count in the totals but
# never by kelurahan, where a single report could point at a person.

GROUPS = {
    "category": Complaint.category_id,
    "komisi": Complaint.komisi,
    "kelurahan": Complaint.kelurahan,
}


async def monthly_counts(
    session: AsyncSession, group: str, year: int | None = None
) -> list[tuple[str, str, int]]:
    """Counts per key and month, read from a covering index (held, month, key); categories
    are named afterwards, so the big scan joins nothing."""
    column = GROUPS[group]
    query = (
        select(column, Complaint.month, func.count())
        .where(Complaint.held.is_(False))
        .group_by(Complaint.month, column)
        .order_by(Complaint.month, column)
    )
    if group == "kelurahan":
        query = query.where(Complaint.privacy != "rahasia", Complaint.kelurahan != "")
    if year is not None:
        query = query.where(Complaint.month >= f"{year}-01", Complaint.month <= f"{year}-12")
    rows = (await session.execute(query)).all()
    if group != "category":
        return [(key, month, count) for key, month, count in rows]
    names = dict(
        (await session.execute(select(ComplaintCategory.id, ComplaintCategory.name))).all()
    )
    return [(names.get(key, str(key)), month, count) for key, month, count in rows]


async def median_seconds(session: AsyncSession, column_name: str) -> int | None:
    """The middle value by an indexed ORDER BY ... OFFSET: the same SQL on both backends."""
    column = getattr(Complaint, column_name)
    filtered = select(column).where(Complaint.held.is_(False), column.is_not(None))
    total = await session.scalar(select(func.count()).select_from(filtered.subquery())) or 0
    if total == 0:
        return None
    return await session.scalar(filtered.order_by(column).offset((total - 1) // 2).limit(1))


async def on_time_share(session: AsyncSession, column_name: str) -> tuple[int, int]:
    column = getattr(Complaint, column_name)
    query = (
        select(column, func.count(Complaint.id))
        .where(column.is_not(None), Complaint.held.is_(False))
        .group_by(column)
    )
    counts = {bool(flag): count for flag, count in await session.execute(query)}
    return counts.get(True, 0), sum(counts.values())


async def erase_contacts_closed_before(session: AsyncSession, cutoff: dt.datetime) -> int:
    query = (
        update(Complaint)
        .where(Complaint.contact_token.is_not(None), Complaint.closed_at < cutoff)
        .values(contact_token=None, has_email=False)
    )
    return (await session.execute(query)).rowcount or 0


async def agenda_item(session: AsyncSession, sitting_id: int, position: int) -> AgendaItem | None:
    query = select(AgendaItem).where(
        AgendaItem.sitting_id == sitting_id, AgendaItem.position == position
    )
    return await session.scalar(query)


async def discussed_in(session: AsyncSession, sitting_id: int) -> Sequence[Complaint]:
    """The public reports a sitting discussed, for the sitting's page."""
    query = (
        select(Complaint)
        .where(
            Complaint.sitting_id == sitting_id,
            Complaint.privacy != "rahasia",
            Complaint.held.is_(False),
        )
        .order_by(Complaint.agenda_position, Complaint.id)
    )
    return (await session.scalars(query)).all()
