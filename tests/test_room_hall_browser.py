"""Staff enter hall attendance and ballots in Debian Chromium without joining the room: every
ballot shows its outcome, a member connected remotely is refused, and a bulk entry records
everyone present in the hall. The page never scrolls sideways at 360 px."""

from __future__ import annotations

import pytest

from server import keys
from server.app import create_app
from server.domain.votes import AttendanceMode
from server.passwords import hash_password
from server.store import repo
from server.store import room as room_store
from server.store.models import utcnow
from tests.browser import chromium, sign_in
from tests.conftest import TEST_PASSWORD
from tests.live_helpers import scheduled_sitting
from tests.room_helpers import add_member, set_seats

pytestmark = pytest.mark.browser

SIDEWAYS = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


@pytest.fixture
def database_url(sqlite_url):
    """The browser test exercises the page, not the store: SQLite is enough."""
    return sqlite_url


async def test_staff_record_hall_votes_without_joining_the_room(
    aiohttp_server, make_config, database_url, store
):
    app = create_app(make_config(database_url=database_url))
    server = await aiohttp_server(app)
    sitting_id, _ = await scheduled_sitting(store, "Paripurna Suara Aula")
    await app[keys.LIVE].start(sitting_id, actor="test")
    await set_seats(store, 4)
    ani, budi, citra, ketua = [
        await add_member(store, name) for name in ("Ani", "Budi", "Citra", "Ketua Daring")
    ]
    async with store.transaction() as session:
        await repo.create_user(
            session, "staf-aula", hash_password(TEST_PASSWORD), "sekretariat", None
        )
        await room_store.mark_present(session, sitting_id, ketua, AttendanceMode.REMOTE)
        await room_store.mark_present(session, sitting_id, ketua, AttendanceMode.HALL)

    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 360, "height": 740})
        await sign_in(page, server, "staf-aula", TEST_PASSWORD)
        await page.goto(str(server.make_url(f"/ruang/{sitting_id}")))
        for member in (ani, budi, citra):
            # The box ticks at once; the attendance is stored when its POST is answered.
            async with page.expect_response(lambda r: r.request.method == "POST"):
                await page.check(f"[data-hall-member='{member}'] [data-hall-present]")
        async with store.read() as session:
            assert (
                len((await room_store.present_by_mode(session, sitting_id))[AttendanceMode.HALL])
                == 4
            )
        async with store.transaction() as session:
            sitting = await repo.get_sitting(session, sitting_id, public_only=False)
            vote = await room_store.open_vote(
                session,
                sitting,
                title="Raperda Pajak Daerah",
                agenda_item_id=None,
                closes_at=None,
                opened_by="pimpinan",
                now=utcnow(),
            )
        await page.wait_for_selector("[data-hall-vote-title]:has-text('Raperda Pajak Daerah')")

        ani_row = f"[data-hall-member='{ani}']"
        await page.select_option(f"{ani_row} [data-hall-choice]", "tidak_setuju")
        await page.click(f"{ani_row} [data-hall-vote]")
        await page.wait_for_selector(f"{ani_row} [data-hall-result]:has-text('Tidak setuju')")

        ketua_row = f"[data-hall-member='{ketua}']"
        await page.wait_for_selector(f"{ketua_row} [data-hall-result]:has-text('daring')")
        assert await page.is_disabled(f"{ketua_row} [data-hall-vote]")

        await page.select_option(f"[data-hall-member='{citra}'] [data-hall-choice]", "none")
        await page.click("[data-hall-bulk] button[type=submit]")
        await page.wait_for_selector("[data-hall-summary]:has-text('1 suara tercatat')")
        await page.wait_for_selector(
            f"[data-hall-member='{budi}'] [data-hall-result]:has-text('Setuju')"
        )
        async with store.read() as session:
            counted = await room_store.get_vote(session, sitting_id, vote.id)
            assert {(b.member_id, b.choice) for b in counted.ballots} == {
                (ani, "tidak_setuju"),
                (budi, "setuju"),
            }
        assert await page.evaluate(SIDEWAYS) <= 0, "the hall panel scrolls sideways at 360 px"
