"""Raperda input end to end: import, correct, publish, comment within the window, versions
that keep each comment on its pasal, reports, the committee's summary and export, search."""

from __future__ import annotations

import csv
import datetime as dt
import io
import ipaddress
import re
import secrets
from urllib.parse import unquote

import aiohttp
import pytest
from sqlalchemy import select

from server import keys
from server.app import create_app
from server.domain.moderation import Ban
from server.domain.sitting import SittingStatus
from server.passwords import hash_password
from server.raperda import identity
from server.signing import Signer
from server.store import repo
from server.store.models import RaperdaComment, RaperdaResponse, RaperdaUnit, utcnow
from tests.archive_helpers import text_pdf
from tests.conftest import TEST_PASSWORD, csrf_token_for, log_in
from tests.factories import new_sitting
from tests.raperda_helpers import SAMPAH_V1, SAMPAH_V2

SECRET = "test-secret-key"
# For tests of the pages and forms alone (CSRF, uploads, identity links, bans on the bus): the
# store's behaviour is covered on both databases by the others.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
async def app_client(aiohttp_client, make_config, database_url, store):
    """Behind a trusted proxy, so residents can come from addresses of their own."""
    config = make_config(
        database_url=database_url, trusted_proxies=(ipaddress.ip_network("127.0.0.1/32"),)
    )
    return await aiohttp_client(create_app(config))


async def staff(client, store) -> str:
    return await log_in(client, store, "sekretariat")


async def import_and_publish(client, text=SAMPAH_V1, *, opens_h=-1, closes_h=24, sittings=()):
    """Set-up through the service (the staff pages have tests of their own)."""
    service = client.app[keys.RAPERDA]
    raperda_id = await service.create("", text, "uji")
    await service.publish(raperda_id, {}, "uji")
    await set_window(client, raperda_id, opens_h, closes_h, sittings)
    return raperda_id


async def set_window(client, raperda_id, opens_h: int, closes_h: int, sittings=()) -> None:
    now = utcnow()
    await client.app[keys.RAPERDA].update(
        raperda_id,
        title="Pengelolaan Sampah Rumah Tangga",
        summary="",
        opens_at=now + dt.timedelta(hours=opens_h),
        closes_at=now + dt.timedelta(hours=closes_h),
        document_id=None,
        naskah_id=None,
        sitting_ids=list(sittings),
        enacted=False,
        actor="uji",
    )


def verify_as(client, name: str, email: str) -> str:
    """Follow the e-mailed link, as the resident would; returns the link."""
    token = identity.link_token(Signer(SECRET), name, email)
    return f"/raperda/identitas/{token}"


async def resident(client, name="Siti Aminah", email="siti@example.com", ip="10.0.0.1"):
    client.session.cookie_jar.clear()
    response = await client.get(verify_as(client, name, email), allow_redirects=False)
    assert response.status == 303
    return await csrf_token_for(client), {"X-Forwarded-For": ip}


async def lineage_of(store, raperda_id: int, number: str) -> int:
    async with store.read() as session:
        rows = await session.scalars(select(RaperdaUnit).where(RaperdaUnit.number == number))
        return next(u.lineage for u in rows)


async def comment(client, token, headers, raperda_id, lineage=None, **fields):
    data = {"csrf_token": token, "lineage": str(lineage or ""), "text": "Saya setuju.", **fields}
    return await client.post(
        f"/raperda/{raperda_id}/masukan", data=data, headers=headers, allow_redirects=False
    )


async def test_import_shows_the_split_for_correction_then_publishes(app_client, store):
    token = await staff(app_client, store)
    response = await app_client.post(
        "/raperda/kelola",
        data={"csrf_token": token, "source": SAMPAH_V1.replace("Pasal 5\n", "Pasal 7\n")},
        allow_redirects=False,
    )
    raperda_id = int(response.headers["Location"].rsplit("/", 1)[1])
    page = await (await app_client.get(f"/raperda/kelola/{raperda_id}")).text()
    assert "Sesudah Pasal 4 ditemukan Pasal 7." in page  # shown for correction
    assert (await app_client.get(f"/raperda/{raperda_id}")).status == 404  # not public yet
    saved = await app_client.post(
        f"/raperda/kelola/{raperda_id}/teks",
        data={"csrf_token": token, "source": SAMPAH_V1, "note": "nomor diperbaiki"},
        allow_redirects=False,
    )
    assert saved.status == 303
    page = await (await app_client.get(f"/raperda/kelola/{raperda_id}")).text()
    assert "ditemukan Pasal 7" not in page
    await app_client.post(f"/raperda/kelola/{raperda_id}/terbitkan", data={"csrf_token": token})
    app_client.session.cookie_jar.clear()
    public = await (await app_client.get(f"/raperda/{raperda_id}")).text()
    assert "Pengelolaan Sampah Rumah Tangga" in public
    assert "BAB II HAK DAN KEWAJIBAN" in public and "Bagian Kedua Kewajiban" in public
    assert "sampah bahan berbahaya dan beracun." in public
    assert "Konsultasi publik belum dibuka" in public  # no window set yet
    found = await (await app_client.get("/arsip?q=pemilahan+sampah")).text()
    lineage = await lineage_of(store, raperda_id, "3")
    assert f"/raperda/{raperda_id}/pasal/{lineage}" in found


async def test_window_is_enforced_on_the_server(app_client, store):
    raperda_id = await import_and_publish(app_client, opens_h=2, closes_h=24)
    form, headers = await resident(app_client)
    early = await comment(app_client, form, headers, raperda_id)
    assert early.status == 409
    assert (
        "Konsultasi publik belum dibuka"
        in await (await app_client.get(f"/raperda/{raperda_id}")).text()
    )
    await set_window(app_client, raperda_id, -48, -1)
    form, headers = await resident(app_client)
    late = await comment(app_client, form, headers, raperda_id)
    assert late.status == 409
    page = await (await app_client.get(f"/raperda/{raperda_id}")).text()
    assert "Konsultasi publik ditutup" in page and 'id="form-masukan"' not in page
    async with store.read() as session:
        assert (await session.scalars(select(RaperdaComment))).all() == []


async def test_resident_proposes_wording_for_an_ayat_and_sees_the_diff(app_client, store):
    raperda_id = await import_and_publish(app_client)
    lineage = await lineage_of(store, raperda_id, "3")
    form, headers = await resident(app_client)
    current = "(1) Setiap rumah tangga wajib memilah sampah sebelum diangkut."
    response = await comment(
        app_client,
        form,
        headers,
        raperda_id,
        lineage,
        ayat="1",
        position="usul_perubahan",
        text="Perlu jadwal yang jelas.",
        proposed=current.replace("sebelum diangkut", "setiap hari sebelum diangkut"),
    )
    assert response.status == 303, await response.text()
    page = await (await app_client.get(response.headers["Location"])).text()
    assert "Perlu jadwal yang jelas." in page and "ayat</span>" not in page
    assert re.search(r"<ins>\s*setiap hari\s*</ins>", page)
    english = await (
        await app_client.get(response.headers["Location"].split("#")[0] + "&lang=en")
    ).text()
    assert "Proposed change" in english and "Public consultation open" in english
    await app_client.get(f"/raperda/{raperda_id}?lang=id")  # the choice is remembered
    bad = await comment(app_client, form, headers, raperda_id, lineage, ayat="9")
    assert bad.status == 400 and "Ayat ini tidak ada" in await bad.text()
    empty = await comment(app_client, form, headers, raperda_id, lineage, position="usul_perubahan")
    assert empty.status == 400 and 'id="err-proposed"' in await empty.text()


@SQLITE_ONLY
async def test_input_needs_a_verified_identity(app_client, store):
    raperda_id = await import_and_publish(app_client)
    app_client.session.cookie_jar.clear()
    form = await csrf_token_for(app_client)
    refused = await comment(app_client, form, {}, raperda_id)
    assert refused.status == 401
    forged = identity.link_token(Signer("another-key"), "Palsu", "x@example.com")
    assert (await app_client.get(f"/raperda/identitas/{forged}")).status == 400


async def test_resident_sees_and_withdraws_only_their_own_input(app_client, store):
    raperda_id = await import_and_publish(app_client)
    form, headers = await resident(app_client, "Budi", "budi@example.com", "10.0.0.2")
    await comment(app_client, form, headers, raperda_id, text="Masukan Budi untuk rancangan.")
    async with store.read() as session:
        comment_id = (await session.scalars(select(RaperdaComment.id))).one()
    form, headers = await resident(app_client, "Ani", "ani@example.com", "10.0.0.3")
    assert "Masukan Budi" not in await (await app_client.get("/raperda/masukan-saya")).text()
    other = await app_client.post(
        f"/raperda/masukan/{comment_id}/tarik", data={"csrf_token": form}, allow_redirects=False
    )
    assert other.status == 404
    form, headers = await resident(app_client, "Budi", "budi@example.com", "10.0.0.2")
    assert "Masukan Budi" in await (await app_client.get("/raperda/masukan-saya")).text()
    own = await app_client.post(
        f"/raperda/masukan/{comment_id}/tarik", data={"csrf_token": form}, allow_redirects=False
    )
    assert own.status == 303
    assert "Masukan Budi" not in await (await app_client.get(f"/raperda/{raperda_id}")).text()


async def test_a_comment_stays_on_its_pasal_through_a_renumbering_version(app_client, store):
    raperda_id = await import_and_publish(app_client)
    river = await lineage_of(store, raperda_id, "4")  # the ban on dumping into rivers
    form, headers = await resident(app_client)
    made = await comment(
        app_client, form, headers, raperda_id, river, position="setuju", text="Sungai harus bersih."
    )
    assert made.status == 303, await made.text()
    await log_in(app_client, store, "sekretariat")
    token = await csrf_token_for(app_client)
    await app_client.post(
        f"/raperda/kelola/{raperda_id}/teks",
        data={"csrf_token": token, "source": SAMPAH_V2, "note": "bank sampah"},
    )
    preview = await (await app_client.get(f"/raperda/kelola/{raperda_id}")).text()
    assert "Dipindah/dinomori ulang?" in preview  # the moved pasal waits for confirmation
    # Staff confirm what the preview proposed: each select as it was pre-selected.
    choices = dict(
        re.findall(r'name="(lanjut-\d+)"[^>]*>.*?<option value="(\w+)" selected', preview, re.S)
    )
    assert list(choices.values()).count("baru") == 1  # the new Pasal 4 on bank sampah
    published = await app_client.post(
        f"/raperda/kelola/{raperda_id}/terbitkan",
        data={"csrf_token": token, **choices},
        allow_redirects=False,
    )
    assert published.status == 303, await published.text()
    app_client.session.cookie_jar.clear()
    page = await (await app_client.get(f"/raperda/{raperda_id}/pasal/{river}")).text()
    assert "<h1>Pasal 5</h1>" in page and "Sungai harus bersih." in page
    assert "Pasal 4, versi 1" in page  # where it was made
    assert "Dahulu" in page or "dahulu" in page
    old = await (await app_client.get(f"/raperda/{raperda_id}/pasal/{river}?versi=1")).text()
    assert "<h1>Pasal 4</h1>" in old and "Sungai harus bersih." in old
    async with store.read() as session:
        stored = (await session.scalars(select(RaperdaComment))).one()
        unit = await session.get(RaperdaUnit, stored.unit_id)
    assert (unit.number, stored.lineage) == ("4", river)  # made on Pasal 4 of version 1
    diff = await (await app_client.get(f"/raperda/{raperda_id}/perbandingan?dari=1&ke=2")).text()
    assert re.search(r"<ins>[^<]*pantai[^<]*</ins>", diff)
    summary = await (await app_client.get(f"/raperda/{raperda_id}/ringkasan?pasal={river}")).text()
    assert "Sungai harus bersih." in summary


async def test_three_reports_hide_an_input(app_client, store):
    raperda_id = await import_and_publish(app_client)
    form, headers = await resident(app_client)
    await comment(app_client, form, headers, raperda_id, text="Isi yang dilaporkan warga.")
    async with store.read() as session:
        comment_id = (await session.scalars(select(RaperdaComment.id))).one()
    whole = f"/raperda/{raperda_id}/ringkasan?pasal=0"
    for n in range(3):
        assert "Isi yang dilaporkan warga." in await (await app_client.get(whole)).text()
        app_client.session.cookie_jar.clear()
        form = await csrf_token_for(app_client)
        reported = await app_client.post(
            f"/laporkan/raperda/{comment_id}",
            data={"csrf_token": form, "reason": "spam", "note": ""},
            headers={"X-Forwarded-For": f"10.1.0.{n + 1}"},
            allow_redirects=False,
        )
        assert reported.status == 303, await reported.text()
    assert "Isi yang dilaporkan warga." not in await (await app_client.get(whole)).text()
    async with store.read() as session:
        assert (await session.get(RaperdaComment, comment_id)).hidden


async def test_banned_word_holds_input_for_a_moderator(app_client, store):
    raperda_id = await import_and_publish(app_client)
    async with store.transaction() as session:
        from server.store.models import BannedWord

        session.add(BannedWord(pattern="bajingan", action="hold"))
    form, headers = await resident(app_client)
    held = await comment(app_client, form, headers, raperda_id, text="Dasar bajingan semua.")
    assert held.status == 303 and "terkirim=ditahan" in held.headers["Location"]
    assert "Dasar bajingan" not in await (await app_client.get(f"/raperda/{raperda_id}")).text()
    await log_in(app_client, store, "moderator")
    queue = await (await app_client.get(f"/raperda/kelola/{raperda_id}/moderasi")).text()
    assert "Dasar bajingan semua." in queue


async def test_committee_export_matches_what_is_stored(app_client, store):
    raperda_id = await import_and_publish(app_client)
    lineage = await lineage_of(store, raperda_id, "5")
    for n, (position, text) in enumerate(
        [("setuju", "Retribusi wajar."), ("tidak_setuju", 'Retribusi, jangan; "mahal"'), ("", "")]
    ):
        form, headers = await resident(app_client, f"Warga {n}", f"w{n}@example.com", f"10.2.0.{n}")
        fields = {"position": position, "text": text}
        if not text:
            fields = {"position": "usul_perubahan", "text": "", "proposed": "(1) Gratis."}
        assert (
            await comment(app_client, form, headers, raperda_id, lineage, **fields)
        ).status == 303
    await log_in(app_client, store, "anggota")
    token = await csrf_token_for(app_client)
    answered = await app_client.post(
        f"/raperda/{raperda_id}/tanggapan/{lineage}",
        data={"csrf_token": token, "response": "Diterima sebagian: tarif dikaji ulang."},
        allow_redirects=False,
    )
    assert answered.status == 303
    body = await (await app_client.get(f"/raperda/{raperda_id}/ringkasan.csv")).text()
    rows = list(csv.DictReader(io.StringIO(body)))
    async with store.read() as session:
        stored = (await session.scalars(select(RaperdaComment).order_by(RaperdaComment.id))).all()
        response = await session.get(RaperdaResponse, (raperda_id, lineage))
    assert [
        (int(r["id"]), r["sikap"], r["masukan"], r["usul_rumusan"], r["nama"]) for r in rows
    ] == [(c.id, c.position, c.text, c.proposed, c.name) for c in stored]
    assert {r["pasal"] for r in rows} == {"Pasal 5"}
    assert {r["tanggapan_dprd"] for r in rows} == {response.text}
    printed = await (await app_client.get(f"/raperda/{raperda_id}/cetak")).text()
    assert "Retribusi wajar." in printed and response.text in printed
    summary = await (await app_client.get(f"/raperda/{raperda_id}/ringkasan")).text()
    assert re.search(r"Pasal 5</a></td>\s*<td>1</td><td>1</td><td>1</td><td>0</td>", summary)


async def test_a_live_sitting_links_to_the_input_page(app_client, store):
    async with store.transaction() as session:
        sitting = await new_sitting(session, title="Rapat Pansus Sampah", starts_at=utcnow())
        await repo.change_status(session, sitting, SittingStatus.SCHEDULED)
    raperda_id = await import_and_publish(app_client, sittings=[sitting.id])
    page = await (await app_client.get(f"/sidang/{sitting.id}")).text()
    assert f'href="/raperda/{raperda_id}"' in page
    draft = await (await app_client.get(f"/raperda/{raperda_id}")).text()
    assert f'href="/sidang/{sitting.id}"' in draft


@SQLITE_ONLY
async def test_with_the_log_outbox_the_sign_in_link_is_in_the_log(
    aiohttp_client, make_config, database_url, store, caplog
):
    """`sidang demo` writes e-mail to the log: a resident there can still verify an address."""
    client = await aiohttp_client(
        create_app(make_config(database_url=database_url, smtp_url="log:"))
    )
    form = await csrf_token_for(client)
    data = {"csrf_token": form, "name": "Siti Aminah", "email": "siti@example.com"}
    with caplog.at_level("WARNING", logger="server.mail"):
        sent = await client.post("/raperda/identitas", data=data, allow_redirects=False)
    assert sent.status == 303 and sent.headers["Location"].endswith("?dikirim=1")
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name == "server.mail")
    assert "To: siti@example.com" in logged and "From: noreply@" in logged
    link = re.search(r"http://\S+(/raperda/identitas/\S+)", logged).group(1)
    confirmed = await client.get(link, allow_redirects=False)
    assert confirmed.status == 303
    mine = await client.get("/raperda/masukan-saya")
    assert "Siti Aminah" in await mine.text()


async def ask_by_email(client, caplog, **more):
    """Ask for a verification link from a site that writes e-mail to the log; returns the
    answer to the form and the link's path."""
    form = await csrf_token_for(client)
    data = {"csrf_token": form, "name": "Siti Aminah", "email": "siti@example.com", **more}
    caplog.clear()
    with caplog.at_level("WARNING", logger="server.mail"):
        sent = await client.post("/raperda/identitas", data=data, allow_redirects=False)
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name == "server.mail")
    return sent, re.search(r"http://\S+(/raperda/identitas/\S+)", logged).group(1)


@pytest.fixture
async def log_mail_client(aiohttp_client, make_config, database_url, store):
    return await aiohttp_client(create_app(make_config(database_url=database_url, smtp_url="log:")))


@SQLITE_ONLY
async def test_the_e_mailed_link_returns_to_the_pasal_it_was_asked_from(
    log_mail_client, store, caplog
):
    client = log_mail_client
    raperda_id = await import_and_publish(client)
    pasal = f"/raperda/{raperda_id}/pasal/{await lineage_of(store, raperda_id, '3')}"
    mine = await (await client.get(f"/raperda/masukan-saya?next={pasal}")).text()
    assert f'<input type="hidden" name="next" value="{pasal}">' in mine
    sent, link = await ask_by_email(client, caplog, next=pasal)
    assert sent.headers["Location"] == f"/raperda/masukan-saya?dikirim=1&next={pasal}"
    assert pasal not in link, "the return path is inside the signed token"
    client.session.cookie_jar.clear()  # opened later, on another device
    confirmed = await client.get(link, allow_redirects=False)
    assert confirmed.headers["Location"] == f"{pasal}?terverifikasi=1#form-masukan"
    back = await (await client.get(confirmed.headers["Location"])).text()
    assert "E-mail Anda terverifikasi. Tulis masukan Anda di bawah ini." in back
    assert "Dikirim sebagai <strong>Siti Aminah</strong>" in back


@SQLITE_ONLY
@pytest.mark.parametrize(
    "hostile",
    ["https://evil.example/", "//evil.example", "/\\evil.example", "/forum", "javascript:x"],
)
async def test_an_e_mailed_link_never_returns_off_the_raperda_pages(
    log_mail_client, caplog, hostile
):
    client = log_mail_client
    sent, link = await ask_by_email(client, caplog, next=hostile)
    assert sent.headers["Location"] == "/raperda/masukan-saya?dikirim=1"
    assert (await client.get(link, allow_redirects=False)).headers["Location"] == (
        "/raperda/masukan-saya"
    )
    # Even a link this site signed with such a path (made before the check, say) lands there.
    token = identity.link_token(Signer(SECRET), "Siti Aminah", "siti@example.com", hostile)
    signed = await client.get(f"/raperda/identitas/{token}", allow_redirects=False)
    assert signed.headers["Location"] == "/raperda/masukan-saya"


@SQLITE_ONLY
async def test_signing_in_from_a_pasal_returns_to_its_form(app_client, store):
    raperda_id = await import_and_publish(app_client)
    pasal = f"/raperda/{raperda_id}/pasal/{await lineage_of(store, raperda_id, '3')}"
    page = await (await app_client.get(pasal)).text()
    link = re.search(r'href="/masuk\?next=([^"]+)"', page)
    assert link and unquote(link.group(1)) == f"{pasal}?terverifikasi=1#form-masukan"
    mine = await (await app_client.get(f"/raperda/masukan-saya?next={pasal}")).text()
    assert f'href="/masuk?next={link.group(1)}"' in mine, "Masukan saya's sign-in link too"
    plain = await (await app_client.get("/raperda/masukan-saya")).text()
    assert 'href="/masuk?next=/raperda/masukan-saya"' in plain
    async with store.transaction() as session:
        await repo.create_user(session, "pak-rt", hash_password(TEST_PASSWORD), "anggota", None)
    form = await csrf_token_for(app_client)
    data = {"username": "pak-rt", "password": TEST_PASSWORD, "csrf_token": form}
    signed_in = await app_client.post(
        "/masuk", data={**data, "next": unquote(link.group(1))}, allow_redirects=False
    )
    assert signed_in.headers["Location"] == f"{pasal}?terverifikasi=1#form-masukan"
    back = await (await app_client.get(signed_in.headers["Location"])).text()
    assert "Anda sudah masuk. Tulis masukan Anda di bawah ini." in back


def test_a_return_path_too_long_for_the_link_is_left_out():
    signer = Signer(SECRET)
    far = "/raperda/1/" + secrets.token_hex(600)  # random: the token's zlib cannot shrink it
    token = identity.link_token(signer, "Siti Aminah", "siti@example.com", far)
    assert len(token) <= identity.LINK_TOKEN_MAX
    resident, _, next_path = identity.confirm(signer, token)
    assert (resident.name, next_path) == ("Siti Aminah", None)
    near = identity.link_token(signer, "Siti Aminah", "siti@example.com", "/raperda/1")
    assert identity.confirm(signer, near)[2] == "/raperda/1"


@SQLITE_ONLY
async def test_every_form_needs_the_csrf_token(app_client, store):
    raperda_id = await import_and_publish(app_client)
    lineage = await lineage_of(store, raperda_id, "1")
    for path in (
        "/raperda/kelola",
        f"/raperda/kelola/{raperda_id}",
        f"/raperda/kelola/{raperda_id}/teks",
        f"/raperda/kelola/{raperda_id}/terbitkan",
        "/raperda/kelola/masukan/1",
        f"/raperda/{raperda_id}/masukan",
        f"/raperda/{raperda_id}/tanggapan/{lineage}",
        "/raperda/identitas",
        "/raperda/identitas/telepon",
        "/raperda/identitas/kode",
        "/raperda/masukan/1/tarik",
        "/laporkan/raperda/1",
    ):
        response = await app_client.post(path, data={"text": "x", "source": "Pasal 1\nIsi."})
        assert response.status == 403, path


def docx_of(text: str) -> bytes:
    import docx

    document = docx.Document()
    for line in text.split("\n"):
        document.add_paragraph(line)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


@SQLITE_ONLY
@pytest.mark.parametrize("kind", ["docx", "pdf", "png"])
async def test_a_draft_is_imported_from_docx_or_pdf_judged_by_content(app_client, store, kind):
    token = await staff(app_client, store)
    short = SAMPAH_V1.split("BAB II")[0]  # title, considerations, BAB I and Pasal 1
    data = {
        "docx": docx_of(short),
        "pdf": text_pdf(short),
        "png": b"\x89PNG\r\n\x1a\n" + b"\0" * 64,
    }[kind]
    form = aiohttp.FormData({"csrf_token": token, "title": "", "source": ""})
    form.add_field("file", data, filename=f"raperda.{'docx' if kind == 'png' else kind}")
    response = await app_client.post("/raperda/kelola", data=form, allow_redirects=False)
    if kind == "png":  # named .docx, but not one
        assert response.status == 400 and 'id="err-file"' in await response.text()
        return
    assert response.status == 303, await response.text()
    page = await (await app_client.get(response.headers["Location"])).text()
    assert "Pengelolaan Sampah Rumah Tangga" in page
    assert "Menimbang: 2 · Mengingat: 3 · Pasal: 1" in " ".join(
        re.sub(r"<[^>]+>", "", page).split()
    )


@SQLITE_ONLY
async def test_staff_form_mistakes_are_shown_beside_the_field(app_client, store):
    token = await staff(app_client, store)
    raperda_id = await import_and_publish(app_client)
    response = await app_client.post(
        f"/raperda/kelola/{raperda_id}",
        data={
            "csrf_token": token,
            "title": "Sampah",
            "opens_at": "2026-12-10T10:00",
            "closes_at": "2026-12-01T10:00",
        },
    )
    assert response.status == 400 and 'id="err-closes_at"' in await response.text()
    empty = await app_client.post(
        f"/raperda/kelola/{raperda_id}/teks", data={"csrf_token": token, "source": " "}
    )
    assert empty.status == 400 and 'id="err-source"' in await empty.text()


@SQLITE_ONLY
async def test_a_ban_from_the_live_comments_holds_for_raperda_input(app_client, store):
    raperda_id = await import_and_publish(app_client)
    comments = app_client.app[keys.COMMENTS]
    address = comments.sender("any", "10.9.9.9").ip
    until = utcnow() + dt.timedelta(minutes=30)
    await comments.gate.apply(Ban(identity=None, ip=address, until=until))
    form, headers = await resident(app_client, ip="10.9.9.9")
    refused = await comment(app_client, form, headers, raperda_id)
    assert refused.status == 403 and "diblokir" in await refused.text()
    form, headers = await resident(app_client, ip="10.9.9.10")
    assert (await comment(app_client, form, headers, raperda_id)).status == 303


@SQLITE_ONLY
async def test_saving_the_staff_page_keeps_a_link_to_an_older_sitting(app_client, store):
    async with store.transaction() as session:
        old = await new_sitting(
            session, title="Rapat Bapemperda lama", starts_at=utcnow() - dt.timedelta(days=400)
        )
        for n in range(101):  # the page offers the latest 100 sittings
            await new_sitting(session, title=f"Rapat {n}", starts_at=utcnow())
    raperda_id = await import_and_publish(app_client, sittings=[old.id])
    await staff(app_client, store)
    page = await (await app_client.get(f"/raperda/kelola/{raperda_id}")).text()
    assert re.search(rf'value="{old.id}" checked', page)
