"""What each role expects and used to miss (issue 12): times in the DPRD's zone and the reader's
language, the moderator's hidden list, ban reasons and slow-mode refusals, the agenda on the
create form, deleting a draft, ingest warnings, the live agenda mark, and the trim preview."""

from __future__ import annotations

import base64
import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from server.app import create_app
from server.archive.formats import clock
from server.domain import localtime
from server.domain.ingest import ingest_warnings
from server.domain.moderation import Ban, Gate, Refused, Sender
from server.domain.sitting import SittingStatus
from server.http import error_message
from server.i18n import Translations, current_locale
from server.store import repo
from server.store.models import AgendaItem, AuditEntry, CommentBan, Sitting
from tests.archive_helpers import ended_sitting
from tests.factories import new_sitting
from tests.test_comments import connect, outcome, post, receive_until
from tests.test_moderation import moderated

UNTIL = dt.datetime(2026, 12, 2, 14, 30, tzinfo=dt.UTC)  # 21.30 WIB, 22.30 WITA


@pytest.fixture
def zone():
    """Set the DPRD's zone for one test; the default comes back afterwards."""
    yield localtime.use_zone
    localtime.use_zone(localtime.DEFAULT_ZONE)


def in_locale(locale: str, function, *args):
    token = current_locale.set(locale)
    try:
        return function(*args)
    finally:
        current_locale.reset(token)


# -- times and language ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "indonesian", "english"),
    [
        ("Asia/Jakarta", "2 Desember 2026 21.30 WIB", "2 December 2026 21:30 WIB"),
        ("Asia/Makassar", "2 Desember 2026 22.30 WITA", "2 December 2026 22:30 WITA"),
        ("Europe/Amsterdam", "2 Desember 2026 15.30 CET", "2 December 2026 15:30 CET"),
    ],
)
async def test_a_ban_reads_in_the_configured_zone_and_the_readers_language(
    zone, name, indonesian, english
):
    zone(name)

    class Counters(dict):
        async def get_value(self, key):
            return self.get(key)

        async def set_value(self, key, value, ttl_s=None):
            self[key] = value

    gate = Gate(Counters())
    sender = Sender("identitas-uji", "ip-uji")
    await gate.apply(Ban(sender.identity, None, UNTIL), now=UNTIL - dt.timedelta(hours=1))
    with pytest.raises(Refused) as refused:
        await gate.check_ban(sender)
    translations = Translations()
    said = in_locale("id", error_message, translations, refused.value)
    assert said == f"Anda diblokir dari kolom komentar sampai {indonesian}."
    assert in_locale("en", error_message, translations, refused.value) == (
        f"You are banned from the comments until {english}."
    )


async def test_pages_show_times_in_the_configured_zone(
    aiohttp_client, make_config, database_url, store, zone
):
    async with store.transaction() as session:
        sitting = await new_sitting(session, starts_at=UNTIL, status=SittingStatus.SCHEDULED)
    config = make_config(database_url=database_url, timezone="Asia/Makassar")
    client = await aiohttp_client(create_app(config))
    page = await (await client.get(f"/sidang/{sitting.id}")).text()
    assert "22.30 WITA" in page and "WIB" not in page
    english = await (await client.get(f"/sidang/{sitting.id}?lang=en")).text()
    assert "22:30 WITA" in english


# -- the moderator --------------------------------------------------------------------------------


async def test_hidden_comments_are_listed_with_an_undo_and_a_ban_keeps_its_reason(
    client, store, login, live_sitting
):
    call = moderated(client, await login("moderator", "moderator-alasan"))
    resident = await connect(client, live_sitting)
    await post(resident, "komentar kasar sekali")
    comment = await outcome(resident, "komentar kasar sekali")
    page = await (await client.get(f"/moderasi/{live_sitting}")).text()
    assert "Belum ada komentar yang disembunyikan." in page
    assert f'data-undo="{comment["id"]}"' not in page

    status, _ = await call(f"/moderasi/{live_sitting}/komentar/{comment['id']}/sembunyikan")
    assert status == 200
    page = await (await client.get(f"/moderasi/{live_sitting}")).text()
    hidden = page.split("data-hidden-list", 1)[1].split("</ol>", 1)[0]
    assert "komentar kasar sekali" in hidden and f'data-undo="{comment["id"]}"' in hidden

    status, _ = await call(f"/moderasi/{live_sitting}/komentar/{comment['id']}/tampilkan")
    assert status == 200
    restored = await receive_until(resident, "comment")
    assert restored["id"] == comment["id"] and restored.get("restored")
    page = await (await client.get(f"/moderasi/{live_sitting}")).text()
    assert f'data-undo="{comment["id"]}"' not in page

    # A ban: its reason is kept, listed and audited; its end reads as a time, not ISO 8601.
    status, body = await call(
        f"/moderasi/{live_sitting}/komentar/{comment['id']}/blokir",
        {"minutes": 60, "reason": "  spam obat berulang  "},
    )
    assert status == 200
    assert body["reason"] == "spam obat berulang" and body["actor"] == "moderator-alasan"
    assert re.fullmatch(r"\d{1,2} \w+ \d{4} \d\d\.\d\d WIB", body["until_text"]), body
    async with store.read() as session:
        row = await session.get(CommentBan, body["id"])
        audit = await session.scalar(select(AuditEntry).where(AuditEntry.action == "comment.ban"))
    assert row.reason == "spam obat berulang"
    assert "spam obat berulang" in audit.detail and audit.actor == "moderator-alasan"
    page = await (await client.get(f"/moderasi/{live_sitting}")).text()
    assert f'data-ban="{body["id"]}"' in page and "spam obat berulang" in page
    assert "data-ban-reason" in page


async def test_a_bad_slow_mode_is_refused_beside_its_field_and_not_saved(
    client, login, live_sitting
):
    call = moderated(client, await login("moderator"))
    assert (await call(f"/moderasi/{live_sitting}/pengaturan", {"slow_mode_s": 30}))[0] == 200
    for typed in (-5, 2.5, "", "lima", 601):
        status, body = await call(f"/moderasi/{live_sitting}/pengaturan", {"slow_mode_s": typed})
        assert status == 400, typed
        assert body["fields"]["slow_mode_s"] == "Mode lambat harus 0 sampai 600 detik."
    page = await (await client.get(f"/moderasi/{live_sitting}")).text()
    assert 'name="slow_mode_s" min="0" max="600" value="30"' in page, "the old value stays"


# -- the console ----------------------------------------------------------------------------------


SITTING_FORM = {
    "title": "Rapat Paripurna Penetapan APBD",
    "type": "paripurna",
    "starts_at": "2026-12-10T09:00",
    "location": "Ruang Paripurna",
    "quorum_rule": "1/2",
    "is_public": "on",
}


async def test_staff_create_a_sitting_with_its_agenda_in_one_form(client, store, login):
    token = await login("sekretariat", "staf-agenda")
    agenda = "Pembukaan\n" + "x" * 301
    response = await client.post(
        "/konsol/rapat/baru", data={**SITTING_FORM, "agenda": agenda, "csrf_token": token}
    )
    assert response.status == 400
    html = await response.text()
    assert 'id="err-agenda"' in html and "paling banyak 300 karakter per baris" in html
    assert "Pembukaan\n" + "x" * 301 in html, "what was typed stays"
    async with store.read() as session:
        assert await session.scalar(select(func.count()).select_from(Sitting)) == 0
        assert await session.scalar(select(func.count()).select_from(AgendaItem)) == 0

    response = await client.post(
        "/konsol/rapat/baru",
        data={
            **SITTING_FORM,
            "agenda": "Pembukaan\n\n  Laporan Banggar  \r\nPengambilan keputusan\n",
            "csrf_token": token,
        },
        allow_redirects=False,
    )
    assert response.status == 303
    sitting_id = int(re.search(r"/konsol/rapat/(\d+)", response.headers["Location"]).group(1))
    async with store.read() as session:
        sitting = await repo.get_sitting(session, sitting_id, public_only=False)
        added = await session.scalar(select(func.count()).where(AuditEntry.action == "agenda.add"))
    titles = [(i.position, i.title) for i in sitting.agenda_items]
    assert titles == [(1, "Pembukaan"), (2, "Laporan Banggar"), (3, "Pengambilan keputusan")]
    assert added == 3


async def test_only_a_draft_can_be_deleted_and_it_is_audited(client, store, login):
    token = await login("sekretariat", "staf-hapus")
    async with store.transaction() as session:
        draft = await new_sitting(session, title="Rapat draf keliru", agenda=["Pembukaan"])
        scheduled = await new_sitting(session, status=SittingStatus.SCHEDULED)
    page = await (await client.get(f"/konsol/rapat/{draft.id}")).text()
    assert f'action="/konsol/rapat/{draft.id}/hapus"' in page and "data-confirm=" in page
    page = await (await client.get(f"/konsol/rapat/{scheduled.id}")).text()
    assert "/hapus" not in page.split('id="status"', 1)[1].split("</section>", 1)[0]

    refused = await client.post(
        f"/konsol/rapat/{scheduled.id}/hapus", data={"csrf_token": token}, allow_redirects=False
    )
    assert refused.status == 409
    deleted = await client.post(
        f"/konsol/rapat/{draft.id}/hapus", data={"csrf_token": token}, allow_redirects=False
    )
    assert deleted.status == 303 and deleted.headers["Location"] == "/konsol?tersimpan=dihapus"
    assert "Rapat draf dihapus." in await (await client.get("/konsol?tersimpan=dihapus")).text()
    async with store.read() as session:
        assert await session.get(Sitting, draft.id) is None
        assert await session.get(Sitting, scheduled.id) is not None
        audit = await session.scalar(
            select(AuditEntry).where(AuditEntry.action == "sitting.delete")
        )
    assert audit.actor == "staf-hapus" and audit.target == f"sitting:{draft.id}"


def test_ingest_warnings_name_a_low_frame_rate_and_restarts():
    found = ingest_warnings(
        target_fps=30,
        input_connected=True,
        input_fps=17.4,
        output_fps=5.8,
        restarts={"720p": 2, "360p": 0},
    )
    translations = Translations()
    said = [translations.format(w.message, w.params) for w in found]
    assert said == [
        "Gambar dari aula hanya 17.4 fps (seharusnya 30): periksa OBS dan jaringan aula.",
        "Siaran keluar hanya 5.8 fps dari 30: penonton melihat gambar patah-patah; "
        "server kewalahan.",
        "Rendisi 720p dimulai ulang 2 kali; periksa log server.",
    ]
    healthy = ingest_warnings(
        target_fps=30, input_connected=True, input_fps=29.8, output_fps=30, restarts={"720p": 0}
    )
    assert healthy == []
    no_hall = ingest_warnings(
        target_fps=30, input_connected=False, input_fps=0, output_fps=30, restarts={}
    )
    assert no_hall == [], "no hall input is the slate, said elsewhere"


# -- the public page ------------------------------------------------------------------------------


async def test_the_item_under_discussion_is_marked_and_followed(client, store):
    async with store.transaction() as session:
        sitting = await new_sitting(
            session, status=SittingStatus.LIVE, agenda=["Pembukaan", "Laporan", "Penutup"]
        )
        first, second, _ = sitting.agenda_items
        await repo.update_agenda_item(session, first, {"start_offset": 0.0})
        await repo.update_agenda_item(session, second, {"start_offset": 300.0})
    page = await (await client.get(f"/sidang/{sitting.id}")).text()
    assert re.search(r'id="acara-2" data-position="2" class="current" aria-current="true"', page)
    assert page.count('aria-current="true"') == 1 and "Sedang dibahas" in page
    assert "data-share" in page and "Bagikan" in page
    assert "Belum ada komentar. Tulis komentar pertama di bawah." in page
    assert "data-countdown" in page and "data-label-wait=" in page
    summary = await (await client.get(f"/sidang/{sitting.id}/kuorum")).json()
    assert summary["agenda_item"] == 2


# -- the trim preview -----------------------------------------------------------------------------


async def test_the_trim_preview_shows_the_keyframe_a_cut_snaps_to(
    client,
    login,
    store,
    config,
    recording_template,
):
    sitting_id = await ended_sitting(store, config, recording_template)
    await login("sekretariat")
    base = f"/konsol/rapat/{sitting_id}/arsip/titik"
    as_json = {"Accept": "application/json"}  # as staff.js asks
    start = await (await client.get(base, params={"t": "0:00:03", "sisi": "mulai"})).json()
    # 2 s segments, each starting on a keyframe: a cut at 3 s keeps the segment from 2 s on,
    # an end at 9 s keeps up to 8 s (the segment 8-10 s lies mostly after it).
    assert start["asked"] == 3.0 and start["at"] == pytest.approx(2.0, abs=0.05)
    assert start["clock"] == clock(start["at"])
    image = base64.b64decode(start["image"].removeprefix("data:image/jpeg;base64,"))
    assert image[:3] == b"\xff\xd8\xff", "a JPEG"
    end = await (await client.get(base, params={"t": "9", "sisi": "selesai"})).json()
    assert end["at"] == pytest.approx(8.0, abs=0.05) and end["image"].startswith(
        "data:image/jpeg;base64,"
    )

    outside = await client.get(base, params={"t": "5:00:00", "sisi": "selesai"}, headers=as_json)
    assert outside.status == 400
    assert "di luar rekaman" in (await outside.json())["fields"]["trim_end"]
    unreadable = await client.get(base, params={"t": "abc"}, headers=as_json)
    assert unreadable.status == 400
    assert "jam:menit:detik" in (await unreadable.json())["fields"]["trim_start"]
    page = await (await client.get(f"/konsol/rapat/{sitting_id}")).text()
    assert "data-cut-preview" in page
