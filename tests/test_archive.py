"""The archive: publishing a cut recording, chapters and deep links, comment replay, captions,
search on both databases, documents, feeds and range requests."""

from __future__ import annotations

import asyncio
import datetime as dt
import xml.etree.ElementTree as ET

import aiohttp
import feedparser
import icalendar
import pytest

from server.domain.errors import Conflict
from server.domain.sitting import SittingStatus, SittingType
from server.keys import ARCHIVE
from server.store import repo
from server.store.models import Comment, RecordingJob, utcnow
from tests.archive_helpers import (
    EDIT,
    ended_sitting,
    finished,
    mdats,
    publish,
    text_pdf,
    visitor,
)
from tests.conftest import log_in, seed_live_sitting
from tests.factories import new_sitting
from tests.test_pages import make_pdf


async def test_publish_workflow_and_permissions(client, login, store, config, recording_template):
    sitting_id = await ended_sitting(store, config, recording_template)
    async with visitor(client) as resident, visitor(client) as member:
        await _publish_workflow(client, login, store, sitting_id, resident, member)


async def _publish_workflow(client, login, store, sitting_id, resident, member):
    page = await resident.get(f"/sidang/{sitting_id}")
    assert "Rekaman sedang diproses" in await page.text()
    assert (await resident.get(f"/sidang/{sitting_id}/rekaman/index.m3u8")).status == 404
    assert (await resident.get(f"/live/{sitting_id}/recording.mp4")).status == 404

    member_token = await log_in(member, store, "anggota")
    refused = await member.post(
        f"/konsol/rapat/{sitting_id}/arsip", data={**EDIT, "csrf_token": member_token}
    )
    assert refused.status == 403

    token = await login("sekretariat")
    edited = await client.post(
        f"/konsol/rapat/{sitting_id}/arsip",
        data={**EDIT, "csrf_token": token},
        allow_redirects=False,
    )
    assert edited.status == 303
    await finished(client, sitting_id)
    preview = await client.get(f"/sidang/{sitting_id}/rekaman/recording.mp4")
    assert preview.status == 200 and preview.headers["Cache-Control"] == "no-store"
    assert (await resident.get(f"/sidang/{sitting_id}/rekaman/recording.mp4")).status == 404
    console = await client.get(f"/konsol/rapat/{sitting_id}")
    assert "0:06" in await console.text()

    published = await client.post(
        f"/konsol/rapat/{sitting_id}/arsip/terbitkan",
        data={"csrf_token": token},
        allow_redirects=False,
    )
    assert published.status == 303
    await finished(client, sitting_id)
    assert 'data-job="done"' in await (await client.get(f"/konsol/rapat/{sitting_id}")).text()
    detail = await (await resident.get(f"/api/v1/sittings/{sitting_id}")).json()
    assert detail["status"] == "published"
    page = await (await resident.get(f"/sidang/{sitting_id}")).text()
    assert f'data-src="/sidang/{sitting_id}/rekaman/index.m3u8"' in page
    assert "Rekaman sedang diproses" not in page
    master = await resident.get(f"/sidang/{sitting_id}/rekaman/index.m3u8")
    assert master.status == 200 and "360p/index.m3u8" in await master.text()
    media = await resident.get(f"/sidang/{sitting_id}/rekaman/360p/index.m3u8")
    assert (await media.text()).count("#EXTINF") == 3
    segment = await resident.get(f"/sidang/{sitting_id}/rekaman/360p/seg00002.m4s")
    assert segment.status == 200 and segment.content_type == "video/iso.segment"
    poster = await resident.get(f"/sidang/{sitting_id}/rekaman/poster.jpg")
    assert poster.status == 200 and (await poster.read())[:2] == b"\xff\xd8"
    # Still staff-only: the raw recording holds the closed-door part.
    assert (await resident.get(f"/live/{sitting_id}/720p/index.m3u8")).status == 404


async def test_behind_nginx_the_app_checks_and_nginx_sends_the_file(
    client, login, store, config, recording_template
):
    """deploy/nginx.conf asks with X-Sidang-Accel; the app answers who may see what, and where
    the file is, never its bytes."""
    sitting_id = await ended_sitting(store, config, recording_template)
    accel = {"X-Sidang-Accel": "/_media/"}
    async with visitor(client) as resident:
        unpublished = await resident.get(
            f"/sidang/{sitting_id}/rekaman/recording.mp4", headers=accel
        )
        assert unpublished.status == 404 and "X-Accel-Redirect" not in unpublished.headers
        await publish(client, await login("sekretariat"), sitting_id)
        segment = await resident.get(
            f"/sidang/{sitting_id}/rekaman/360p/seg00002.m4s", headers=accel
        )
        assert segment.status == 200 and await segment.read() == b""
        assert (
            segment.headers["X-Accel-Redirect"]
            == f"/_media/{sitting_id}/published/360p/seg00002.m4s"
        )
        assert segment.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        download = await resident.get(f"/sidang/{sitting_id}/rekaman/recording.mp4", headers=accel)
        assert download.headers["X-Accel-Redirect"].endswith("/published/recording.mp4")
        assert "attachment" in download.headers["Content-Disposition"]
        direct = await resident.get(f"/sidang/{sitting_id}/rekaman/360p/seg00002.m4s")
        assert "X-Accel-Redirect" not in direct.headers and len(await direct.read()) > 0


async def test_chapters_follow_the_cut_within_a_segment(
    client, login, store, config, recording_template
):
    sitting_id = await ended_sitting(store, config, recording_template)
    await publish(client, await login("sekretariat"), sitting_id)
    async with visitor(client) as resident:
        chapters = await (await resident.get(f"/sidang/{sitting_id}/rekaman/bab.vtt")).text()
        assert chapters.startswith("WEBVTT")
        assert "00:00:00.500 --> 00:00:04.500\n1. Pembukaan" in chapters
        assert "00:00:04.500 --> 00:00:06.000\n2. Pengesahan penganggaran daerah" in chapters

        deep = await resident.get(f"/sidang/{sitting_id}/agenda/2", allow_redirects=False)
        assert deep.status == 302
        assert deep.headers["Location"] == f"/sidang/{sitting_id}?t=4.5#acara-2"
        page = await (await resident.get(f"/sidang/{sitting_id}?t=4.5")).text()
        assert 'data-start="4.5"' in page and 'data-seek="4.5"' in page

        event = await (await resident.get(f"/api/v1/events/{sitting_id}")).json()
        assert event["agenda"][1]["media_reference"]["offset"] == 4.5
        assert event["media"][0]["duration"] == 6.0
        assert event["agenda"][2]["media_reference"] is None

        # Raw 8.5 s lies in raw segment 4; published 4.5 s must play that same segment's samples.
        raw = (config.media_dir / str(sitting_id) / "360p" / "seg00004.m4s").read_bytes()
        cut = (
            config.media_dir / str(sitting_id) / "published" / "360p" / "seg00002.m4s"
        ).read_bytes()
        assert mdats(raw) == mdats(cut)


async def test_comment_replay_shows_visible_comments_on_the_published_clock(
    client, login, store, config, recording_template
):
    sitting_id = await ended_sitting(store, config, recording_template)
    async with store.transaction() as session:
        for offset, text, flags in (
            (3.0, "Terlihat awal", {}),
            (7.0, "Saat rapat tertutup", {}),
            (9.0, "Disembunyikan moderator", {"hidden": True}),
            (9.5, "Masih ditahan", {"held": True}),
            (9.2, "Terlihat akhir", {}),
        ):
            session.add(
                Comment(
                    sitting_id=sitting_id,
                    identity_hash="i" * 64,
                    ip_hash="p" * 64,
                    name="Warga",
                    text=text,
                    at=utcnow(),
                    offset_s=offset,
                    **flags,
                )
            )
    await publish(client, await login("sekretariat"), sitting_id)
    async with visitor(client) as resident:
        body = await (await resident.get(f"/sidang/{sitting_id}/rekaman/komentar.json")).json()
        assert [(c["text"], c["offset"]) for c in body["items"]] == [
            ("Terlihat awal", 1.0),
            ("Terlihat akhir", pytest.approx(5.2)),
        ]
        page = await (await resident.get(f"/sidang/{sitting_id}")).text()
        assert 'id="replay-list"' in page
        assert 'id="komentar"' not in page, "comments are listed once, in the replay"


async def test_range_requests_on_recordings_and_documents(
    client, login, store, config, recording_template
):
    sitting_id = await ended_sitting(store, config, recording_template)
    token = await login("sekretariat")
    await publish(client, token, sitting_id)
    async with visitor(client) as resident:
        for name in ("recording.mp4", "audio.m4a"):
            url = f"/sidang/{sitting_id}/rekaman/{name}"
            whole = await (await resident.get(url)).read()
            part = await resident.get(url, headers={"Range": "bytes=100-199"})
            assert part.status == 206
            assert part.headers["Content-Range"] == f"bytes 100-199/{len(whole)}"
            assert await part.read() == whole[100:200]
            assert "attachment" in part.headers["Content-Disposition"]

        form = aiohttp.FormData(
            {"csrf_token": token, "jenis": "perda", "judul": "Perda APBD", "tahun": "2026"}
        )
        form.add_field("file", text_pdf("Anggaran pendapatan"), filename="perda.pdf")
        uploaded = await client.post("/konsol/dokumen", data=form, allow_redirects=False)
        assert uploaded.status == 303
        async with store.read() as session:
            document = (await repo.list_documents(session))[0]
        tail = await resident.get(f"/dokumen/{document.id}/unduh", headers={"Range": "bytes=-10"})
        assert tail.status == 206 and (await tail.read()).endswith(b"%%EOF\n")


async def test_captions_are_validated_mapped_and_searchable(
    client, login, store, config, recording_template
):
    sitting_id = await ended_sitting(store, config, recording_template)
    token = await login("sekretariat")
    headers = {"X-CSRF-Token": token, "Content-Type": "text/vtt"}
    url = f"/api/v1/sittings/{sitting_id}/captions"
    for bad in (b"not a caption file", b"WEBVTT\n\n00:00:05.000 -> 00:00:04.000\nx\n"):
        refused = await client.put(url, data=bad, headers=headers)
        assert refused.status == 400, await refused.text()
    await publish(client, token, sitting_id)
    vtt = (
        "WEBVTT\n\nNOTE dibuat dari rekaman publik\n\n"
        "1\n00:00:01.000 --> 00:00:02.500\n<v Ketua>Rapat dibuka.\n\n"
        "00:00:05.000 --> 00:00:05.800 line:90%\nPenganggaran pendidikan disetujui.\n"
    )
    stored = await client.put(url, data=vtt.encode(), headers=headers)
    assert stored.status == 200 and (await stored.json())["cues"] == 2

    async with visitor(client) as resident:
        track = await (await resident.get(f"/sidang/{sitting_id}/rekaman/teks.vtt")).text()
        assert "00:00:05.000 --> 00:00:05.800\nPenganggaran pendidikan disetujui." in track
        assert "Ketua: Rapat dibuka." in track
        found = await (await resident.get("/api/v1/search?q=anggaran&kind=cue")).json()
        assert [(r["kind"], r["url"]) for r in found["items"]] == [
            ("cue", f"/sidang/{sitting_id}?t=5.0")
        ]
        assert "Penganggaran" in found["items"][0]["snippet"]


async def test_search_stems_filters_and_follows_changes(client, login, store):
    async with store.transaction() as session:
        sitting = await repo.create_sitting(
            session,
            type=SittingType.KOMISI,
            title="Rapat Komisi B",
            starts_at=dt.datetime(2025, 3, 4, 2, 0, tzinfo=dt.UTC),
            komisi="Komisi B",
        )
        item = await repo.add_agenda_item(
            session, sitting, title="Pembahasan penganggaran APBD", description="Tahun 2026"
        )
        hidden = await repo.create_sitting(
            session,
            type=SittingType.PARIPURNA,
            title="Rapat anggaran tertutup",
            starts_at=dt.datetime(2025, 3, 5, 2, 0, tzinfo=dt.UTC),
            is_public=False,
        )
        await repo.change_status(session, sitting, SittingStatus.SCHEDULED)
        await repo.change_status(session, hidden, SittingStatus.SCHEDULED)
        sitting_id, item_id = sitting.id, item.id

    async def search(q: str, **params) -> list[tuple[str, int]]:
        response = await client.get("/api/v1/search", params={"q": q, **params})
        assert response.status == 200, await response.text()
        return [(r["kind"], r["id"]) for r in (await response.json())["items"]]

    assert await search("anggaran") == [("agenda", item_id)]
    assert await search("ANGGARAN apbd", tahun="2025", bulan="3") == [("agenda", item_id)]
    assert await search("anggaran", tahun="2024") == []
    assert await search("komisi", komisi="Komisi B", kind="sitting") == [("sitting", sitting_id)]

    token = await login("sekretariat")
    renamed = await client.patch(
        f"/api/v1/sittings/{sitting_id}/agenda/{item_id}",
        json={"title": "Pendapatan daerah"},
        headers={"X-CSRF-Token": token},
    )
    assert renamed.status == 200
    assert await search("anggaran") == []
    assert await search("dapat") == [("agenda", item_id)]

    form = aiohttp.FormData(
        {"csrf_token": token, "jenis": "raperda", "judul": "Raperda Retribusi", "tahun": "2025"}
    )
    form.add_field("file", text_pdf("Penyelenggaraan perparkiran di tepi jalan"), filename="r.pdf")
    assert (await client.post("/konsol/dokumen", data=form, allow_redirects=False)).status == 303
    documents = await search("parkir")
    assert [kind for kind, _ in documents] == ["document"]
    page = await (await client.get("/arsip", params={"q": "parkir"})).text()
    assert "Raperda Retribusi" in page and "perparkiran" in page
    browse = await (await client.get("/arsip", params={"tahun": "2025"})).text()
    assert "Rapat Komisi B" not in browse, "the archive holds sittings that took place"
    async with store.transaction() as session:
        held = await repo.get_sitting(session, sitting_id, public_only=False)
        for status in (SittingStatus.LIVE, SittingStatus.ENDED):
            await repo.change_status(session, held, status)
    browse = await (await client.get("/arsip", params={"tahun": "2025"})).text()
    assert "Rapat Komisi B" in browse and "tertutup" not in browse


async def test_documents_list_filters_status_and_flags_scans(client, login, store):
    token = await login("sekretariat")
    ids = []
    for judul, jenis, tahun, pdf in (
        ("Perda Pajak Daerah", "perda", "2020", text_pdf("Pajak daerah")),
        ("Perda Perubahan Pajak", "perda", "2024", text_pdf("Perubahan pajak")),
        ("Risalah pindaian", "risalah", "2024", None),
    ):
        form = aiohttp.FormData({"jenis": jenis, "judul": judul, "tahun": tahun})
        form.add_field("file", pdf or make_pdf(), filename="d.pdf")
        created = await client.post("/api/v1/documents", data=form, headers={"X-CSRF-Token": token})
        assert created.status == 201, await created.text()
        ids.append((await created.json())["id"])
    changed = await client.patch(
        f"/api/v1/documents/{ids[0]}",
        json={"status": "diubah", "changed_by_id": ids[1]},
        headers={"X-CSRF-Token": token},
    )
    assert changed.status == 200 and (await changed.json())["changed_by_id"] == ids[1]

    page = await (
        await client.get("/dokumen", params={"jenis": "perda", "status": "diubah"})
    ).text()
    assert "Perda Pajak Daerah" in page and "Perda Perubahan Pajak" in page  # linked changer
    assert f'id="dokumen-{ids[1]}"' not in page
    found = await (await client.get("/api/v1/documents/search", params={"q": "pajak"})).json()
    assert {d["id"] for d in found["items"]} == set(ids[:2])
    by_year = await (await client.get("/api/v1/documents/search", params={"tahun": "2024"})).json()
    assert {d["id"] for d in by_year["items"]} == set(ids[1:])
    console = await (await client.get("/konsol/dokumen")).text()
    assert console.count("PDF pindaian tanpa teks") == 1


async def test_feeds_parse(client, login, store, config, recording_template):
    sitting_id = await ended_sitting(store, config, recording_template, title="Paripurna & APBD")
    token = await login("sekretariat")
    await publish(client, token, sitting_id)
    async with store.transaction() as session:
        await repo.create_document(
            session,
            jenis="perda",
            judul="Perda <APBD>",
            tahun=2026,
            sha256="a" * 64,
            size=1,
            original_filename="p.pdf",
        )
    async with visitor(client) as resident:
        atom = await resident.get("/arsip.atom")
        assert atom.content_type == "application/atom+xml"
        feed = feedparser.parse(await atom.read())
        assert not feed.bozo, feed.bozo_exception
        titles = {e.title for e in feed.entries}
        assert titles == {"Rekaman: Paripurna & APBD", "Dokumen: Perda <APBD>"}
        sitemap = ET.fromstring(await (await resident.get("/sitemap.xml")).read())
        locations = [
            e.text for e in sitemap.iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")
        ]
        assert f"{config.public_url}/sidang/{sitting_id}" in locations
        calendar = icalendar.Calendar.from_ical(await (await resident.get("/jadwal.ics")).read())
        assert any(e.get("summary") == "Paripurna & APBD" for e in calendar.walk("VEVENT"))


async def test_start_agenda_item_uses_the_stream_clock(client, login, store):
    sitting_id = await seed_live_sitting(store)
    async with store.transaction() as session:
        sitting = await repo.get_sitting(session, sitting_id, public_only=False)
        first = await repo.add_agenda_item(session, sitting, title="Satu", start_offset=0.0)
        second = await repo.add_agenda_item(session, sitting, title="Dua")
        live_started = sitting.live_started_at = utcnow() - dt.timedelta(seconds=90)
        first_id, second_id = first.id, second.id
    token = await login("sekretariat")
    before = (utcnow() - live_started).total_seconds()
    started = await client.post(
        f"/api/v1/sittings/{sitting_id}/agenda/{second_id}/start",
        headers={"X-CSRF-Token": token},
    )
    after = (utcnow() - live_started).total_seconds()
    assert started.status == 200
    # The stream clock when the request was served (to 0.1 s), however long the machine took.
    assert before - 0.05 <= (await started.json())["start_offset"] <= after + 0.05
    detail = await (await client.get(f"/api/v1/sittings/{sitting_id}")).json()
    offsets = {a["id"]: (a["start_offset"], a["end_offset"]) for a in detail["agenda"]}
    assert offsets[first_id][1] == offsets[second_id][0]


async def test_a_recording_job_runs_after_the_answer_and_one_at_a_time(client, login, store):
    """The console answers at once and shows the job; a second one waits its turn."""
    async with store.transaction() as session:
        sitting_id = (await new_sitting(session, status=SittingStatus.ENDED)).id
    token = await login("sekretariat")
    archive, gate = client.app[ARCHIVE], asyncio.Event()

    async def held(sitting_id: int, actor: str, params: dict) -> None:
        await gate.wait()

    archive.kinds["held"] = held
    await archive.start(sitting_id, "held", "uji")
    console = await (await client.get(f"/konsol/rapat/{sitting_id}")).text()
    assert 'data-job="running"' in console and 'http-equiv="refresh"' in console
    second = await client.post(
        f"/konsol/rapat/{sitting_id}/arsip", data={**EDIT, "csrf_token": token}
    )
    assert second.status == 409 and "sedang diproses" in await second.text()
    gate.set()
    assert (await archive.wait(sitting_id)).error is None

    failing = await client.post(
        f"/konsol/rapat/{sitting_id}/arsip",
        data={**EDIT, "csrf_token": token},
        allow_redirects=False,
    )
    assert failing.status == 303  # answered before the work, which then fails
    job = await archive.wait(sitting_id)
    assert job.kind == "edit" and job.error is not None
    console = await (await client.get(f"/konsol/rapat/{sitting_id}")).text()
    assert 'data-job="failed"' in console and "Rapat ini tidak memiliki rekaman." in console
    assert 'http-equiv="refresh"' not in console


async def test_a_publish_cut_short_by_a_dead_node_is_taken_over_and_finished(
    client, store, config, recording_template
):
    """The node running a publish died (its heartbeat stopped a minute ago): the next sweep
    of a live node runs it again, and the sitting ends up published, not stuck "running"."""
    sitting_id = await ended_sitting(store, config, recording_template)
    a_minute_ago = utcnow() - dt.timedelta(minutes=1)
    async with store.transaction() as session:
        session.add(
            RecordingJob(
                sitting_id=sitting_id,
                kind="publish",
                actor="sekretariat",
                state="running",
                started_at=a_minute_ago,
                heartbeat_at=a_minute_ago,
            )
        )
    archive = client.app[ARCHIVE]
    assert await archive.resume_stale() == 1
    assert await archive.resume_stale() == 0, "a job is taken over once"
    job = await archive.wait(sitting_id)
    assert job is not None and job.state == "done" and job.error is None
    async with store.read() as session:
        sitting = await repo.get_sitting(session, sitting_id, public_only=False)
        row = await session.get(RecordingJob, sitting_id)
    assert sitting.status == SittingStatus.PUBLISHED.value
    assert row.attempts == 2


async def test_a_running_job_with_a_beating_node_is_left_alone(client, store):
    async with store.transaction() as session:
        sitting_id = (await new_sitting(session, status=SittingStatus.ENDED)).id
        session.add(
            RecordingJob(
                sitting_id=sitting_id, kind="publish", actor="sekretariat", state="running"
            )
        )
    assert await client.app[ARCHIVE].resume_stale() == 0
    with pytest.raises(Conflict):
        await client.app[ARCHIVE].start(sitting_id, "edit", "uji")


@pytest.mark.parametrize(
    ("field", "typed", "said"),
    [
        ("trim_start", "abc", "Tulis detik (754) atau jam:menit:detik (0:12:34)."),
        ("trim_end", "0:00:01", "Waktu selesai harus setelah waktu mulai."),
        ("trim_end", "0:00:30", "Waktu ini di luar rekaman (panjang rekaman 0:00:12)."),
        ("cuts", "5:00:00 - 6:00:00", "Bagian 5:00:00 - 6:00:00 di luar rekaman"),
        ("cuts", "8 - 6", "Baris 1: waktu selesai harus setelah waktu mulai."),
    ],
)
async def test_a_trim_mistake_comes_back_beside_its_field(
    client, login, store, config, recording_template, field, typed, said
):
    sitting_id = await ended_sitting(store, config, recording_template)
    token = await login("sekretariat")
    response = await client.post(
        f"/konsol/rapat/{sitting_id}/arsip",
        data={**EDIT, field: typed, "csrf_token": token},
        allow_redirects=False,
    )
    assert response.status == 400
    html = await response.text()
    assert 'id="arsip"' in html and "Kembali ke beranda" not in html, "the console, not a dead end"
    error_id = "err-" + field.replace("_", "-")
    assert f'<span class="field-error" id="{error_id}">{said}' in html.replace("&#39;", "'")
    assert f'value="{typed}"' in html or f">{typed}</textarea>" in html, "what was typed stays"
    assert await client.app[ARCHIVE].latest(sitting_id) is None, "no job starts"


async def test_an_ended_sitting_with_a_recording_has_one_publish_button(
    client, login, store, config, recording_template
):
    sitting_id = await ended_sitting(store, config, recording_template)
    await login("sekretariat")
    page = await (await client.get(f"/konsol/rapat/{sitting_id}")).text()
    assert "Publikasikan rekaman" in page
    assert 'name="status" value="published"' not in page
