"""Browser sessions: one row per signed-in browser, keyed by the SHA-256 of its cookie token."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.store.models import UserSession


async def create_session(session: AsyncSession, session_id: str, user_id: int) -> UserSession:
    row = UserSession(id=session_id, user_id=user_id)
    session.add(row)
    await session.flush()
    return row


async def get_session(session: AsyncSession, session_id: str) -> UserSession | None:
    """The session with its user (joined), or None."""
    return await session.get(UserSession, session_id)


async def touch_session(session: AsyncSession, session_id: str, at: dt.datetime) -> None:
    await session.execute(
        update(UserSession).where(UserSession.id == session_id).values(last_seen_at=at)
    )


async def end_session(session: AsyncSession, session_id: str) -> None:
    await session.execute(delete(UserSession).where(UserSession.id == session_id))


async def end_user_sessions(session: AsyncSession, user_id: int) -> None:
    """Every browser of this user is signed out (a password change, an account deleted)."""
    await session.execute(delete(UserSession).where(UserSession.user_id == user_id))


async def end_expired_sessions(
    session: AsyncSession, idle_before: dt.datetime, born_before: dt.datetime
) -> None:
    """Rows past either timeout open nothing any more; clearing them keeps the table small."""
    await session.execute(
        delete(UserSession).where(
            (UserSession.last_seen_at < idle_before) | (UserSession.created_at < born_before)
        )
    )
