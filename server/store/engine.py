"""The Store: one async engine and one way to open a transaction."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

from sqlalchemy import event, exc, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session

from server.domain.errors import DatabaseUnavailable
from server.store import search_index

# What a database that is down, restarting or unreachable raises: asyncpg's refused or dropped
# connection (raw OS errors, not wrapped by SQLAlchemy), SQLite's file that cannot be opened or
# stays locked, a pool that waited in vain. Errors in a statement itself are not among them.
_DOWN = (
    ConnectionError,
    TimeoutError,
    socket.gaierror,
    exc.OperationalError,
    exc.InterfaceError,
    exc.DisconnectionError,
    exc.TimeoutError,
)


class StoreSession(Session):
    """The store's own sessions: the search index follows their writes, and only theirs."""


event.listen(StoreSession, "after_flush", search_index.after_flush)


class Store:
    def __init__(self, database_url: str) -> None:
        url = make_url(database_url)
        self.dialect = url.get_backend_name()
        if self.dialect == "sqlite" and url.database not in (None, "", ":memory:"):
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        self.engine: AsyncEngine = create_async_engine(
            database_url, **({"pool_pre_ping": True} if self.dialect == "postgresql" else {})
        )
        if self.dialect == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self._sessions = async_sessionmaker(
            self.engine, expire_on_commit=False, sync_session_class=StoreSession
        )

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """Commit when the block ends normally, roll back on any exception."""
        with _unavailable_when_down():
            async with self._sessions() as session, session.begin():
                yield session

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        with _unavailable_when_down():
            async with self._sessions() as session:
                yield session

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def close(self) -> None:
        await self.engine.dispose()


@contextmanager
def _unavailable_when_down() -> Iterator[None]:
    """A database outage becomes a domain error, which the HTTP layer answers with 503 and the
    site's layout, and the comment socket with an error frame, instead of a crash."""
    try:
        yield
    except _DOWN as error:
        if isinstance(error, exc.DBAPIError) and not _is_outage(error):
            raise
        raise DatabaseUnavailable() from error


def _is_outage(error: exc.DBAPIError) -> bool:
    """Not every driver error is an outage (a statement timeout, a deadlock): a dropped
    connection, PostgreSQL's connection and shutdown states (SQLSTATE 08, 57P) and SQLite's
    operational errors (the file cannot be opened, or stays locked) are."""
    orig = error.orig
    state = str(getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None) or "")
    return (
        error.connection_invalidated
        or state.startswith(("08", "57P"))
        or isinstance(orig, OSError)
        or (isinstance(error, exc.OperationalError) and type(orig).__module__ == "sqlite3")
    )


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")  # durable across crashes in WAL mode
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
