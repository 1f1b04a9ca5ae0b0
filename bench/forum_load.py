"""The forum at scale: 2,000 threads and 200,000 replies, one thread holding 5,000 of them,
served through the real app (middlewares, service, templates) on SQLite and PostgreSQL.

Measured, as p95 and median in milliseconds over many requests:
- `thread_first`: the 5,000-reply thread's first page;
- `thread_deep`: its page after reply 4,950 (keyset: `?setelah=<id>`);
- `topic_list`: a topic's thread list (500 threads, latest activity first);
- `forum_index`: /forum, the topics grouped by komisi with their thread counts;
- `search_rare`: /forum?q=… for a word in one reply only, deep in the 5,000-reply thread;
- `search_common`: /forum?q=… for two words that thousands of replies hold (ranked, one page);
- `archive_search`: /arsip?q=… for the same common words, forum posts among the results;
- `thread_search_rare`, `thread_search_common`: the same two searches within the 5,000-reply
  thread (its page with `?q=…`: matching posts in thread order, 30 to a page);
- `thread_deep_offset_naive`: the same deep page's replies read with LIMIT/OFFSET, the naive
  way, beside ours (`thread_deep_query`, the keyset query alone) in the same run;
- `thread_search_{common,rare}_each_naive`: the first page of a search within the big thread
  found by testing each of its replies against the full-text index, beside ours
  (`thread_search_{common,rare}_query`: the thread's scope word added, so the index
  intersects them), 7 rounds each.

    python bench/forum_load.py            # both databases
    python bench/forum_load.py --quick    # 20,000 replies, fewer rounds
    python bench/forum_load.py --json     # last line: {"sqlite_p95_ms_thread_first": .., ...}

`measure_forum(database_url)` is the reusable part (bench/participation.py imports it): it
migrates the given database, seeds it and returns {"p95_ms_<page>": .., "median_ms_<page>": ..,
"cpu_ms_<page>": ..}, the last this process's CPU per request, which load elsewhere does not
inflate.
PostgreSQL gets a throwaway database (bench/scratch.py), dropped at the end.
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

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.scratch import bench_config, scratch_postgres, timed_get  # noqa: E402
from server.app import create_app  # noqa: E402
from server.search.service import backend_for  # noqa: E402
from server.search.stemming import stem_query  # noqa: E402
from server.store.forum import matching_posts  # noqa: E402
from server.store.migrate import upgrade  # noqa: E402
from server.store.models import ForumReply, ForumThread, ForumTopic  # noqa: E402
from server.store.search_index import rebuild, thread_scope  # noqa: E402

BIG_THREAD_REPLIES = 5_000
DEEP_POSITION = 4_950
RARE_REPLY = "Jembatan Kali Loji mulai retak di tengah."  # searched for: its only reply
RARE_QUERY = "jembatan retak"
SEARCH_ROUNDS = 7  # of each thread search query, ours and the naive one
COMMON_QUERY = "banjir drainase"
WORDS = [
    "jalan",
    "drainase",
    "banjir",
    "sampah",
    "sekolah",
    "puskesmas",
    "pasar",
    "anggaran",
    "perda",
    "retribusi",
    "lampu",
    "trotoar",
    "angkutan",
    "air",
    "bersih",
    "posyandu",
    "beasiswa",
    "kelurahan",
    "parkir",
    "taman",
    "pajak",
]


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


async def seed(url: str, threads: int, replies: int, seed_: int = 7) -> int:
    """Threads spread over the seeded topics, replies arriving in random order across threads
    (so one thread's ids are scattered, as in life); returns the big thread's id."""
    rng = random.Random(seed_)
    engine = create_async_engine(url)
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    try:
        async with engine.begin() as conn:
            topics = (await conn.execute(select(ForumTopic.id))).scalars().all()
            first_id = (await conn.scalar(select(func.max(ForumThread.id)))) or 0
            rows = []
            for n in range(threads):
                title = f"Utas {n}: {_text(rng, 5)}"
                body = _text(rng, 40)
                rows.append(
                    {
                        "topic_id": topics[n % len(topics)],
                        "title": title,
                        "body": body,
                        "author_name": f"Warga {n}",
                        "badge": "",
                        "identity_hash": f"{n:064x}",
                        "ip_hash": "0" * 64,
                        "locked": False,
                        "slow_mode_s": 0,
                        "hidden": False,
                        "official": False,
                        "reply_count": 0,
                        "created_at": start + dt.timedelta(minutes=n),
                        "last_activity_at": start + dt.timedelta(minutes=n),
                    }
                )
            await conn.execute(insert(ForumThread.__table__), rows)
            ids = list(range(first_id + 1, first_id + threads + 1))
            big = ids[0]
            others = ids[1:]
            owners = [big] * min(BIG_THREAD_REPLIES, replies)
            owners += [rng.choice(others) for _ in range(replies - len(owners))]
            rng.shuffle(owners)
            counts: dict[int, int] = {}
            batch = []
            rare_at = None
            for n, thread in enumerate(owners):
                counts[thread] = counts.get(thread, 0) + 1
                member = n % 25 == 0
                rare = rare_at is None and thread == big and counts[big] == DEEP_POSITION
                rare_at = n if rare else rare_at
                batch.append(
                    {
                        "thread_id": thread,
                        "body": RARE_REPLY if rare else _text(rng, rng.randint(10, 60)),
                        "author_name": "Anggota Komisi C" if member else f"Warga {n % 997}",
                        "badge": "anggota" if member else "",
                        "identity_hash": f"{n % 997:064x}",
                        "ip_hash": "0" * 64,
                        "official": False,
                        "hidden": n % 200 == 0 and not rare,
                        "created_at": start + dt.timedelta(days=30, seconds=n * 10),
                    }
                )
                if len(batch) == 10_000:
                    await conn.execute(insert(ForumReply.__table__), batch)
                    batch = []
            if batch:
                await conn.execute(insert(ForumReply.__table__), batch)
            await conn.execute(
                text(
                    "UPDATE forum_thread SET reply_count = (SELECT count(*) FROM forum_reply r"
                    " WHERE r.thread_id = forum_thread.id AND NOT r.hidden),"
                    " last_activity_at = coalesce((SELECT max(r.created_at) FROM forum_reply r"
                    " WHERE r.thread_id = forum_thread.id), last_activity_at)"
                    " WHERE id > :first"
                ),
                {"first": first_id},
            )
            # What the app's flush listener does for each post, at once: the search entries.
            await conn.run_sync(rebuild, ("thread", "reply"))
        async with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                # What autovacuum does soon after a bulk load: planner statistics.
                conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.exec_driver_sql("VACUUM ANALYZE forum_thread")
                await conn.exec_driver_sql("VACUUM ANALYZE forum_reply")
                await conn.exec_driver_sql("VACUUM ANALYZE search_entry")
            else:
                await conn.exec_driver_sql("ANALYZE")
    finally:
        await engine.dispose()
    return big


async def _query_timings(
    url: str, big: int, deep_after: int, rounds: int
) -> dict[str, list[float]]:
    """The deep page's replies alone, keyset against LIMIT/OFFSET; and a search within the
    big thread (common words, then rare ones), the scoped index intersection against testing
    each reply of the thread; on the same data."""
    engine = create_async_engine(url)
    backend = backend_for(engine.dialect.name)
    keyset = text(
        "SELECT id, body FROM forum_reply WHERE thread_id = :t AND NOT hidden AND id > :after"
        " ORDER BY id LIMIT 50"
    )
    offset = text(
        "SELECT id, body FROM forum_reply WHERE thread_id = :t AND NOT hidden"
        " ORDER BY id LIMIT 50 OFFSET :skip"
    )
    timings: dict[str, list[float]] = {"thread_deep_query": [], "thread_deep_offset_naive": []}
    try:
        async with engine.connect() as conn, AsyncSession(bind=conn) as session:
            for _ in range(rounds):
                for name, query, params in (
                    ("thread_deep_query", keyset, {"t": big, "after": deep_after}),
                    ("thread_deep_offset_naive", offset, {"t": big, "skip": DEEP_POSITION}),
                ):
                    began = time.perf_counter()
                    (await conn.execute(query, params)).all()
                    timings[name].append((time.perf_counter() - began) * 1000)
            for words, query in (("common", COMMON_QUERY), ("rare", RARE_QUERY)):
                stems = stem_query(query)
                each_params: dict = {"t": big}
                each = text(
                    "SELECT r.id FROM forum_reply r JOIN search_entry e ON e.kind = 'reply'"
                    " AND e.ref_id = r.id WHERE r.thread_id = :t AND NOT r.hidden"
                    f" AND {backend.matches(stems, each_params)} ORDER BY r.id LIMIT 31"
                )
                scoped_params: dict = {}
                scoped = backend.matches([*stems, thread_scope(big)], scoped_params)
                ours, naive = f"thread_search_{words}_query", f"thread_search_{words}_each_naive"
                timings[ours], timings[naive] = [], []
                for _ in range(SEARCH_ROUNDS):  # the naive way takes seconds on SQLite
                    began = time.perf_counter()
                    (await conn.execute(each, each_params)).all()
                    timings[naive].append((time.perf_counter() - began) * 1000)
                    began = time.perf_counter()
                    await matching_posts(session, big, scoped, scoped_params, 31, 0)
                    timings[ours].append((time.perf_counter() - began) * 1000)
    finally:
        await engine.dispose()
    return timings


async def measure_forum(
    database_url: str, *, threads: int = 2_000, replies: int = 200_000, rounds: int = 100
) -> dict[str, float]:
    """Migrate and seed `database_url`, then time the forum's pages through the app."""
    await asyncio.to_thread(upgrade, database_url)
    big = await seed(database_url, threads, replies)
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            deep_after = await conn.scalar(
                select(ForumReply.id)
                .where(ForumReply.thread_id == big, ForumReply.hidden.is_(False))
                .order_by(ForumReply.id)
                .offset(DEEP_POSITION - 1)
                .limit(1)
            )
            topic = await conn.scalar(select(ForumThread.topic_id).where(ForumThread.id == big))
    finally:
        await engine.dispose()
    pages = {
        "thread_first": f"/forum/utas/{big}",
        "thread_deep": f"/forum/utas/{big}?setelah={deep_after}",
        "topic_list": f"/forum/{topic}",
        "forum_index": "/forum",
        "search_rare": f"/forum?q={RARE_QUERY.replace(' ', '+')}",
        "search_common": f"/forum?q={COMMON_QUERY.replace(' ', '+')}",
        "archive_search": f"/arsip?q={COMMON_QUERY.replace(' ', '+')}",
        "thread_search_rare": f"/forum/utas/{big}?q={RARE_QUERY.replace(' ', '+')}",
        "thread_search_common": f"/forum/utas/{big}?q={COMMON_QUERY.replace(' ', '+')}",
    }
    timings: dict[str, list[float]] = {name: [] for name in pages}
    with tempfile.TemporaryDirectory() as directory:
        client = TestClient(
            TestServer(create_app(bench_config(database_url, directory, "bench-forum")))
        )
        await client.start_server()
        try:
            for path in pages.values():  # warm caches and the connection pool
                for _ in range(3):
                    await timed_get(client, path)
            found = await (await client.get(pages["search_rare"])).text()
            assert RARE_REPLY in found, "the rare reply is not found"
            found = await (await client.get(pages["thread_search_rare"])).text()
            assert RARE_REPLY in found, "the rare reply is not found in its thread"
            cpu = dict.fromkeys(pages, 0.0)
            for _ in range(rounds):
                for name, path in pages.items():
                    began = time.process_time()
                    timings[name].append(await timed_get(client, path))
                    cpu[name] += time.process_time() - began
        finally:
            await client.close()
    timings |= await _query_timings(database_url, big, deep_after, rounds)
    # This process's CPU per page (server, client and the SQLite thread; not PostgreSQL's):
    # unlike wall time it does not grow when other work shares the machine.
    result: dict[str, float] = {
        f"cpu_ms_{name}": round(total / rounds * 1000, 2) for name, total in cpu.items()
    }
    for name, values in timings.items():
        result[f"p95_ms_{name}"] = round(statistics.quantiles(values, n=20)[-1], 2)
        result[f"median_ms_{name}"] = round(statistics.median(values), 2)
    return result


PAGES = (
    "thread_first",
    "thread_deep",
    "topic_list",
    "forum_index",
    "search_rare",
    "search_common",
    "archive_search",
    "thread_search_rare",
    "thread_search_common",
)


async def _sqlite(**kwargs) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as directory:
        return await measure_forum(f"sqlite+aiosqlite:///{directory}/forum.db", **kwargs)


async def _postgres(**kwargs) -> dict[str, float]:
    async with scratch_postgres() as url:
        return await measure_forum(url, **kwargs)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    parser.add_argument("--quick", action="store_true", help="20,000 replies, 30 rounds")
    args = parser.parse_args()
    size = {"replies": 20_000, "rounds": 30} if args.quick else {}
    replies = size.get("replies", 200_000)
    figures: dict[str, float] = {}
    for backend, run in (("sqlite", _sqlite), ("postgres", _postgres)):
        began = time.perf_counter()
        result = await run(**size)
        print(
            f"{backend}: 2,000 threads, {replies:,} replies ({time.perf_counter() - began:.0f} s)"
        )
        for page in PAGES:
            print(
                f"  {page:<14} p95 {result[f'p95_ms_{page}']:7.2f} ms"
                f"  median {result[f'median_ms_{page}']:7.2f} ms"
                f"  cpu {result[f'cpu_ms_{page}']:6.2f} ms"
            )
        keyset, naive = (
            result["median_ms_thread_deep_query"],
            result["median_ms_thread_deep_offset_naive"],
        )
        print(
            f"  deep page query: keyset median {keyset:.2f} ms, OFFSET (naive) {naive:.2f} ms,"
            f" {naive / keyset:.1f}x"
        )
        for words in ("common", "rare"):
            scoped = result[f"median_ms_thread_search_{words}_query"]
            each = result[f"median_ms_thread_search_{words}_each_naive"]
            print(
                f"  thread search query ({words} words): scoped index median {scoped:.2f} ms,"
                f" each reply tested (naive) {each:.2f} ms, {each / scoped:.1f}x"
            )
        figures |= {f"{backend}_{key}": value for key, value in result.items()}
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    asyncio.run(main())
