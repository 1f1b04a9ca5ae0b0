"""The public player follows the sitting's status in Debian Chromium without a reload: it starts
when the sitting goes live, offers a way back to the live edge, and at the end says so, lets go
of the stream and stops polling."""

from __future__ import annotations

import pytest

from media.source import SyntheticAudioTrack, SyntheticVideoTrack
from server import keys
from server.app import create_app
from server.room.shapes import public_cache_key
from tests.browser import chromium
from tests.live_helpers import scheduled_sitting

pytestmark = pytest.mark.browser


@pytest.fixture
def database_url(sqlite_url):
    return sqlite_url


async def test_the_player_follows_the_sitting_from_scheduled_to_ended(
    aiohttp_server, make_config, database_url, store
):
    app = create_app(make_config(database_url=database_url))
    server = await aiohttp_server(app)
    sitting_id, _ = await scheduled_sitting(store, "Paripurna Menunggu Siaran")

    async def changed() -> None:
        """The summary is cached for a few seconds; drop it so the page need not wait."""
        await app[keys.BUS].delete_value(public_cache_key(sitting_id))

    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 360, "height": 740})
        await page.goto(str(server.make_url(f"/sidang/{sitting_id}")))
        assert "Siaran akan tersedia" in await page.text_content("#player-placeholder")
        assert await page.evaluate("() => window.Hls === undefined"), "no hls.js before live"

        live = await app[keys.LIVE].start(sitting_id, actor="test")
        await live.attach_hall(SyntheticVideoTrack("Aula", 640, 360), SyntheticAudioTrack())
        await changed()
        await page.wait_for_function(
            "() => document.getElementById('player').currentTime > 1", timeout=30_000
        )
        assert await page.is_hidden("#player-placeholder")
        assert await page.is_visible("#live-badge")

        await page.wait_for_function(
            "() => window.sidangHls && window.sidangHls.liveSyncPosition > 9", timeout=30_000
        )
        assert await page.is_hidden("#to-live")
        await page.evaluate("() => { document.getElementById('player').currentTime = 0.5; }")
        await page.wait_for_selector("#to-live", state="visible", timeout=10_000)
        await page.click("#to-live")
        await page.wait_for_selector("#to-live", state="hidden", timeout=10_000)

        await app[keys.LIVE].end(sitting_id, actor="test")
        await changed()
        await page.wait_for_selector(
            "#player-placeholder:has-text('Siaran berakhir — rekaman segera tersedia')",
            timeout=30_000,
        )
        assert await page.evaluate("() => window.sidangPlayer.polling") is False
        assert await page.evaluate("() => window.sidangHls") is None
        assert await page.is_hidden("#player")
        width = await page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 360
