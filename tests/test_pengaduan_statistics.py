"""/pengaduan/statistik: counts per month, medians, on-time shares, SVG, table and CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from server.app import create_app
from server.auth import CurrentUser
from server.domain.roles import Role
from server.keys import PENGADUAN
from server.pengaduan.service import Filing
from server.pengaduan.stats import bar_chart
from server.pengaduan.status import Privacy, Status
from tests.pengaduan_helpers import DATA_KEY, seed_category

STAFF = CurrentUser(1, "staf", Role.SEKRETARIAT, None)


def at(day: int, month: int = 3) -> dt.datetime:
    return dt.datetime(2026, month, day, 3, tzinfo=dt.UTC)  # 10.00 WIB


@pytest.fixture
async def client(aiohttp_client, make_config, database_url, store):
    config = make_config(database_url=database_url, data_keys=(DATA_KEY,))
    return await aiohttp_client(create_app(config))


@pytest.fixture
async def seeded(client, store):
    """Four reports in March and April 2026 (Monday 2 March onwards)."""
    service = client.app[PENGADUAN]
    roads = await seed_category(store)
    health = await seed_category(store, '=HYPERLINK("x")', "Komisi D")
    sender = service.sender("10.1.1.1")
    service.gate.limits = service.api_gate.limits  # many filings from one test address

    async def file(category, kelurahan, when, privacy=Privacy.BIASA):
        filed = await service.file(
            Filing(category, f"Laporan {kelurahan} {when}", kelurahan=kelurahan, privacy=privacy),
            sender,
            now=when,
        )
        return filed.code

    a = await file(roads, "Podosugih", at(2))
    b = await file(roads, "Kergon", at(2))
    c = await file(health, "Kergon", at(6, 4))
    await file(health, "Kelrahasia", at(7, 4), Privacy.RAHASIA)
    # a: verified in 1 day (on time), followed up late, finished after 10 days
    await service.change_status(STAFF, a, Status.DIVERIFIKASI, "ok", now=at(3))
    await service.change_status(STAFF, a, Status.DITERUSKAN, "", opd="PUPR", now=at(4))
    await service.change_status(STAFF, a, Status.DITINDAKLANJUTI, "", now=at(11))
    await service.change_status(STAFF, a, Status.SELESAI, "", now=at(12))
    # b: verified late (due Thursday 5 March), c: verified in 3 days
    await service.change_status(STAFF, b, Status.DIVERIFIKASI, "", now=at(9))
    await service.change_status(STAFF, c, Status.DIVERIFIKASI, "", now=at(9, 4))
    return service


async def test_statistics_numbers(seeded):
    statistics = await seeded.statistics()
    by_group = {b.group: b for b in statistics.breakdowns}
    assert ("Jalan dan infrastruktur", "2026-03", 2) in by_group["category"].rows
    assert ("Komisi D", "2026-04", 2) in by_group["komisi"].rows
    kelurahan = {key for key, _, _ in by_group["kelurahan"].rows}
    assert kelurahan == {"Podosugih", "Kergon"}  # the rahasia one is not shown by place
    assert statistics.median_verify_s == 3 * 86400  # 1, 3 and 7 days
    assert statistics.median_finish_s == 10 * 86400
    assert statistics.verified_on_time == (2, 3)
    assert statistics.followed_on_time == (0, 1)
    assert (await seeded.statistics(2025)).breakdowns[0].rows == []


async def test_statistics_page_draws_svg_and_a_table(client, seeded):
    response = await client.get("/pengaduan/statistik")
    body = await response.text()
    assert response.status == 200
    assert body.count("<svg") == 3 and "<rect" in body and 'data-group="kelurahan"' in body
    assert 'id="median-verifikasi">3.0<' in body and 'id="tepat-verifikasi">67%<' in body
    assert "<script>" not in body
    assert (await client.get("/pengaduan/statistik?tahun=abc")).status == 400


async def test_statistics_csv_downloads_without_formulas(client, seeded):
    response = await client.get("/pengaduan/statistik.csv?tahun=2026")
    assert response.status == 200 and response.content_type == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(await response.text())))
    assert rows[0] == ["kelompok", "nama", "bulan", "jumlah"]
    assert ["category", "Jalan dan infrastruktur", "2026-03", "2"] in rows
    assert all(not row[1].startswith("=") for row in rows)
    assert "Kelrahasia" not in await response.text()


def test_bar_chart_scales_to_the_largest_value():
    chart = bar_chart([("a", 10), ("b", 5), ("c", 0)])
    widths = [bar.width for bar in chart.bars]
    assert widths[0] == 2 * widths[1] and widths[2] == 1


async def test_statistics_are_computed_once_a_minute(seeded):
    first = await seeded.statistics()
    assert await seeded.statistics() is first
    seeded.stats_ttl_s = 0.0
    assert await seeded.statistics() is not first
