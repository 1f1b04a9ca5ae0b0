"""Archive search latency on generated data, on SQLite (FTS5) and PostgreSQL (tsvector + GIN).

Generates sittings with agenda items and documents with PDF-like text, indexes them through the
same code as the app (server.store.search_index.rebuild), then times the search backend on a
mix of Indonesian queries, with and without filters, including the snippet work.

    python bench/search.py            # 10,000 sittings and 20,000 documents per database
    python bench/search.py --quick    # 2,000 and 4,000, under 2 minutes
    python bench/search.py --json     # last line: {"p95_ms_sqlite": .., "p95_ms_postgres": ..}

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
import uuid
from pathlib import Path

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import create_async_engine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.scratch import scratch_postgres  # noqa: E402
from server.search.service import SearchQuery, backend_for  # noqa: E402
from server.store import Store  # noqa: E402
from server.store.migrate import upgrade  # noqa: E402
from server.store.models import AgendaItem, Document, DocumentText, Sitting  # noqa: E402
from server.store.search_index import rebuild  # noqa: E402

TOPICS = [
    "penganggaran daerah",
    "pendapatan asli daerah",
    "retribusi parkir",
    "pajak hotel dan restoran",
    "pelayanan kesehatan",
    "pendidikan dasar",
    "penanggulangan banjir",
    "perumahan rakyat",
    "pengelolaan sampah",
    "penyertaan modal BUMD",
    "pengawasan pembangunan",
    "perlindungan anak",
    "ketertiban umum",
    "penataan ruang",
    "pemberdayaan koperasi",
]
FILLER_TEXT = (
    "bahwa dalam rangka pelaksanaan ketentuan pasal ayat huruf perlu menetapkan peraturan "
    "daerah tentang dewan perwakilan rakyat wali kota pemerintah kebijakan program kegiatan "
    "pembahasan persetujuan bersama anggaran belanja pembiayaan tahun berjalan laporan "
    "pertanggungjawaban pelaksanaan penyelenggaraan urusan pemerintahan masyarakat"
)
QUERIES = [
    "anggaran",
    "APBD",
    "retribusi parkir",
    "pajak restoran",
    "kesehatan",
    "pendidikan dasar",
    "banjir",
    "pengelolaan sampah",
    "modal BUMD",
    "perlindungan anak",
    "peraturan daerah penataan ruang",
    "laporan pertanggungjawaban",
    "koperasi",
    "rapat paripurna",
]
TYPES = ["paripurna", "komisi", "banggar", "bapemperda", "pansus"]
KINDS = ["perda", "raperda", "apbd", "risalah", "berita_acara"]


def generate(sittings: int, documents: int, seed: int = 6) -> dict[str, list[dict]]:
    rng = random.Random(seed)
    filler = FILLER_TEXT.split()
    start = dt.datetime(2015, 1, 5, 2, 0, tzinfo=dt.UTC)
    rows: dict[str, list[dict]] = {"sitting": [], "agenda": [], "document": [], "text": []}
    for sid in range(1, sittings + 1):
        topic = rng.choice(TOPICS)
        kind = rng.choice(TYPES)
        rows["sitting"].append(
            {
                "id": sid,
                "type": kind,
                "title": f"Rapat {kind.title()} {topic} ke-{sid}",
                "starts_at": start + dt.timedelta(hours=9 * sid),
                "location": "Ruang Paripurna",
                "is_public": rng.random() > 0.05,
                "quorum_rule": "1/2",
                "status": "published",
                "ingest_key": uuid.uuid4().hex,
                "komisi": f"Komisi {rng.choice('ABCD')}" if kind == "komisi" else "",
                "secret_ballot": False,
            }
        )
        for position in range(1, 4):
            rows["agenda"].append(
                {
                    "sitting_id": sid,
                    "position": position,
                    "title": f"Pembahasan {rng.choice(TOPICS)}",
                    "description": " ".join(rng.choices(filler, k=20)),
                    "start_offset": position * 600.0,
                }
            )
    for did in range(1, documents + 1):
        topic = rng.choice(TOPICS)
        rows["document"].append(
            {
                "id": did,
                "sitting_id": rng.randint(1, sittings) if rng.random() < 0.6 else None,
                "jenis": rng.choice(KINDS),
                "nomor": str(rng.randint(1, 40)),
                "tahun": rng.randint(2015, 2026),
                "judul": f"Peraturan Daerah tentang {topic}",
                "status": "berlaku",
                "sha256": uuid.uuid4().hex * 2,
                "size": 1000,
                "original_filename": "d.pdf",
            }
        )
        words = rng.choices(filler, k=140) + topic.split() * 3
        rng.shuffle(words)
        rows["text"].append(
            {"document_id": did, "text": " ".join(words), "pages": 3, "scanned": False}
        )
    return rows


async def populate(url: str, rows: dict[str, list[dict]]) -> float:
    engine = create_async_engine(url)
    began = time.perf_counter()
    try:
        async with engine.begin() as conn:
            for table, key in (
                (Sitting.__table__, "sitting"),
                (AgendaItem.__table__, "agenda"),
                (Document.__table__, "document"),
                (DocumentText.__table__, "text"),
            ):
                for i in range(0, len(rows[key]), 5000):
                    await conn.execute(insert(table), rows[key][i : i + 5000])
            await conn.run_sync(rebuild)
    finally:
        await engine.dispose()
    return time.perf_counter() - began


async def measure(url: str, rounds: int, seed: int = 7) -> list[float]:
    rng = random.Random(seed)
    store = Store(url)
    backend = backend_for(store.dialect)
    timings = []
    try:
        for _ in range(rounds):
            query = SearchQuery(
                text=rng.choice(QUERIES),
                year=rng.choice([None, None, rng.randint(2015, 2026)]),
                category=rng.choice([None, None, None, rng.choice(TYPES + KINDS)]),
            )
            began = time.perf_counter()
            async with store.read() as session:
                await backend.search(session, query)
            timings.append((time.perf_counter() - began) * 1000)
    finally:
        await store.close()
    return timings


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


async def bench_sqlite(rows, rounds: int) -> tuple[list[float], float]:
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite+aiosqlite:///{directory}/bench.db"
        await asyncio.to_thread(upgrade, url)
        took = await populate(url, rows)
        await measure(url, 20)  # warm the page cache
        return await measure(url, rounds), took


async def bench_postgres(rows, rounds: int) -> tuple[list[float], float]:
    async with scratch_postgres() as url:
        took = await populate(url, rows)
        engine = create_async_engine(url)
        async with engine.connect() as conn:
            await conn.exec_driver_sql("ANALYZE")
        await engine.dispose()
        await measure(url, 20)
        return await measure(url, rounds), took


def report(name: str, timings: list[float], took: float) -> None:
    print(
        f"{name:>10}: index built in {took:5.1f} s; {len(timings)} queries: "
        f"p50 {statistics.median(timings):6.1f} ms, p95 {p95(timings):6.1f} ms, "
        f"max {max(timings):6.1f} ms"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 sittings, 4,000 documents")
    parser.add_argument("--json", action="store_true", help="end with one JSON line")
    parser.add_argument("--database", choices=("both", "sqlite", "postgres"), default="both")
    args = parser.parse_args()
    sittings, documents, rounds = (2_000, 4_000, 200) if args.quick else (10_000, 20_000, 500)
    rows = generate(sittings, documents)
    entries = sittings * 4 + documents
    print(
        f"{sittings} sittings, {sittings * 3} agenda items, {documents} documents"
        f" ({entries} index entries)"
    )
    figures = {}
    for name, run in (("sqlite", bench_sqlite), ("postgres", bench_postgres)):
        if args.database in ("both", name):
            timings, took = await run(rows, rounds)
            report({"sqlite": "SQLite", "postgres": "PostgreSQL"}[name], timings, took)
            figures[f"p95_ms_{name}"] = round(p95(timings), 2)
            figures[f"p50_ms_{name}"] = round(statistics.median(timings), 2)
    if args.json:
        summary = {"sittings": sittings, "documents": documents, "queries": rounds}
        print(json.dumps({**figures, **summary}))


if __name__ == "__main__":
    asyncio.run(main())
