"""A resident on a 360 px phone opens a forum thread; a member answers it with the verified
badge and marks the answer as the DPRD's official reply (Debian Chromium)."""

from __future__ import annotations

import pytest

from server.app import create_app
from server.passwords import hash_password
from server.store import repo
from server.store.models import ForumTopic
from tests.browser import assert_no_sideways_scroll, chromium, sign_in
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}


@pytest.fixture
def database_url(sqlite_url):
    """The browser test exercises the pages, not the store: SQLite is enough."""
    return sqlite_url


async def test_a_member_answers_a_thread_with_the_badge(
    aiohttp_server, make_config, database_url, store
):
    server = await aiohttp_server(create_app(make_config(database_url=database_url)))
    async with store.transaction() as session:
        topic = ForumTopic(komisi="Komisi C", title="Pembangunan dan lingkungan", description="")
        session.add(topic)
        member = await repo.create_member(session, "Hj. Siti Rahmawati", "Fraksi A", "Komisi C")
        await repo.create_user(
            session, "siti-anggota", hash_password(TEST_PASSWORD), "anggota", member.id
        )
    async with chromium() as browser:
        resident = await browser.new_page(viewport=PHONE)
        await resident.goto(str(server.make_url("/")))
        async with resident.expect_navigation():
            await resident.click("nav >> text=Forum")
        await assert_no_sideways_scroll(resident)
        async with resident.expect_navigation():
            await resident.click("text=Pembangunan dan lingkungan")
        async with resident.expect_navigation():
            await resident.click("text=Buka utas baru")
        await assert_no_sideways_scroll(resident)
        await resident.fill("input[name=name]", "Budi Santoso")
        await resident.fill("input[name=title]", "Drainase di Jalan Hayam Wuruk tersumbat")
        await resident.fill("textarea[name=body]", "Setiap hujan air menggenang setinggi lutut.")
        async with resident.expect_navigation():
            await resident.click("form button[type=submit]")
        thread_url = resident.url
        assert "/forum/utas/" in thread_url
        await assert_no_sideways_scroll(resident)

        member_page = await browser.new_page(viewport=PHONE)
        await sign_in(member_page, server, "siti-anggota", TEST_PASSWORD)
        await member_page.goto(thread_url)
        await member_page.fill("#form-balas textarea[name=body]", "Sudah kami jadwalkan bulan ini.")
        async with member_page.expect_navigation():
            await member_page.click("#form-balas button[type=submit]")
        answer = member_page.locator("li.forum-post", has_text="Sudah kami jadwalkan")
        async with member_page.expect_navigation():
            await answer.locator("text=Tandai jawaban resmi DPRD").click()

        await resident.goto(thread_url)
        answer = resident.locator("li.forum-post", has_text="Sudah kami jadwalkan")
        await answer.locator(".badge-verified").wait_for()
        assert "Anggota DPRD" in await answer.locator(".badge-verified").inner_text()
        assert "Hj. Siti Rahmawati" in await answer.inner_text()
        assert await resident.locator(".forum-official").count() == 1
        await assert_no_sideways_scroll(resident)
        async with resident.expect_navigation():
            await answer.locator("text=Laporkan").click()
        assert "Sudah kami jadwalkan" in await resident.locator("blockquote").inner_text()
        await assert_no_sideways_scroll(resident)
