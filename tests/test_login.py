"""Login as issue 12 (bug 1) and issue 13 (findings 1-4) want it: each role lands where its work
is, no stranger can lock an account out, the throttle counts before it checks, `next` stays on
this site, and sessions live on the server."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
from collections import Counter

import pytest
from sqlalchemy import select, update

from server.accounts import reset_password
from server.app import create_app
from server.auth import SESSION_COOKIE
from server.bus import MemoryBus
from server.domain.sitting import SittingStatus
from server.login_throttle import (
    MAX_ATTEMPTS_PER_CLIENT,
    MAX_ATTEMPTS_PER_IP,
    LoginThrottle,
)
from server.passwords import hash_password
from server.store import repo
from server.store.models import UserSession, utcnow
from tests.conftest import REDIS_URL, TEST_PASSWORD, csrf_token_for, log_in, sign_in
from tests.factories import new_sitting
from tests.room_helpers import Clients, add_member

WRONG = "bukan-kata-sandinya"


async def make_user(store, username: str, role: str, member_id: int | None = None) -> None:
    async with store.transaction() as session:
        await repo.create_user(session, username, hash_password(TEST_PASSWORD), role, member_id)


async def post_login(client, username: str, password: str, ip: str | None = None, **extra):
    """The login form as a browser posts it; `ip` is the address a trusted proxy reports."""
    token = await csrf_token_for(client)
    return await client.post(
        "/masuk",
        data={"username": username, "password": password, "csrf_token": token, **extra},
        headers={"X-Forwarded-For": ip} if ip else {},
        allow_redirects=False,
    )


@pytest.fixture
async def proxied(aiohttp_client, make_config, database_url, store):
    """Behind a trusted proxy, so that each request can come from its own address."""
    config = make_config(
        database_url=database_url, trusted_proxies=(ipaddress.ip_network("127.0.0.1/32"),)
    )
    return await aiohttp_client(create_app(config))


# -- where each role lands (issue 12, bug 1) -----------------------------------------------------


async def sitting(store, status: SittingStatus, **fields) -> int:
    async with store.transaction() as session:
        return (await new_sitting(session, status=status, **fields)).id


@pytest.mark.parametrize("role", ["admin", "sekretariat"])
async def test_staff_land_on_the_console(client, store, role):
    await make_user(store, "staf", role)
    response = await post_login(client, "staf", TEST_PASSWORD)
    assert response.headers["Location"] == "/konsol"
    assert (await client.get("/konsol")).status == 200


@pytest.mark.parametrize("role", ["anggota", "pimpinan"])
async def test_members_and_the_chair_land_in_the_live_sittings_room(client, store, role):
    member = await add_member(store, "Siti Aminah")
    await make_user(store, "siti", role, member)
    await sitting(store, SittingStatus.SCHEDULED, title="Besok")
    live = await sitting(store, SittingStatus.LIVE, title="Paripurna hari ini")
    response = await post_login(client, "siti", TEST_PASSWORD)
    assert response.headers["Location"] == f"/ruang/{live}"
    assert (await client.get(response.headers["Location"])).status == 200


@pytest.mark.parametrize("role", ["anggota", "pimpinan"])
async def test_without_a_live_sitting_members_see_their_sittings_with_join_links(
    client, store, role
):
    member = await add_member(store, "Budi")
    await make_user(store, "budi", role, member)
    upcoming = await sitting(store, SittingStatus.SCHEDULED, title="Rapat Paripurna Besok")
    closed = await sitting(
        store,
        SittingStatus.SCHEDULED,
        title="Rapat Komisi Tertutup",
        is_public=False,
        type="komisi",
        komisi="Komisi Z",
    )
    response = await post_login(client, "budi", TEST_PASSWORD)
    assert response.headers["Location"] == "/rapat-saya"
    page = await client.get("/rapat-saya")
    html = await page.text()
    assert page.status == 200
    assert "Rapat Paripurna Besok" in html and f'href="/ruang/{upcoming}"' in html
    assert "Rapat Komisi Tertutup" not in html and f"/ruang/{closed}" not in html


async def test_with_two_live_sittings_a_member_chooses_and_the_live_ones_can_be_joined(
    client, store
):
    member = await add_member(store, "Rina")
    await make_user(store, "rina", "anggota", member)
    first = await sitting(store, SittingStatus.LIVE, title="Pertama")
    second = await sitting(store, SittingStatus.LIVE, title="Kedua")
    response = await post_login(client, "rina", TEST_PASSWORD)
    assert response.headers["Location"] == "/rapat-saya"
    html = await (await client.get("/rapat-saya")).text()
    assert html.count("Gabung ke ruang rapat") == 2
    assert f'href="/ruang/{first}"' in html and f'href="/ruang/{second}"' in html


async def test_a_member_not_linked_yet_is_told_so_instead_of_a_403(client, store):
    await make_user(store, "baru", "anggota")
    await sitting(store, SittingStatus.LIVE)
    response = await post_login(client, "baru", TEST_PASSWORD)
    assert response.headers["Location"] == "/rapat-saya"
    page = await client.get("/rapat-saya")
    assert page.status == 200
    assert "belum ditautkan" in await page.text()


async def test_moderators_land_on_the_sittings_they_moderate(client, store):
    await make_user(store, "moder", "moderator")
    live = await sitting(store, SittingStatus.LIVE, title="Paripurna Terbuka")
    response = await post_login(client, "moder", TEST_PASSWORD)
    assert response.headers["Location"] == "/rapat-saya"
    html = await (await client.get("/rapat-saya")).text()
    assert f'href="/moderasi/{live}"' in html and "/ruang/" not in html
    assert (await client.get(f"/moderasi/{live}")).status == 200


async def test_a_safe_next_is_respected_unless_the_role_may_not_open_it(client, store):
    member = await add_member(store, "Ahmad")
    await make_user(store, "ahmad", "anggota", member)
    published = await sitting(store, SittingStatus.ENDED)
    wanted = await post_login(client, "ahmad", TEST_PASSWORD, next=f"/sidang/{published}")
    assert wanted.headers["Location"] == f"/sidang/{published}"
    await client.post("/keluar", data={"csrf_token": await csrf_token_for(client)})
    console = await post_login(client, "ahmad", TEST_PASSWORD, next="/konsol")
    assert console.headers["Location"] == "/rapat-saya", "the console would answer 403"


@pytest.mark.parametrize(
    "next_url",
    [
        "/\\evil.example/x",
        "/\\/evil.example",
        "//evil.example/x",
        "/\t/evil.example",
        "/%0a/x\n//evil",
        "https://evil.example/",
        "javascript:alert(1)",
        "/masuk",
    ],
)
async def test_next_never_leaves_the_site(client, store, next_url):
    await make_user(store, "sekre", "sekretariat")
    response = await post_login(client, "sekre", TEST_PASSWORD, next=next_url)
    assert response.status == 303 and response.headers["Location"] == "/konsol"
    again = await client.get("/masuk", params={"next": next_url}, allow_redirects=False)
    assert again.headers["Location"] == "/konsol"


# -- the throttle: account and client together, counted before the check ------------------------


async def test_a_stranger_elsewhere_cannot_lock_out_the_chair(proxied, store):
    await make_user(store, "pimpinan", "pimpinan")
    for _ in range(MAX_ATTEMPTS_PER_CLIENT):
        assert (await post_login(proxied, "PIMPINAN", WRONG, ip="203.0.113.9")).status == 401
    stranger = await post_login(proxied, "pimpinan", TEST_PASSWORD, ip="203.0.113.9")
    assert stranger.status == 429 and int(stranger.headers["Retry-After"]) > 0
    chair = await post_login(proxied, "pimpinan", TEST_PASSWORD, ip="198.51.100.7")
    assert chair.status == 303


async def test_a_known_browser_gets_in_even_from_the_strangers_address(proxied, store):
    await make_user(store, "pimpinan", "pimpinan")
    clients = Clients(proxied)
    try:
        chair = await clients.new()
        first = await post_login(chair, "pimpinan", TEST_PASSWORD, ip="203.0.113.9")
        assert first.status == 303
        await chair.post("/keluar", data={"csrf_token": await csrf_token_for(chair)})
        for _ in range(MAX_ATTEMPTS_PER_IP + 1):
            await post_login(proxied, "pimpinan", WRONG, ip="203.0.113.9")
        assert (
            await post_login(proxied, "pimpinan", TEST_PASSWORD, ip="203.0.113.9")
        ).status == 429
        again = await post_login(chair, "pimpinan", TEST_PASSWORD, ip="203.0.113.9")
        assert again.status == 303, "the chair's own browser is never refused the right password"
    finally:
        await clients.close()


async def test_forty_parallel_guesses_get_429_beyond_the_limit(client, store):
    await make_user(store, "moderator", "moderator")
    token = await csrf_token_for(client)
    data = {"username": "moderator", "password": WRONG, "csrf_token": token}
    responses = await asyncio.gather(*(client.post("/masuk", data=data) for _ in range(40)))
    statuses = Counter(r.status for r in responses)
    assert statuses == {401: MAX_ATTEMPTS_PER_CLIENT, 429: 40 - MAX_ATTEMPTS_PER_CLIENT}


async def test_forty_parallel_guesses_spread_over_two_nodes_share_one_limit(
    aiohttp_client, make_config, database_url, store, redis_prefix
):
    def node():
        config = make_config(
            database_url=database_url, redis_url=REDIS_URL, redis_prefix=redis_prefix
        )
        return create_app(config)

    nodes = [await aiohttp_client(node()), await aiohttp_client(node())]
    await make_user(store, "moderator", "moderator")
    posts = []
    for n in nodes:
        data = {"username": "moderator", "password": WRONG, "csrf_token": await csrf_token_for(n)}
        posts += [n.post("/masuk", data=data) for _ in range(20)]
    statuses = Counter(r.status for r in await asyncio.gather(*posts))
    assert statuses == {401: MAX_ATTEMPTS_PER_CLIENT, 429: 40 - MAX_ATTEMPTS_PER_CLIENT}


async def test_the_throttle_counts_atomically_before_the_check_on_each_bus(bus):
    throttle = LoginThrottle(bus)

    async def attempt() -> bool:
        try:
            await throttle.begin("moderator", "192.0.2.1", None)
        except Exception:
            return False
        return True

    passed = await asyncio.gather(*(attempt() for _ in range(40)))
    assert passed.count(True) == MAX_ATTEMPTS_PER_CLIENT
    assert (await throttle.status("MODERATOR")).throttled


async def test_an_office_signing_in_many_members_from_one_address_is_not_throttled(bus):
    throttle = LoginThrottle(bus)
    for n in range(MAX_ATTEMPTS_PER_IP * 2):
        attempt = await throttle.begin(f"anggota{n}", "192.0.2.50", None)
        await throttle.succeeded(attempt)  # would raise RateLimited past 20 without the give-back
    assert not (await throttle.status("anggota0")).throttled


async def test_an_admin_sees_throttled_accounts_and_a_reset_lifts_the_throttle(client, store):
    await make_user(store, "anggota", "anggota")
    for _ in range(MAX_ATTEMPTS_PER_CLIENT + 1):
        await post_login(client, "anggota", WRONG)
    assert (await post_login(client, "anggota", TEST_PASSWORD)).status == 429
    clients = Clients(client)
    try:
        admin = await clients.new()
        token = await log_in(admin, store, "admin", "admin-utama")
        page = await (await admin.get("/konsol/pengguna")).text()
        row = page[page.index('data-account="anggota"') :].split("</tr>")[0]
        assert "Percobaan masuk dibatasi" in row and "5 gagal" in row
        async with store.read() as session:
            user = await repo.get_user_by_username(session, "anggota")
        reset = await admin.post(
            f"/konsol/pengguna/{user.id}/sandi",
            data={"csrf_token": token, "password": "kata-sandi-baru-123"},
            allow_redirects=False,
        )
        assert reset.status == 303
        page = await (await admin.get("/konsol/pengguna")).text()
        row = page[page.index('data-account="anggota"') :].split("</tr>")[0]
        assert "Percobaan masuk" not in row
    finally:
        await clients.close()
    assert (await post_login(client, "anggota", "kata-sandi-baru-123")).status == 303


# -- sessions: server-side, revocable, timed out, with their own CSRF token ----------------------


def session_cookie(client) -> str:
    return next(c.value for c in client.session.cookie_jar if c.key == SESSION_COOKIE)


async def test_logout_ends_the_session_for_every_copy_of_the_cookie(client, store):
    token = await log_in(client, store, "sekretariat", "sekre")
    stolen = session_cookie(client)
    await client.post("/keluar", data={"csrf_token": token})
    replay = await client.get(
        "/konsol", headers={"Cookie": f"{SESSION_COOKIE}={stolen}"}, allow_redirects=False
    )
    assert replay.status == 303 and replay.headers["Location"].startswith("/masuk")


async def test_a_password_reset_ends_the_users_sessions(client, store):
    await log_in(client, store, "sekretariat", "sekre")
    async with store.read() as session:
        user = await repo.get_user_by_username(session, "sekre")
    await reset_password(store, LoginThrottle(MemoryBus()), "admin", user.id, "kata-sandi-baru-1")
    assert (await client.get("/konsol", allow_redirects=False)).status == 303


@pytest.mark.parametrize(
    ("column", "age"),
    [("last_seen_at", dt.timedelta(hours=2)), ("created_at", dt.timedelta(hours=12))],
)
async def test_sessions_end_after_idle_and_absolute_timeouts(client, store, column, age):
    await log_in(client, store, "sekretariat", "sekre")
    assert (await client.get("/konsol")).status == 200
    async with store.transaction() as session:
        await session.execute(update(UserSession).values({column: utcnow() - age}))
    assert (await client.get("/konsol", allow_redirects=False)).status == 303


async def test_activity_keeps_a_session_alive_past_the_idle_timeout(client, store):
    await log_in(client, store, "sekretariat", "sekre")
    async with store.transaction() as session:
        await session.execute(
            update(UserSession).values(last_seen_at=utcnow() - dt.timedelta(minutes=90))
        )
    assert (await client.get("/konsol")).status == 200
    async with store.read() as session:
        row = await session.scalar(select(UserSession))
    assert utcnow() - row.last_seen_at < dt.timedelta(minutes=1)


async def test_the_csrf_token_is_bound_to_the_session_and_rotated_at_login(client, store):
    await make_user(store, "sekre", "sekretariat")
    before = await csrf_token_for(client)
    response, after = await sign_in(client, "sekre", TEST_PASSWORD)
    assert response.status == 303 and after != before
    body = {"type": "paripurna", "title": "Rapat", "starts_at": "2026-03-02T09:00"}
    stale = await client.post("/api/v1/sittings", headers={"X-CSRF-Token": before}, json=body)
    assert stale.status == 403
    fresh = await client.post("/api/v1/sittings", headers={"X-CSRF-Token": after}, json=body)
    assert fresh.status == 201
    clients = Clients(client)
    try:
        other = await clients.new()
        await sign_in(other, "sekre", TEST_PASSWORD)
        crossed = await other.post("/api/v1/sittings", headers={"X-CSRF-Token": after}, json=body)
        assert crossed.status == 403, "another session's token is worth nothing"
    finally:
        await clients.close()


async def test_a_non_ascii_csrf_header_is_a_403_not_a_500(client):
    response = await client.post("/api/v1/sittings", headers={"X-CSRF-Token": "tökén"}, json={})
    assert response.status == 403


async def test_host_prefixed_cookies_over_https(aiohttp_client, make_config, database_url, store):
    client = await aiohttp_client(
        create_app(make_config(database_url=database_url, public_url="https://dprd.example.id"))
    )
    await make_user(store, "sekre", "sekretariat")
    page = await client.get("/masuk")
    seed = page.cookies["__Host-sidang_csrf"]
    assert seed["secure"] and seed["path"] == "/" and not seed["domain"]
    token = (await page.text()).split('name="csrf-token" content="')[1].split('"')[0]
    response = await client.post(
        "/masuk",
        data={"username": "sekre", "password": TEST_PASSWORD, "csrf_token": token},
        headers={"Cookie": f"__Host-sidang_csrf={seed.value}"},
        allow_redirects=False,
    )
    assert response.status == 303
    cookie = response.cookies[f"__Host-{SESSION_COOKIE}"]
    assert cookie["secure"] and cookie["httponly"] and cookie["path"] == "/"
    assert not cookie["domain"]
    assert SESSION_COOKIE not in response.cookies
