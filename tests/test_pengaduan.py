"""Pengaduan over HTTP, on SQLite and PostgreSQL: filing, the secret link, personal data,
handling with deadlines, e-mail, moderation and merging."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select, text

from server.app import create_app
from server.keys import PENGADUAN
from server.store.models import AuditEntry, Complaint
from tests.conftest import csrf_token_for, log_in
from tests.pengaduan_helpers import DATA_KEY, file_report, jpeg, seed_category


@pytest.fixture
def make_client(aiohttp_client, make_config, database_url, store):
    async def make(**overrides):
        values = {"database_url": database_url, "data_keys": (DATA_KEY,), **overrides}
        return await aiohttp_client(create_app(make_config(**values)))

    return make


@pytest.fixture
async def pclient(make_client):
    return await make_client()


@pytest.fixture
async def category(store) -> int:
    return await seed_category(store)


async def test_form_is_served_with_csrf_and_categories(pclient, category):
    response = await pclient.get("/pengaduan")
    body = await response.text()
    assert response.status == 200
    assert 'name="csrf_token"' in body and "Jalan dan infrastruktur" in body
    assert 'enctype="multipart/form-data"' in body
    assert "<script>" not in body  # no inline script; the page's JS is a static file
    assert "geolocation=(self)" in response.headers["Permissions-Policy"]


async def test_filing_answers_with_code_and_secret_link(pclient, store, category):
    code, secret, response = await file_report(pclient, category)
    assert code.startswith(f"ADU-{dt.date.today().year}-")
    page = await pclient.get(response.headers["Location"])
    body = await page.text()
    assert page.status == 200 and code in body and f"?k={secret}" in body
    assert page.headers["Referrer-Policy"] == "no-referrer"
    async with store.read() as session:
        row = (await session.scalars(select(Complaint))).one()
    assert row.secret_hash != secret and secret not in row.secret_hash
    assert row.komisi == "Komisi C" and row.status == "diterima"


async def test_a_code_already_taken_is_drawn_again(pclient, store, category, monkeypatch):
    first, _, _ = await file_report(pclient, category)
    year = first.split("-")[1]
    fresh = f"ADU-{year}-ZZZZZ" if not first.endswith("ZZZZZ") else f"ADU-{year}-22222"
    draws = iter([first, first, fresh])
    monkeypatch.setattr("server.pengaduan.codes.new_code", lambda _year: next(draws))
    second, _, response = await file_report(pclient, category, description="Lampu jalan mati.")
    assert response.status == 303 and second == fresh
    async with store.read() as session:
        assert sorted(await session.scalars(select(Complaint.code))) == sorted([first, fresh])


async def test_secret_link_works_without_account_and_wrong_secret_does_not(pclient, category):
    code, secret, _ = await file_report(pclient, category, privacy="rahasia")
    fresh = pclient  # no login anywhere in this test
    assert (await fresh.get(f"/pengaduan/{code}?k={secret}")).status == 200
    assert (await fresh.get(f"/pengaduan/{code}?k=wrong")).status == 404
    assert (await fresh.get(f"/pengaduan/{code}")).status == 404


async def test_missing_fields_are_shown_beside_the_field(pclient, category):
    _, _, response = await file_report(pclient, category, description="", location="", kelurahan="")
    body = await response.text()
    assert response.status == 400
    assert 'id="err-description"' in body and 'id="err-location"' in body


async def test_photos_are_cleaned_and_bad_ones_refused_beside_the_field(pclient, store, category):
    token = await csrf_token_for(pclient)
    form = {
        "csrf_token": token,
        "category": str(category),
        "description": "Lampu jalan mati",
        "kelurahan": "Kergon",
        "privacy": "biasa",
    }
    from aiohttp import FormData

    data = FormData(form)
    data.add_field("photos", b"<svg xmlns='http://www.w3.org/2000/svg'/>", filename="a.jpg")
    response = await pclient.post("/pengaduan", data=data)
    body = await response.text()
    assert response.status == 400 and 'id="err-photos"' in body and "SVG" in body

    data = FormData(form)
    data.add_field("photos", jpeg() + b"<?php system($_GET[1]); ?>", filename="b.jpg")
    body = await (await pclient.post("/pengaduan", data=data)).text()
    assert "memuat data lain" in body

    data = FormData(form)
    data.add_field("photos", jpeg(), filename="c.jpg", content_type="image/jpeg")
    data.add_field("photos", jpeg((10, 10)), filename="d.png", content_type="image/png")
    response = await pclient.post("/pengaduan", data=data, allow_redirects=False)
    assert response.status == 303
    location = response.headers["Location"]
    code = location.split("/")[2].split("?")[0]
    secret = location.split("k=")[1].split("&")[0]
    photo = await pclient.get(f"/pengaduan/{code}/foto/1.jpg?k={secret}")
    assert photo.status == 200 and photo.content_type == "image/jpeg"
    assert (await pclient.get(f"/pengaduan/{code}/foto/3.jpg?k={secret}")).status == 404


async def test_contact_is_encrypted_at_rest(pclient, store, category):
    await file_report(
        pclient, category, name="Siti Aminah", phone="081234567890", email="siti@contoh.id"
    )
    async with store.read() as session:
        rows = (await session.execute(text("SELECT * FROM complaint"))).all()
    raw = repr(rows)
    for plain in ("Siti Aminah", "081234567890", "siti@contoh.id", "contoh"):
        assert plain not in raw


async def test_without_a_data_key_contact_is_refused_and_startup_says_so(
    make_client, category, caplog
):
    with caplog.at_level(logging.WARNING, logger="server.pengaduan.views"):
        client = await make_client(data_keys=())
    assert sum("SIDANG_DATA_KEY" in r.message for r in caplog.records) == 1
    _, _, response = await file_report(client, category, phone="0812345678")
    body = await response.text()
    assert response.status == 400 and 'id="err-contact"' in body and "kunci enkripsi" in body
    code, _, _ = await file_report(client, category)
    assert code


async def test_reading_contact_is_role_limited_and_audited(pclient, store, category):
    biasa, _, _ = await file_report(pclient, category, name="Budi", phone="0811111111")
    anonim, _, _ = await file_report(
        pclient,
        category,
        name="Rahmat",
        phone="0822222222",
        privacy="anonim",
        description="Saluran tersumbat di gang 3",
    )
    token = await log_in(pclient, store, "sekretariat", "staf1")
    shown = await pclient.post(f"/pengaduan/kelola/{biasa}/kontak", data={"csrf_token": token})
    assert shown.status == 200 and "0811111111" in await shown.text()
    denied = await pclient.post(f"/pengaduan/kelola/{anonim}/kontak", data={"csrf_token": token})
    assert denied.status == 403 and "0822222222" not in await denied.text()
    async with store.read() as session:
        entries = (await session.scalars(select(AuditEntry))).all()
    seen = {(e.actor, e.action, e.target) for e in entries}
    assert ("staf1", "pengaduan.contact.read", biasa) in seen
    assert ("staf1", "pengaduan.contact.denied", anonim) in seen


async def test_admin_reads_anonim_identity(pclient, store, category):
    anonim, _, _ = await file_report(pclient, category, name="Rahmat", privacy="anonim")
    token = await log_in(pclient, store, "admin")
    shown = await pclient.post(f"/pengaduan/kelola/{anonim}/kontak", data={"csrf_token": token})
    assert shown.status == 200 and "Rahmat" in await shown.text()


async def test_reporter_erases_contact_through_secret_link(pclient, store, category):
    code, secret, _ = await file_report(pclient, category, phone="0811111111")
    token = await csrf_token_for(pclient)
    response = await pclient.post(
        f"/pengaduan/{code}/hapus-kontak", data={"csrf_token": token, "k": secret}
    )
    assert response.status == 200
    async with store.read() as session:
        row = (await session.scalars(select(Complaint))).one()
    assert row.contact_token is None


async def _status(client, token, code, status, **fields):
    return await client.post(
        f"/pengaduan/kelola/{code}/status",
        data={"csrf_token": token, "status": status, **fields},
        allow_redirects=False,
    )


async def test_status_flow_with_history_for_reporter_and_public(pclient, store, category):
    code, secret, _ = await file_report(pclient, category)
    token = await log_in(pclient, store, "sekretariat")
    assert (await _status(pclient, token, code, "selesai")).status == 409
    assert (
        await _status(pclient, token, code, "diverifikasi", message="Sudah dicek")
    ).status == 303
    forwarded = await _status(
        pclient, token, code, "diteruskan", opd="Dinas PUPR", message="Ke PUPR"
    )
    assert forwarded.status == 303
    await _status(pclient, token, code, "ditindaklanjuti", message="Ditambal minggu ini")
    await _status(pclient, token, code, "selesai", message="Sudah ditambal")
    async with store.read() as session:
        row = (await session.scalars(select(Complaint))).one()
        audit = (await session.scalars(select(AuditEntry.action))).all()
    assert row.status == "selesai" and row.opd == "Dinas PUPR"
    assert row.verified_at and row.followed_at and row.closed_at and row.due_on is None
    assert audit.count("pengaduan.status") == 4
    reporter = await (await pclient.get(f"/pengaduan/{code}?k={secret}")).text()
    public = await (await pclient.get(f"/pengaduan/{code}")).text()
    for body in (reporter, public):
        for message in ("Sudah dicek", "Ke PUPR", "Ditambal minggu ini", "Sudah ditambal"):
            assert message in body
        assert "Dinas PUPR" in body and "WIB" in body


async def test_refusal_needs_a_reason(pclient, store, category):
    code, _, _ = await file_report(pclient, category)
    token = await log_in(pclient, store, "sekretariat")
    assert (await _status(pclient, token, code, "ditolak")).status == 400
    assert (
        await _status(pclient, token, code, "ditolak", message="Bukan wewenang DPRD")
    ).status == 303
    body = await (await pclient.get(f"/pengaduan/{code}")).text()
    assert "Bukan wewenang DPRD" in body


async def test_inbox_sorts_by_deadline_and_flags_overdue(pclient, store, category):
    service = pclient.app[PENGADUAN]
    from server.pengaduan.service import Filing

    sender = service.sender("10.0.0.1")
    old = await service.file(
        Filing(category, "Lama", kelurahan="Kergon"),
        sender,
        now=dt.datetime(2026, 1, 5, 3, tzinfo=dt.UTC),
    )
    new = await service.file(Filing(category, "Baru", kelurahan="Kergon"), sender)
    async with store.read() as session:
        due = await session.scalar(select(Complaint.verify_due).where(Complaint.code == old.code))
    assert due == dt.date(2026, 1, 8)
    await log_in(pclient, store, "sekretariat")
    body = await (await pclient.get("/pengaduan/kelola")).text()
    assert body.index(old.code) < body.index(new.code)
    row = body[body.index(f'data-code="{old.code}"') - 40 : body.index(old.code) + 600]
    assert "terlambat" in row and "Terlambat" in row


async def test_holidays_push_the_deadline(pclient, store, category):
    token = await log_in(pclient, store, "sekretariat")
    response = await pclient.post(
        "/pengaduan/kelola/libur",
        data={"csrf_token": token, "day": "2026-01-07", "name": "Libur uji"},
        allow_redirects=False,
    )
    assert response.status == 303
    service = pclient.app[PENGADUAN]
    from server.pengaduan.service import Filing

    filed = await service.file(
        Filing(category, "Uji libur", kelurahan="Kergon"),
        service.sender("10.0.0.2"),
        now=dt.datetime(2026, 1, 5, 3, tzinfo=dt.UTC),
    )
    async with store.read() as session:
        due = await session.scalar(select(Complaint.verify_due).where(Complaint.code == filed.code))
    assert due == dt.date(2026, 1, 9)


async def test_banned_word_holds_for_review_and_staff_release(pclient, store, category):
    async with store.transaction() as session:
        from server.domain.moderation import WordAction
        from server.store import comments as repo_comments

        await repo_comments.add_banned_word(session, "bangsat", WordAction.BLOCK)
    code, secret, _ = await file_report(
        pclient, category, description="Petugas bilang saya bangsat waktu melapor"
    )
    assert code, "a complaint may quote abuse: it is held, not refused"
    assert (await pclient.get(f"/pengaduan/{code}")).status == 404
    assert code not in await (await pclient.get("/pengaduan/daftar")).text()
    assert "ditinjau" in await (await pclient.get(f"/pengaduan/{code}?k={secret}")).text()
    token = await log_in(pclient, store, "sekretariat")
    await pclient.post(f"/pengaduan/kelola/{code}/setujui", data={"csrf_token": token})
    assert (await pclient.get(f"/pengaduan/{code}")).status == 200


async def test_staff_hide_public_text_without_losing_it(pclient, store, category):
    code, secret, _ = await file_report(
        pclient, category, description="Teks yang akan disembunyikan"
    )
    token = await log_in(pclient, store, "sekretariat")
    await pclient.post(
        f"/pengaduan/kelola/{code}/sembunyikan", data={"csrf_token": token, "hidden": "1"}
    )
    assert (
        "Teks yang akan disembunyikan" not in await (await pclient.get(f"/pengaduan/{code}")).text()
    )
    assert (
        "Teks yang akan disembunyikan" not in await (await pclient.get("/pengaduan/daftar")).text()
    )
    reporter = await (await pclient.get(f"/pengaduan/{code}?k={secret}")).text()
    assert "Teks yang akan disembunyikan" in reporter


async def test_merge_keeps_both_reporters_informed(pclient, store, category):
    first, _, _ = await file_report(pclient, category, description="Jalan rusak A")
    second, secret2, _ = await file_report(pclient, category, description="Jalan rusak A juga")
    token = await log_in(pclient, store, "sekretariat")
    merged = await pclient.post(
        f"/pengaduan/kelola/{second}/gabung",
        data={"csrf_token": token, "into": first},
        allow_redirects=False,
    )
    assert merged.status == 303
    await _status(pclient, token, first, "diverifikasi", message="Kami cek ke lokasi")
    body = await (await pclient.get(f"/pengaduan/{second}?k={secret2}")).text()
    assert f"digabung dengan {first}" in body and "Kami cek ke lokasi" in body


async def test_komisi_member_answers_with_badge(pclient, store, category):
    from server.store import repo

    code, _, _ = await file_report(pclient, category)
    async with store.transaction() as session:
        c_member = await repo.create_member(session, "Hj. Nur Aini", "Fraksi A", "Komisi C")
        a_member = await repo.create_member(session, "Drs. Joko", "Fraksi B", "Komisi A")
    other = await log_in(pclient, store, "anggota", "joko", a_member.id)
    refused = await pclient.post(
        f"/pengaduan/{code}/jawab", data={"csrf_token": other, "answer": "Saya jawab"}
    )
    assert refused.status == 403
    token = await log_in(pclient, store, "anggota", "nur", c_member.id)
    listed = await (await pclient.get("/pengaduan/komisi")).text()
    assert code in listed
    await pclient.post(
        f"/pengaduan/{code}/jawab", data={"csrf_token": token, "answer": "Kami kawal"}
    )
    body = await (await pclient.get(f"/pengaduan/{code}")).text()
    assert "Kami kawal" in body and "Hj. Nur Aini" in body and "Anggota DPRD" in body


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        ("/pengaduan", {"category": "1", "description": "x", "kelurahan": "Kergon"}),
        ("/pengaduan/kelola/ADU-2026-ABCDE/status", {"status": "diverifikasi"}),
        ("/pengaduan/kelola/ADU-2026-ABCDE/kontak", {}),
        ("/pengaduan/kelola/ADU-2026-ABCDE/sembunyikan", {"hidden": "1"}),
        ("/pengaduan/kelola/ADU-2026-ABCDE/setujui", {}),
        ("/pengaduan/kelola/ADU-2026-ABCDE/gabung", {"into": "ADU-2026-ABCDF"}),
        ("/pengaduan/kelola/ADU-2026-ABCDE/rapat", {"sitting": "1"}),
        ("/pengaduan/kelola/kunci-api", {"name": "x"}),
        ("/pengaduan/kelola/rotasi-kunci", {}),
        ("/pengaduan/kelola/kategori", {"name": "x", "komisi": "y"}),
        ("/pengaduan/kelola/libur", {"day": "2026-01-01"}),
        ("/pengaduan/ADU-2026-ABCDE/jawab", {"answer": "x"}),
        ("/pengaduan/ADU-2026-ABCDE/hapus-kontak", {"k": "x"}),
    ],
)
async def test_every_form_needs_csrf(pclient, store, path, fields):
    await log_in(pclient, store, "admin")
    response = await pclient.post(path, data=fields)
    assert response.status == 403
    assert "CSRF" in await response.text()


async def test_filing_is_rate_limited_by_the_moderation_gate(pclient, category):
    statuses = []
    for n in range(12):
        _, _, response = await file_report(pclient, category, description=f"Laporan nomor {n}")
        statuses.append(response.status)
    assert statuses[:5] == [303] * 5
    assert statuses[-1] == 429


async def test_map_only_with_tiles_and_the_tile_server_allowed(make_client, category):
    plain = await (await make_client()).get("/pengaduan")
    assert 'id="peta"' not in await plain.text() and "leaflet" not in await plain.text()
    tiles = "https://{s}.tile.example.org/{z}/{x}/{y}.png"
    client = await make_client(map_tiles=tiles)
    response = await client.get("/pengaduan")
    body = await response.text()
    assert 'id="peta"' in body and "vendor/leaflet/leaflet" in body
    policy = response.headers["Content-Security-Policy"]
    assert "img-src 'self' https://*.tile.example.org" in policy and "script-src 'self'" in policy


async def test_contact_data_is_erased_after_the_retention_period(pclient, store, category):
    code, _, _ = await file_report(pclient, category, phone="0811111111")
    open_one, _, _ = await file_report(pclient, category, phone="0822222222", description="Lain")
    token = await log_in(pclient, store, "sekretariat")
    await _status(pclient, token, code, "ditolak", message="Di luar wewenang")
    service = pclient.app[PENGADUAN]
    assert await service.erase_expired_contacts(30) == 0
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=31)
    assert await service.erase_expired_contacts(30, now=later) == 1
    async with store.read() as session:
        rows = {c.code: c.contact_token for c in (await session.scalars(select(Complaint))).all()}
    assert rows[code] is None and rows[open_one] is not None


async def test_admin_rotates_contact_data_to_a_new_key(make_client, store, category):
    from cryptography.fernet import Fernet

    from server.pengaduan.vault import Vault

    old_client = await make_client()
    await file_report(old_client, category, name="Siti", phone="0811111111")
    new_key = Fernet.generate_key().decode()
    client = await make_client(data_keys=(new_key, DATA_KEY))
    staff = await log_in(client, store, "sekretariat")
    refused = await client.post("/pengaduan/kelola/rotasi-kunci", data={"csrf_token": staff})
    assert refused.status == 403
    client.session.cookie_jar.clear()
    token = await log_in(client, store, "admin")
    done = await client.post(
        "/pengaduan/kelola/rotasi-kunci", data={"csrf_token": token}, allow_redirects=False
    )
    assert done.status == 303
    async with store.read() as session:
        sealed = (await session.scalars(select(Complaint))).one().contact_token
    assert Vault((new_key,)).open(sealed).name == "Siti"


async def test_the_cli_rotates_contact_data_to_the_new_key_and_refuses_without_the_old(
    make_client, store, category, database_url
):
    """`sidang keys rotate` as an operator runs it: the new key first, the old one after it;
    without the old key it stops with a one-line reason and changes nothing."""
    from cryptography.fernet import Fernet

    from server.pengaduan.vault import Vault

    await file_report(await make_client(), category, name="Siti", phone="0811111111")
    new_key = Fernet.generate_key().decode()
    sidang = str(Path(sys.executable).parent / "sidang")

    def rotate(keys: str) -> subprocess.CompletedProcess:
        env = {**os.environ, "SIDANG_DATABASE_URL": database_url, "SIDANG_DATA_KEY": keys}
        return subprocess.run(
            [sidang, "keys", "rotate"], env=env, capture_output=True, text=True, timeout=60
        )

    async def sealed() -> str:
        async with store.read() as session:
            return (await session.scalars(select(Complaint))).one().contact_token

    before = await sealed()
    refused = await asyncio.to_thread(rotate, new_key)
    assert refused.returncode != 0 and "keep the old key" in refused.stderr
    assert await sealed() == before
    done = await asyncio.to_thread(rotate, f"{new_key},{DATA_KEY}")
    assert done.returncode == 0 and done.stdout.startswith("1 contact"), done.stderr
    assert Vault((new_key,)).open(await sealed()).name == "Siti"


async def test_public_map_of_reports_with_a_place_only_with_tiles(make_client, category):
    tiles = "https://tile.example.org/{z}/{x}/{y}.png"
    client = await make_client(map_tiles=tiles)
    placed, _, _ = await file_report(client, category, lat="-6.8886", lon="109.6753")
    await file_report(client, category, description="Tanpa titik", lat="", lon="")
    hidden, _, _ = await file_report(
        client, category, privacy="rahasia", lat="-6.9", lon="109.7", description="Rahasia"
    )
    response = await client.get("/pengaduan/daftar")
    body = await response.text()
    assert 'id="peta-laporan"' in body and body.count("data-lat=") == 1
    assert f'data-code="{placed}"' in body and hidden not in body
    assert "https://tile.example.org" in response.headers["Content-Security-Policy"]
    plain = await (await make_client()).get("/pengaduan/daftar")
    assert 'id="peta-laporan"' not in await plain.text()


async def test_inbox_lists_reports_being_acted_on_after_those_with_deadlines(pclient, category):
    from server.auth import CurrentUser
    from server.domain.roles import Role
    from server.pengaduan.service import Filing
    from server.pengaduan.status import Status

    service = pclient.app[PENGADUAN]
    staff = CurrentUser(1, "staf", Role.SEKRETARIAT, None)
    sender = service.sender("10.0.0.3")
    acting = (await service.file(Filing(category, "Satu", kelurahan="Kergon"), sender)).code
    waiting = (await service.file(Filing(category, "Dua", kelurahan="Kergon"), sender)).code
    done = (await service.file(Filing(category, "Tiga", kelurahan="Kergon"), sender)).code
    for code in (acting, done):
        await service.change_status(staff, code, Status.DIVERIFIKASI, "")
        await service.change_status(staff, code, Status.DITERUSKAN, "", opd="PUPR")
        await service.change_status(staff, code, Status.DITINDAKLANJUTI, "")
    await service.change_status(staff, done, Status.SELESAI, "")
    listed = [r.complaint.code for r in await service.inbox()]
    assert listed == [waiting, acting]
    assert [r.complaint.code for r in await service.inbox("Komisi A")] == []


async def test_report_links_to_the_sitting_that_discussed_it(pclient, store, category):
    from server.domain.sitting import SittingStatus
    from server.store import pengaduan as store_pengaduan
    from tests.factories import new_sitting

    async with store.transaction() as session:
        sitting = await new_sitting(
            session,
            title="Rapat Komisi C soal jalan",
            status=SittingStatus.SCHEDULED,
            agenda=["Jalan rusak"],
        )
    code, _, _ = await file_report(pclient, category)
    secret, _, _ = await file_report(pclient, category, privacy="rahasia", description="R")
    token = await log_in(pclient, store, "sekretariat")
    wrong = await pclient.post(
        f"/pengaduan/kelola/{code}/rapat",
        data={"csrf_token": token, "sitting": str(sitting.id), "position": "9"},
    )
    assert wrong.status == 400
    for linked in (code, secret):
        done = await pclient.post(
            f"/pengaduan/kelola/{linked}/rapat",
            data={"csrf_token": token, "sitting": str(sitting.id), "position": "1"},
            allow_redirects=False,
        )
        assert done.status == 303
    body = await (await pclient.get(f"/pengaduan/{code}")).text()
    assert f'href="/sidang/{sitting.id}/agenda/1"' in body and "Rapat Komisi C soal jalan" in body
    async with store.read() as session:
        listed = [c.code for c in await store_pengaduan.discussed_in(session, sitting.id)]
    assert listed == [code]
    page = await (await pclient.get(f"/sidang/{sitting.id}")).text()
    assert f'href="/pengaduan/{code}"' in page and secret not in page
