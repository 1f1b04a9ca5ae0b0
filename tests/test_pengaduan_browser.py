"""A resident on a 360 px phone files a complaint with a photo and follows it by the secret
link while staff verify, forward and finish it (Debian Chromium)."""

from __future__ import annotations

import pytest

from server.app import create_app
from server.passwords import hash_password
from server.store import pengaduan as store_pengaduan
from server.store import repo
from tests.browser import chromium, sign_in
from tests.conftest import TEST_PASSWORD
from tests.pengaduan_helpers import DATA_KEY, jpeg, png, seed_category

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}


@pytest.fixture
def database_url(sqlite_url):
    """The browser test exercises the pages, not the store: SQLite is enough."""
    return sqlite_url


async def no_sideways_scroll(page) -> None:
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"page is {overflow}px wider than a 360 px screen"


async def test_resident_files_and_follows_while_staff_handle(
    aiohttp_server, make_config, database_url, store, tmp_path
):
    config = make_config(database_url=database_url, data_keys=(DATA_KEY,))
    server = await aiohttp_server(create_app(config))
    async with store.read() as session:
        seeded = {c.name for c in await store_pengaduan.categories(session)}
    if "Jalan dan infrastruktur" not in seeded:  # migration 0009 seeds it; emptied tables do not
        await seed_category(store)
    async with store.transaction() as session:
        await repo.create_user(
            session, "staf-pengaduan", hash_password(TEST_PASSWORD), "sekretariat", None
        )
    photo = tmp_path / "jalan.jpg"
    photo.write_bytes(jpeg((640, 480)))

    async with chromium() as browser:
        resident = await browser.new_page(viewport=PHONE)
        await resident.goto(str(server.make_url("/pengaduan")))
        await no_sideways_scroll(resident)
        await resident.select_option("select[name=category]", label="Jalan dan infrastruktur")
        await resident.fill("textarea[name=description]", "Jalan berlubang besar di depan pasar.")
        await resident.fill("input[name=kelurahan]", "Podosugih")
        await resident.set_input_files("input[name=photos]", str(photo))
        await resident.fill("input[name=email]", "warga@contoh.id")
        async with resident.expect_navigation():
            await resident.click("#form-pengaduan button[type=submit]")
        shown_link = await resident.input_value("input.tautan")
        secret_link = str(server.make_url(shown_link[shown_link.index("/pengaduan/") :]))
        code = (await resident.locator("h1 .kode").inner_text()).strip()
        assert code.startswith("ADU-") and f"/pengaduan/{code}?k=" in shown_link
        assert await resident.locator(".foto img").count() == 1
        await no_sideways_scroll(resident)

        staff = await browser.new_page()
        await sign_in(staff, server, "staf-pengaduan", TEST_PASSWORD)
        await staff.goto(str(server.make_url("/pengaduan/kelola")))
        await staff.click(f"a[href='/pengaduan/kelola/{code}']")
        steps = [
            ("diverifikasi", {"message": "Laporan sudah kami cek."}),
            ("diteruskan", {"opd": "Dinas PUPR", "message": "Diteruskan ke Dinas PUPR."}),
            ("ditindaklanjuti", {"message": "Perbaikan dijadwalkan."}),
            ("selesai", {"message": "Jalan sudah ditambal."}),
        ]
        for status, fields in steps:
            await staff.select_option("select[name=status]", status)
            for name, value in fields.items():
                await staff.fill(f"[name={name}]", value)
            async with staff.expect_navigation():
                await staff.click("form[action$='/status'] button[type=submit]")
            await resident.goto(secret_link)
            history = await resident.locator(".riwayat").inner_text()
            assert fields["message"] in history
            await no_sideways_scroll(resident)
        assert "Selesai" in await resident.locator("h1 + .meta").inner_text()


async def test_with_map_tiles_a_tap_places_the_report_and_the_list_shows_its_marker(
    aiohttp_server, make_config, database_url, store
):
    """SIDANG_MAP_TILES set: the tile server (served here by Playwright, no network) fills the
    map, a tap on it fills the location, and the filed report is a marker on the public map."""
    tiles = "https://tiles.test/{z}/{x}/{y}.png"
    config = make_config(database_url=database_url, data_keys=(DATA_KEY,), map_tiles=tiles)
    server = await aiohttp_server(create_app(config))
    async with store.read() as session:
        seeded = {c.name for c in await store_pengaduan.categories(session)}
    if "Jalan dan infrastruktur" not in seeded:
        await seed_category(store)
    tile = png((256, 256))
    served: list[str] = []

    async def serve_tile(route) -> None:
        served.append(route.request.url)
        await route.fulfill(status=200, content_type="image/png", body=tile)

    async with chromium() as browser:
        resident = await browser.new_page(viewport=PHONE)
        await resident.route("https://tiles.test/**", serve_tile)
        await resident.goto(str(server.make_url("/pengaduan")))
        await resident.wait_for_selector("#peta .leaflet-tile-loaded")
        assert served and all(url.endswith(".png") for url in served)
        assert await resident.input_value("#lat") == ""
        await resident.click("#peta", position={"x": 120, "y": 80})
        lat, lon = await resident.input_value("#lat"), await resident.input_value("#lon")
        assert -7.0 < float(lat) < -6.8 and 109.6 < float(lon) < 109.8, (lat, lon)
        assert await resident.locator("#peta .leaflet-marker-icon").count() == 1
        await no_sideways_scroll(resident)
        await resident.select_option("select[name=category]", label="Jalan dan infrastruktur")
        await resident.fill("textarea[name=description]", "Lampu jalan mati di dekat alun-alun.")
        async with resident.expect_navigation():
            await resident.click("#form-pengaduan button[type=submit]")
        code = (await resident.locator("h1 .kode").inner_text()).strip()

        await resident.goto(str(server.make_url("/pengaduan/daftar")))
        await resident.wait_for_selector("#peta-laporan .leaflet-marker-icon")
        await resident.click("#peta-laporan .leaflet-marker-icon")
        assert await resident.locator(".leaflet-popup-content a").inner_text() == code
        await no_sideways_scroll(resident)
