"""Two nodes, one media volume: a live sitting belongs to the node that holds its lease.

Requests for it that reach the other node are forwarded to the owner; a node starting up leaves
the owner's recording alone; after `kill -9` of the owner the lease lapses and the next WHIP
publish on the other node takes the sitting over, continuing the same recording."""

from __future__ import annotations

import asyncio
import os
import uuid

import aiohttp
import pytest

from server.bus import MemoryBus
from tests.live_helpers import whip_publisher
from tests.server_process import ServerProcess, free_port, migrate_with_staff, staff_session

pytestmark = pytest.mark.slow


async def test_a_lease_is_held_by_one_value_until_it_lapses(bus):
    key = f"lease-{uuid.uuid4().hex}"
    assert await bus.claim(key, "node-a", 30)
    assert await bus.claim(key, "node-a", 30), "the holder renews"
    assert not await bus.claim(key, "node-b", 30)
    assert await bus.get_value(key) == "node-a"
    await bus.delete_value(key)
    assert await bus.claim(key, "node-b", 30)


async def test_a_lapsed_lease_goes_to_the_next_claimant():
    now = [0.0]
    bus = MemoryBus(clock=lambda: now[0])
    assert await bus.claim("lease", "node-a", 10)
    now[0] = 9.9
    assert not await bus.claim("lease", "node-b", 10)
    now[0] = 10.0
    assert await bus.claim("lease", "node-b", 10)


async def _publish(url: str, sitting_id: int, key: str) -> int:
    pc = await whip_publisher()
    async with aiohttp.ClientSession() as session:
        response = await session.post(
            f"{url}/whip/{sitting_id}",
            data=pc.localDescription.sdp,
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/sdp"},
        )
        await response.read()
    await pc.close()
    return response.status


async def test_the_owner_is_forwarded_to_left_alone_and_taken_over_after_kill_9(tmp_path):
    ports = free_port(), free_port()
    shared = {
        **os.environ,
        "SIDANG_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}",
        "SIDANG_MEDIA_DIR": str(tmp_path / "media"),
        "SIDANG_DATA_DIR": str(tmp_path / "var"),
        "SIDANG_SECRET_KEY": uuid.uuid4().hex * 2,
        "SIDANG_REDIS_URL": "redis://127.0.0.1:6379/0",
        "SIDANG_REDIS_PREFIX": f"lease-test-{uuid.uuid4().hex[:8]}:",
        "SIDANG_TRUSTED_PROXIES": "127.0.0.1",
    }
    migrate_with_staff(shared)
    owner, other = (
        ServerProcess(
            {**shared, "SIDANG_NODE_URL": f"http://127.0.0.1:{port}"},
            port,
            tmp_path / f"node-{port}.log",
        )
        for port in ports
    )
    await owner.start()
    try:
        session, headers = await staff_session(owner)
        async with session:
            created = await session.post(
                "/api/v1/sittings",
                headers=headers,
                json={"type": "paripurna", "title": "Uji node", "starts_at": "2026-03-02T09:00"},
            )
            sitting = await created.json()
            for status in ("scheduled", "live"):
                response = await session.post(
                    f"/api/v1/sittings/{sitting['id']}/status",
                    headers=headers,
                    json={"status": status},
                )
                assert response.status == 200
            detail = await (await session.get(f"/api/v1/sittings/{sitting['id']}")).json()
        sid, key = sitting["id"], detail["ingest_key"]

        # The second node starts while the first records: it must not finish that recording.
        await other.start()
        playlist = tmp_path / "media" / str(sid) / "720p" / "index.m3u8"
        async with aiohttp.ClientSession(other.url) as viewer:
            for msn in range(1, 4):  # blocking reloads, answered by the owner through node 2
                held = await viewer.get(f"/live/{sid}/720p/index.m3u8?_HLS_msn={msn}")
                assert held.status == 200, await held.text()
            assert "seg00002.m4s" in await held.text()
        assert not (tmp_path / "media" / str(sid) / "FINISHED").exists()
        assert "#EXT-X-ENDLIST" not in playlist.read_text()

        owner.kill()
        # Until the lease lapses node 2 forwards to the dead owner (503); then it takes over.
        statuses = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while (status := await _publish(other.url, sid, key)) != 201:
            statuses.append(status)
            assert loop.time() < deadline, statuses
            await asyncio.sleep(0.5)  # no event to await: the lease lapses in Redis
        assert set(statuses) <= {503}
        session, headers = await staff_session(other)
        async with session:
            detail = await (await session.get(f"/api/v1/sittings/{sid}")).json()
            assert detail["status"] == "live"
            edge = playlist.read_text().count("#EXTINF")
            held = await session.get(f"/live/{sid}/720p/index.m3u8?_HLS_msn={edge + 1}")
            assert held.status == 200 and "#EXT-X-DISCONTINUITY" in await held.text()
            ended = await session.post(
                f"/api/v1/sittings/{sid}/status", headers=headers, json={"status": "ended"}
            )
            assert ended.status == 200
            recording = (await (await session.get(f"/api/v1/sittings/{sid}")).json())["recording"]
        assert len(recording["gaps"]) == 1, "one record, the takeover's hole marked"
    finally:
        owner.stop()
        other.stop()
