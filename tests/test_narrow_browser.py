"""No page scrolls sideways on a 360 px phone, in Debian Chromium: the public pages, the staff
console (its sittings table, a live sitting's controls, the forms), and the member room with the
chair's panel and the hall panel open."""

from __future__ import annotations

import pytest

from server import keys
from server.app import create_app
from server.passwords import hash_password
from server.store import repo
from tests.browser import OVERFLOW, chromium, sign_in
from tests.conftest import TEST_PASSWORD
from tests.live_helpers import scheduled_sitting
from tests.room_helpers import add_member

pytestmark = pytest.mark.browser

LONG = (
    "Pembahasan Rancangan Peraturan Daerah tentang Penyelenggaraan Perparkiran di Tepi Jalan Umum"
)


@pytest.fixture
def database_url(sqlite_url):
    return sqlite_url


async def test_no_page_scrolls_sideways_at_360_px(aiohttp_server, make_config, database_url, store):
    app = create_app(make_config(database_url=database_url))
    server = await aiohttp_server(app)
    sitting_id, _ = await scheduled_sitting(store, "Rapat Paripurna " + LONG)
    async with store.transaction() as session:
        sitting = await repo.get_sitting(session, sitting_id, public_only=False)
        await repo.add_agenda_item(session, sitting, title=LONG)
        await repo.create_user(session, "admin-sempit", hash_password(TEST_PASSWORD), "admin", None)
    for name in ("Hj. Siti Nurhasanah Kusumawardhani, S.H., M.H.", "Budi"):
        await add_member(store, name)
    await app[keys.LIVE].start(sitting_id, actor="test")

    public = ["/", "/jadwal", "/arsip", "/arsip?q=parkir", "/dokumen", f"/sidang/{sitting_id}"]
    public += ["/masuk", "/sidang/abc"]
    staff = ["/konsol", "/konsol/rapat/baru", f"/konsol/rapat/{sitting_id}", "/konsol/dokumen"]
    staff += ["/konsol/pengguna", f"/moderasi/{sitting_id}"]
    problems = {}
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 360, "height": 740})
        for path in public:
            await page.goto(str(server.make_url(path)))
            found = await page.evaluate(OVERFLOW)
            if found["scroll"] > 0:
                problems[path] = found
        await sign_in(page, server, "admin-sempit", TEST_PASSWORD)
        for path in staff:
            await page.goto(str(server.make_url(path)))
            found = await page.evaluate(OVERFLOW)
            if found["scroll"] > 0:
                problems[path] = found
        # The room, as the chair sees it once joined: its panels are shown without WebRTC.
        await page.goto(str(server.make_url(f"/ruang/{sitting_id}")))
        await page.evaluate(
            "() => { document.querySelector('[data-check]').hidden = true;"
            " document.querySelector('[data-room]').hidden = false;"
            " document.querySelector('[data-vote]').hidden = false; }"
        )
        found = await page.evaluate(OVERFLOW)
        if found["scroll"] > 0:
            problems["/ruang (joined)"] = found
    assert problems == {}
