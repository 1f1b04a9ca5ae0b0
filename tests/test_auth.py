"""Login, sessions, CSRF, throttling and role checks."""

import pytest

from server.app import create_app
from server.auth import SESSION_COOKIE
from server.login_throttle import MAX_ATTEMPTS_PER_CLIENT
from server.passwords import hash_password
from server.store import repo
from tests.conftest import REDIS_URL, TEST_PASSWORD, csrf_token_for


async def make_user(store, username="sekre", role="sekretariat"):
    async with store.transaction() as session:
        return await repo.create_user(session, username, hash_password(TEST_PASSWORD), role, None)


def test_passwords_are_hashed_with_argon2id():
    assert hash_password("panjang-sekali").startswith("$argon2id$")
    with pytest.raises(ValueError):
        hash_password("pendek")


async def test_login_sets_a_hardened_session_cookie(client, store):
    await make_user(store)
    token = await csrf_token_for(client)
    response = await client.post(
        "/masuk",
        data={
            "username": "sekre",
            "password": TEST_PASSWORD,
            "csrf_token": token,
            "next": "/konsol",
        },
        allow_redirects=False,
    )
    assert response.status == 303
    assert response.headers["Location"] == "/konsol"
    cookie = response.cookies[SESSION_COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    assert not cookie["secure"], "plain http public URL: no Secure flag"
    console = await client.get("/konsol")
    assert console.status == 200


async def test_wrong_password_is_refused_without_saying_which_part(client, store):
    await make_user(store)
    token = await csrf_token_for(client)
    for username in ("sekre", "nobody"):
        response = await client.post(
            "/masuk", data={"username": username, "password": "salah-x", "csrf_token": token}
        )
        assert response.status == 401
        assert "Nama pengguna atau kata sandi salah" in await response.text()


async def test_open_redirects_are_refused(client, store):
    await make_user(store)
    token = await csrf_token_for(client)
    response = await client.post(
        "/masuk",
        data={
            "username": "sekre",
            "password": TEST_PASSWORD,
            "csrf_token": token,
            "next": "//evil.example/x",
        },
        allow_redirects=False,
    )
    assert response.headers["Location"] == "/konsol"


async def test_login_is_throttled_per_account_and_client(client, store):
    await make_user(store)
    token = await csrf_token_for(client)
    for _ in range(MAX_ATTEMPTS_PER_CLIENT):
        await client.post(
            "/masuk", data={"username": "sekre", "password": "salah-salah", "csrf_token": token}
        )
    response = await client.post(
        "/masuk", data={"username": "sekre", "password": TEST_PASSWORD, "csrf_token": token}
    )
    assert response.status == 429
    assert int(response.headers["Retry-After"]) > 0
    assert "Terlalu banyak percobaan" in await response.text()


async def test_login_throttle_holds_across_nodes(
    aiohttp_client, make_config, database_url, store, redis_prefix
):

    def node():
        return create_app(
            make_config(database_url=database_url, redis_url=REDIS_URL, redis_prefix=redis_prefix)
        )

    node_a, node_b = await aiohttp_client(node()), await aiohttp_client(node())
    await make_user(store)
    token_a, token_b = await csrf_token_for(node_a), await csrf_token_for(node_b)
    for _ in range(MAX_ATTEMPTS_PER_CLIENT):
        await node_a.post(
            "/masuk", data={"username": "sekre", "password": "salah-salah", "csrf_token": token_a}
        )
    response = await node_b.post(
        "/masuk", data={"username": "sekre", "password": TEST_PASSWORD, "csrf_token": token_b}
    )
    assert response.status == 429


async def test_state_changing_requests_need_the_csrf_token(client, login):
    token = await login("sekretariat")
    without = await client.post("/api/v1/sittings", json={"title": "x"})
    assert without.status == 403
    assert "CSRF" in (await without.json())["error"]
    wrong = await client.post("/api/v1/sittings", json={}, headers={"X-CSRF-Token": "nope"})
    assert wrong.status == 403
    form = await client.post("/konsol/rapat/baru", data={"title": "x"})
    assert form.status == 403
    ok = await client.post(
        "/api/v1/sittings",
        headers={"X-CSRF-Token": token},
        json={"type": "paripurna", "title": "Rapat", "starts_at": "2026-03-02T09:00"},
    )
    assert ok.status == 201


async def test_login_form_itself_needs_csrf(client, store):
    await make_user(store)
    response = await client.post("/masuk", data={"username": "sekre", "password": TEST_PASSWORD})
    assert response.status == 403


@pytest.mark.parametrize("role", ["anggota", "pimpinan", "moderator"])
async def test_staff_routes_refuse_other_roles_with_a_message(client, login, role):
    token = await login(role)
    page = await client.get("/konsol")
    assert page.status == 403
    assert "hanya untuk peran" in await page.text()
    api = await client.post("/api/v1/sittings", headers={"X-CSRF-Token": token}, json={})
    assert api.status == 403
    assert "hanya untuk peran" in (await api.json())["error"]


async def test_anonymous_visitors_are_sent_to_login_or_get_401(client):
    page = await client.get("/konsol", allow_redirects=False)
    assert page.status == 303 and page.headers["Location"].startswith("/masuk?next=/konsol")
    token = await csrf_token_for(client)
    api = await client.post("/api/v1/sittings", headers={"X-CSRF-Token": token}, json={})
    assert api.status == 401


async def test_logout_ends_the_session(client, login):
    token = await login("sekretariat")
    response = await client.post("/keluar", data={"csrf_token": token}, allow_redirects=False)
    assert response.status == 303
    assert (await client.get("/konsol", allow_redirects=False)).status == 303


async def test_security_headers_on_pages_and_errors(client):
    for path in ("/", "/tidak-ada"):
        response = await client.get(path)
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
