"""kill -9 the server mid-recording; the next start recovers the recording from its segments."""

from __future__ import annotations

import datetime as dt
import os
import time

import pytest

from tests.server_process import ServerProcess, free_port, migrate_with_staff, staff_session

SEGMENT_S = 2.0

pytestmark = pytest.mark.slow


async def test_kill_9_mid_recording_then_recover(tmp_path):
    env = {
        **os.environ,
        "SIDANG_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}",
        "SIDANG_MEDIA_DIR": str(tmp_path / "media"),
        "SIDANG_DATA_DIR": str(tmp_path / "var"),
    }
    migrate_with_staff(env)
    server = ServerProcess(env, free_port(), tmp_path / "server.log")
    await server.start()
    try:
        session, headers = await staff_session(server)
        async with session:
            created = await session.post(
                "/api/v1/sittings",
                headers=headers,
                json={"type": "paripurna", "title": "Uji crash", "starts_at": "2026-03-02T09:00"},
            )
            sitting_id = (await created.json())["id"]
            for status in ("scheduled", "live"):
                response = await session.post(
                    f"/api/v1/sittings/{sitting_id}/status",
                    headers=headers,
                    json={"status": status},
                )
                assert response.status == 200
            live_started = dt.datetime.fromisoformat(
                (await response.json())["live_started_at"]
            ).timestamp()
            for msn in range(1, 5):  # blocking reloads: wait until segment 3 is complete
                held = await session.get(f"/live/{sitting_id}/720p/index.m3u8?_HLS_msn={msn}")
                assert held.status == 200, await held.text()
            assert "seg00003.m4s" in await held.text()
        elapsed = time.time() - live_started
        server.kill()

        playlist = tmp_path / "media" / str(sitting_id) / "720p" / "index.m3u8"
        assert "#EXT-X-ENDLIST" not in playlist.read_text(), "the crash left it unfinished"
        await server.start()
        session, headers = await staff_session(server)
        async with session:
            detail = await (await session.get(f"/api/v1/sittings/{sitting_id}")).json()
            assert detail["status"] == "ended"
            recording = detail["recording"]
            assert recording["recovered"]
            assert recording["duration_s"] >= elapsed - SEGMENT_S
            assert playlist.read_text().rstrip().endswith("#EXT-X-ENDLIST")

            # Staff resume the same sitting: one record, the hole marked, offsets kept.
            resumed = await session.post(
                f"/api/v1/sittings/{sitting_id}/status", headers=headers, json={"status": "live"}
            )
            assert resumed.status == 200, await resumed.text()
            assert (await resumed.json())["live_started_at"] == detail["live_started_at"]
            edge = playlist.read_text().count("#EXTINF")
            held = await session.get(f"/live/{sitting_id}/720p/index.m3u8?_HLS_msn={edge + 1}")
            assert held.status == 200 and "#EXT-X-DISCONTINUITY" in await held.text()
            ended = await session.post(
                f"/api/v1/sittings/{sitting_id}/status", headers=headers, json={"status": "ended"}
            )
            assert ended.status == 200
            detail = await (await session.get(f"/api/v1/sittings/{sitting_id}")).json()
        recording = detail["recording"]
        wall = time.time() - live_started
        assert recording["expected_s"] == pytest.approx(wall, abs=SEGMENT_S)
        assert recording["duration_s"] == pytest.approx(wall, abs=2 * SEGMENT_S)
        [(gap_start, gap_end)] = recording["gaps"]
        assert gap_start == pytest.approx(elapsed, abs=2 * SEGMENT_S) and gap_end > gap_start
    finally:
        server.stop()
