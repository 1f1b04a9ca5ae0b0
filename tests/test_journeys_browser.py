"""Role journeys in Debian Chromium, at 1280 px and at a 360 px phone with no sideways scroll:
a moderator hides a comment, undoes it, refuses a negative slow mode and bans with a reason;
staff create a sitting with its agenda on the create form, then delete the draft. On a phone:
a resident shares the page and waits out slow mode; staff see where a trim really cuts, and
the live console's preview of the program plays. A member lands in the live room and votes
while the chair runs the floor and mute-all and reads the result; staff run a sitting from
creation through going live, agenda marks and a confirmed end to a trimmed, published archive."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect
from sqlalchemy import select

from media.source import SyntheticAudioTrack, SyntheticVideoTrack
from server import keys
from server.app import create_app
from server.documents import save_upload
from server.keys import COMMENTS
from server.passwords import hash_password
from server.schemas import DocumentMeta, parse
from server.store import repo
from server.store.models import AuditEntry, CommentBan, Sitting
from tests.archive_helpers import ended_sitting
from tests.browser import assert_no_sideways_scroll, chromium, sign_in
from tests.conftest import TEST_PASSWORD, empty_tables
from tests.live_helpers import scheduled_sitting
from tests.room_helpers import add_member, set_seats
from tests.test_comments import connect, outcome, post
from tests.test_pages import make_pdf

pytestmark = pytest.mark.browser

WIDTHS = [1280, 360]
ISO = re.compile(r"\d{4}-\d\d-\d\dT")


@pytest.fixture
async def database_url(sqlite_url):
    """The journeys exercise the pages (the store's two databases are covered elsewhere), each on
    an empty database."""
    await empty_tables(sqlite_url)
    return sqlite_url


def viewport(width: int) -> dict[str, int]:
    return {"width": width, "height": 800}


async def add_user(store, username: str, role: str) -> None:
    async with store.transaction() as session:
        await repo.create_user(session, username, hash_password(TEST_PASSWORD), role, None)


@pytest.mark.parametrize("width", WIDTHS)
async def test_a_moderator_hides_undoes_and_bans_with_a_reason(
    aiohttp_server, aiohttp_client, make_config, database_url, store, live_sitting, width
):
    server = await aiohttp_server(create_app(make_config(database_url=database_url)))
    await add_user(store, f"moderator-{width}", "moderator")
    resident = await connect(await aiohttp_client(server), live_sitting)
    for text in ("Kapan pasar Banjarsari dibuka?", "BELI OBAT MURAH DI SINI"):
        await post(resident, text, name="Warga")
        await outcome(resident, text)

    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": width, "height": 800})
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("dialog", lambda dialog: dialog.accept())
        await sign_in(page, server, f"moderator-{width}", TEST_PASSWORD)
        await page.goto(str(server.make_url(f"/moderasi/{live_sitting}")))
        live = page.locator("[data-list]")
        hidden = page.locator("[data-hidden-list]")
        asking = live.locator("li", has_text="pasar Banjarsari")
        await expect(asking).to_be_visible()
        await expect(page.locator("[data-hidden-empty]")).to_be_visible()

        await asking.get_by_role("button", name="Sembunyikan").click()
        await expect(hidden.locator("li", has_text="pasar Banjarsari")).to_be_visible()
        await expect(asking).to_have_count(0)
        await expect(page.locator("[data-hidden-empty]")).to_be_hidden()
        await assert_no_sideways_scroll(page)

        await hidden.get_by_role("button", name="Tampilkan lagi").click()
        await expect(asking).to_be_visible()
        await expect(hidden.locator("li")).to_have_count(0)
        await expect(page.locator("[data-hidden-empty]")).to_be_visible()

        slow = page.locator("[name=slow_mode_s]")
        await slow.fill("-5")
        await page.get_by_role("button", name="Simpan pengaturan").click()
        error = page.locator("#err-slow_mode_s")
        await expect(error).to_have_text("Mode lambat harus 0 sampai 600 detik.")
        await expect(slow).to_have_attribute("aria-invalid", "true")

        await page.locator("[data-ban-reason]").fill("Spam obat berulang")
        spam = live.locator("li", has_text="OBAT MURAH")
        await spam.get_by_role("button", name="Blokir").click()
        row = page.locator("[data-bans] tr", has_text="Spam obat berulang")
        await expect(row).to_be_visible()
        await expect(row).to_contain_text("WIB")
        await expect(page.locator("[data-status]")).to_contain_text("Diblokir sampai")
        await expect(page.locator("[data-status]")).not_to_have_text(ISO)
        await assert_no_sideways_scroll(page)
        assert errors == []

    async with store.read() as session:
        ban = await session.scalar(select(CommentBan))
    assert ban.reason == "Spam obat berulang"
    refused = await outcome_of(resident, "saya kembali")
    assert refused["code"] == "banned" and "WIB" in refused["message"]


async def outcome_of(ws, text: str) -> dict:
    await post(ws, text, name="Warga")
    return await outcome(ws, text)


@pytest.mark.parametrize("width", WIDTHS)
async def test_staff_create_a_sitting_with_its_agenda_and_delete_the_draft(
    aiohttp_server, make_config, database_url, store, width
):
    server = await aiohttp_server(create_app(make_config(database_url=database_url)))
    await add_user(store, f"staf-{width}", "sekretariat")
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": width, "height": 800})
        page.on("dialog", lambda dialog: dialog.accept())
        await sign_in(page, server, f"staf-{width}", TEST_PASSWORD)
        await page.goto(str(server.make_url("/konsol/rapat/baru")))
        await assert_no_sideways_scroll(page)
        await page.fill("[name=title]", "Rapat Paripurna Pembahasan Raperda Parkir")
        await page.fill("[name=starts_at]", "2026-12-10T09:00")
        await page.fill(
            "[name=agenda]", "Pembukaan\nPenyampaian laporan Pansus\nPengambilan keputusan"
        )
        await page.get_by_role("button", name="Simpan").click()
        await page.wait_for_url("**/konsol/rapat/*")
        agenda = page.locator("#acara .agenda-edit li input[name=title]")
        await expect(agenda).to_have_count(3)
        assert [await agenda.nth(i).input_value() for i in range(3)] == [
            "Pembukaan",
            "Penyampaian laporan Pansus",
            "Pengambilan keputusan",
        ]
        await assert_no_sideways_scroll(page)

        await page.get_by_role("button", name="Hapus rapat draf").click()
        await page.wait_for_url("**/konsol?tersimpan=dihapus")
        await expect(page.locator("[data-saved]")).to_have_text("Rapat draf dihapus.")
        await expect(page.get_by_text("Pembahasan Raperda Parkir")).to_have_count(0)
        await assert_no_sideways_scroll(page)

    async with store.read() as session:
        assert await session.scalar(select(Sitting)) is None
        actions = list(await session.scalars(select(AuditEntry.action)))
    assert actions.count("agenda.add") == 3 and "sitting.delete" in actions


async def test_a_resident_on_a_phone_shares_and_waits_out_slow_mode(
    aiohttp_server, make_config, database_url, store, live_sitting
):
    app = create_app(make_config(database_url=database_url))
    server = await aiohttp_server(app)
    await app[COMMENTS].update_settings(live_sitting, {"slow_mode_s": 30}, actor="moderator")
    async with chromium() as browser:
        context = await browser.new_context(viewport={"width": 360, "height": 740})
        await context.grant_permissions(["clipboard-read", "clipboard-write"])
        page = await context.new_page()
        await page.goto(str(server.make_url(f"/sidang/{live_sitting}")))
        empty = page.locator("#komentar [data-empty]")
        await expect(empty).to_have_text("Belum ada komentar. Tulis komentar pertama di bawah.")

        # No share sheet in desktop Chromium: the link is copied instead.
        await page.get_by_role("button", name="Bagikan").click()
        await expect(page.locator("[data-share-note]")).to_have_text("Tautan disalin.")
        copied = await page.evaluate("() => navigator.clipboard.readText()")
        assert copied.endswith(f"/sidang/{live_sitting}")

        await page.fill("#komentar [name=name]", "Siti")
        await page.fill("#komentar [name=text]", "Mohon jadwal perbaikan jalan")
        await page.click("#komentar [data-send]")
        await expect(page.locator("#komentar [data-list] li")).to_have_count(1)
        await expect(empty).to_be_hidden()
        await expect(page.locator("#komentar [data-send]")).to_be_disabled()
        await expect(page.locator("#komentar [data-countdown]")).to_have_text(
            re.compile(r"^Tunggu ([12]?[0-9]|30) dtk$")
        )
        await assert_no_sideways_scroll(page)


async def test_staff_see_where_a_trim_really_cuts_before_publishing(
    aiohttp_server, make_config, database_url, store, recording_template
):
    config = make_config(database_url=database_url)
    server = await aiohttp_server(create_app(config))
    sitting_id = await ended_sitting(store, config, recording_template)
    await add_user(store, "staf-potong", "sekretariat")
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 360, "height": 800})
        await sign_in(page, server, "staf-potong", TEST_PASSWORD)
        await page.goto(str(server.make_url(f"/konsol/rapat/{sitting_id}#arsip")))
        await page.fill("[name=trim_start]", "0:00:03")
        await page.fill("[name=trim_end]", "9")
        await page.press("[name=trim_end]", "Tab")  # each field answers on change
        start = page.locator('[data-cut="mulai"]')
        await expect(start.locator("figcaption")).to_have_text(
            "Awal potongan jatuh pada keyframe 0:00:02"
        )
        await expect(page.locator('[data-cut="selesai"] figcaption')).to_have_text(
            "Akhir potongan jatuh pada keyframe 0:00:08"
        )
        await page.wait_for_function(
            "() => document.querySelector('[data-cut=\"mulai\"] img').naturalWidth === 320"
        )
        await page.fill("[name=trim_end]", "5:00:00")
        await page.press("[name=trim_end]", "Tab")
        await expect(page.locator('[data-cut="selesai"] figcaption')).to_contain_text(
            "di luar rekaman"
        )
        await assert_no_sideways_scroll(page)


async def test_the_console_previews_what_residents_see(
    aiohttp_server, make_config, database_url, store
):
    app = create_app(make_config(database_url=database_url))
    server = await aiohttp_server(app)
    sitting_id, _ = await scheduled_sitting(store, "Paripurna Pratinjau")
    await app[keys.LIVE].start(sitting_id, actor="test")  # the slate, until the hall sends
    await add_user(store, "staf-pratinjau", "sekretariat")
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 360, "height": 800})
        await sign_in(page, server, "staf-pratinjau", TEST_PASSWORD)
        await page.goto(str(server.make_url(f"/konsol/rapat/{sitting_id}")))
        await page.wait_for_function(
            "() => { const v = document.getElementById('program-preview');"
            " return v.muted && v.videoHeight === 360 && v.currentTime > 0; }",
            timeout=20_000,
        )
        await assert_no_sideways_scroll(page)


async def job_done(page) -> None:
    """The console reloads itself while a recording job runs; it must end done, not failed."""
    job = page.locator("[data-job=done], [data-job=failed]")
    await job.wait_for(timeout=60_000)
    assert await job.get_attribute("data-job") == "done", await job.inner_text()


@pytest.mark.parametrize("width", WIDTHS)
async def test_a_member_lands_in_the_room_and_votes_while_the_chair_runs_the_floor(
    aiohttp_server, make_config, database_url, store, loopback_ice, width
):
    app = create_app(make_config(database_url=database_url))
    server = await aiohttp_server(app)
    sitting_id, _ = await scheduled_sitting(store, "Paripurna Perjalanan Anggota")
    live = await app[keys.LIVE].start(sitting_id, actor="test")
    await live.attach_hall(SyntheticVideoTrack("Aula", 640, 360), SyntheticAudioTrack())
    await set_seats(store, 2)
    member_id = await add_member(store, "Anggota Perjalanan")
    chair_member = await add_member(store, "Ketua Perjalanan")
    member_name, chair_name = f"anggota-{width}", f"pimpinan-{width}"
    async with store.transaction() as session:
        secret = hash_password(TEST_PASSWORD)
        await repo.create_user(session, member_name, secret, "anggota", member_id)
        await repo.create_user(session, chair_name, secret, "pimpinan", chair_member)

    async with chromium() as browser:
        member = await (
            await browser.new_context(viewport={"width": width, "height": 800})
        ).new_page()
        await sign_in(member, server, member_name, TEST_PASSWORD)
        assert member.url.endswith(f"/ruang/{sitting_id}"), "a member lands on the live room"
        await assert_no_sideways_scroll(member)
        await member.click("[data-join=audio]")
        await member.wait_for_selector("[data-room]:not([hidden])")
        await member.click("[data-hand]")

        chair = await (
            await browser.new_context(viewport={"width": width, "height": 800})
        ).new_page()
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
        await assert_no_sideways_scroll(chair)

        await chair.fill("[data-open-vote] input[name=title]", "Persetujuan Raperda Sampah")
        await chair.click("[data-open-vote] button[type=submit]")
        await member.wait_for_selector("[data-vote]:not([hidden])")
        await member.click("[data-choice=setuju]")
        await member.wait_for_selector("[data-vote-status]:has-text('Suara Anda sudah tercatat')")
        await assert_no_sideways_scroll(member)
        await chair.click("[data-choice=setuju]")
        await chair.wait_for_selector("[data-vote-status]:has-text('Suara Anda sudah tercatat')")
        await chair.click("[data-close-vote]")
        await member.wait_for_selector("[data-vote]", state="hidden")

        await chair.goto(str(server.make_url(f"/sidang/{sitting_id}")))
        result = chair.locator("[data-votes] li", has_text="Persetujuan Raperda Sampah")
        await result.wait_for()
        assert "Setuju 2" in await result.inner_text()
        await assert_no_sideways_scroll(chair)


@pytest.mark.parametrize("width", WIDTHS)
async def test_staff_run_a_sitting_from_creation_to_the_published_archive(
    aiohttp_server, make_config, database_url, store, width
):
    app = create_app(make_config(database_url=database_url))
    server = await aiohttp_server(app)
    username = f"staf-{width}"
    async with store.transaction() as session:
        await repo.create_user(session, username, hash_password(TEST_PASSWORD), "sekretariat", None)

    async with chromium() as browser:
        page = await (
            await browser.new_context(viewport={"width": width, "height": 800})
        ).new_page()
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
        await assert_no_sideways_scroll(page)

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
        await assert_no_sideways_scroll(page)

        await page.goto(str(server.make_url(f"/sidang/{sitting_id}")))
        chapter = page.locator("#acara-2 a.seek")
        await chapter.wait_for()
        assert float(await chapter.get_attribute("data-seek") or 0) > 0, "item 2 starts later"
        await chapter.click()
        await page.wait_for_function(
            "() => { const v = document.querySelector('video');"
            " return v && v.currentTime > 0 && !v.seeking; }"
        )
        await assert_no_sideways_scroll(page)


@pytest.mark.parametrize("width", WIDTHS)
async def test_a_resident_watches_comments_and_finds_a_document(
    aiohttp_server, make_config, database_url, store, width
):
    config = make_config(database_url=database_url)
    app = create_app(config)
    server = await aiohttp_server(app)
    sitting_id, _ = await scheduled_sitting(store, "Paripurna Perjalanan Warga")
    live = await app[keys.LIVE].start(sitting_id, actor="test")
    await live.attach_hall(SyntheticVideoTrack("Aula", 640, 360), SyntheticAudioTrack())
    meta = parse(
        DocumentMeta,
        {"jenis": "perda", "judul": "Perda Pengelolaan Sampah Rumah Tangga", "tahun": 2025},
    )
    await save_upload(store, config.documents_dir, "staf", meta, make_pdf(), "sampah.pdf")

    async with chromium() as browser:
        page = await browser.new_page(viewport=viewport(width))
        await page.goto(str(server.make_url("/")))
        async with page.expect_navigation():
            await page.click("a:has-text('Paripurna Perjalanan Warga')")
        await page.wait_for_function(
            "() => { const v = document.querySelector('video');"
            " return v && v.currentTime > 0.5 && !v.paused; }",
            timeout=30_000,
        )
        await assert_no_sideways_scroll(page)
        await page.fill("#komentar input[name=name]", "Warga Kraton")
        await page.fill("#komentar textarea[name=text]", "Kapan sampah di Kraton diangkut?")
        await page.click("#komentar [data-send]")
        await page.wait_for_selector("#komentar li:has-text('Kapan sampah di Kraton diangkut?')")

        await page.goto(str(server.make_url("/dokumen")))
        await page.fill("input[name=q]", "sampah")
        async with page.expect_navigation():
            await page.press("input[name=q]", "Enter")
        found = page.locator("a", has_text="Perda Pengelolaan Sampah Rumah Tangga").first
        await found.wait_for()
        await assert_no_sideways_scroll(page)
        href = await page.locator("a[href$='/unduh']").first.get_attribute("href")
        download = await page.request.get(str(server.make_url(href)))
        assert download.status == 200 and (await download.body()).startswith(b"%PDF")
