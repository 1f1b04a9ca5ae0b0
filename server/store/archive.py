"""Repository functions of the archive: recording edits, caption cues, document text, feeds."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from media.archive import Range, Timeline
from server.domain.sitting import SittingStatus
from server.store.models import (
    CaptionCue,
    Comment,
    Document,
    DocumentText,
    RecordingEdit,
    RecordingJob,
    SearchEntry,
    Sitting,
)
from server.store.repo import PUBLIC_STATUSES


@dataclass(frozen=True)
class CueIn:
    start_s: float
    end_s: float
    text: str


async def get_job(session: AsyncSession, sitting_id: int) -> RecordingJob | None:
    return await session.get(RecordingJob, sitting_id)


async def stale_jobs(session: AsyncSession, older_than: dt.datetime) -> Sequence[RecordingJob]:
    """Running jobs whose node stopped beating: it died, or was restarted mid-job."""
    found = await session.scalars(
        select(RecordingJob).where(
            RecordingJob.state == "running", RecordingJob.heartbeat_at < older_than
        )
    )
    return found.all()


async def claim_job(session: AsyncSession, job: RecordingJob, now: dt.datetime) -> bool:
    """Take over a stale job, unless another node took it first (its heartbeat moved)."""
    claimed = await session.execute(
        update(RecordingJob)
        .where(
            RecordingJob.sitting_id == job.sitting_id,
            RecordingJob.state == "running",
            RecordingJob.heartbeat_at == job.heartbeat_at,
        )
        .values(heartbeat_at=now, attempts=RecordingJob.attempts + 1)
    )
    return claimed.rowcount == 1


async def beat(session: AsyncSession, sitting_id: int, now: dt.datetime) -> None:
    await session.execute(
        update(RecordingJob)
        .where(RecordingJob.sitting_id == sitting_id, RecordingJob.state == "running")
        .values(heartbeat_at=now)
    )


async def get_edit(session: AsyncSession, sitting_id: int) -> RecordingEdit | None:
    return await session.get(RecordingEdit, sitting_id)


async def save_edit(session: AsyncSession, sitting_id: int, **fields) -> RecordingEdit:
    fields["cuts"] = json.dumps(fields.get("cuts", []))
    fields["kept"] = json.dumps(fields.get("kept", []))
    edit = await session.get(RecordingEdit, sitting_id)
    if edit is None:
        edit = RecordingEdit(sitting_id=sitting_id, **fields)
        session.add(edit)
    else:
        for name, value in fields.items():
            setattr(edit, name, value)
    await session.flush()
    return edit


def cuts_of(edit: RecordingEdit | None) -> list[Range]:
    return [tuple(pair) for pair in json.loads(edit.cuts)] if edit else []


async def timeline(session: AsyncSession, sitting: Sitting) -> Timeline | None:
    """The raw→published map: the edit's kept ranges, or the whole recording when uncut."""
    edit = await get_edit(session, sitting.id)
    if edit is not None:
        return Timeline(tuple(tuple(pair) for pair in json.loads(edit.kept)))
    if sitting.recording is not None:
        return Timeline(((0.0, sitting.recording.duration_s),))
    return None


async def timelines(session: AsyncSession, sittings: Sequence[Sitting]) -> dict[int, Timeline]:
    found = {}
    for sitting in sittings:
        line = await timeline(session, sitting)
        if line is not None:
            found[sitting.id] = line
    return found


async def replace_cues(session: AsyncSession, sitting_id: int, cues: Sequence[CueIn]) -> int:
    """A new upload replaces the sitting's captions as a whole (one transcript per sitting)."""
    old = (
        await session.scalars(select(CaptionCue).where(CaptionCue.sitting_id == sitting_id))
    ).all()
    for cue in old:
        await session.delete(cue)
    await session.flush()
    session.add_all(
        CaptionCue(sitting_id=sitting_id, position=i, start_s=c.start_s, end_s=c.end_s, text=c.text)
        for i, c in enumerate(cues, start=1)
    )
    await session.flush()
    return len(cues)


async def list_cues(session: AsyncSession, sitting_id: int) -> Sequence[CaptionCue]:
    query = select(CaptionCue).where(CaptionCue.sitting_id == sitting_id)
    return (await session.scalars(query.order_by(CaptionCue.start_s, CaptionCue.id))).all()


async def replay_comments(session: AsyncSession, sitting_id: int) -> Sequence[Comment]:
    """The comments that were visible live: never the hidden ones, nor those still held."""
    query = select(Comment).where(
        Comment.sitting_id == sitting_id, Comment.hidden.is_(False), Comment.held.is_(False)
    )
    return (await session.scalars(query.order_by(Comment.offset_s, Comment.id))).all()


async def save_document_text(
    session: AsyncSession, document: Document, text: str, pages: int
) -> DocumentText:
    row = DocumentText(document_id=document.id, text=text, pages=pages, scanned=not text.strip())
    await session.merge(row)
    await session.flush()
    return row


async def document_texts(
    session: AsyncSession, document_ids: Sequence[int]
) -> dict[int, DocumentText]:
    if not document_ids:
        return {}
    query = select(DocumentText).where(DocumentText.document_id.in_(document_ids))
    return {row.document_id: row for row in (await session.scalars(query)).all()}


async def scanned_documents(session: AsyncSession) -> Sequence[Document]:
    query = (
        select(Document)
        .join(DocumentText, DocumentText.document_id == Document.id)
        .where(DocumentText.scanned.is_(True))
        .order_by(Document.id.desc())
    )
    return (await session.scalars(query)).all()


def _visible_documents():
    public = [s.value for s in PUBLIC_STATUSES]
    return or_(
        Document.sitting_id.is_(None),
        Document.sitting.has(Sitting.is_public.is_(True) & Sitting.status.in_(public)),
    )


async def filter_documents(
    session: AsyncSession,
    *,
    jenis: str | None = None,
    tahun: int | None = None,
    status: str | None = None,
    public_only: bool = True,
    limit: int = 200,
) -> Sequence[Document]:
    query = select(Document)
    if public_only:
        query = query.where(_visible_documents())
    if jenis:
        query = query.where(Document.jenis == jenis)
    if tahun:
        query = query.where(Document.tahun == tahun)
    if status:
        query = query.where(Document.status == status)
    query = query.order_by(Document.tahun.desc(), Document.id.desc()).limit(limit)
    return (await session.scalars(query)).all()


async def document_years(session: AsyncSession) -> list[int]:
    query = select(Document.tahun).where(_visible_documents()).distinct()
    return sorted((await session.scalars(query)).all(), reverse=True)


async def documents_by_id(session: AsyncSession, ids: Sequence[int]) -> dict[int, Document]:
    if not ids:
        return {}
    rows = (await session.scalars(select(Document).where(Document.id.in_(ids)))).all()
    return {d.id: d for d in rows}


async def recent_recordings(session: AsyncSession, limit: int = 50) -> Sequence[Sitting]:
    """Published public sittings, most recently updated first (the Atom feed)."""
    query = (
        select(Sitting)
        .where(Sitting.status == SittingStatus.PUBLISHED.value, Sitting.is_public.is_(True))
        .order_by(Sitting.updated_at.desc(), Sitting.id.desc())
        .limit(limit)
    )
    return (await session.scalars(query)).all()


async def recent_documents(session: AsyncSession, limit: int = 50) -> Sequence[Document]:
    query = (
        select(Document)
        .where(_visible_documents())
        .order_by(Document.created_at.desc(), Document.id.desc())
        .limit(limit)
    )
    return (await session.scalars(query)).all()


async def sitemap_sittings(session: AsyncSession, limit: int = 45_000) -> Sequence[Sitting]:
    public = [s.value for s in PUBLIC_STATUSES]
    query = (
        select(Sitting.id, Sitting.updated_at)
        .where(Sitting.is_public.is_(True), Sitting.status.in_(public))
        .order_by(Sitting.id)
        .limit(limit)
    )
    return (await session.execute(query)).all()


async def archive_years(session: AsyncSession) -> list[int]:
    """Read from the sittings side (each finds its entry by the (kind, ref_id) key): from the
    entries side, the planner walked every entry, forum replies too, by the year index."""
    query = (
        select(SearchEntry.year)
        .select_from(Sitting)
        .join(SearchEntry, and_(SearchEntry.kind == "sitting", SearchEntry.ref_id == Sitting.id))
        .where(
            Sitting.is_public.is_(True),
            Sitting.status.in_([s.value for s in PUBLIC_STATUSES]),
        )
        .distinct()
    )
    return sorted((y for y in (await session.scalars(query)).all() if y), reverse=True)


async def komisi_names(session: AsyncSession) -> list[str]:
    query = select(Sitting.komisi).where(Sitting.komisi != "", Sitting.is_public.is_(True))
    return sorted(set((await session.scalars(query.distinct())).all()))


async def count_cues(session: AsyncSession, sitting_id: int) -> int:
    query = select(func.count()).select_from(CaptionCue).where(CaptionCue.sitting_id == sitting_id)
    return int(await session.scalar(query) or 0)
