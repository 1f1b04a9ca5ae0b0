"""Repository functions for Raperda input: drafts, versions, units, comments, answers."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from server.store.models import (
    Document,
    Raperda,
    RaperdaComment,
    RaperdaResponse,
    RaperdaSitting,
    RaperdaUnit,
    RaperdaVersion,
    Sitting,
)

# What the public sees and counts: not held for a moderator, not hidden, not withdrawn.
VISIBLE = (
    RaperdaComment.held.is_(False),
    RaperdaComment.hidden.is_(False),
    RaperdaComment.withdrawn.is_(False),
)


async def drafts(session: AsyncSession, published_only: bool) -> Sequence[Raperda]:
    query = select(Raperda).order_by(Raperda.created_at.desc(), Raperda.id.desc())
    if published_only:
        query = query.where(Raperda.current_version_id.is_not(None))
    return (await session.scalars(query)).all()


async def get(session: AsyncSession, raperda_id: int) -> Raperda | None:
    return await session.get(Raperda, raperda_id)


async def versions(
    session: AsyncSession, raperda_id: int, *, text: bool = True
) -> Sequence[RaperdaVersion]:
    """A draft's versions in order; without `text`, not their source text (the pages read
    the published units instead, and a draft's text may be a megabyte per version)."""
    query = (
        select(RaperdaVersion)
        .where(RaperdaVersion.raperda_id == raperda_id)
        .order_by(RaperdaVersion.number)
    )
    if not text:
        query = query.options(defer(RaperdaVersion.source_text, raiseload=True))
    return (await session.scalars(query)).all()


async def units(session: AsyncSession, version_id: int) -> Sequence[RaperdaUnit]:
    query = (
        select(RaperdaUnit)
        .where(RaperdaUnit.version_id == version_id)
        .order_by(RaperdaUnit.position)
    )
    return (await session.scalars(query)).all()


async def unit_of(session: AsyncSession, version_id: int, lineage: int) -> RaperdaUnit | None:
    query = select(RaperdaUnit).where(
        RaperdaUnit.version_id == version_id, RaperdaUnit.lineage == lineage
    )
    return await session.scalar(query)


async def units_by_id(session: AsyncSession, ids: Iterable[int]) -> dict[int, RaperdaUnit]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    rows = await session.scalars(select(RaperdaUnit).where(RaperdaUnit.id.in_(wanted)))
    return {unit.id: unit for unit in rows}


async def counts(session: AsyncSession, raperda_id: int) -> dict[int | None, dict[str, int]]:
    """Visible input per lineage (None: the whole draft) and position ("" for none)."""
    query = (
        select(RaperdaComment.lineage, RaperdaComment.position, func.count())
        .where(RaperdaComment.raperda_id == raperda_id, *VISIBLE)
        .group_by(RaperdaComment.lineage, RaperdaComment.position)
    )
    out: dict[int | None, dict[str, int]] = {}
    for lineage, position, n in await session.execute(query):
        out.setdefault(lineage, {})[position] = n
    return out


async def input_changed(session: AsyncSession, raperda_id: int) -> None:
    """Say that the draft's visible input changed (in the transaction that changes it): pages
    on every node then count it again."""
    await session.execute(
        update(Raperda)
        .where(Raperda.id == raperda_id)
        .values(input_version=Raperda.input_version + 1)
    )


async def comments(session: AsyncSession, raperda_id: int) -> Sequence[RaperdaComment]:
    """Every visible input on the draft, oldest first: the printed summary and the export."""
    query = select(RaperdaComment).where(RaperdaComment.raperda_id == raperda_id, *VISIBLE)
    return (await session.scalars(query.order_by(RaperdaComment.id))).all()


async def comments_page(
    session: AsyncSession,
    raperda_id: int,
    lineage: int | None,
    limit: int,
    *,
    before: int | None = None,
    position: str | None = None,
) -> tuple[list[RaperdaComment], bool]:
    """Visible input on one lineage (None: the whole draft), newest first, as the forum pages
    its replies: by keyset (ids below `before`), one row more read to know whether an older
    page exists. Optionally of one position only."""
    query = select(RaperdaComment).where(
        RaperdaComment.raperda_id == raperda_id,
        RaperdaComment.lineage.is_(None) if lineage is None else RaperdaComment.lineage == lineage,
        *VISIBLE,
    )
    if before is not None:
        query = query.where(RaperdaComment.id < before)
    if position is not None:
        query = query.where(RaperdaComment.position == position)
    query = query.order_by(RaperdaComment.id.desc()).limit(limit + 1)
    rows = list((await session.scalars(query)).all())
    return rows[:limit], len(rows) > limit


async def held(session: AsyncSession, raperda_id: int) -> Sequence[RaperdaComment]:
    query = (
        select(RaperdaComment)
        .where(
            RaperdaComment.raperda_id == raperda_id,
            RaperdaComment.withdrawn.is_(False),
            RaperdaComment.held.is_(True),
        )
        .order_by(RaperdaComment.id)
    )
    return (await session.scalars(query)).all()


async def by_identity(session: AsyncSession, identity_hash: str) -> Sequence[RaperdaComment]:
    query = (
        select(RaperdaComment)
        .where(RaperdaComment.identity_hash == identity_hash)
        .order_by(RaperdaComment.id.desc())
    )
    return (await session.scalars(query)).all()


async def comment(session: AsyncSession, comment_id: int) -> RaperdaComment | None:
    return await session.get(RaperdaComment, comment_id)


async def responses(session: AsyncSession, raperda_id: int) -> dict[int, RaperdaResponse]:
    rows = await session.scalars(
        select(RaperdaResponse).where(RaperdaResponse.raperda_id == raperda_id)
    )
    return {row.lineage: row for row in rows}


async def set_sittings(session: AsyncSession, raperda_id: int, sitting_ids: list[int]) -> None:
    await session.execute(delete(RaperdaSitting).where(RaperdaSitting.raperda_id == raperda_id))
    session.add_all(RaperdaSitting(raperda_id=raperda_id, sitting_id=s) for s in set(sitting_ids))
    await session.flush()


async def sittings(session: AsyncSession, raperda_id: int) -> Sequence[Sitting]:
    query = (
        select(Sitting)
        .join(RaperdaSitting, RaperdaSitting.sitting_id == Sitting.id)
        .where(RaperdaSitting.raperda_id == raperda_id)
        .order_by(Sitting.starts_at)
    )
    return (await session.scalars(query)).all()


async def debated_in(session: AsyncSession, sitting_id: int) -> Sequence[Raperda]:
    """The published drafts a sitting discusses (its watch page links to their input)."""
    query = (
        select(Raperda)
        .join(RaperdaSitting, RaperdaSitting.raperda_id == Raperda.id)
        .where(RaperdaSitting.sitting_id == sitting_id, Raperda.current_version_id.is_not(None))
        .order_by(Raperda.id)
    )
    return (await session.scalars(query)).all()


async def documents(session: AsyncSession, ids: Iterable[int | None]) -> dict[int, Document]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    rows = await session.scalars(select(Document).where(Document.id.in_(wanted)))
    return {doc.id: doc for doc in rows}


async def pasal_links(session: AsyncSession, unit_ids: Iterable[int]) -> dict[int, tuple[int, int]]:
    """Where a pasal's search hit leads: its draft and lineage."""
    wanted = list(set(unit_ids))
    if not wanted:
        return {}
    query = (
        select(RaperdaUnit.id, RaperdaVersion.raperda_id, RaperdaUnit.lineage)
        .join(RaperdaVersion, RaperdaVersion.id == RaperdaUnit.version_id)
        .where(RaperdaUnit.id.in_(wanted))
    )
    return {unit: (raperda, lineage) for unit, raperda, lineage in await session.execute(query)}
