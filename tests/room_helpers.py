"""Helpers for the member room tests: members with accounts, and more logged-in clients."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from server.store import repo
from server.store.models import Institution


async def add_member(store, name: str, komisi: str = "Komisi A") -> int:
    async with store.transaction() as session:
        return (await repo.create_member(session, name, "Fraksi Uji", komisi)).id


async def set_seats(store, seats: int) -> None:
    async with store.transaction() as session:
        (await session.get(Institution, (await repo.get_institution(session)).id)).seats = seats


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
