"""SIGTERM ends a node cleanly: the open recording is finalized and stored, sockets are told
goodbye, and the signal is never lost however busy the loop is."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import signal

import aiohttp
import pytest
from aiohttp import WSMsgType

from server.connections import ShutdownSignals
from server.passwords import hash_password
from server.store import Store, repo
from server.store.migrate import upgrade
from tests.conftest import TEST_PASSWORD
from tests.server_process import ServerProcess, free_port, staff_session


async def test_a_signal_is_not_lost_when_the_loops_wakeup_pipe_is_full():
    """What the media threads do under load: many call_soon_threadsafe while the loop is busy
    fill its self-pipe, where asyncio's own signal handling would drop the signal's byte."""
    loop = asyncio.get_running_loop()
    with ShutdownSignals(signals=(signal.SIGUSR1,)) as shutdown:
        for _ in range(100_000):
            loop.call_soon_threadsafe(lambda: None)
        os.kill(os.getpid(), signal.SIGUSR1)
        await asyncio.wait_for(shutdown.requested.wait(), timeout=60)
    assert signal.getsignal(signal.SIGUSR1) is signal.SIG_DFL  # put back as it was


@pytest.mark.slow
async def test_sigterm_finalizes_the_live_recording(tmp_path):
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"
    env = {
        **os.environ,
        "SIDANG_DATABASE_URL": database_url,
        "SIDANG_MEDIA_DIR": str(tmp_path / "media"),
        "SIDANG_DATA_DIR": str(tmp_path / "var"),
    }
    await asyncio.to_thread(upgrade, database_url)  # in this process: one start-up less
    store = Store(database_url)
    async with store.transaction() as db:
        await repo.create_user(db, "staf", hash_password(TEST_PASSWORD), "sekretariat", None)
    await store.close()
    server = ServerProcess(env, free_port(), tmp_path / "server.log")
    await server.start()
    try:
        session, headers = await staff_session(server)
        async with session:
            created = await session.post(
                "/api/v1/sittings",
                headers=headers,
                json={"type": "paripurna", "title": "Uji SIGTERM", "starts_at": "2026-03-02T09:00"},
            )
            sitting_id = (await created.json())["id"]
            for status in ("scheduled", "live"):
                url = f"/api/v1/sittings/{sitting_id}/status"
                response = await session.post(url, headers=headers, json={"status": status})
                assert response.status == 200
            held = await session.get(f"/live/{sitting_id}/720p/index.m3u8?_HLS_msn=2")
            assert held.status == 200
            recorded_s = sum(map(float, re.findall(r"#EXTINF:([\d.]+)", await held.text())))
            socket = await session.ws_connect(f"/sidang/{sitting_id}/komentar/ws")
            assert (await socket.receive_json())["type"] == "hello"

            server.process.send_signal(signal.SIGTERM)
            while (message := await socket.receive()).type is WSMsgType.TEXT:
                pass  # the history, until the goodbye
            assert message.type is WSMsgType.CLOSE
            assert message.data == aiohttp.WSCloseCode.GOING_AWAY
        assert await asyncio.to_thread(server.process.wait) == 0, server.log()
    finally:
        server.stop()

    sitting_dir = tmp_path / "media" / str(sitting_id)
    assert (sitting_dir / "720p" / "index.m3u8").read_text().rstrip().endswith("#EXT-X-ENDLIST")
    store = Store(database_url)
    try:
        async with store.read() as db:
            sitting = await repo.get_sitting(db, sitting_id, public_only=False)
            recording = sitting.recording
            [ended] = [e for e in await repo.recent_audit(db) if e.action == "sitting.ended"]
    finally:
        await store.close()
    assert sitting.status == "ended"
    assert not recording.recovered, "finished at shutdown, not recovered at the next start"
    assert recording.duration_s >= recorded_s
    mp4 = (sitting_dir / recording.mp4_path.split("/", 1)[1]).read_bytes()
    assert recording.sha256 == hashlib.sha256(mp4).hexdigest()
    assert ended.actor == "system:shutdown"
    assert "Traceback" not in server.log()
