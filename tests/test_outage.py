"""A database outage: comment sockets stay open and say so, pages answer 503 in the layout."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from server import keys
from server.store.models import Comment
from tests.test_comments import connect, outcome, post

UNREACHABLE = {
    "postgresql": "postgresql+asyncpg://postgres@127.0.0.1:1/sidang",  # nothing listens on 1
    "sqlite": "sqlite+aiosqlite:////nonexistent/sidang.db",
}


@asynccontextmanager
async def database_down(app: web.Application) -> AsyncIterator[None]:
    """Point the app's store at a database of the same kind that cannot be reached, as when
    PostgreSQL is stopped or SQLite's file is gone, then give the real one back."""
    store = app[keys.STORE]
    engine = create_async_engine(UNREACHABLE[store.dialect])
    working, store._sessions = store._sessions, async_sessionmaker(engine)
    try:
        yield
    finally:
        store._sessions = working
        await engine.dispose()


async def test_a_post_during_a_database_outage_gets_an_error_frame_and_keeps_the_socket(
    client, store, live_sitting
):
    ws = await connect(client, live_sitting)
    text = "Mohon lampu jalan Sapuro diperbaiki"
    async with database_down(client.app):
        await post(ws, text)
        assert await outcome(ws, text) == {
            "type": "error",
            "code": "unavailable",
            "message": "Komentar belum terkirim, coba lagi",
        }
    await post(ws, text)  # the same text again: neither a duplicate nor lost
    comment = await outcome(ws, text)
    assert comment["type"] == "comment" and not ws.closed
    async with store.read() as session:
        assert (await session.get(Comment, int(comment["id"]))).text == text


async def test_pages_answer_503_in_the_site_layout_while_the_database_is_down(client, live_sitting):
    async with database_down(client.app):
        page = await client.get(f"/sidang/{live_sitting}")
        html = await page.text()
        api = await client.get(f"/api/v1/sittings/{live_sitting}")
        socket = await client.get(f"/sidang/{live_sitting}/komentar/ws")
    assert page.status == 503
    assert '<header class="site">' in html and "Basis data sedang tidak dapat dihubungi" in html
    assert api.status == 503 and "error" in await api.json()
    assert socket.status == 503
    assert (await client.get(f"/sidang/{live_sitting}")).status == 200


async def test_a_signed_in_page_also_answers_503_in_the_layout(client, login, live_sitting):
    """The session itself cannot be read: the error page still renders, with no form token."""
    await login("moderator")
    async with database_down(client.app):
        page = await client.get(f"/moderasi/{live_sitting}")
        html = await page.text()
    assert page.status == 503
    assert '<header class="site">' in html and "Basis data sedang tidak dapat dihubungi" in html
    assert (await client.get(f"/moderasi/{live_sitting}")).status == 200
