"""User accounts in the console: only administrators manage them, every change is audited,
and nobody can lock the administrators out."""

from __future__ import annotations

from server.store import repo
from tests.conftest import TEST_PASSWORD, log_in, sign_in
from tests.room_helpers import Clients, add_member

NEW_PASSWORD = "kata-sandi-baru-123"


async def account(store, username: str):
    async with store.read() as session:
        return await repo.get_user_by_username(session, username)


async def test_only_administrators_see_the_accounts_page(client, store):
    await log_in(client, store, "sekretariat")
    response = await client.get("/konsol/pengguna")
    assert response.status == 403
    assert 'href="/konsol/pengguna"' not in await (await client.get("/konsol")).text()


async def test_an_administrator_adds_an_account_that_can_sign_in(client, store):
    token = await log_in(client, store, "admin", "admin-utama")
    assert 'href="/konsol/pengguna"' in await (await client.get("/konsol")).text()
    member = await add_member(store, "Siti Aminah")
    response = await client.post(
        "/konsol/pengguna",
        data={
            "csrf_token": token,
            "username": "siti",
            "role": "anggota",
            "member_id": str(member),
            "password": TEST_PASSWORD,
        },
        allow_redirects=False,
    )
    assert response.status == 303
    created = await account(store, "siti")
    assert created.role == "anggota" and created.member_id == member
    page = await (await client.get("/konsol/pengguna")).text()
    assert 'data-account="siti"' in page and "Siti Aminah" in page
    async with store.read() as session:
        entry = (await repo.recent_audit(session, limit=1))[0]
    assert (entry.actor, entry.action, entry.target) == (
        "admin-utama",
        "user.create",
        f"user:{created.id}",
    )

    clients = Clients(client)
    try:
        siti = await clients.new()
        login, _ = await sign_in(siti, "siti", TEST_PASSWORD)
        assert login.status == 303
    finally:
        await clients.close()


async def test_a_refused_account_is_explained_and_nothing_is_written(client, store):
    token = await log_in(client, store, "admin", "admin-dua")
    taken = await client.post(
        "/konsol/pengguna",
        data={
            "csrf_token": token,
            "username": "ADMIN-DUA",
            "role": "moderator",
            "password": TEST_PASSWORD,
        },
    )
    assert taken.status == 409
    page = await taken.text()
    assert "Nama pengguna &#39;ADMIN-DUA&#39; sudah dipakai." in page
    assert 'value="ADMIN-DUA"' in page  # what was typed comes back, the password does not
    short = await client.post(
        "/konsol/pengguna",
        data={"csrf_token": token, "username": "pendek", "role": "moderator", "password": "123"},
    )
    assert short.status == 400 and "Kata sandi minimal 8 karakter." in await short.text()
    unknown = await client.post(
        "/konsol/pengguna",
        data={"csrf_token": token, "username": "raja", "role": "raja", "password": TEST_PASSWORD},
    )
    assert unknown.status == 400
    bad_member = await client.post(
        "/konsol/pengguna",
        data={
            "csrf_token": token,
            "username": "anggota-x",
            "role": "anggota",
            "member_id": "satu",
            "password": TEST_PASSWORD,
        },
    )
    assert bad_member.status == 400 and "member_id harus berupa angka." in await bad_member.text()
    for refused in ("pendek", "raja", "anggota-x"):
        assert await account(store, refused) is None


async def test_a_password_reset_signs_the_account_out_everywhere(client, store):
    token = await log_in(client, store, "admin")
    clients = Clients(client)
    try:
        moderator = await clients.new()
        await log_in(moderator, store, "moderator", "moderator-lama")
        assert (await moderator.get("/konsol/pengguna")).status == 403  # signed in, not admin
        target = await account(store, "moderator-lama")
        reset = await client.post(
            f"/konsol/pengguna/{target.id}/sandi",
            data={"csrf_token": token, "password": NEW_PASSWORD},
            allow_redirects=False,
        )
        assert reset.status == 303
        signed_out = await moderator.get("/konsol/pengguna", allow_redirects=False)
        assert signed_out.status == 303 and signed_out.headers["Location"].startswith("/masuk")
        login, _ = await sign_in(moderator, "moderator-lama", NEW_PASSWORD)
        assert login.status == 303
    finally:
        await clients.close()


async def test_an_administrator_cannot_lock_themselves_out(client, store):
    token = await log_in(client, store, "admin", "admin-sendiri")
    me = await account(store, "admin-sendiri")
    demote = await client.post(
        f"/konsol/pengguna/{me.id}", data={"csrf_token": token, "role": "moderator"}
    )
    assert demote.status == 409
    delete = await client.post(f"/konsol/pengguna/{me.id}/hapus", data={"csrf_token": token})
    assert delete.status == 409
    assert (await account(store, "admin-sendiri")).role == "admin"


async def test_an_administrator_changes_a_role_and_deletes_an_account(client, store):
    token = await log_in(client, store, "admin")
    async with store.transaction() as session:
        other = await repo.create_user(session, "pindah", "x", "moderator", None)
    member = await add_member(store, "Pimpinan Baru")
    changed = await client.post(
        f"/konsol/pengguna/{other.id}",
        data={"csrf_token": token, "role": "pimpinan", "member_id": str(member)},
        allow_redirects=False,
    )
    assert changed.status == 303
    moved = await account(store, "pindah")
    assert moved.role == "pimpinan" and moved.member_id == member
    gone = await client.post(
        f"/konsol/pengguna/{other.id}/hapus", data={"csrf_token": token}, allow_redirects=False
    )
    assert gone.status == 303 and await account(store, "pindah") is None
    missing = await client.post(f"/konsol/pengguna/{other.id}/hapus", data={"csrf_token": token})
    assert missing.status == 404
