"""Helpers for the member room tests: members with accounts, and more logged-in clients."""

from __future__ import annotations

import uuid

from aiohttp.test_utils import TestClient

from server.passwords import hash_password
from server.store import repo
from server.store.models import Institution
from tests.conftest import TEST_PASSWORD, csrf_token_for


async def add_member(store, name: str, komisi: str = "Komisi A") -> int:
    async with store.transaction() as session:
        return (await repo.create_member(session, name, "Fraksi Uji", komisi)).id


async def set_seats(store, seats: int) -> None:
    async with store.transaction() as session:
        (await session.get(Institution, (await repo.get_institution(session)).id)).seats = seats


async def log_in_as(client, store, role: str, member_id: int | None = None) -> str:
    """Create a user (optionally linked to a member), log `client` in, return its CSRF token."""
    username = f"{role}-{uuid.uuid4().hex[:6]}"
    async with store.transaction() as session:
        await repo.create_user(session, username, hash_password(TEST_PASSWORD), role, member_id)
    token = await csrf_token_for(client)
    response = await client.post(
        "/masuk",
        data={"username": username, "password": TEST_PASSWORD, "csrf_token": token, "next": "/"},
        allow_redirects=False,
    )
    assert response.status == 303, await response.text()
    return token


class Clients:
    """Extra clients on the same test server, each with its own cookie jar."""

    def __init__(self, client) -> None:
        self.server = client.server
        self.made: list[TestClient] = []

    async def new(self) -> TestClient:
        other = TestClient(self.server)
        await other.start_server()
        self.made.append(other)
        return other

    async def close(self) -> None:
        # TestClient.close() would stop the shared server; only the sessions are ours.
        for other in self.made:
            await other.session.close()
