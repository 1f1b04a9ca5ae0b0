"""Public pages, the staff console forms, uploads and the iCalendar feed."""

import datetime as dt
import io

import aiohttp
import icalendar
import pytest
from pypdf import PdfWriter

from server.app import create_app
from server.domain.sitting import SittingStatus
from server.store import repo
from tests.conftest import log_in
from tests.factories import new_sitting


def make_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


async def public_sitting(store, title="Paripurna <b>APBD</b>", status="live"):
    async with store.transaction() as session:
        return await new_sitting(
            session,
            title=title,
            status=SittingStatus(status),
            agenda=["Pembukaan <script>x</script>"],
        )


async def test_home_lists_live_and_upcoming(client, store):
    await public_sitting(store)
    html = await (await client.get("/")).text()
    assert "DPRD Kota Pekalongan" in html
    assert "Sedang berlangsung" in html
    assert "Paripurna &lt;b&gt;APBD&lt;/b&gt;" in html, "titles are escaped"


async def test_sitting_page_shows_agenda_escaped(client, store):
    sitting = await public_sitting(store)
    response = await client.get(f"/sidang/{sitting.id}")
    html = await response.text()
    assert response.status == 200
    assert "Pembukaan &lt;script&gt;x&lt;/script&gt;" in html
    assert "<script>x</script>" not in html


async def test_english_is_available(client, store):
    await public_sitting(store)
    html = await (await client.get("/?lang=en")).text()
    assert "Live now" in html and "Sedang berlangsung" not in html
    again = await (await client.get("/")).text()
    assert "Live now" in again, "the choice is remembered in a cookie"


async def test_ical_feed_parses_and_lists_public_sittings(client, store):
    sitting = await public_sitting(store, title="Paripurna, APBD; 2027", status="scheduled")
    response = await client.get("/jadwal.ics")
    assert response.content_type == "text/calendar"
    calendar = icalendar.Calendar.from_ical(await response.read())
    events = list(calendar.walk("VEVENT"))
    assert len(events) == 1
    event = events[0]
    assert str(event["summary"]) == "Paripurna, APBD; 2027"
    assert event.decoded("dtstart") == dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)
    assert str(event["uid"]).startswith(f"sitting-{sitting.id}@")
    assert "Pembukaan" in str(event["description"])


async def test_console_creates_and_edits_a_sitting_through_forms(client, login, store):
    token = await login("sekretariat")
    response = await client.post(
        "/konsol/rapat/baru",
        data={
            "csrf_token": token,
            "title": "Rapat Banmus",
            "type": "banmus",
            "starts_at": "2026-04-01T10:00",
            "location": "Ruang Banmus",
            "komisi": "",
            "quorum_rule": "1/2",
            "is_public": "on",
        },
        allow_redirects=False,
    )
    assert response.status == 303
    url = response.headers["Location"]
    page = await client.get(url)
    html = await page.text()
    assert "Rapat Banmus" in html and "/whip/" in html
    sitting_id = int(url.rsplit("/", 1)[1])
    await client.post(f"{url}/acara", data={"csrf_token": token, "title": "Pembukaan"})
    await client.post(f"{url}/acara", data={"csrf_token": token, "title": "Penutup"})
    async with store.read() as session:
        sitting = await repo.get_sitting(session, sitting_id, public_only=False)
        assert [i.title for i in sitting.agenda_items] == ["Pembukaan", "Penutup"]
        second = sitting.agenda_items[1].id
    await client.post(f"{url}/acara/{second}/naik", data={"csrf_token": token})
    await client.post(f"{url}/status", data={"csrf_token": token, "status": "scheduled"})
    async with store.read() as session:
        sitting = await repo.get_sitting(session, sitting_id, public_only=False)
        assert [i.title for i in sitting.agenda_items] == ["Penutup", "Pembukaan"]
        assert sitting.status == "scheduled"


async def test_console_form_errors_are_shown_not_saved(client, login, store):
    token = await login("sekretariat")
    response = await client.post(
        "/konsol/rapat/baru",
        data={
            "csrf_token": token,
            "title": "",
            "type": "paripurna",
            "starts_at": "kemarin",
            "quorum_rule": "1/2",
        },
    )
    assert response.status == 400
    html = await response.text()
    assert "Wajib diisi" in html and "Tanggal dan jam belum benar" in html
    assert "ISO 8601" not in html, "plain language, not a standard's name"
    async with store.read() as session:
        assert await repo.list_sittings(session, public_only=False) == []


async def test_pdf_upload_is_stored_under_its_hash_and_downloadable(client, login, store, config):
    sitting = await public_sitting(store)
    token = await login("sekretariat")
    pdf = make_pdf()
    response = await client.post(
        "/api/v1/documents",
        headers={"X-CSRF-Token": token},
        data={
            "file": io.BytesIO(pdf),
            "jenis": "raperda",
            "judul": "Raperda Pengelolaan Sampah",
            "tahun": "2026",
            "nomor": "5",
            "sitting_id": str(sitting.id),
        },
    )
    assert response.status == 201, await response.text()
    document = await response.json()
    stored = config.documents_dir / document["sha256"][:2] / f"{document['sha256']}.pdf"
    assert stored.read_bytes() == pdf
    download = await client.get(document["url"])
    assert download.status == 200 and download.content_type == "application/pdf"
    assert await download.read() == pdf


@pytest.mark.parametrize("payload", [b"MZ\x90\x00 not a pdf at all", b"%PDF-1.7 truncated junk"])
async def test_a_non_pdf_renamed_to_pdf_is_refused(client, login, store, config, payload):
    token = await login("sekretariat")
    form = aiohttp.FormData({"jenis": "perda", "judul": "Perda palsu", "tahun": "2026"})
    form.add_field("file", payload, filename="perda.pdf", content_type="application/pdf")
    response = await client.post("/api/v1/documents", headers={"X-CSRF-Token": token}, data=form)
    assert response.status == 400
    assert "PDF" in (await response.json())["error"]
    async with store.read() as session:
        assert await repo.list_documents(session) == []
    assert not any(config.documents_dir.rglob("*.pdf"))


async def test_oversize_upload_is_a_413(aiohttp_client, make_config, database_url, store):
    client = await aiohttp_client(
        create_app(make_config(database_url=database_url, max_upload_bytes=64 * 1024))
    )
    token = await log_in(client, store, "sekretariat")
    response = await client.post(
        "/api/v1/documents",
        headers={"X-CSRF-Token": token},
        data={
            "file": io.BytesIO(b"%PDF-" + b"0" * 200_000),
            "jenis": "perda",
            "judul": "x",
            "tahun": "2026",
        },
    )
    assert response.status == 413
    assert "terlalu besar" in (await response.json())["error"]


async def test_upload_with_bad_metadata_leaves_no_file(client, login, store, config):
    token = await login("sekretariat")
    response = await client.post(
        "/api/v1/documents",
        headers={"X-CSRF-Token": token},
        data={
            "file": io.BytesIO(make_pdf()),
            "jenis": "perda",
            "judul": "x",
            "tahun": "2026",
            "sitting_id": "424242",
        },
    )
    assert response.status == 400
    assert not any(config.documents_dir.rglob("*.pdf"))
    assert not any(config.documents_dir.rglob("*.part"))


def _section(html: str, heading: str) -> str:
    """The text from a schedule heading to the next one."""
    start = html.index(f"<h2>{heading}</h2>")
    end = html.find("<h2>", start + 1)
    return html[start : end if end != -1 else len(html)]


async def test_schedule_groups_by_status_live_first(client, store):
    now = dt.datetime.now(dt.UTC)
    async with store.transaction() as session:
        for title, status, starts_at in (
            ("Rapat Molor", SittingStatus.LIVE, now - dt.timedelta(hours=5)),
            ("Rapat Esok", SittingStatus.SCHEDULED, now + dt.timedelta(days=1)),
            ("Rapat Tertunda", SittingStatus.SCHEDULED, now - dt.timedelta(days=1)),
            ("Rapat Selesai Cepat", SittingStatus.ENDED, now + dt.timedelta(hours=1)),
            ("Rapat Lalu", SittingStatus.ENDED, now - dt.timedelta(days=7)),
        ):
            await new_sitting(session, title=title, status=status, starts_at=starts_at)
        published = await new_sitting(
            session, title="Rapat Terbit", status=SittingStatus.ENDED, starts_at=now
        )
        published.status = SittingStatus.PUBLISHED.value
    html = await (await client.get("/jadwal")).text()
    assert (
        html.index("Sedang berlangsung")
        < html.index("Akan datang")
        < html.index("Sudah berlangsung")
    )
    live = _section(html, "Sedang berlangsung")
    upcoming = _section(html, "Akan datang")
    past = _section(html, "Sudah berlangsung")
    assert "Rapat Molor" in live and "Rapat Molor" not in past
    assert upcoming.index("Rapat Tertunda") < upcoming.index("Rapat Esok")
    assert "Rapat Terbit" in past and "Rapat Terbit" not in upcoming
    assert "Rapat Selesai Cepat" in past
    assert past.index("Rapat Selesai Cepat") < past.index("Rapat Terbit") < past.index("Rapat Lalu")


async def test_future_sittings_are_not_in_the_archive(client, store):
    now = dt.datetime.now(dt.UTC)
    async with store.transaction() as session:
        await new_sitting(
            session,
            title="Rapat Retribusi Mendatang",
            status=SittingStatus.SCHEDULED,
            starts_at=now + dt.timedelta(days=3),
            agenda=["Retribusi parkir"],
        )
        await new_sitting(
            session,
            title="Rapat Retribusi Lalu",
            status=SittingStatus.ENDED,
            starts_at=now - dt.timedelta(days=3),
        )
    for params in ({}, {"q": "retribusi"}):
        html = await (await client.get("/arsip", params=params)).text()
        assert "Rapat Retribusi Lalu" in html
        assert "Mendatang" not in html and "Retribusi parkir" not in html


@pytest.mark.parametrize(
    "path",
    ["/sidang/abc", "/ruang/abc", "/sidang/999999", "/halaman-tidak-ada", "/dokumen/x/unduh"],
)
async def test_error_pages_use_the_layout_and_the_readers_language(client, path):
    english = await client.get(path, headers={"Cookie": "sidang_lang=en"})
    assert english.status == 404
    assert english.content_type == "text/html"
    html = await english.text()
    assert '<html lang="en"' in html and 'href="/jadwal"' in html, "the site's layout"
    assert "Back to the home page" in html and "tidak ditemukan" not in html
    indonesian = await (await client.get(path, headers={"Cookie": "sidang_lang=id"})).text()
    assert "Kembali ke beranda" in indonesian


async def test_a_method_a_route_does_not_take_gets_a_page_too(client):
    response = await client.get("/ruang/1/hadir", headers={"Cookie": "sidang_lang=en"})
    assert response.status == 405 and response.headers["Allow"] == "POST"
    html = await response.text()
    assert "This address does not accept" in html and "Back to the home page" in html


async def test_ending_a_live_sitting_from_the_console_asks_first(client, store):
    token = await log_in(client, store, "sekretariat")
    sitting = await public_sitting(store, title="Paripurna Akhir", status="live")
    page = await (await client.get(f"/konsol/rapat/{sitting.id}")).text()
    panel = page.index('id="siaran"')
    assert panel < page.index('id="status"'), "the live controls are on top"
    assert "Mulai acara" in page[panel : page.index('id="status"')]
    assert "Ubah ke: Selesai" not in page
    url = f"/konsol/rapat/{sitting.id}/status"
    asked = await client.post(url, data={"csrf_token": token, "status": "ended"})
    assert asked.status == 200
    assert "Akhiri siaran langsung sekarang?" in await asked.text()
    async with store.read() as session:
        assert (await repo.get_sitting(session, sitting.id, public_only=False)).status == "live"
    ended = await client.post(
        url, data={"csrf_token": token, "status": "ended", "confirm": "ya"}, allow_redirects=False
    )
    assert ended.status == 303
    async with store.read() as session:
        assert (await repo.get_sitting(session, sitting.id, public_only=False)).status == "ended"


async def test_an_oversize_upload_from_the_console_comes_back_to_the_form(
    aiohttp_client, make_config, database_url, store
):
    client = await aiohttp_client(
        create_app(make_config(database_url=database_url, max_upload_bytes=64 * 1024))
    )
    token = await log_in(client, store, "sekretariat")
    sitting = await public_sitting(store, title="Paripurna Unggah", status="scheduled")
    page = await (await client.get(f"/konsol/rapat/{sitting.id}")).text()
    assert "maks. 64 KB" in page
    form = aiohttp.FormData({"csrf_token": token, "judul": "Risalah", "tahun": "2026"})
    form.add_field("file", b"%PDF-" + b"0" * 200_000, filename="besar.pdf")
    response = await client.post(f"/konsol/dokumen?rapat={sitting.id}", data=form)
    assert response.status == 413
    html = await response.text()
    assert "Paripurna Unggah" in html and 'id="unggah"' in html, "the form, not a dead end"
    assert (
        '<p class="field-error" role="alert" id="err-file">'
        "Berkas terlalu besar: paling besar 64 KB.</p>" in html
    )


async def test_upload_mistakes_show_beside_the_field_and_success_is_confirmed(client, login, store):
    token = await login("sekretariat")
    sitting = await public_sitting(store, title="Paripurna Dokumen", status="scheduled")
    page = await (await client.get(f"/konsol/rapat/{sitting.id}")).text()
    assert "maks. 25 MB" in page
    url = f"/konsol/dokumen?rapat={sitting.id}"
    fields = {"csrf_token": token, "sitting_id": str(sitting.id), "jenis": "risalah"}
    fake = aiohttp.FormData({**fields, "judul": "Risalah Rapat", "tahun": "2026"})
    fake.add_field("file", b"MZ bukan pdf", filename="risalah.pdf")
    refused = await client.post(url, data=fake)
    assert refused.status == 400
    html = await refused.text()
    assert 'id="err-file"' in html and 'value="Risalah Rapat"' in html, "what was typed stays"
    missing = aiohttp.FormData({**fields, "judul": "", "tahun": "2026"})
    missing.add_field("file", make_pdf(), filename="risalah.pdf")
    html = await (await client.post(url, data=missing)).text()
    assert '<p class="field-error" role="alert" id="err-judul">Wajib diisi.' in html
    good = aiohttp.FormData({**fields, "judul": "Risalah Rapat", "tahun": "2026"})
    good.add_field("file", make_pdf(), filename="risalah.pdf")
    saved = await client.post(url, data=good, allow_redirects=False)
    assert saved.status == 303
    assert saved.headers["Location"] == f"/konsol/rapat/{sitting.id}?tersimpan=dokumen#dokumen"
    confirmed = await (await client.get(saved.headers["Location"])).text()
    assert '<p class="alert notice" role="status" data-saved>Dokumen tersimpan.</p>' in confirmed
