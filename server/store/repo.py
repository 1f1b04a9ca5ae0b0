"""Repository functions: every read and write of the domain goes through here.

Each takes the session of the caller's transaction, so a handler that calls several of them
commits all or nothing.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.domain.errors import Conflict, InvalidInput, NotFound
from server.domain.sitting import SittingStatus, check_resume, check_transition
from server.i18n import N_
from server.store.models import (
    AgendaItem,
    AuditEntry,
    Document,
    Institution,
    Member,
    Recording,
    Sitting,
    User,
    utcnow,
)

PUBLIC_STATUSES = (
    SittingStatus.SCHEDULED,
    SittingStatus.LIVE,
    SittingStatus.ENDED,
    SittingStatus.PUBLISHED,
)


def new_ingest_key() -> str:
    return secrets.token_urlsafe(24)


async def get_institution(session: AsyncSession) -> Institution:
    institution = await session.scalar(select(Institution).order_by(Institution.id).limit(1))
    if institution is None:
        raise NotFound(N_("Lembaga belum dikonfigurasi."))
    return institution


async def ensure_institution(session: AsyncSession, name: str, seats: int) -> Institution:
    institution = await session.scalar(select(Institution).order_by(Institution.id).limit(1))
    if institution is None:
        institution = Institution(name=name, seats=seats)
        session.add(institution)
        await session.flush()
    return institution


# Users and members


async def get_user(session: AsyncSession, user_id: int) -> User | None:
    return await session.get(User, user_id)


async def get_user_by_username(session: AsyncSession, username: str) -> User | None:
    return await session.scalar(
        select(User).where(func.lower(User.username) == username.strip().lower())
    )


async def list_users(session: AsyncSession) -> Sequence[User]:
    return (await session.scalars(select(User).order_by(func.lower(User.username)))).all()


async def create_user(
    session: AsyncSession, username: str, password_hash: str, role: str, member_id: int | None
) -> User:
    username = username.strip()
    if not username or len(username) > 80:
        raise InvalidInput(N_("Nama pengguna wajib diisi (paling banyak 80 karakter)."))
    if await get_user_by_username(session, username) is not None:
        raise Conflict(N_("Nama pengguna '%(name)s' sudah dipakai."), name=username)
    user = User(username=username, password_hash=password_hash, role=role, member_id=member_id)
    session.add(user)
    await session.flush()
    return user


async def create_member(session: AsyncSession, name: str, fraksi: str, komisi: str) -> Member:
    member = Member(name=name, fraksi=fraksi, komisi=komisi, active=True)
    session.add(member)
    await session.flush()
    return member


async def list_members(session: AsyncSession, active_only: bool = True) -> Sequence[Member]:
    query = select(Member).order_by(Member.name)
    if active_only:
        query = query.where(Member.active.is_(True))
    return (await session.scalars(query)).all()


# Sittings


async def list_sittings(
    session: AsyncSession,
    *,
    status: SittingStatus | None = None,
    public_only: bool = True,
    upcoming_first: bool = False,
    limit: int = 100,
) -> Sequence[Sitting]:
    query = select(Sitting)
    if status is not None:
        query = query.where(Sitting.status == status.value)
    if public_only:
        query = query.where(
            Sitting.is_public.is_(True), Sitting.status.in_([s.value for s in PUBLIC_STATUSES])
        )
    order = Sitting.starts_at.asc() if upcoming_first else Sitting.starts_at.desc()
    return (await session.scalars(query.order_by(order, Sitting.id).limit(limit))).all()


async def get_sitting(session: AsyncSession, sitting_id: int, *, public_only: bool) -> Sitting:
    sitting = await session.get(Sitting, sitting_id)
    if sitting is None or (public_only and not is_publicly_visible(sitting)):
        raise NotFound(N_("Rapat %(id)s tidak ditemukan."), id=sitting_id)
    return sitting


def is_publicly_visible(sitting: Sitting) -> bool:
    return sitting.is_public and sitting.status in {s.value for s in PUBLIC_STATUSES}


async def create_sitting(session: AsyncSession, **fields) -> Sitting:
    sitting = Sitting(
        **{k: (v.value if hasattr(v, "value") else v) for k, v in fields.items()},
        status=SittingStatus.DRAFT.value,
        ingest_key=new_ingest_key(),
        agenda_items=[],
        documents=[],
        recording=None,
    )
    session.add(sitting)
    await session.flush()
    return sitting


async def update_sitting(session: AsyncSession, sitting: Sitting, changes: dict) -> Sitting:
    for name, value in changes.items():
        setattr(sitting, name, value.value if hasattr(value, "value") else value)
    await session.flush()
    return sitting


async def change_status(
    session: AsyncSession, sitting: Sitting, target: SittingStatus, now: dt.datetime | None = None
) -> Sitting:
    check_transition(SittingStatus(sitting.status), target)
    now = now or utcnow()
    if target is SittingStatus.LIVE and sitting.live_started_at is None:
        sitting.live_started_at = now
    if target is SittingStatus.ENDED:
        sitting.ended_at = now
    sitting.status = target.value
    await session.flush()
    return sitting


async def resume_live(session: AsyncSession, sitting: Sitting) -> Sitting:
    """ended → live again after a crash; `live_started_at` stays, so offsets keep their clock."""
    interrupted = sitting.recording is not None and sitting.recording.recovered
    check_resume(SittingStatus(sitting.status), interrupted)
    sitting.status = SittingStatus.LIVE.value
    sitting.ended_at = None
    await session.flush()
    return sitting


async def rotate_ingest_key(session: AsyncSession, sitting: Sitting) -> str:
    sitting.ingest_key = new_ingest_key()
    await session.flush()
    return sitting.ingest_key


async def delete_sitting(session: AsyncSession, sitting: Sitting) -> None:
    if sitting.status != SittingStatus.DRAFT.value:
        raise Conflict(N_("Hanya rapat berstatus draf yang dapat dihapus."))
    await session.delete(sitting)
    await session.flush()


# Agenda


async def get_agenda_item(session: AsyncSession, sitting: Sitting, item_id: int) -> AgendaItem:
    item = await session.get(AgendaItem, item_id)
    if item is None or item.sitting_id != sitting.id:
        raise NotFound(N_("Acara %(id)s tidak ditemukan pada rapat ini."), id=item_id)
    return item


async def add_agenda_item(session: AsyncSession, sitting: Sitting, **fields) -> AgendaItem:
    _check_offsets(fields.get("start_offset"), fields.get("end_offset"))
    last = await session.scalar(
        select(func.max(AgendaItem.position)).where(AgendaItem.sitting_id == sitting.id)
    )
    item = AgendaItem(sitting_id=sitting.id, position=(last or 0) + 1, documents=[], **fields)
    session.add(item)
    await session.flush()
    await session.refresh(sitting, ["agenda_items"])
    return item


async def update_agenda_item(session: AsyncSession, item: AgendaItem, changes: dict) -> AgendaItem:
    _check_offsets(
        changes.get("start_offset", item.start_offset), changes.get("end_offset", item.end_offset)
    )
    for name, value in changes.items():
        setattr(item, name, value)
    await session.flush()
    return item


async def delete_agenda_item(session: AsyncSession, sitting: Sitting, item: AgendaItem) -> None:
    remaining = [i.id for i in sitting.agenda_items if i.id != item.id]
    await session.delete(item)
    await session.flush()
    await _renumber(session, sitting, remaining)


async def reorder_agenda(session: AsyncSession, sitting: Sitting, item_ids: list[int]) -> None:
    current = sorted(i.id for i in sitting.agenda_items)
    if sorted(item_ids) != current or len(set(item_ids)) != len(item_ids):
        raise InvalidInput(N_("Urutan baru harus memuat setiap acara rapat ini tepat satu kali."))
    await _renumber(session, sitting, item_ids)


async def move_agenda_item(
    session: AsyncSession, sitting: Sitting, item_id: int, step: int
) -> None:
    ids = [i.id for i in sitting.agenda_items]
    if item_id not in ids:
        raise NotFound(N_("Acara %(id)s tidak ditemukan pada rapat ini."), id=item_id)
    index = ids.index(item_id)
    target = min(max(index + step, 0), len(ids) - 1)
    ids.insert(target, ids.pop(index))
    await _renumber(session, sitting, ids)


async def _renumber(session: AsyncSession, sitting: Sitting, ordered_ids: list[int]) -> None:
    # Two passes keep the (sitting, position) unique constraint satisfied at every statement.
    for index, item_id in enumerate(ordered_ids, start=1):
        await session.execute(
            update(AgendaItem).where(AgendaItem.id == item_id).values(position=-index)
        )
    await session.execute(
        update(AgendaItem)
        .where(AgendaItem.sitting_id == sitting.id)
        .values(position=-AgendaItem.position)
    )
    await session.flush()
    await session.refresh(sitting, ["agenda_items"])
    for item in sitting.agenda_items:
        await session.refresh(item, ["position"])


def _check_offsets(start: float | None, end: float | None) -> None:
    if start is not None and end is not None and end < start:
        raise InvalidInput(N_("Waktu selesai acara tidak boleh sebelum waktu mulai."))


# Documents, recordings, audit


async def create_document(session: AsyncSession, **fields) -> Document:
    if fields.get("agenda_item_id") is not None:
        item = await session.get(AgendaItem, fields["agenda_item_id"])
        if item is None:
            raise InvalidInput(N_("Acara yang dipilih tidak ada."))
        fields["sitting_id"] = item.sitting_id
    if (
        fields.get("sitting_id") is not None
        and await session.get(Sitting, fields["sitting_id"]) is None
    ):
        raise InvalidInput(N_("Rapat yang dipilih tidak ada."))
    document = Document(**{k: (v.value if hasattr(v, "value") else v) for k, v in fields.items()})
    session.add(document)
    await session.flush()
    return document


async def get_document(session: AsyncSession, document_id: int) -> Document:
    document = await session.get(Document, document_id)
    if document is None:
        raise NotFound(N_("Dokumen %(id)s tidak ditemukan."), id=document_id)
    return document


async def list_documents(session: AsyncSession, limit: int = 200) -> Sequence[Document]:
    query = select(Document).order_by(Document.tahun.desc(), Document.id.desc()).limit(limit)
    return (await session.scalars(query)).all()


async def save_recording(session: AsyncSession, sitting: Sitting, **fields) -> Recording:
    recording = await session.scalar(select(Recording).where(Recording.sitting_id == sitting.id))
    if recording is None:
        recording = Recording(sitting_id=sitting.id, **fields)
        session.add(recording)
    else:
        for name, value in fields.items():
            setattr(recording, name, value)
    await session.flush()
    return recording


async def audit(
    session: AsyncSession, actor: str, action: str, target: str = "", detail: str = ""
) -> None:
    session.add(AuditEntry(actor=actor, action=action, target=target, detail=detail[:2000]))
    await session.flush()


async def recent_audit(session: AsyncSession, limit: int = 50) -> Sequence[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    return (await session.scalars(query)).all()
