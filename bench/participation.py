"""Participation at scale: a Raperda of 120 pasal with 20,000 residents' inputs, served through
the real app (middlewares, service, templates) on SQLite and PostgreSQL; and the forum's pages
(bench/forum_load.py's `measure_forum`) in the same run when that module is present.

Measured, as p95 and median in milliseconds over many requests:
- `draft_page`: /raperda/{id}, all 120 pasal with their counts by position (kept in memory
  while the draft's input is unchanged);
- `draft_page_changed`: the same page just after its input changed (an input was posted,
  withdrawn or hidden, on any node), which counts all of it again;
- `pasal_summary`: /raperda/{id}/ringkasan?pasal=N, one pasal's counts and its newest page of
  input (proposed wordings as diffs), for a random pasal each time;
- `summary_table`: /raperda/{id}/ringkasan, the counts of every pasal;
- `pasal_page`: /raperda/{id}/pasal/N, a pasal with its newest page of input and the form;
- `pasal_page_deep`: the same pasal's page of input older than a random one of its inputs
  (?sebelum=ID, keyset), which costs what the first page costs;
- `baseline`: /raperda, the list of drafts, for what any page costs here (middlewares,
  session, layout) on a machine as loaded as it is during the run;
- `counts_naive` beside `counts_query`: the counts per pasal read one query per pasal (the
  naive way) against our one GROUP BY over the partial index of visible input (what
  `draft_page_changed` runs);
- `inputs_naive` beside `inputs_page`: a pasal's input read whole (as its page did before
  it was paged) against one keyset page of it;
- `cpu_ms_<page>`: this process's CPU per request, which load elsewhere does not inflate.

    python bench/participation.py            # both databases
    python bench/participation.py --quick    # 2,000 inputs, fewer rounds
    python bench/participation.py --json     # last line: {"sqlite_p95_ms_draft_page": .., ...}

The draft is imported and published through RaperdaService, as staff would; the inputs are
bulk-inserted (the moderation gate would refuse 20,000 in a minute, as it should).
PostgreSQL gets a throwaway database (bench/scratch.py), dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import importlib.util
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import create_async_engine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scratch import bench_config, scratch_postgres, timed_get  # noqa: E402
from server.app import create_app  # noqa: E402
from server.bus import MemoryBus  # noqa: E402
from server.mail import Mailer  # noqa: E402
from server.raperda.service import PAGE_SIZE, RaperdaService  # noqa: E402
from server.signing import Signer  # noqa: E402
from server.store import Store  # noqa: E402
from server.store import raperda as raperda_store  # noqa: E402
from server.store.migrate import upgrade  # noqa: E402
from server.store.models import Raperda, RaperdaComment, RaperdaUnit, utcnow  # noqa: E402
from server.store.raperda import VISIBLE  # noqa: E402

PAGES = (
    "draft_page",
    "draft_page_changed",
    "pasal_summary",
    "summary_table",
    "pasal_page",
    "pasal_page_deep",
    "baseline",
)
WORDS = [
    *("pemerintah daerah wajib menyediakan sarana pengelolaan sampah bagi setiap rumah tangga",),
    *("dengan memperhatikan kemampuan keuangan kelurahan masyarakat retribusi izin usaha",),
]
WORDS = " ".join(WORDS).split(" ")


def draft_text(pasal: int, rng: random.Random) -> str:
    """A Perda-shaped text: BAB every 10 pasal, Bagian every 5, ayat and huruf in most."""
    lines = [
        "RANCANGAN PERATURAN DAERAH KOTA PEKALONGAN",
        "TENTANG",
        "PENGELOLAAN SAMPAH DAN KEBERSIHAN",
        "Menimbang : a. bahwa kebersihan adalah hak warga;",
        "b. bahwa perlu menetapkan Peraturan Daerah;",
        "Mengingat : 1. Undang-Undang Nomor 18 Tahun 2008 tentang Pengelolaan Sampah;",
        "2. Undang-Undang Nomor 23 Tahun 2014 tentang Pemerintahan Daerah;",
        "MEMUTUSKAN:",
    ]
    for n in range(1, pasal + 1):
        if n % 10 == 1:
            lines += [f"BAB {_roman(n // 10 + 1)}", f"KETENTUAN BAGIAN {n // 10 + 1}"]
        if n % 5 == 1:
            lines += [f"Bagian Ke{['satu', 'dua'][(n // 5) % 2]}", "Umum"]
        lines.append(f"Pasal {n}")
        for ayat in range(1, rng.randint(1, 4) + 1):
            lines.append(f"({ayat}) {_sentence(rng, 14)}:")
            for letter in "abc"[: rng.randint(0, 3)]:
                lines.append(f"{letter}. {_sentence(rng, 6)};")
    return "\n".join(lines)


def _roman(n: int) -> str:
    out = ""
    for value, letters in ((10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")):
        while n >= value:
            out, n = out + letters, n - value
    return out


def _sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize()


async def seed(url: str, pasal: int, inputs: int, seed_: int = 3) -> tuple[int, list[int]]:
    """Import and publish the draft through the service, then bulk-insert the inputs."""
    rng = random.Random(seed_)
    store = Store(url)
    service = RaperdaService(store, MemoryBus(), Signer("bench"), Mailer(None))
    try:
        raperda_id = await service.create("", draft_text(pasal, rng), "bench")
        await service.publish(raperda_id, {}, "bench")
        async with store.transaction() as session:
            raperda = await session.get(Raperda, raperda_id)
            raperda.opens_at = utcnow()  # the consultation is open: pages show the form
            units = (
                await session.execute(
                    select(RaperdaUnit.id, RaperdaUnit.lineage, RaperdaUnit.text).where(
                        RaperdaUnit.version_id == raperda.current_version_id,
                        RaperdaUnit.kind == "pasal",
                    )
                )
            ).all()
            version_id = raperda.current_version_id
    finally:
        await store.close()
    rows = []
    for n in range(inputs):
        unit = None if rng.random() < 0.05 else rng.choice(units)
        position = rng.choice(["", "setuju", "tidak_setuju", "usul_perubahan"])
        proposed = ""
        if position == "usul_perubahan" and unit is not None:
            proposed = unit.text.replace(rng.choice(WORDS), rng.choice(WORDS), 1)
        rows.append(
            {
                "raperda_id": raperda_id,
                "version_id": version_id,
                "unit_id": unit.id if unit else None,
                "lineage": unit.lineage if unit else None,
                "ayat": "",
                "position": position,
                "text": _sentence(rng, rng.randint(8, 40)),
                "proposed": proposed,
                "name": f"Warga {n % 3000}",
                "identity_hash": f"{n % 3000:064d}",
                "ip_hash": f"{n % 500:064d}",
                "verified_by": "email",
                "held": rng.random() < 0.01,
                "hidden": rng.random() < 0.01,
                "withdrawn": rng.random() < 0.01,
                "created_at": utcnow(),
            }
        )
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            for i in range(0, len(rows), 5000):
                await conn.execute(insert(RaperdaComment.__table__), rows[i : i + 5000])
        if engine.dialect.name == "postgresql":
            async with engine.connect() as conn:
                conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.exec_driver_sql("VACUUM ANALYZE")
    finally:
        await engine.dispose()
    return raperda_id, [u.lineage for u in units]


async def _visible_ids(url: str, raperda_id: int) -> dict[int, list[int]]:
    """Each pasal's visible inputs' ids: where a deep page of its input may begin."""
    store = Store(url)
    c = RaperdaComment
    out: dict[int, list[int]] = {}
    try:
        async with store.read() as session:
            query = select(c.lineage, c.id).where(
                c.raperda_id == raperda_id, c.lineage.is_not(None), *VISIBLE
            )
            for lineage, comment_id in await session.execute(query):
                out.setdefault(lineage, []).append(comment_id)
    finally:
        await store.close()
    return out


async def _query_timings(url: str, raperda_id: int, lineages: list[int], rounds: int):
    """Counts per pasal: one query per pasal (naive) against one GROUP BY (ours). A pasal's
    input: all of it (naive) against one keyset page (ours), for a random pasal."""
    store = Store(url)
    c = RaperdaComment
    ours = (
        select(c.lineage, c.position, func.count())
        .where(c.raperda_id == raperda_id, *VISIBLE)
        .group_by(c.lineage, c.position)
    )
    names = ("counts_query", "counts_naive", "inputs_page", "inputs_naive")
    timings: dict[str, list[float]] = {name: [] for name in names}
    rng = random.Random(5)

    async def timed(name: str, read) -> None:
        async with store.read() as session:
            began = time.perf_counter()
            await read(session)
            timings[name].append((time.perf_counter() - began) * 1000)

    async def naive_counts(session) -> None:
        for lineage in lineages:
            naive = (
                select(c.position, func.count())
                .where(c.raperda_id == raperda_id, c.lineage == lineage, *VISIBLE)
                .group_by(c.position)
            )
            (await session.execute(naive)).all()

    async def naive_inputs(session, lineage: int) -> None:
        whole = select(c).where(c.raperda_id == raperda_id, c.lineage == lineage, *VISIBLE)
        (await session.scalars(whole.order_by(c.id))).all()

    async def paged_inputs(session, lineage: int) -> None:
        await raperda_store.comments_page(session, raperda_id, lineage, PAGE_SIZE)

    try:
        for _ in range(rounds):
            lineage = rng.choice(lineages)
            await timed("counts_query", lambda session: session.execute(ours))
            await timed("counts_naive", naive_counts)
            await timed("inputs_page", functools.partial(paged_inputs, lineage=lineage))
            await timed("inputs_naive", functools.partial(naive_inputs, lineage=lineage))
    finally:
        await store.close()
    return timings


async def measure_raperda(
    database_url: str, *, pasal: int = 120, inputs: int = 20_000, rounds: int = 100
) -> dict[str, float]:
    await asyncio.to_thread(upgrade, database_url)
    raperda_id, lineages = await seed(database_url, pasal, inputs)
    ids = await _visible_ids(database_url, raperda_id)
    rng = random.Random(9)
    timings: dict[str, list[float]] = {name: [] for name in PAGES}
    writer = Store(database_url)  # says the input changed, as another node would
    with tempfile.TemporaryDirectory() as directory:
        client = TestClient(
            TestServer(create_app(bench_config(database_url, directory, "bench-participation")))
        )
        await client.start_server()
        try:

            def paths() -> dict[str, str]:
                lineage = rng.choice(lineages)
                return {
                    "draft_page": f"/raperda/{raperda_id}",
                    "draft_page_changed": f"/raperda/{raperda_id}",
                    "pasal_summary": f"/raperda/{raperda_id}/ringkasan?pasal={lineage}",
                    "summary_table": f"/raperda/{raperda_id}/ringkasan",
                    "pasal_page": f"/raperda/{raperda_id}/pasal/{lineage}",
                    "pasal_page_deep": f"/raperda/{raperda_id}/pasal/{lineage}"
                    f"?sebelum={rng.choice(ids[lineage])}",
                    "baseline": "/raperda",
                }

            for _ in range(3):  # warm caches and the connection pool
                for path in paths().values():
                    await timed_get(client, path)
            cpu = dict.fromkeys(PAGES, 0.0)
            for _ in range(rounds):
                for name, path in paths().items():
                    if name == "draft_page_changed":
                        async with writer.transaction() as session:
                            await raperda_store.input_changed(session, raperda_id)
                    began = time.process_time()
                    timings[name].append(await timed_get(client, path))
                    cpu[name] += time.process_time() - began
        finally:
            await client.close()
            await writer.close()
    timings |= await _query_timings(database_url, raperda_id, lineages, max(rounds // 5, 5))
    # This process's CPU per page (server, client and the SQLite thread; not PostgreSQL's):
    # unlike wall time it does not grow when other work shares the machine.
    result: dict[str, float] = {
        f"cpu_ms_{name}": round(total / rounds * 1000, 2) for name, total in cpu.items()
    }
    for name, values in timings.items():
        result[f"p95_ms_{name}"] = round(statistics.quantiles(values, n=20)[-1], 2)
        result[f"median_ms_{name}"] = round(statistics.median(values), 2)
    return result


def forum_measure():
    """The forum's `measure_forum(database_url)` when bench/forum_load.py is in this tree
    (the forum feature provides it); None otherwise, and the run says so."""
    path = ROOT / "bench" / "forum_load.py"
    if not path.exists():
        return None
    spec = importlib.util.spec_from_file_location("forum_load", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.measure_forum


async def _with_sqlite(run, **kwargs) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as directory:
        return await run(f"sqlite+aiosqlite:///{directory}/bench.db", **kwargs)


async def _with_postgres(run, **kwargs) -> dict[str, float]:
    async with scratch_postgres() as url:
        return await run(url, **kwargs)


def _print(result: dict[str, float], names) -> None:
    for page in names:
        cpu = result.get(f"cpu_ms_{page}")
        print(
            f"  {page:<18} p95 {result[f'p95_ms_{page}']:7.2f} ms"
            f"  median {result[f'median_ms_{page}']:7.2f} ms"
            + (f"  cpu {cpu:6.2f} ms" if cpu is not None else "")
        )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    parser.add_argument("--quick", action="store_true", help="2,000 inputs, 30 rounds")
    parser.add_argument("--database", choices=("both", "sqlite", "postgres"), default="both")
    parser.add_argument("--no-forum", action="store_true", help="the Raperda pages only")
    args = parser.parse_args()
    size = {"inputs": 2_000, "rounds": 30} if args.quick else {}
    forum = None if args.no_forum else forum_measure()
    if forum is None and not args.no_forum:
        print("forum: bench/forum_load.py is not in this tree; its pages are not measured")
    figures: dict[str, float] = {}
    for backend, wrap in (("sqlite", _with_sqlite), ("postgres", _with_postgres)):
        if args.database not in ("both", backend):
            continue
        began = time.perf_counter()
        result = await wrap(measure_raperda, **size)
        inputs = size.get("inputs", 20_000)
        took = time.perf_counter() - began
        print(f"{backend}: Raperda of 120 pasal, {inputs:,} inputs ({took:.0f} s)")
        _print(result, (*PAGES, "counts_query", "counts_naive", "inputs_page", "inputs_naive"))
        figures |= {f"{backend}_{k}": v for k, v in result.items()}
        if forum is not None:
            began = time.perf_counter()
            quick = {"replies": 20_000, "rounds": 30} if args.quick else {}
            result = await wrap(forum, **quick)
            print(f"{backend}: forum ({time.perf_counter() - began:.0f} s)")
            _print(result, ("thread_first", "thread_deep", "topic_list", "forum_index"))
            figures |= {f"{backend}_forum_{k}": v for k, v in result.items()}
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    asyncio.run(main())
