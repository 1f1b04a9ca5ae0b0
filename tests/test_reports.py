"""Reports and auto-hide: any feature's items, three distinct reporters, the moderator queue."""

from __future__ import annotations

import asyncio
import ipaddress

import pytest
from sqlalchemy import select

from server import keys
from server.app import create_app
from server.domain.errors import NotFound
from server.domain.moderation import REPORT_THRESHOLD, ReviewState, Sender, after_report
from server.i18n import N_
from server.reports import Target
from server.store.models import AuditEntry, ReportedItem
from tests.conftest import csrf_token_for, log_in


class Notes:
    """A stand-in feature: items 1 and 2 exist; hiding is recorded in the report's session."""

    def __init__(self) -> None:
        self.hidden: dict[int, bool] = {}

    async def describe(self, session, target_id: int) -> Target:
        if target_id not in (1, 2):
            raise NotFound(N_("Halaman tidak ditemukan."))
        return Target(f"Catatan nomor {target_id}", f"/catatan/{target_id}")

    async def set_hidden(self, session, target_id: int, hidden: bool) -> None:
        self.hidden[target_id] = hidden


@pytest.fixture
async def proxied(aiohttp_client, make_config, database_url, store):
    """Behind a trusted proxy, so each resident can come from an address of their own."""
    config = make_config(
        database_url=database_url, trusted_proxies=(ipaddress.ip_network("127.0.0.1/32"),)
    )
    client = await aiohttp_client(create_app(config))
    notes = Notes()
    client.app[keys.REPORTS].register("catatan", notes)
    return client, notes


async def report_as(client, ip: str, target: int = 1, reason: str = "spam", *, fresh=True):
    """A resident's report from `ip`; `fresh` clears the cookies first (another browser)."""
    if fresh:
        client.session.cookie_jar.clear()
    token = await csrf_token_for(client)
    return await client.post(
        f"/laporkan/catatan/{target}",
        data={"reason": reason, "note": "", "csrf_token": token},
        headers={"X-Forwarded-For": ip},
        allow_redirects=False,
    )


def test_the_rule_hides_at_the_threshold_and_a_confirmed_item_stays_hidden():
    assert after_report(ReviewState.OPEN, REPORT_THRESHOLD - 1) is ReviewState.OPEN
    assert after_report(ReviewState.OPEN, REPORT_THRESHOLD) is ReviewState.HIDDEN
    assert after_report(ReviewState.RESTORED, REPORT_THRESHOLD) is ReviewState.HIDDEN
    assert after_report(ReviewState.CONFIRMED, 10) is ReviewState.CONFIRMED


async def test_three_distinct_reporters_hide_an_item_and_one_reporter_counts_once(proxied, store):
    client, notes = proxied
    for _ in range(3):  # one browser reporting again and again
        response = await report_as(client, "203.0.113.1", fresh=False)
        assert response.status == 303
    response = await report_as(client, "203.0.113.1")  # cookies cleared, same address
    assert response.status == 303
    response = await report_as(client, "203.0.113.2")
    assert notes.hidden == {}
    response = await report_as(client, "203.0.113.3")
    assert response.status == 303
    assert response.headers["Location"] == "/laporkan/catatan/1?terkirim=1"
    assert notes.hidden == {1: True}
    async with store.read() as session:
        item = await session.get(ReportedItem, 1)
    assert (item.state, item.reporters, item.url) == ("hidden", 3, "/catatan/1")


async def test_the_moderator_restores_and_new_reporters_count_afresh(proxied, store):
    client, notes = proxied
    for n in range(3):
        await report_as(client, f"198.51.100.{n}")
    assert notes.hidden == {1: True}
    client.session.cookie_jar.clear()
    token = await log_in(client, store, "moderator")
    page = await (await client.get("/moderasi/laporan")).text()
    assert "Catatan nomor 1" in page and "/catatan/1" in page
    response = await client.post(
        "/moderasi/laporan/1/pulihkan", data={"csrf_token": token}, allow_redirects=False
    )
    assert response.status == 303
    assert notes.hidden == {1: False}
    for n in range(3):  # the first reporters already had their say
        await report_as(client, f"198.51.100.{n}")
    assert notes.hidden == {1: False}
    for n in range(3):
        await report_as(client, f"192.0.2.{n}")
    assert notes.hidden == {1: True}
    token = await log_in(client, store, "moderator")
    response = await client.post(
        "/moderasi/laporan/1/konfirmasi", data={"csrf_token": token}, allow_redirects=False
    )
    assert response.status == 303 and notes.hidden == {1: True}
    async with store.read() as session:
        item = await session.get(ReportedItem, 1)
        actions = set(await session.scalars(select(AuditEntry.action)))
    assert item.state == "confirmed"
    assert "report.restore" in actions and "report.confirm" in actions


async def test_report_forms_need_the_csrf_token_and_a_reason(proxied, store):
    client, notes = proxied
    response = await client.post(
        "/laporkan/catatan/1", data={"reason": "spam"}, headers={"X-Forwarded-For": "192.0.2.9"}
    )
    assert response.status == 403
    response = await report_as(client, "192.0.2.9", reason="bosan")
    assert response.status == 400
    assert 'id="err-reason"' in await response.text()
    assert (await report_as(client, "192.0.2.9", target=3)).status == 404
    token = await log_in(client, store, "moderator")
    assert (await client.post("/moderasi/laporan/1/pulihkan")).status == 403
    response = await client.post("/moderasi/laporan/1/pulihkan", data={"csrf_token": token})
    assert response.status == 404  # nothing reported yet


async def test_residents_may_not_review(proxied):
    client, _ = proxied
    token = await csrf_token_for(client)
    assert (await client.get("/moderasi/laporan", allow_redirects=False)).status in (302, 303, 401)
    response = await client.post(
        "/moderasi/laporan/1/konfirmasi", data={"csrf_token": token}, allow_redirects=False
    )
    assert response.status in (302, 303, 401)


async def test_concurrent_reports_are_each_counted(proxied, store):
    """Three residents at once: the item row is locked per report, so none is lost."""
    client, notes = proxied
    service = client.app[keys.REPORTS]
    senders = [Sender(f"warga-{n}", f"ip-{n}", f"hp-{n}") for n in range(3)]
    results = await asyncio.gather(*(service.report("catatan", 2, s, "spam") for s in senders))
    assert all(r.counted for r in results)
    assert notes.hidden == {2: True}
    async with store.read() as session:
        item = await session.scalar(select(ReportedItem).where(ReportedItem.target_id == 2))
    assert (item.state, item.reporters) == ("hidden", 3)
