"""The live pipeline over HTTP: going live, WHIP ingest, LL-HLS delivery, ending, recording."""

from __future__ import annotations

import json

import av
import pytest

from media import recorder
from media.live import STALE_PART_S
from server import keys
from server.domain.sitting import SittingStatus
from server.store import repo
from tests.factories import new_sitting
from tests.live_helpers import eventually, scheduled_sitting, whip_publish, whip_publisher


@pytest.fixture
async def staff(client, login):
    return {"X-CSRF-Token": await login("sekretariat")}


@pytest.fixture
async def live_sitting(client, store, staff):
    sitting_id, key = await scheduled_sitting(store)
    response = await client.post(
        f"/api/v1/sittings/{sitting_id}/status", headers=staff, json={"status": "live"}
    )
    assert response.status == 200, await response.text()
    return sitting_id, key


async def test_going_live_starts_the_ladder_and_serves_ll_hls(client, live_sitting):
    sitting_id, _ = live_sitting
    master = await client.get(f"/live/{sitting_id}/index.m3u8")
    assert master.content_type == "application/vnd.apple.mpegurl"
    text = await master.text()
    for rendition in ("720p/index.m3u8", "360p/index.m3u8", "audio/index.m3u8"):
        assert rendition in text
    playlist = await client.get(f"/live/{sitting_id}/720p/index.m3u8")
    body = await playlist.text()
    assert playlist.headers["Cache-Control"] == "no-cache"
    assert "X-Accel-Expires" not in playlist.headers  # nginx keeps the live edge for 1 s only
    assert "#EXT-X-PLAYLIST-TYPE:EVENT" in body and "#EXT-X-PRELOAD-HINT" in body
    assert "CAN-BLOCK-RELOAD=YES" in body and "CAN-SKIP-UNTIL=12.0" in body
    held = await client.get(
        f"/live/{sitting_id}/720p/index.m3u8?_HLS_msn=1&_HLS_part=0&_HLS_skip=YES"
    )
    assert "seg00000.m4s" in await held.text()  # a young stream has nothing old enough to skip
    assert "part00001.0.m4s" in await held.text()
    assert held.headers["X-Accel-Expires"] == "6"  # an edge may keep this answer; it stays true
    metrics = await (await client.get("/metrics")).text()
    assert f'sidang_hls_viewers{{sitting="{sitting_id}"}} 1.0' in metrics  # one player, 2 reloads
    for kind in ("plain", "blocking"):
        labels = f'kind="{kind}",rendition="720p",sitting="{sitting_id}"'
        assert f"sidang_playlist_requests_total{{{labels}}} 1.0" in metrics
    segment = await client.get(f"/live/{sitting_id}/720p/seg00000.m4s")
    assert segment.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert segment.content_type == "video/iso.segment"
    public = await client.get(f"/sidang/{sitting_id}")
    assert f'data-src="/live/{sitting_id}/index.m3u8"' in await public.text()


async def test_blocking_reload_refuses_far_future_and_bad_params(client, live_sitting):
    sitting_id, _ = live_sitting
    far = await client.get(f"/live/{sitting_id}/720p/index.m3u8?_HLS_msn=99")
    assert far.status == 400
    bad = await client.get(f"/live/{sitting_id}/720p/index.m3u8?_HLS_msn=x")
    assert bad.status == 400
    bad_skip = await client.get(f"/live/{sitting_id}/720p/index.m3u8?_HLS_skip=semua")
    assert bad_skip.status == 400 and "_HLS_skip" in await bad_skip.text()
    traversal = await client.get(f"/live/{sitting_id}/720p/..%2F..%2Fsecret_key")
    assert traversal.status == 404


async def test_whip_rejects_wrong_key_bad_sdp_and_sittings_not_live(client, store, live_sitting):
    sitting_id, key = live_sitting
    sdp = {"Content-Type": "application/sdp"}
    wrong = await client.post(
        f"/whip/{sitting_id}", data="v=0\r\n", headers={**sdp, "Authorization": "Bearer salah"}
    )
    assert wrong.status == 401
    missing = await client.post(f"/whip/{sitting_id}", data="v=0\r\n", headers=sdp)
    assert missing.status == 401
    bad = await client.post(
        f"/whip/{sitting_id}", data="bukan sdp", headers={**sdp, "Authorization": f"Bearer {key}"}
    )
    assert bad.status == 400
    assert "SDP" in (await bad.json())["error"]
    other_id, other_key = await scheduled_sitting(store, "Belum siaran")
    not_live = await client.post(
        f"/whip/{other_id}", data="v=0\r\n", headers={**sdp, "Authorization": f"Bearer {other_key}"}
    )
    assert not_live.status == 409
    assert (await client.post("/whip/9999", data="v=0", headers=sdp)).status == 404


async def test_whip_publisher_feeds_the_program_and_delete_brings_the_slate(
    client, live_sitting, loopback_ice
):
    sitting_id, key = live_sitting
    live = client.app[keys.LIVE].sittings[sitting_id]
    pc = await whip_publisher()
    try:
        response = await whip_publish(client, sitting_id, key, pc)
        assert response.status == 201
        assert response.content_type == "application/sdp"
        location = response.headers["Location"]
        assert location.startswith(f"/whip/{sitting_id}/")
        await eventually(lambda: live.stats().input_connected)

        takeover = await whip_publisher()
        second = await whip_publish(client, sitting_id, key, takeover)
        assert second.status == 201, "a second publisher takes over cleanly"
        old = await client.delete(location, headers={"Authorization": f"Bearer {key}"})
        assert old.status == 404, "the replaced session is gone"
        await takeover.close()
        await client.delete(second.headers["Location"], headers={"Authorization": f"Bearer {key}"})
        await eventually(lambda: not live.stats().input_connected)
    finally:
        await pc.close()


async def test_ending_finishes_and_stores_the_recording(client, live_sitting, staff, config):
    sitting_id, _ = live_sitting
    live = client.app[keys.LIVE].sittings[sitting_id]
    assert await live.wait_ready(10)
    response = await client.post(
        f"/api/v1/sittings/{sitting_id}/status", headers=staff, json={"status": "ended"}
    )
    assert response.status == 200
    detail = await response.json()
    assert detail["status"] == "ended"
    recording = detail["recording"]
    assert recording["duration_s"] >= 1.5 and len(recording["sha256"]) == 64
    mp4 = config.media_dir / str(sitting_id) / "recording.mp4"
    with av.open(str(mp4)) as container:
        assert container.streams.video[0].codec_context.name == "h264"
        assert container.streams.audio[0].codec_context.name == "aac"
    playlist = (config.media_dir / str(sitting_id) / "720p" / "index.m3u8").read_text()
    assert playlist.rstrip().endswith("#EXT-X-ENDLIST")
    assert sitting_id not in client.app[keys.LIVE].sittings


async def test_staff_console_shows_ingest_status_and_switches_layout(client, live_sitting, staff):
    sitting_id, _ = live_sitting
    status = await (await client.get(f"/konsol/rapat/{sitting_id}/siaran/status")).json()
    assert status["live"] and status["encoders"] >= 4 and not status["input_connected"]
    response = await client.post(
        f"/konsol/rapat/{sitting_id}/siaran/tata-letak", json={"layout": "grid"}, headers=staff
    )
    assert response.status == 200
    status = await (await client.get(f"/konsol/rapat/{sitting_id}/siaran/status")).json()
    assert status["layout"] == "grid"
    bad = await client.post(
        f"/konsol/rapat/{sitting_id}/siaran/tata-letak", json={"layout": "disko"}, headers=staff
    )
    assert bad.status == 400


async def test_the_console_runs_a_sitting_live_on_another_node(client, store, staff):
    """Behind nginx the console may come from a node that does not own the sitting: it shows
    the live panel, whose status and layout requests are forwarded to the owner."""
    async with store.transaction() as session:
        owned = await new_sitting(session, status=SittingStatus.LIVE)
        orphan = await new_sitting(session, status=SittingStatus.LIVE)
    lease = json.dumps({"node": "other", "url": "http://127.0.0.1:9"})
    assert await client.app[keys.BUS].claim(f"live:owner:{owned.id}", lease, 30)
    text = await (await client.get(f"/konsol/rapat/{owned.id}")).text()
    assert 'id="live-status"' in text and 'id="program-preview"' in text
    text = await (await client.get(f"/konsol/rapat/{orphan.id}")).text()
    assert 'id="live-status"' not in text, "no node runs it (its owner died, no takeover yet)"


async def test_an_unwritable_media_dir_refuses_to_go_live_and_fails_health(
    aiohttp_client, make_config, database_url, store, tmp_path
):
    from server.app import create_app
    from tests.conftest import log_in

    blocker = tmp_path / "media-is-a-file"
    blocker.write_text("x")
    client = await aiohttp_client(
        create_app(make_config(database_url=database_url, media_dir=blocker))
    )
    token = await log_in(client, store, "sekretariat")
    sitting_id, _ = await scheduled_sitting(store)
    response = await client.post(
        f"/api/v1/sittings/{sitting_id}/status",
        headers={"X-CSRF-Token": token},
        json={"status": "live"},
    )
    assert response.status == 503
    assert "media" in (await response.json())["error"].lower()
    detail = await (await client.get(f"/api/v1/sittings/{sitting_id}")).json()
    assert detail["status"] == "scheduled", "nothing half-done: the status did not change"
    assert (await client.get("/healthz")).status == 503


async def test_health_names_a_stuck_rendition_and_recovers_when_it_heals(
    client, live_sitting, staff
):
    sitting_id, _ = live_sitting
    live = client.app[keys.LIVE].sittings[sitting_id]
    assert await live.wait_ready(10)
    assert (await client.get("/healthz")).status == 200
    track = live.packager.tracks["360p"]
    track.last_part_at -= STALE_PART_S + 1  # as if 360p had made no part for that long
    sick = await client.get("/healthz")
    assert sick.status == 503
    assert "sitting" in (media := (await sick.json())["media"]) and str(sitting_id) in media
    assert "rendition 360p" in media
    metrics = await (await client.get("/metrics")).text()
    assert f'sidang_rendition_last_part_age_seconds{{rendition="360p",sitting="{sitting_id}"}}' in (
        metrics
    )
    status = await (await client.get(f"/konsol/rapat/{sitting_id}/siaran/status")).json()
    assert any("Rendisi 360p" in problem for problem in status["problems"])
    msn, parts, complete = track.edge()
    assert await live.packager.wait_for("360p", *((msn + 1, 0) if complete else (msn, parts)), 10)
    assert (await client.get("/healthz")).status == 200


async def test_a_takeover_keeps_the_sitting_live_throughout(
    client, live_sitting, config, monkeypatch
):
    """The node that takes a sitting over from a dead owner never marks it ended on the way:
    residents' pages poll the status, and one that read "ended" would stop playing."""
    sitting_id, _ = live_sitting
    service = client.app[keys.LIVE]
    dead = service.sittings.pop(sitting_id)  # the owner's pipeline, as if its node died
    assert await dead.wait_ready(10)
    await dead.stop()
    (config.media_dir / str(sitting_id) / recorder.FINISHED).unlink()  # a kill writes none
    changes = []
    change_status = repo.change_status

    async def spy(session, sitting, target, now=None):
        changes.append(target)
        return await change_status(session, sitting, target, now)

    monkeypatch.setattr(repo, "change_status", spy)
    assert await service.take_over(sitting_id)
    assert changes == []
    detail = await (await client.get(f"/api/v1/sittings/{sitting_id}")).json()
    assert detail["status"] == "live" and detail["recording"]["recovered"]
    assert sitting_id in service.sittings
