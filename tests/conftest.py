"""Shared fixtures: every store test runs on SQLite and PostgreSQL, bus tests on memory and Redis.

PostgreSQL gets a database of its own per test run (so parallel runs never collide), migrated
once with Alembic; tables are emptied between tests.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import asyncpg
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from server.app import create_app
from server.bus import MemoryBus, RedisBus
from server.config import Config
from server.domain.sitting import SittingStatus
from server.passwords import hash_password
from server.store import Store, repo
from server.store.migrate import upgrade
from server.store.models import Base, utcnow
from tests.factories import new_sitting

PG_ADMIN_DSN = os.environ.get("SIDANG_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("SIDANG_TEST_REDIS", "redis://127.0.0.1:6379/0")
TEST_PASSWORD = "rahasia-uji-123"
RUN_ID = uuid.uuid4().hex[:8]


def in_thread(function, *args):
    """Session fixtures may be first requested inside a running loop, where asyncio.run and
    Alembic's own event loop cannot start; a worker thread has no loop."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(function, *args).result()


@pytest.fixture(scope="session")
def postgres_url() -> AsyncIterator[str]:
    name = f"sidang_test_{RUN_ID}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    in_thread(asyncio.run, admin(f'CREATE DATABASE "{name}"'))
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    url = f"{base}/{name}"
    in_thread(upgrade, url)
    yield url
    in_thread(asyncio.run, admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'sidang.db'}"
    in_thread(upgrade, url)
    return url


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(request) -> AsyncIterator[str]:
    """A migrated, empty database on each backend."""
    url = request.getfixturevalue(f"{request.param}_url")
    await empty_tables(url)
    yield url


async def empty_tables(url: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
            if conn.dialect.name == "postgresql":
                await conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
            else:
                for table in tables:
                    await conn.execute(text(f"DELETE FROM {table}"))
    finally:
        await engine.dispose()


@pytest.fixture
def redis_prefix() -> str:
    return f"sidangtest:{RUN_ID}:{uuid.uuid4().hex[:6]}:"


@pytest.fixture(params=["memory", "redis"])
async def bus(request, redis_prefix) -> AsyncIterator[MemoryBus | RedisBus]:
    if request.param == "memory":
        instance = MemoryBus()
    else:
        instance = RedisBus(REDIS_URL, prefix=redis_prefix)
    await instance.start()
    yield instance
    await instance.close()


@pytest.fixture
def make_config(tmp_path: Path) -> Callable[..., Config]:
    def make(**overrides) -> Config:
        values = {
            "database_url": f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}",
            "media_dir": tmp_path / "recordings",
            "data_dir": tmp_path / "var",
            "secret_key": "test-secret-key",
            **overrides,
        }
        return Config(**values)

    return make


@pytest.fixture
def config(make_config, database_url) -> Config:
    return make_config(database_url=database_url)


@pytest.fixture
async def store(database_url) -> AsyncIterator[Store]:
    instance = Store(database_url)
    async with instance.transaction() as session:
        await repo.ensure_institution(session, "DPRD Kota Pekalongan", 35)
    yield instance
    await instance.close()


@pytest.fixture
async def client(aiohttp_client, config, store):
    """A test client on a fresh app; `store` seeds the institution first."""
    return await aiohttp_client(create_app(config))


CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


async def csrf_token_for(client) -> str:
    response = await client.get("/masuk")
    match = CSRF_META.search(await response.text())
    assert match, "page has no CSRF meta tag"
    return match.group(1)


async def log_in(
    client, store, role: str, username: str | None = None, member_id: int | None = None
) -> str:
    """Create a user with `role` (optionally linked to a member), log `client` in, and return
    the CSRF token to send."""
    username = username or f"{role}-{uuid.uuid4().hex[:6]}"
    async with store.transaction() as session:
        await repo.create_user(session, username, hash_password(TEST_PASSWORD), role, member_id)
    response, token = await sign_in(client, username, TEST_PASSWORD)
    assert response.status == 303, await response.text()
    return token


async def sign_in(client, username: str, password: str):
    """Post the login form; returns the response and the CSRF token the client now holds (a
    login starts a session, and the token is bound to it)."""
    token = await csrf_token_for(client)
    response = await client.post(
        "/masuk",
        data={"username": username, "password": password, "csrf_token": token, "next": "/"},
        allow_redirects=False,
    )
    if response.status == 303:
        token = await csrf_token_for(client)
    return response, token


@pytest.fixture
def login(client, store):
    """Log the `client` fixture in with a new user of the given role."""

    async def do_login(role: str, username: str | None = None) -> str:
        return await log_in(client, store, role, username)

    return do_login


async def seed_live_sitting(store: Store, title: str = "Rapat Paripurna Uji") -> int:
    """A public sitting that is live now (in the database only: no media pipeline runs)."""
    async with store.transaction() as session:
        sitting = await new_sitting(
            session, title=title, starts_at=utcnow(), status=SittingStatus.LIVE
        )
        return sitting.id


@pytest.fixture(scope="session")
def recording_template(tmp_path_factory) -> Path:
    """One short real recording, made once per session (tests/archive_helpers.py)."""
    from tests.archive_helpers import record_template  # media work only where it is needed

    return record_template(tmp_path_factory)


@pytest.fixture
async def live_sitting(store) -> int:
    return await seed_live_sitting(store)


@pytest.fixture
def loopback_ice(monkeypatch) -> None:
    """aioice skips 127.0.0.1 when gathering; on loopback tests offer only it (BROWSER.md)."""
    import aioice.ice

    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])


class Inbox:
    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp_server():
    """A real SMTP sink on a free local port: (its inbox, the SIDANG_SMTP_URL that reaches it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, f"smtp://127.0.0.1:{port}?from=pengaduan@dprd.example"
    controller.stop()
