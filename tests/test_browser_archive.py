"""A resident opens an archived sitting in Debian Chromium and jumps to agenda item 2."""

from __future__ import annotations

import pytest

from server import keys
from server.app import create_app
from server.domain.sitting import SittingStatus
from server.keys import ARCHIVE
from tests.archive_helpers import ended_sitting
from tests.browser import chromium

pytestmark = pytest.mark.browser


@pytest.fixture
def database_url(sqlite_url):
    """The browser test exercises the player, not the store: SQLite is enough."""
    return sqlite_url


async def test_clicking_agenda_item_two_seeks_to_its_offset(
    aiohttp_server, make_config, database_url, store, recording_template
):
    config = make_config(database_url=database_url)
    app = create_app(config)
    server = await aiohttp_server(app)
    sitting_id = await ended_sitting(store, config, recording_template)
    await app[ARCHIVE].apply(
        sitting_id, trim_start=2.0, trim_end=10.0, cuts=[(6.0, 8.0)], poster_s=None, actor="test"
    )
    await app[keys.LIVE].transition(sitting_id, SittingStatus.PUBLISHED, "test")

    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1024, "height": 800})
        await page.goto(str(server.make_url(f"/sidang/{sitting_id}")))
        await page.wait_for_function(
            "() => window.sidangHls && document.getElementById('player').readyState >= 1",
            timeout=20_000,
        )
        await page.click("#acara-2 a.seek")
        await page.wait_for_function(
            "() => { const v = document.getElementById('player');"
            " return !v.seeking && Math.abs(v.currentTime - 4.5) < 0.3; }",
            timeout=20_000,
        )
        assert await page.evaluate("() => window.sidangPlayerErrors") == []
        assert page.url.endswith("?t=4.5")
        tracks = await page.evaluate(
            "() => Array.from(document.getElementById('player').textTracks, t => t.kind)"
        )
        assert "chapters" in tracks

        # The filmstrip: a tile per thumbnail cue, cut from the sprite, each one a seek.
        tiles = page.locator("#filmstrip .filmstrip-tile")
        await tiles.first.wait_for()
        count = await tiles.count()
        thumbs = await page.evaluate(
            "() => Array.from(document.querySelectorAll('#filmstrip .thumb'),"
            " t => [t.style.backgroundPosition, t.style.backgroundImage])"
        )
        assert count >= 2 and thumbs[1][0] == "-160px 0px" and "sprite.jpg" in thumbs[1][1]
        await tiles.first.click()
        await page.wait_for_function(
            "() => { const v = document.getElementById('player');"
            " return !v.seeking && v.currentTime < 0.5; }",
            timeout=20_000,
        )
        await page.wait_for_selector("#filmstrip .filmstrip-tile:first-child[aria-current=true]")
