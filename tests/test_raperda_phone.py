"""Phone verification for Raperda input: a resident types an Indonesian mobile number, gets a
six-digit code by SMS through a real HTTP gateway (an aiohttp server standing in for the
provider), types it and comments. Wrong, expired and overused codes and floods of SMS are
refused with a clear 4xx, and the number is never shown or stored."""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import re
from dataclasses import dataclass, field, replace

import pytest
from aiohttp import web
from sqlalchemy import MetaData, select, update

from server import keys
from server.app import create_app
from server.config import LOG_OUTBOX
from server.domain import phone
from server.domain.errors import InvalidInput
from server.raperda.phone import resend_key
from server.store.models import PhoneCode, RaperdaComment, utcnow
from tests.conftest import REDIS_URL, csrf_token_for
from tests.test_raperda import comment, import_and_publish, lineage_of

TOKEN = "rahasia-gateway"
NUMBER = "0812-3456-7890"
E164 = "+6281234567890"
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
DISABLED = '<button type="submit" disabled>'  # the input form's, before the resident is verified


@dataclass
class Gateway:
    """The stand-in SMS provider: what it was sent, and the status it answers with."""

    url: str
    received: list[dict] = field(default_factory=list)
    status: int = 200

    def code(self, index: int = -1) -> str:
        match = re.search(r"\b(\d{6})\b", self.received[index]["message"])
        assert match, self.received[index]
        return match.group(1)


@pytest.fixture
async def gateway(aiohttp_server) -> Gateway:
    found = Gateway("")

    async def take(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.json_response({"error": "unauthorized"}, status=401)
        if found.status == 200:
            found.received.append(await request.json())
        return web.json_response({"accepted": found.status == 200}, status=found.status)

    app = web.Application()
    app.router.add_post("/sms", take)
    server = await aiohttp_server(app)
    found.url = str(server.make_url("/sms"))
    return found


def app_config(make_config, database_url, sms_url):
    return make_config(
        database_url=database_url,
        trusted_proxies=(ipaddress.ip_network("127.0.0.1/32"),),
        sms_url=sms_url,
        sms_token=TOKEN,
    )


@pytest.fixture
async def app_client(aiohttp_client, make_config, database_url, store, gateway):
    return await aiohttp_client(create_app(app_config(make_config, database_url, gateway.url)))


async def ask(client, number=NUMBER, name="Sri Wahyuni", ip="10.1.0.1", **more):
    token = await csrf_token_for(client)
    return await client.post(
        "/raperda/identitas/telepon",
        data={"csrf_token": token, "name": name, "phone": number, **more},
        headers={"X-Forwarded-For": ip},
        allow_redirects=False,
    )


async def enter(client, code: str, **more):
    token = await csrf_token_for(client)
    return await client.post(
        "/raperda/identitas/kode",
        data={"csrf_token": token, "code": code, **more},
        allow_redirects=False,
    )


def carried(page: str) -> str | None:
    """The page a form on `page` returns to once the resident is verified."""
    match = re.search(r'name="next" value="([^"]*)"', page)
    return match.group(1) if match else None


async def test_a_resident_verifies_by_phone_and_comments(app_client, store, gateway):
    raperda_id = await import_and_publish(app_client)
    asked = await ask(app_client)
    assert asked.status == 303
    assert asked.headers["Location"] == "/raperda/identitas/kode"
    assert [m["to"] for m in gateway.received] == [E164]
    code = gateway.code()
    assert gateway.received[0]["message"].endswith(f"@127.0.0.1 #{code}")
    page = await (await app_client.get("/raperda/identitas/kode")).text()
    assert "0812-****-890" in page and 'autocomplete="one-time-code"' in page
    assert "SMS tidak benar-benar dikirim" not in page

    confirmed = await enter(app_client, f"{code[:3]} {code[3:]}")  # as some phones space it
    assert confirmed.status == 303
    mine = await (await app_client.get("/raperda/masukan-saya")).text()
    assert "Sri Wahyuni" in mine
    lineage = await lineage_of(store, raperda_id, "3")
    form = await csrf_token_for(app_client)
    posted = await comment(
        app_client, form, {"X-Forwarded-For": "10.1.0.1"}, raperda_id, lineage, text="Setuju."
    )
    assert posted.status == 303, await posted.text()
    async with store.read() as session:
        row = (await session.scalars(select(RaperdaComment))).one()
    assert (row.name, row.verified_by) == ("Sri Wahyuni", "phone")
    own = await (await app_client.get(f"/raperda/{raperda_id}/pasal/{lineage}")).text()
    assert "nomor ponsel terverifikasi" in own

    app_client.session.cookie_jar.clear()
    public = await (await app_client.get(f"/raperda/{raperda_id}/pasal/{lineage}")).text()
    assert "Sri Wahyuni" in public
    for shown in ("3456", "7890", "****"):
        assert shown not in public
    assert not await stored_anywhere(store, ("81234567890", "3456-7890", code))


async def test_verifying_from_a_pasal_returns_to_its_form(app_client, store, gateway):
    raperda_id = await import_and_publish(app_client)
    lineage = await lineage_of(store, raperda_id, "3")
    pasal = f"/raperda/{raperda_id}/pasal/{lineage}"
    before = await (await app_client.get(pasal)).text()
    assert DISABLED in before
    link = re.search(r'href="(/raperda/masukan-saya[^"]*)"', before)
    assert link and link.group(1) == f"/raperda/masukan-saya?next={pasal}"
    assert carried(await (await app_client.get(link.group(1))).text()) == pasal

    asked = await ask(app_client, next=pasal)
    assert asked.headers["Location"] == f"/raperda/identitas/kode?next={pasal}"
    code_page = await (await app_client.get(asked.headers["Location"])).text()
    assert carried(code_page) == pasal
    assert f'href="/raperda/masukan-saya?next={pasal}"' in code_page  # "Minta kode baru"
    code = gateway.code()
    wrong = await enter(app_client, "000000" if code != "000000" else "111111", next=pasal)
    assert wrong.status == 400 and carried(await wrong.text()) == pasal

    confirmed = await enter(app_client, code, next=pasal)
    assert confirmed.status == 303
    assert confirmed.headers["Location"] == f"{pasal}?terverifikasi=1#form-masukan"
    back = await (await app_client.get(confirmed.headers["Location"])).text()
    assert "Nomor ponsel Anda terverifikasi. Tulis masukan Anda di bawah ini." in back
    assert "Dikirim sebagai <strong>Sri Wahyuni</strong>" in back
    assert DISABLED not in back, "the input form is ready"
    later = await (await app_client.get(pasal)).text()
    assert "terverifikasi. Tulis" not in later, "said once, on arrival"


HOSTILE = [
    "https://evil.example/",
    "//evil.example",
    "/\\evil.example",
    "/forum",
    "javascript:alert(1)",
    "/raperda/../forum",
    "/raperda/%2e%2e/forum",
    "/raperdax",
    "/raperda/1\t/x",
]


@SQLITE_ONLY
@pytest.mark.parametrize("hostile", HOSTILE)
async def test_a_return_path_off_the_raperda_pages_lands_on_my_input(app_client, gateway, hostile):
    mine = await (await app_client.get("/raperda/masukan-saya", params={"next": hostile})).text()
    assert carried(mine) is None
    asked = await ask(app_client, next=hostile)
    assert asked.headers["Location"] == "/raperda/identitas/kode"
    code_page = await app_client.get("/raperda/identitas/kode", params={"next": hostile})
    assert carried(await code_page.text()) is None
    confirmed = await enter(app_client, gateway.code(), next=hostile)
    assert confirmed.status == 303
    assert confirmed.headers["Location"] == "/raperda/masukan-saya"


async def stored_anywhere(store, needles) -> list[str]:
    """Every column of every table that holds one of `needles`: a copy of the database must
    reveal neither the number nor the code."""
    found = []
    async with store.read() as session:
        metadata = MetaData()
        await session.run_sync(lambda s: metadata.reflect(s.connection()))
        for table in metadata.sorted_tables:
            for row in (await session.execute(select(table))).all():
                for column, value in zip(table.columns, row, strict=True):
                    if any(n in str(value) for n in needles):
                        found.append(f"{table.name}.{column.name}")
    return found


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("number", "problem"),
    [
        ("12345", "Nomor ponsel tidak valid. Contoh: 0812-3456-7890."),
        ("021 5551234", "Nomor ini bukan nomor ponsel; SMS hanya dapat dikirim ke ponsel."),
        ("+1 202 555 0143", "Hanya nomor ponsel Indonesia (+62) yang dapat diverifikasi."),
        ("", "Isi nomor ponsel Anda."),
    ],
)
async def test_a_number_that_cannot_get_an_sms_is_refused_clearly(
    app_client, gateway, number, problem
):
    refused = await ask(app_client, number)
    assert refused.status == 400
    assert problem in await refused.text()
    assert gateway.received == []


@pytest.mark.parametrize(
    "typed", ["08123456789", "+62 812-3456-789", "628123456789", "(0812) 3456 789", "8123456789"]
)
def test_indonesian_ways_of_writing_a_number_meet_in_e164(typed):
    assert phone.normalize(typed) == "+628123456789"
    assert phone.masked("+628123456789") == "0812-****-789"


def test_a_landline_is_not_a_mobile():
    with pytest.raises(InvalidInput) as refused:
        phone.normalize("(024) 8311 234")
    assert "phone" in refused.value.fields


async def test_wrong_codes_count_down_then_lock_the_code(app_client, gateway):
    await ask(app_client)
    code = gateway.code()
    wrong = "000000" if code != "000000" else "111111"
    for left in (4, 3, 2, 1):
        response = await enter(app_client, wrong)
        assert response.status == 400
        assert f"Kode salah. Sisa {left} kali percobaan." in await response.text()
    last = await enter(app_client, wrong)
    assert last.status == 400
    assert "percobaan sudah habis" in await last.text()
    locked = await enter(app_client, code)
    assert locked.status == 429
    assert "Terlalu banyak kode salah. Minta kode baru." in await locked.text()
    assert "Sri Wahyuni" not in await (await app_client.get("/raperda/masukan-saya")).text()


async def test_an_expired_code_is_refused(app_client, store, gateway):
    await ask(app_client)
    async with store.transaction() as session:
        past = utcnow() - dt.timedelta(seconds=1)
        await session.execute(update(PhoneCode).values(expires_at=past))
    response = await enter(app_client, gateway.code())
    assert response.status == 400
    assert "Kode sudah kedaluwarsa. Minta kode baru." in await response.text()


@SQLITE_ONLY
async def test_a_code_works_once_and_only_the_newest_one(app_client, gateway):
    verifier = app_client.app[keys.PHONE_VERIFIER]
    first = await verifier.send_code("Budi", NUMBER, "10.1.0.9")
    await app_client.app[keys.BUS].reset_counter(resend_key(phone_hash(app_client, E164)))
    second = await verifier.send_code("Budi", NUMBER, "10.1.0.9")
    with pytest.raises(InvalidInput, match="tidak berlaku lagi"):
        await verifier.confirm(first.challenge_id, gateway.code(0))
    resident = await verifier.confirm(second.challenge_id, gateway.code(1))
    assert resident.verified_by == "phone"
    with pytest.raises(InvalidInput, match="tidak berlaku lagi"):
        await verifier.confirm(second.challenge_id, gateway.code(1))


def phone_hash(client, e164: str) -> str:
    return client.app[keys.SIGNER].digest("resident-phone", e164)


@SQLITE_ONLY
@pytest.mark.parametrize("on_redis", [False, True], ids=["memory", "redis"])
async def test_sending_is_limited_per_number_and_per_address(
    aiohttp_client, make_config, database_url, store, gateway, redis_prefix, on_redis
):
    """The counters live on the bus, so with Redis every node counts the same SMS."""
    config = app_config(make_config, database_url, gateway.url)
    if on_redis:
        config = replace(config, redis_url=REDIS_URL, redis_prefix=redis_prefix)
    app_client = await aiohttp_client(create_app(config))
    assert (await ask(app_client, ip="10.2.0.1")).status == 303
    again = await ask(app_client, ip="10.2.0.2")
    assert again.status == 429
    assert again.headers["Retry-After"] == "60"
    assert "Kode baru dapat diminta 60 detik setelah yang sebelumnya." in await again.text()
    # Past the minute (its counter cleared), three codes an hour reach one number.
    bus = app_client.app[keys.BUS]
    for ip in ("10.2.0.3", "10.2.0.4"):
        await bus.reset_counter(resend_key(phone_hash(app_client, E164)))
        assert (await ask(app_client, ip=ip)).status == 303
    await bus.reset_counter(resend_key(phone_hash(app_client, E164)))
    fourth = await ask(app_client, ip="10.2.0.5")
    assert fourth.status == 429
    assert "terlalu sering diminta" in await fourth.text()
    assert len(gateway.received) == 3
    # One address may ask for ten numbers an hour.
    for n in range(10):
        assert (await ask(app_client, f"0813-1000-{n:04d}", ip="10.3.0.1")).status == 303
    flood = await ask(app_client, "0813-1000-0099", ip="10.3.0.1")
    assert flood.status == 429
    assert len(gateway.received) == 13


@SQLITE_ONLY
async def test_a_gateway_that_fails_is_a_503_and_may_be_retried_at_once(app_client, gateway):
    gateway.status = 500
    failed = await ask(app_client)
    assert failed.status == 503
    page = await failed.text()
    assert "SMS tidak dapat dikirim sekarang" in page
    assert 'value="0812-3456-7890"' in page, "the form keeps what the resident typed"
    gateway.status = 200
    retried = await ask(app_client)
    assert retried.status == 303
    assert len(gateway.received) == 1


@SQLITE_ONLY
async def test_a_wrong_gateway_token_is_a_503(aiohttp_client, make_config, database_url, gateway):
    config = replace(app_config(make_config, database_url, gateway.url), sms_token="wrong")
    client = await aiohttp_client(create_app(config))
    assert (await ask(client)).status == 503


@SQLITE_ONLY
async def test_without_a_gateway_phone_verification_is_not_offered(
    aiohttp_client, make_config, database_url, store
):
    client = await aiohttp_client(create_app(app_config(make_config, database_url, None)))
    page = await (await client.get("/raperda/masukan-saya")).text()
    assert "/raperda/identitas/telepon" not in page
    refused = await ask(client)
    assert refused.status == 400
    assert "SMS belum dapat dikirim dari situs ini" in await refused.text()


@SQLITE_ONLY
async def test_the_development_outbox_writes_the_sms_to_the_log(
    aiohttp_client, make_config, database_url, store, caplog
):
    client = await aiohttp_client(create_app(app_config(make_config, database_url, LOG_OUTBOX)))
    with caplog.at_level(logging.WARNING, logger="server.sms"):
        assert (await ask(client)).status == 303
    page = await (await client.get("/raperda/identitas/kode")).text()
    assert "SMS tidak benar-benar dikirim" in page
    logged = [r.getMessage() for r in caplog.records if r.name == "server.sms"]
    assert len(logged) == 1 and E164 in logged[0]
    code = re.search(r"#(\d{6})", logged[0]).group(1)
    assert (await enter(client, code)).status == 303
