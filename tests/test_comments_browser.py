"""Debian Chromium on the watch page: hostile text stays inert, and two nodes are one room."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from server import keys
from server.app import create_app
from server.comments.hub import channel_for
from tests.browser import chromium
from tests.conftest import REDIS_URL, log_in
from tests.test_comments import bus_comment, outcome, post

XSS = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'

pytestmark = pytest.mark.browser


@pytest.fixture
async def browser():
    async with chromium() as instance:
        yield instance


async def test_an_xss_payload_stays_plain_text(
    aiohttp_server, aiohttp_client, config, store, live_sitting, browser
):
    server = await aiohttp_server(create_app(config))
    page = await browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(str(server.make_url(f"/sidang/{live_sitting}")))
    await expect(page.locator("[data-viewers]")).to_have_text("1")  # its own socket is open

    resident = await aiohttp_client(server)
    ws = await resident.ws_connect(f"/sidang/{live_sitting}/komentar/ws")
    await post(ws, XSS, name='<b onmouseover="alert(1)">Budi</b>')
    await outcome(ws, XSS)
    item = page.locator("#komentar [data-list] li").first
    await item.wait_for()
    assert await item.locator("p").text_content() == XSS
    assert await item.locator("strong").text_content() == '<b onmouseover="alert(1)">Budi</b>'
    injected = page.locator("#komentar [data-list] img, #komentar [data-list] script")
    assert await injected.count() == 0
    assert await page.evaluate("window.__xss") is None
    assert errors == []


async def test_a_comment_posted_on_one_node_appears_on_the_other(
    aiohttp_server, make_config, database_url, redis_prefix, store, live_sitting, browser
):
    servers = []
    for _ in range(2):
        config = make_config(
            database_url=database_url, redis_url=REDIS_URL, redis_prefix=redis_prefix
        )
        servers.append(await aiohttp_server(create_app(config)))
    writer, reader = await browser.new_page(), await browser.new_page()
    await writer.goto(str(servers[0].make_url(f"/sidang/{live_sitting}")))
    await reader.goto(str(servers[1].make_url(f"/sidang/{live_sitting}")))
    for page in (writer, reader):
        await expect(page.locator("[data-viewers]")).to_have_text("2", timeout=10_000)

    await writer.fill("#komentar [name=name]", "Siti")
    await writer.fill("#komentar [name=text]", "Mohon penjelasan anggaran pendidikan")
    await writer.check("#komentar [name=question]")
    await writer.click("#komentar button[type=submit]")
    item = reader.locator("#komentar [data-list] li.question")
    await item.wait_for(timeout=5000)
    assert await item.locator("strong").text_content() == "Siti"
    assert await item.locator("p").text_content() == "Mohon penjelasan anggaran pendidikan"


async def test_an_undone_hide_returns_to_its_place_on_the_page(
    aiohttp_server, aiohttp_client, config, store, live_sitting, browser
):
    server = await aiohttp_server(create_app(config))
    page = await browser.new_page()
    await page.goto(str(server.make_url(f"/sidang/{live_sitting}")))
    await expect(page.locator("[data-viewers]")).to_have_text("1")

    resident = await aiohttp_client(server)
    ws = await resident.ws_connect(f"/sidang/{live_sitting}/komentar/ws")
    ids = []
    for text in ("pertama", "kedua", "ketiga"):
        await post(ws, text)
        ids.append((await outcome(ws, text))["id"])
    items = page.locator("#komentar [data-list] li p")
    await expect(items).to_have_text(["pertama", "kedua", "ketiga"])

    moderator = await aiohttp_client(server)
    token = await log_in(moderator, store, "moderator")
    base = f"/moderasi/{live_sitting}/komentar/{ids[1]}"
    for verb, shown in (("sembunyikan", ["pertama", "ketiga"]), ("tampilkan", None)):
        response = await moderator.post(f"{base}/{verb}", headers={"X-CSRF-Token": token})
        assert response.status == 200
        await expect(items).to_have_text(shown or ["pertama", "kedua", "ketiga"])


async def test_the_page_keeps_only_the_latest_comments(
    aiohttp_server, config, store, live_sitting, browser
):
    """Hours of chat must not grow the page without bound: it keeps the last 300 comments."""
    server = await aiohttp_server(create_app(config))
    page = await browser.new_page()
    await page.goto(str(server.make_url(f"/sidang/{live_sitting}")))
    await expect(page.locator("[data-viewers]")).to_have_text("1")
    bus = server.app[keys.BUS]
    for n in range(1, 351):
        await bus.publish(channel_for(live_sitting), bus_comment(n, f"komentar {n}", "Warga"))
    items = page.locator("#komentar [data-list] li p")
    await expect(items.last).to_have_text("komentar 350")
    assert await items.count() == 300
    assert await items.first.text_content() == "komentar 51"


async def test_comments_that_arrive_late_take_their_place_on_the_page(
    aiohttp_server, config, store, live_sitting, browser
):
    """After a bus outage a node gets the other node's comments after its own newer ones: the
    hub marks them late and the page puts each at its place by id."""
    server = await aiohttp_server(create_app(config))
    page = await browser.new_page()
    await page.goto(str(server.make_url(f"/sidang/{live_sitting}")))
    await expect(page.locator("[data-viewers]")).to_have_text("1")
    bus = server.app[keys.BUS]
    for n in (1, 3, 5, 2, 4, 6):
        await bus.publish(channel_for(live_sitting), bus_comment(n, f"komentar {n}"))
    items = page.locator("#komentar [data-list] li p")
    await expect(items).to_have_text([f"komentar {n}" for n in range(1, 7)])
