"""A resident plays the live stream on the watch page in Debian Chromium (hls.js, LL-HLS)."""

from __future__ import annotations

import pytest

from media.source import SyntheticAudioTrack, SyntheticVideoTrack
from server import keys
from server.app import create_app
from tests.browser import chromium
from tests.live_helpers import scheduled_sitting

pytestmark = pytest.mark.browser


@pytest.fixture
def database_url(sqlite_url):
    """The browser test exercises the player, not the store: SQLite is enough."""
    return sqlite_url


async def test_watch_page_plays_the_live_stream_from_its_very_start(
    aiohttp_server, make_config, database_url, store
):
    app = create_app(make_config(database_url=database_url))
    server = await aiohttp_server(app)
    sitting_id, _ = await scheduled_sitting(store, "Paripurna <Siaran> Uji")
    live = await app[keys.LIVE].start(sitting_id, actor="test")
    await live.attach_hall(SyntheticVideoTrack("Aula", 640, 360), SyntheticAudioTrack())

    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 360, "height": 740})
        await page.goto(str(server.make_url(f"/sidang/{sitting_id}")))
        await page.wait_for_function(
            "() => document.getElementById('player').currentTime > 4.5", timeout=30_000
        )
        errors = await page.evaluate("() => window.sidangPlayerErrors")
        assert errors == []
        badge = await page.text_content("#live-badge")
        assert badge.startswith("LANGSUNG")
        width = await page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 360, "the watch page fits a 360 px phone"

        await page.select_option("#quality", "audio")
        await page.wait_for_function(
            "() => window.sidangHls && window.sidangHls.url.endsWith('/audio/index.m3u8')"
            " && document.getElementById('player').currentTime > 1",
            timeout=20_000,
        )
        assert await page.evaluate("() => window.sidangPlayerErrors") == []


async def test_the_player_keeps_playing_through_a_rendition_restart(
    aiohttp_server, make_config, database_url, store
):
    """A packager failure restarts 720p and 360p after a discontinuity; hls.js plays on."""
    app = create_app(make_config(database_url=database_url))
    server = await aiohttp_server(app)
    sitting_id, _ = await scheduled_sitting(store)
    live = await app[keys.LIVE].start(sitting_id, actor="test")
    await live.attach_hall(SyntheticVideoTrack("Aula", 640, 360), SyntheticAudioTrack())

    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 360, "height": 740})
        await page.goto(str(server.make_url(f"/sidang/{sitting_id}")))
        await page.wait_for_function(
            "() => document.getElementById('player').currentTime > 3", timeout=30_000
        )
        for rendition in ("720p", "360p"):
            track = live.packager.tracks[rendition]
            on_part, failed = track._on_part, []

            def fail_once(moof, mdat, on_part=on_part, failed=failed):
                if not failed:
                    failed.append(True)
                    raise RuntimeError("injected packager fault")
                on_part(moof, mdat)

            track._on_part = fail_once
        at_fault = await page.evaluate("() => document.getElementById('player').currentTime")
        assert await live.packager.wait_for("360p", track.edge()[0] + 2, None, timeout=15)
        assert "#EXT-X-DISCONTINUITY" in live.packager.playlist("360p")
        await page.wait_for_function(
            f"() => document.getElementById('player').currentTime > {at_fault + 5}",
            timeout=30_000,
        )
        assert await page.evaluate("() => window.sidangPlayerErrors") == []
        assert all(live.packager.tracks[r].restarts == 1 for r in ("720p", "360p"))
