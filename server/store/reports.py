"""Repository functions for residents' reports and the moderator queue they feed."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from server.domain.errors import NotFound
from server.domain.moderation import ReviewState, Sender
from server.i18n import N_
from server.store.models import ContentReport, ReportedItem, utcnow

QUEUE_STATES = (ReviewState.HIDDEN.value, ReviewState.OPEN.value)


async def item_for(
    session: AsyncSession, kind: str, target_id: int, excerpt: str, url: str
) -> ReportedItem:
    """The item's row, created on its first report, locked for this transaction (PostgreSQL),
    so concurrent reports of one item are counted one after the other."""
    dialect = session.bind.dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    await session.execute(
        insert(ReportedItem)
        .values(
            kind=kind,
            target_id=target_id,
            state=ReviewState.OPEN.value,
            reporters=0,
            excerpt=excerpt[:300],
            url=url[:300],
            first_reported_at=utcnow(),
            reviewed_by="",
        )
        .on_conflict_do_nothing(index_elements=["kind", "target_id"])
    )
    query = select(ReportedItem).where(
        ReportedItem.kind == kind, ReportedItem.target_id == target_id
    )
    query = query.with_for_update().execution_options(populate_existing=True)
    return (await session.scalars(query)).one()


async def add_report(
    session: AsyncSession, item: ReportedItem, sender: Sender, reason: str, note: str
) -> bool:
    """Record one resident's report; False when this identity, device or address already
    reported the item (one reporter counts once, whatever cookies they clear)."""
    same = [ContentReport.identity_hash == sender.identity, ContentReport.ip_hash == sender.ip]
    if sender.device:
        same.append(ContentReport.device_hash == sender.device)
    seen = select(ContentReport.id).where(ContentReport.item_id == item.id, or_(*same))
    if await session.scalar(seen.limit(1)) is not None:
        return False
    session.add(
        ContentReport(
            item_id=item.id,
            identity_hash=sender.identity,
            device_hash=sender.device or None,
            ip_hash=sender.ip,
            reason=reason,
            note=note,
        )
    )
    item.reporters += 1
    await session.flush()
    return True


async def get_item(session: AsyncSession, item_id: int) -> ReportedItem:
    item = await session.get(ReportedItem, item_id, with_for_update=True)
    if item is None:
        raise NotFound(N_("Laporan %(id)s tidak ditemukan."), id=item_id)
    return item


async def queue(session: AsyncSession, limit: int = 200) -> Sequence[ReportedItem]:
    """Hidden items first (they wait for a decision), then reported ones still shown."""
    query = (
        select(ReportedItem)
        .where(ReportedItem.state.in_(QUEUE_STATES))
        .order_by(ReportedItem.state, ReportedItem.first_reported_at, ReportedItem.id)
    )
    return (await session.scalars(query.limit(limit))).all()


async def reports_of(session: AsyncSession, item_ids: list[int]) -> Sequence[ContentReport]:
    if not item_ids:
        return []
    query = select(ContentReport).where(ContentReport.item_id.in_(item_ids))
    return (await session.scalars(query.order_by(ContentReport.id))).all()


async def set_state(
    session: AsyncSession, item: ReportedItem, state: ReviewState, actor: str = ""
) -> None:
    """Move an item to `state`; a review (an actor) starts the reporter count again."""
    item.state = state.value
    if state is ReviewState.HIDDEN and item.hidden_at is None:
        item.hidden_at = utcnow()
    if actor:
        item.reviewed_at, item.reviewed_by, item.reporters = utcnow(), actor, 0
    await session.flush()
