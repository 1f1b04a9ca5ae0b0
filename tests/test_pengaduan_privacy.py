"""Anonim and rahasia never leak, on any surface; e-mail goes to the reporter only."""

from __future__ import annotations

import pytest
from aiohttp import FormData

from server.app import create_app
from server.keys import PENGADUAN
from tests.conftest import csrf_token_for, log_in
from tests.pengaduan_helpers import DATA_KEY, file_report, jpeg, seed_category

SECRET_TEXT = "Kepala dinas minta uang pelicin di kantor kelurahan"
SECRET_PLACE = "Gang Kenanga Rahasia 7"
ANON_NAME = "Ani Anonimwati"
SECRET_NAME = "Rara Rahasiawati"


@pytest.fixture
def make_client(aiohttp_client, make_config, database_url, store):
    async def make(**overrides):
        values = {"database_url": database_url, "data_keys": (DATA_KEY,), **overrides}
        return await aiohttp_client(create_app(make_config(**values)))

    return make


@pytest.fixture
async def filed(make_client, store):
    """One report in each privacy mode, with contact details, a photo on the secret one."""
    client = await make_client()
    category = await seed_category(store)
    biasa, _, _ = await file_report(client, category, name="Budi Biasa", phone="0811000001")
    anonim, _, _ = await file_report(
        client,
        category,
        privacy="anonim",
        name=ANON_NAME,
        email="ani@contoh.id",
        phone="0811000002",
        description="Lampu jalan mati di Jl. Merdeka",
    )
    data = FormData(
        {
            "csrf_token": await csrf_token_for(client),
            "category": str(category),
            "description": SECRET_TEXT,
            "location": SECRET_PLACE,
            "kelurahan": "Kelrahasia",
            "privacy": "rahasia",
            "name": SECRET_NAME,
            "phone": "0811000003",
        }
    )
    data.add_field("photos", jpeg(), filename="bukti.jpg", content_type="image/jpeg")
    response = await client.post("/pengaduan", data=data, allow_redirects=False)
    rahasia = response.headers["Location"].split("/")[2].split("?")[0]
    return client, {"biasa": biasa, "anonim": anonim, "rahasia": rahasia}


def assert_clean(body: str, codes: dict[str, str], where: str) -> None:
    for needle in (
        SECRET_TEXT,
        SECRET_PLACE,
        "Kelrahasia",
        SECRET_NAME,
        ANON_NAME,
        codes["rahasia"],
    ):
        assert needle not in body, f"{needle!r} leaked through {where}"
    for phone in ("0811000001", "0811000002", "0811000003", "ani@contoh.id"):
        assert phone not in body, f"contact {phone!r} leaked through {where}"


PUBLIC_SURFACES = (
    "/pengaduan/daftar",
    "/pengaduan/statistik",
    "/pengaduan/statistik.csv",
    "/open311/v2/services.json",
    "/open311/v2/requests.json",
    "/sitemap.xml",
    "/arsip.atom",
    f"/arsip?q={SECRET_TEXT.split()[0]}",
    "/dokumen?q=pelicin",
    "/api/v1/sittings",
    "/api/v1/openapi.json",
    "/",
)


async def test_no_public_surface_shows_secret_reports_or_identities(filed):
    client, codes = filed
    for path in PUBLIC_SURFACES:
        response = await client.get(path)
        assert response.status == 200, path
        assert_clean(await response.text(), codes, path)
    for mode in ("biasa", "anonim"):
        body = await (await client.get(f"/pengaduan/{codes[mode]}")).text()
        assert_clean(body, codes, f"the {mode} report page")
    listed = await (await client.get("/pengaduan/daftar")).text()
    assert codes["anonim"] in listed and codes["biasa"] in listed


async def test_a_secret_report_is_indistinguishable_from_a_missing_one(filed):
    client, codes = filed
    missing = "ADU-2026-ZZZZZ" if codes["rahasia"] != "ADU-2026-ZZZZZ" else "ADU-2026-YYYYY"
    for suffix in ("", "/foto/1.jpg", "?k=wrong"):
        secret = await client.get(f"/pengaduan/{codes['rahasia']}{suffix}")
        absent = await client.get(f"/pengaduan/{missing}{suffix}")
        assert secret.status == absent.status == 404
        body = (await secret.text()).replace(codes["rahasia"], missing)
        assert body == await absent.text()
    for path in (f"/open311/v2/requests/{codes['rahasia']}.json",):
        response = await client.get(path)
        assert response.status == 404
        assert_clean(await response.text(), codes, path)


async def test_anonim_identity_does_not_reach_open311_or_staff_without_the_role(filed, store):
    client, codes = filed
    response = await client.get(f"/open311/v2/requests/{codes['anonim']}.json")
    assert_clean(await response.text(), codes, "Open311 single request")
    token = await log_in(client, store, "sekretariat")
    staff_page = await (await client.get(f"/pengaduan/kelola/{codes['anonim']}")).text()
    assert ANON_NAME not in staff_page
    refused = await client.post(
        f"/pengaduan/kelola/{codes['anonim']}/kontak", data={"csrf_token": token}
    )
    assert refused.status == 403 and ANON_NAME not in await refused.text()


async def test_status_change_emails_the_reporter_only(make_client, store, smtp_server):
    inbox, url = smtp_server
    client = await make_client(smtp_url=url)
    category = await seed_category(store)
    code, _, _ = await file_report(client, category, email="warga@contoh.id", privacy="anonim")
    other, _, _ = await file_report(client, category, description="Laporan lain tanpa e-mail")
    token = await log_in(client, store, "sekretariat")
    response = await client.post(
        f"/pengaduan/kelola/{code}/status",
        data={"csrf_token": token, "status": "diverifikasi", "message": "Tim kami sudah cek"},
        allow_redirects=False,
    )
    assert response.status == 303
    await client.app[PENGADUAN].mailer.drain()
    assert len(inbox.messages) == 1
    envelope = inbox.messages[0]
    assert envelope.rcpt_tos == ["warga@contoh.id"]
    content = envelope.content.decode()
    assert code in content and "Tim kami sudah cek" in content and other not in content


async def test_no_smtp_url_means_no_mail(make_client, store):
    client = await make_client()
    assert not client.app[PENGADUAN].mailer.enabled


async def test_reporters_of_a_merged_duplicate_are_emailed_too(make_client, store, smtp_server):
    inbox, url = smtp_server
    client = await make_client(smtp_url=url)
    category = await seed_category(store)
    first, _, _ = await file_report(client, category, email="pertama@contoh.id")
    second, _, _ = await file_report(
        client, category, email="kedua@contoh.id", description="Jalan yang sama rusak"
    )
    token = await log_in(client, store, "sekretariat")
    await client.post(
        f"/pengaduan/kelola/{second}/gabung", data={"csrf_token": token, "into": first}
    )
    await client.post(
        f"/pengaduan/kelola/{first}/status",
        data={"csrf_token": token, "status": "diverifikasi", "message": "Dicek bersama"},
    )
    await client.app[PENGADUAN].mailer.drain()
    by_recipient = {}
    for envelope in inbox.messages:
        by_recipient.setdefault(envelope.rcpt_tos[0], []).append(envelope.content.decode())
    assert set(by_recipient) == {"pertama@contoh.id", "kedua@contoh.id"}
    assert any("Dicek bersama" in body for body in by_recipient["kedua@contoh.id"])
    status_mail = [b for b in by_recipient["kedua@contoh.id"] if "Dicek bersama" in b]
    assert len(status_mail) == 1 and second in status_mail[0]  # under their own code
    assert all("pertama@contoh.id" not in body for body in by_recipient["kedua@contoh.id"])
