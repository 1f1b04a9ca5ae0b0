"""Staff import and publish a Raperda; a resident on a 360 px touch phone picks a pasal and
proposes new wording for an ayat by tapping (no mouse, no text selection: CONSUL's annotations
break on touch); staff publish version 2 and the input is still on its pasal. Another resident
verifies by phone on the same kind of phone, from the pasal through the SMS code, and comments
under a display name, the number never shown (Debian Chromium)."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

import pytest

from server.app import create_app
from server.passwords import hash_password
from server.raperda import identity
from server.signing import Signer
from server.store import repo
from tests.browser import chromium, sign_in
from tests.conftest import TEST_PASSWORD
from tests.raperda_helpers import SAMPAH_V1, SAMPAH_V2
from tests.test_raperda import import_and_publish
from tests.test_raperda_phone import E164, app_config, gateway  # noqa: F401  (fixture)

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


def local(hours: int) -> str:
    moment = dt.datetime.now(dt.UTC) + dt.timedelta(hours=hours)
    return moment.astimezone(dt.timezone(dt.timedelta(hours=7))).strftime("%Y-%m-%dT%H:%M")


async def test_resident_proposes_wording_and_it_stays_on_its_pasal_in_version_2(
    aiohttp_server, make_config, database_url, store
):
    server = await aiohttp_server(create_app(make_config(database_url=database_url)))
    async with store.transaction() as session:
        await repo.create_user(
            session, "staf-raperda", hash_password(TEST_PASSWORD), "sekretariat", None
        )

    async with chromium() as browser:
        staff = await browser.new_page()
        await sign_in(staff, server, "staf-raperda", TEST_PASSWORD)
        await staff.goto(str(server.make_url("/raperda/kelola")))
        await staff.fill("textarea[name=source]", SAMPAH_V1)
        async with staff.expect_navigation():
            await staff.click("text=Impor dan periksa")
        draft_url = staff.url
        raperda_id = int(draft_url.rstrip("/").rsplit("/", 1)[1])
        assert await staff.locator("#form-terbitkan tbody tr").count() == 6  # six pasal
        await staff.fill("input[name=opens_at]", local(-1))
        await staff.fill("input[name=closes_at]", local(24 * 14))
        async with staff.expect_navigation():
            await staff.click("#form-data button[type=submit]")
        async with staff.expect_navigation():
            await staff.click("#form-terbitkan button[type=submit]")

        resident = await browser.new_page(viewport=PHONE, has_touch=True, is_mobile=True)
        token = identity.link_token(Signer("test-secret-key"), "Siti", "siti@example.com")
        await resident.goto(str(server.make_url(f"/raperda/identitas/{token}")))
        await resident.goto(str(server.make_url(f"/raperda/{raperda_id}")))
        assert "Konsultasi publik dibuka" in await resident.locator("#tahap").inner_text()
        await no_sideways_scroll(resident)
        pasal3 = resident.locator("article.pasal", has_text="Pasal 3")
        async with resident.expect_navigation():
            await pasal3.locator("a", has_text="beri masukan").tap()
        await resident.select_option("select[name=ayat]", "2")
        await resident.locator("label.choice", has_text="Usul perubahan").tap()
        assert await resident.is_checked("input[name=position][value=usul_perubahan]")
        await resident.fill("textarea[name=text]", "Sampah elektronik perlu dipisah juga.")
        await resident.fill(
            "textarea[name=proposed]",
            "(2) Pemilahan sampah dilakukan dengan memisahkan: a. sampah organik; "
            "b. sampah anorganik; c. sampah elektronik.",
        )
        await no_sideways_scroll(resident)
        async with resident.expect_navigation():
            await resident.tap("#form-masukan button[type=submit]")
        mine = resident.locator("ul.masukan > li", has_text="Sampah elektronik perlu")
        assert await mine.locator("ins", has_text="elektronik").count() == 1
        assert "ayat (2)" in await mine.inner_text()
        await no_sideways_scroll(resident)
        pasal_url = resident.url.split("?")[0]

        await staff.goto(draft_url)
        await staff.fill("#form-teks textarea[name=source]", SAMPAH_V2)
        async with staff.expect_navigation():
            await staff.click("#form-teks button[type=submit]")
        assert await staff.locator("text=Dipindah/dinomori ulang?").count() >= 1
        async with staff.expect_navigation():
            await staff.click("#form-terbitkan button[type=submit]")

        await resident.goto(pasal_url)
        assert (await resident.locator("h1").inner_text()).strip() == "Pasal 3"
        assert "Versi 2" in await resident.locator("main").inner_text()
        kept = resident.locator("ul.masukan > li", has_text="Sampah elektronik perlu")
        assert await kept.count() == 1 and "versi 1" in await kept.inner_text()
        assert await resident.locator("details summary", has_text="Perubahan").count() == 1
        await no_sideways_scroll(resident)


async def test_resident_verifies_by_phone_from_a_pasal_and_comments_under_a_name(
    aiohttp_server,
    make_config,
    database_url,
    store,
    gateway,  # noqa: F811
):
    server = await aiohttp_server(create_app(app_config(make_config, database_url, gateway.url)))
    raperda_id = await import_and_publish(server)

    async with chromium() as browser:
        resident = await browser.new_page(viewport=PHONE, has_touch=True, is_mobile=True)
        await resident.goto(str(server.make_url(f"/raperda/{raperda_id}")))
        pasal3 = resident.locator("article.pasal", has_text="Pasal 3")
        async with resident.expect_navigation():
            await pasal3.locator("a", has_text="beri masukan").tap()
        pasal_path = urlsplit(resident.url).path
        form = resident.locator("#form-masukan")
        assert await form.locator("button[type=submit]").is_disabled()
        async with resident.expect_navigation():
            await form.locator(".alert a", has_text="Verifikasi").tap()

        ask = resident.locator("form[action='/raperda/identitas/telepon']")
        await no_sideways_scroll(resident)
        await ask.locator("input[name=name]").fill("Sri Wahyuni")
        number = ask.locator("input[name=phone]")
        assert await number.get_attribute("type") == "tel"
        await number.tap()
        await resident.keyboard.type("0812 3456 7890")
        async with resident.expect_navigation():
            await ask.locator("button[type=submit]").tap()

        assert resident.url.endswith(f"/raperda/identitas/kode?next={pasal_path}")
        assert [sms["to"] for sms in gateway.received] == [E164]
        code = gateway.code()
        assert "0812-****-890" in await resident.locator("main [role=status]").inner_text()
        field = resident.locator("input[name=code]")
        assert await field.get_attribute("autocomplete") == "one-time-code"
        assert await field.get_attribute("inputmode") == "numeric"
        await no_sideways_scroll(resident)
        seen = [await resident.locator("body").inner_text()]
        await field.tap()
        await resident.keyboard.type(code)
        async with resident.expect_navigation():
            await resident.locator("form[action='/raperda/identitas/kode'] button").tap()

        # Verified, the resident is back on the pasal, at its input form, told so.
        assert resident.url.endswith(f"{pasal_path}?terverifikasi=1#form-masukan")
        main = resident.locator("main")
        assert (await resident.locator("h1").inner_text()).strip() == "Pasal 3"
        told = await form.locator("[role=status]").inner_text()
        assert "Nomor ponsel Anda terverifikasi" in told
        seen.append(await resident.locator("body").inner_text())
        assert await form.locator("button[type=submit]").is_enabled()
        sender = await form.locator("p.meta", has_text="Dikirim sebagai").inner_text()
        assert "Sri Wahyuni" in sender and "nomor ponsel terverifikasi" in sender
        await form.locator("label.choice", has_text="Tidak setuju").tap()
        assert await resident.is_checked("input[name=position][value=tidak_setuju]")
        await form.locator("textarea[name=text]").fill("Denda ini terlalu berat bagi warga kecil.")
        async with resident.expect_navigation():
            await form.locator("button[type=submit]").tap()

        assert "masukan Anda sudah tercatat" in await main.inner_text()
        mine = resident.locator("ul.masukan > li", has_text="Denda ini terlalu berat")
        assert (await mine.locator("strong").inner_text()).strip() == "Sri Wahyuni"
        assert (await mine.locator(".badge").inner_text()).strip() == "Tidak setuju"
        sender = await form.locator("p.meta", has_text="Dikirim sebagai").inner_text()
        assert "nomor ponsel terverifikasi" in sender
        await no_sideways_scroll(resident)
        seen.append(await resident.locator("body").inner_text())
        for text in seen:
            for part in ("3456", "7890", "81234567890"):
                assert part not in text, f"the number shows: {text}"
