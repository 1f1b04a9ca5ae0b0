"""Pengaduan at scale: the staff inbox, the public list and the statistics over 100,000 reports
on SQLite and PostgreSQL, and the cost of encrypting contact data.

Rows are generated and bulk-inserted, then each page's data is fetched through
PengaduanService exactly as the views do: the inbox filtered by komisi half the time and
sorted by deadline; the public list at a random page; statistics for all years or one, as
served (computed once a minute per year) and as computed on a cache miss.

    python bench/pengaduan.py            # 100,000 reports per database
    python bench/pengaduan.py --quick    # 10,000 reports, well under 2 minutes
    python bench/pengaduan.py --json     # last line: {"p95_ms_inbox_sqlite": .., ...}

PostgreSQL gets a throwaway database created from the `test` admin DSN and dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import create_async_engine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.scratch import scratch_postgres  # noqa: E402
from server.bus import MemoryBus  # noqa: E402
from server.mail import Mailer  # noqa: E402
from server.pengaduan import codes, workdays  # noqa: E402
from server.pengaduan.service import PengaduanService  # noqa: E402
from server.pengaduan.vault import Contact, Vault  # noqa: E402
from server.signing import Signer  # noqa: E402
from server.store import Store  # noqa: E402
from server.store.migrate import upgrade  # noqa: E402
from server.store.models import Complaint, ComplaintCategory  # noqa: E402

KELURAHAN = [f"Kelurahan {n}" for n in range(1, 28)]
STATUSES = ["diterima", "diverifikasi", "diteruskan", "ditindaklanjuti", "selesai", "ditolak"]
KEY = Fernet.generate_key().decode()


def encryption_cost(samples: int) -> tuple[float, float]:
    """Microseconds to seal and to open one report's contact details."""
    vault = Vault((KEY,))
    contact = Contact("Siti Aminah binti Abdullah", "081234567890", "siti.aminah@contoh.id")
    began = time.perf_counter()
    tokens = [vault.seal(contact) for _ in range(samples)]
    sealed = time.perf_counter() - began
    began = time.perf_counter()
    for token in tokens:
        vault.open(token)
    opened = time.perf_counter() - began
    return sealed / samples * 1e6, opened / samples * 1e6


def generate(count: int, seed: int = 11) -> list[dict]:
    rng = random.Random(seed)
    vault = Vault((KEY,))
    token = vault.seal(Contact("Warga", "0812000000", "warga@contoh.id"))
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    span = (dt.datetime(2026, 12, 1, tzinfo=dt.UTC) - start).total_seconds()
    rows, seen = [], set()
    for _ in range(count):
        filed = start + dt.timedelta(seconds=rng.random() * span)
        while (code := codes.new_code(filed.year)) in seen:
            pass
        seen.add(code)
        category = rng.randrange(1000)  # which seeded category: chosen when loading
        status = rng.choice(STATUSES)
        verify_due = workdays.add_working_days(filed.date(), 3, set())
        verified = status != "diterima"
        verify_s = rng.randint(3600, 10 * 86400) if verified else None
        finish_s = verify_s + rng.randint(86400, 30 * 86400) if status == "selesai" else None
        rows.append(
            {
                "code": code,
                "secret_hash": "0" * 64,
                "category_id": category,
                "komisi": "",
                "opd": "",
                "description": "Jalan berlubang cukup dalam, membahayakan pengendara motor.",
                "location": "Jl. Contoh",
                "kelurahan": rng.choice(KELURAHAN),
                "privacy": rng.choice(["biasa", "biasa", "anonim", "rahasia"]),
                "contact_token": token if rng.random() < 0.6 else None,
                "has_email": False,
                "status": status,
                "reason": "",
                "held": rng.random() < 0.01,
                "text_hidden": False,
                "filed_at": filed,
                "month": f"{filed:%Y-%m}",
                "verify_due": verify_due,
                "due_on": None
                if status in ("ditindaklanjuti", "selesai", "ditolak")
                else verify_due,
                "updated_at": filed,
                "verify_s": verify_s,
                "finish_s": finish_s,
                "verified_on_time": (verify_s < 3 * 86400) if verified else None,
                "followed_on_time": rng.random() < 0.7
                if status in ("ditindaklanjuti", "selesai")
                else None,
            }
        )
    return rows


async def populate(url: str, rows: list[dict]) -> float:
    began = time.perf_counter()
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            # the categories migration 0009 seeds, each mapped to its komisi
            seeded = (
                await conn.execute(select(ComplaintCategory.id, ComplaintCategory.komisi))
            ).all()
            for row in rows:
                row["category_id"], row["komisi"] = seeded[row["category_id"] % len(seeded)]
            for i in range(0, len(rows), 5000):
                await conn.execute(insert(Complaint.__table__), rows[i : i + 5000])
        if engine.dialect.name == "postgresql":
            # What autovacuum does in production soon after a bulk load: planner statistics and
            # the visibility map that lets the statistics read their covering indexes alone.
            async with engine.connect() as conn:
                conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.exec_driver_sql("VACUUM ANALYZE complaint")
    finally:
        await engine.dispose()
    return time.perf_counter() - began


async def measure(url: str, rounds: int, total: int, seed: int = 5) -> dict[str, list[float]]:
    rng = random.Random(seed)
    store = Store(url)
    service = PengaduanService(store, MemoryBus(), Signer("bench"), Vault((KEY,)), Mailer(None))
    pages = {
        "inbox": lambda: service.inbox(rng.choice([None, "Komisi C", "Komisi D"])),
        "public_list": lambda: service.public_list(50, rng.randrange(0, min(total, 5000), 50)),
        "statistics": lambda: service.statistics(rng.choice([None, 2025, 2026])),
        "statistics_uncached": lambda: service.compute_statistics(rng.choice([None, 2025, 2026])),
    }
    timings: dict[str, list[float]] = {name: [] for name in pages}
    try:
        for _ in range(rounds):
            for name, fetch in pages.items():
                began = time.perf_counter()
                await fetch()
                timings[name].append((time.perf_counter() - began) * 1000)
    finally:
        await store.close()
    return timings


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


async def bench_sqlite(rows, rounds):
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite+aiosqlite:///{directory}/bench.db"
        await asyncio.to_thread(upgrade, url)
        took = await populate(url, rows)
        await measure(url, 3, len(rows))  # warm the page cache
        return await measure(url, rounds, len(rows)), took


async def bench_postgres(rows, rounds):
    async with scratch_postgres() as url:
        took = await populate(url, rows)
        await measure(url, 3, len(rows))
        return await measure(url, rounds, len(rows)), took


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 reports, fewer rounds")
    parser.add_argument("--json", action="store_true", help="end with one JSON line")
    parser.add_argument("--database", choices=("both", "sqlite", "postgres"), default="both")
    args = parser.parse_args()
    count, rounds = (10_000, 40) if args.quick else (100_000, 100)
    seal_us, open_us = encryption_cost(2_000)
    print(f"encryption: seal {seal_us:.1f} µs, open {open_us:.1f} µs per report's contact")
    figures: dict[str, float | int] = {
        "reports": count,
        "encrypt_us_per_report": round(seal_us, 1),
        "decrypt_us_per_report": round(open_us, 1),
    }
    rows = generate(count)
    for name, run in (("sqlite", bench_sqlite), ("postgres", bench_postgres)):
        if args.database not in ("both", name):
            continue
        timings, took = await run(rows, rounds)
        print(f"{name}: {count} reports loaded in {took:.1f} s")
        for page, values in timings.items():
            print(
                f"  {page:>12}: p50 {statistics.median(values):6.1f} ms, "
                f"p95 {p95(values):6.1f} ms, max {max(values):6.1f} ms"
            )
            figures[f"p95_ms_{page}_{name}"] = round(p95(values), 2)
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    asyncio.run(main())
