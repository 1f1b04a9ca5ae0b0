"""Each role's journey end to end in Debian Chromium, at 1280 px and at a 360 px phone: what
a new user does, through the pages only (only the hall feed is attached directly)."""

from __future__ import annotations

import pytest

from media.source import SyntheticAudioTrack, SyntheticVideoTrack
from server import keys
from server.app import create_app
from server.passwords import hash_password
from server.store import repo
from tests.browser import chromium, sign_in
from tests.conftest import TEST_PASSWORD, empty_tables
from tests.live_helpers import scheduled_sitting
from tests.room_helpers import add_member, set_seats

pytestmark = pytest.mark.browser

SIDEWAYS = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
SCREENS = {
    "desktop": {"width": 1280, "height": 800},
    "phone": {"width": 360, "height": 740},
}


@pytest.fixture
async def database_url(sqlite_url):
    """The journeys exercise the pages: SQLite is enough (the store is tested on both)."""
    await empty_tables(sqlite_url)
    return sqlite_url


@pytest.fixture(params=sorted(SCREENS))
def screen(request) -> dict[str, int]:
    return SCREENS[request.param]


async def job_done(page) -> None:
    """The console reloads itself while a recording job runs; it must end done, not failed."""
    job = page.locator("[data-job=done], [data-job=failed]")
    await job.wait_for(timeout=60_000)
    assert await job.get_attribute("data-job") == "done", await job.inner_text()


async def fits(page) -> None:
    assert await page.evaluate(SIDEWAYS) <= 0, f"{page.url} scrolls sideways"


async def test_a_member_lands_in_the_room_and_votes_while_the_chair_runs_the_floor(
    aiohttp_server, make_config, database_url, store, loopback_ice, screen
):
    app = create_app(make_config(database_url=database_url))
    server = await aiohttp_server(app)
    sitting_id, _ = await scheduled_sitting(store, "Paripurna Perjalanan Anggota")
    live = await app[keys.LIVE].start(sitting_id, actor="test")
    await live.attach_hall(SyntheticVideoTrack("Aula", 640, 360), SyntheticAudioTrack())
    await set_seats(store, 2)
    member_id = await add_member(store, "Anggota Perjalanan")
    chair_member = await add_member(store, "Ketua Perjalanan")
    member_name, chair_name = f"anggota-{screen['width']}", f"pimpinan-{screen['width']}"
    async with store.transaction() as session:
        secret = hash_password(TEST_PASSWORD)
        await repo.create_user(session, member_name, secret, "anggota", member_id)
        await repo.create_user(session, chair_name, secret, "pimpinan", chair_member)

    async with chromium() as browser:
        member = await (await browser.new_context(viewport=screen)).new_page()
        await sign_in(member, server, member_name, TEST_PASSWORD)
        assert member.url.endswith(f"/ruang/{sitting_id}"), "a member lands on the live room"
        await fits(member)
        await member.click("[data-join=audio]")
        await member.wait_for_selector("[data-room]:not([hidden])")
        await member.click("[data-hand]")

        chair = await (await browser.new_context(viewport=screen)).new_page()
        await sign_in(chair, server, chair_name, TEST_PASSWORD)
        assert chair.url.endswith(f"/ruang/{sitting_id}"), "the chair lands on the live room"
        await chair.click("[data-join=audio]")
        mine = f"[data-members] [data-member-id='{member_id}']"
        await chair.wait_for_selector(f"{mine} .badge-hand")
        await chair.click(f"{mine} button:has-text('Beri hak bicara')")
        await member.wait_for_selector(f"{mine} .badge-floor")
        await chair.click("[data-chair-action=mute_all]")
        await chair.wait_for_selector(f"[data-members] [data-member-id='{chair_member}']")
        assert await chair.is_enabled("[data-mic]"), "mute-all never mutes the chair"
        await fits(chair)

        await chair.fill("[data-open-vote] input[name=title]", "Persetujuan Raperda Sampah")
        await chair.click("[data-open-vote] button[type=submit]")
        await member.wait_for_selector("[data-vote]:not([hidden])")
        await member.click("[data-choice=setuju]")
        await member.wait_for_selector("[data-vote-status]:has-text('Suara Anda sudah tercatat')")
        await fits(member)
        await chair.click("[data-choice=setuju]")
        await chair.wait_for_selector("[data-vote-status]:has-text('Suara Anda sudah tercatat')")
        await chair.click("[data-close-vote]")
        await member.wait_for_selector("[data-vote]", state="hidden")

        await chair.goto(str(server.make_url(f"/sidang/{sitting_id}")))
        result = chair.locator("[data-votes] li", has_text="Persetujuan Raperda Sampah")
        await result.wait_for()
        assert "Setuju 2" in await result.inner_text()
        await fits(chair)


async def test_staff_run_a_sitting_from_creation_to_the_published_archive(
    aiohttp_server, make_config, database_url, store, screen
):
    app = create_app(make_config(database_url=database_url))
    server = await aiohttp_server(app)
    username = f"staf-{screen['width']}"
    async with store.transaction() as session:
        await repo.create_user(session, username, hash_password(TEST_PASSWORD), "sekretariat", None)

    async with chromium() as browser:
        page = await (await browser.new_context(viewport=screen)).new_page()
        await sign_in(page, server, username, TEST_PASSWORD)
        assert page.url.endswith("/konsol"), "staff land on the console"
        await page.click("a[href='/konsol/rapat/baru']")
        await page.fill("input[name=title]", "Paripurna Perjalanan Staf")
        await page.fill("input[name=starts_at]", "2026-12-02T09:00")
        async with page.expect_navigation():
            await page.click("form[action='/konsol/rapat/baru'] button[type=submit]")
        sitting_id = int(page.url.rstrip("/").split("/")[-1].split("#")[0])
        for title in ("Pembukaan", "Pengesahan Raperda"):
            await page.fill("form[action$='/acara'] input[name=title]", title)
            async with page.expect_navigation():
                await page.click("form[action$='/acara'] button[type=submit]")
        for status in ("scheduled", "live"):
            async with page.expect_navigation():
                await page.click(f"form:has(input[name=status][value={status}]) button")
        await fits(page)

        live = app[keys.LIVE].get(sitting_id)
        await live.attach_hall(SyntheticVideoTrack("Aula", 640, 360), SyntheticAudioTrack())
        for position, segments in ((1, 1), (2, 3)):
            assert await live.packager.wait_for("720p", segments, None, timeout=30)
            async with page.expect_navigation():
                await page.click(f"button:has-text('Mulai acara {position}')")
        assert await live.packager.wait_for("720p", 5, None, timeout=30)

        async with page.expect_navigation():
            await page.click("form.end-live button")
        assert await page.is_visible("text=Akhiri siaran langsung sekarang?"), "asked first"
        assert sitting_id in app[keys.LIVE].sittings, "nothing ends before the answer"
        async with page.expect_navigation():
            await page.click("button:has-text('Ya, akhiri siaran')")
        assert sitting_id not in app[keys.LIVE].sittings

        await page.fill("input[name=trim_start]", "1")
        async with page.expect_navigation():
            await page.click("button:has-text('Terapkan potongan')")
        await job_done(page)
        async with page.expect_navigation():
            await page.click("button:has-text('Publikasikan rekaman')")
        await job_done(page)
        await fits(page)

        await page.goto(str(server.make_url(f"/sidang/{sitting_id}")))
        chapter = page.locator("#acara-2 a.seek")
        await chapter.wait_for()
        assert float(await chapter.get_attribute("data-seek") or 0) > 0, "item 2 starts later"
        await chapter.click()
        await page.wait_for_function(
            "() => { const v = document.querySelector('video');"
            " return v && v.currentTime > 0 && !v.seeking; }"
        )
        await fits(page)
