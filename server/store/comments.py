"""Repository functions for live comments, their moderation settings, banned words and bans."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.domain.errors import Conflict, NotFound
from server.domain.moderation import Ban, BannedPattern, RefusalCode, Refused, WordAction
from server.domain.sitting import SittingStatus
from server.i18n import N_
from server.store.models import BannedWord, Comment, CommentBan, CommentSettings, Sitting, utcnow


async def add_comments(
    session: AsyncSession,
    entries: list[tuple[int, dict[str, Any]]],
    *,
    now: dt.datetime | None = None,
) -> list[Comment | Refused]:
    """Store comments on live sittings, each stamped with its offset into the live stream.

    `entries` holds (sitting id, Comment fields); a comment on a sitting that is not live comes
    back as Refused in its place. The rows go in with one INSERT, so a busy node's batch costs one
    round trip to the database rather than one per comment.
    """
    now = now or utcnow()
    outcomes: list[Comment | Refused] = []
    for sitting_id, fields in entries:
        sitting = await session.get(Sitting, sitting_id)  # once per sitting: the session caches
        if sitting is None or sitting.status != SittingStatus.LIVE.value:
            outcomes.append(
                Refused(
                    RefusalCode.CLOSED, N_("Kolom komentar hanya dibuka selama siaran langsung.")
                )
            )
            continue
        started = sitting.live_started_at or now
        offset_s = round(max(0.0, (now - started).total_seconds()), 3)
        outcomes.append(
            Comment(sitting_id=sitting_id, at=now, offset_s=offset_s, hidden=False, **fields)
        )
    session.add_all(c for c in outcomes if isinstance(c, Comment))
    await session.flush()
    return outcomes


async def get_comment(session: AsyncSession, sitting_id: int, comment_id: int) -> Comment:
    comment = await session.get(Comment, comment_id)
    if comment is None or comment.sitting_id != sitting_id:
        raise NotFound(N_("Komentar %(id)s tidak ditemukan pada rapat ini."), id=comment_id)
    return comment


async def recent_comments(
    session: AsyncSession, sitting_id: int, limit: int, *, visible_only: bool = True
) -> list[Comment]:
    """The newest `limit` comments, oldest first."""
    query = select(Comment).where(Comment.sitting_id == sitting_id)
    if visible_only:
        query = query.where(Comment.hidden.is_(False), Comment.held.is_(False))
    rows = (await session.scalars(query.order_by(Comment.id.desc()).limit(limit))).all()
    return list(reversed(rows))


async def comments_after(
    session: AsyncSession, sitting_id: int, after: int, limit: int = 2000
) -> Sequence[Comment]:
    """Every comment of a sitting after id `after`, held and hidden too, oldest first: what a
    node fetches when its bus comes back."""
    query = select(Comment).where(Comment.sitting_id == sitting_id, Comment.id > after)
    return (await session.scalars(query.order_by(Comment.id).limit(limit))).all()


async def held_comments(session: AsyncSession, sitting_id: int) -> Sequence[Comment]:
    query = select(Comment).where(
        Comment.sitting_id == sitting_id, Comment.held.is_(True), Comment.hidden.is_(False)
    )
    return (await session.scalars(query.order_by(Comment.id))).all()


async def hidden_comments(
    session: AsyncSession, sitting_id: int, limit: int = 200
) -> Sequence[Comment]:
    """The newest hidden comments first, for the moderator's undo list."""
    query = select(Comment).where(Comment.sitting_id == sitting_id, Comment.hidden.is_(True))
    return (await session.scalars(query.order_by(Comment.id.desc()).limit(limit))).all()


async def set_visibility(session: AsyncSession, comment: Comment, *, hidden: bool) -> Comment:
    """Hide keeps the row for audit; showing a held comment approves it."""
    comment.hidden = hidden
    if not hidden:
        comment.held = False
    await session.flush()
    return comment


# Settings


async def get_settings(session: AsyncSession, sitting_id: int) -> CommentSettings:
    settings = await session.get(CommentSettings, sitting_id)
    return settings or CommentSettings(
        sitting_id=sitting_id, slow_mode_s=0, premoderation=False, allow_links=False, pinned=""
    )


async def save_settings(session: AsyncSession, sitting_id: int, **changes) -> CommentSettings:
    if await session.get(Sitting, sitting_id) is None:
        raise NotFound(N_("Rapat %(id)s tidak ditemukan."), id=sitting_id)
    settings = await session.get(CommentSettings, sitting_id)
    if settings is None:
        settings = await get_settings(session, sitting_id)
        session.add(settings)
    for name, value in changes.items():
        setattr(settings, name, value)
    await session.flush()
    return settings


# Banned words


async def banned_words(session: AsyncSession) -> Sequence[BannedWord]:
    return (await session.scalars(select(BannedWord).order_by(BannedWord.pattern))).all()


async def banned_patterns(session: AsyncSession) -> list[BannedPattern]:
    return [BannedPattern(w.pattern, WordAction(w.action)) for w in await banned_words(session)]


async def add_banned_word(session: AsyncSession, pattern: str, action: WordAction) -> BannedWord:
    if await session.scalar(select(BannedWord).where(BannedWord.pattern == pattern)):
        raise Conflict(N_("Pola '%(pattern)s' sudah ada."), pattern=pattern)
    word = BannedWord(pattern=pattern, action=action.value)
    session.add(word)
    await session.flush()
    return word


async def delete_banned_word(session: AsyncSession, word_id: int) -> BannedWord:
    word = await session.get(BannedWord, word_id)
    if word is None:
        raise NotFound(N_("Pola %(id)s tidak ditemukan."), id=word_id)
    await session.execute(delete(BannedWord).where(BannedWord.id == word_id))
    return word


# Bans


async def add_ban(session: AsyncSession, ban: Ban, *, reason: str, actor: str) -> CommentBan:
    row = CommentBan(
        identity_hash=ban.identity,
        ip_hash=ban.ip,
        device_hash=ban.device,
        until=ban.until,
        reason=reason,
        actor=actor,
    )
    session.add(row)
    await session.flush()
    return row


async def active_ban_rows(
    session: AsyncSession, now: dt.datetime | None = None
) -> Sequence[CommentBan]:
    query = select(CommentBan).where(CommentBan.until > (now or utcnow()))
    return (await session.scalars(query.order_by(CommentBan.until))).all()


async def active_bans(session: AsyncSession, now: dt.datetime | None = None) -> list[Ban]:
    rows = await active_ban_rows(session, now)
    return [ban_of(row) for row in rows]


async def bans_on(
    session: AsyncSession, identity: str, device: str, ip: str, now: dt.datetime | None = None
) -> list[Ban]:
    """The active bans on this identity, device or address (only address bans carry one)."""
    targets = [CommentBan.identity_hash == identity, CommentBan.ip_hash == ip]
    if device:
        targets.append(CommentBan.device_hash == device)
    query = select(CommentBan).where(CommentBan.until > (now or utcnow()), or_(*targets))
    return [ban_of(row) for row in await session.scalars(query)]


def ban_of(row: CommentBan) -> Ban:
    return Ban(row.identity_hash, row.ip_hash, row.until, str(row.id), row.device_hash)


async def end_ban(session: AsyncSession, ban_id: int) -> CommentBan:
    """End a ban now; the row stays, with its new end, for the audit trail."""
    row = await session.get(CommentBan, ban_id)
    now = utcnow()
    if row is None or row.until <= now:
        raise NotFound(N_("Blokir tidak ditemukan atau sudah berakhir."))
    row.until = now
    await session.flush()
    return row
