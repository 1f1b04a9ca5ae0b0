"""What benchmark runs share: a throwaway PostgreSQL database (created migrated, dropped
afterwards), the app's config for a run, timing one page through a test client, and the CPU time
of processes and of the whole machine (load generators share the 2 cores with the servers)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
from aiohttp.test_utils import TestClient

from server.config import Config
from server.store.migrate import upgrade

PG_ADMIN_DSN = os.environ.get("SIDANG_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")


@contextlib.asynccontextmanager
async def scratch_postgres() -> AsyncIterator[str]:
    """The SQLAlchemy URL of a new, migrated database, dropped when the block ends."""
    name = f"sidang_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    url = f"{base}/{name}"
    try:
        await asyncio.to_thread(upgrade, url)
        yield url
    finally:
        admin = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


def bench_config(url: str, directory: str, secret_key: str) -> Config:
    return Config(
        database_url=url,
        media_dir=Path(directory) / "recordings",
        data_dir=Path(directory) / "var",
        secret_key=secret_key,
    )


async def timed_get(client: TestClient, path: str) -> float:
    """Milliseconds to fetch and read one page, which must answer 200."""
    began = time.perf_counter()
    response = await client.get(path)
    await response.read()
    took = (time.perf_counter() - began) * 1000
    assert response.status == 200, (path, response.status)
    return took


def raise_file_limit() -> None:
    """Thousands of client sockets in one load-generator process."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def machine_busy() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine: the generator shares it with the servers."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def cpu_s(pid: int) -> float:
    """User plus system CPU seconds of one process, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
