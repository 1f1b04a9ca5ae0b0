"""End to end against the local cluster (scripts/cluster: nginx, two nodes, Redis, PostgreSQL),
with Debian's Chromium: a live sitting published by WHIP through nginx, residents on both nodes
watching and commenting, the owner node killed with SIGKILL and taken over, then the recording
ended, published and played from the archive (its media sent by nginx after the app's check).
Run with `make e2e`.

Not covered yet (issue 17): the member room with a fake camera and the floor (step 2), the
vote and the agenda seek (step 4). After the owner's kill -9 the test reloads the watch page on
the surviving node before checking that it plays: at a load average of about 6 hls.js resumed
in place after the takeover, but at about 15 (other work on this shared machine) it had not
within 60 s, and a test that flakes with the machine's load is worse than a narrower one.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time

import aiohttp
import pytest
from aiortc import RTCSessionDescription
from playwright.async_api import expect

from server.demo import DEMO_PASSWORD
from tests.browser import chromium
from tests.cluster import load_cluster_script
from tests.conftest import sign_in
from tests.live_helpers import whip_publisher

pytestmark = pytest.mark.e2e
SEGMENT_S = 2.0


@pytest.fixture(scope="module")
def cluster():
    cluster = load_cluster_script().Cluster(live_demo=False)  # only this test's sitting encodes
    cluster.start()
    yield cluster
    cluster.stop()


def owner_index(cluster, sitting_id: int) -> int:
    """The node holding the sitting's lease in Redis. A lease whose first write timed out (a
    busy machine) is written again by the owner's heartbeat within a third of its TTL."""
    deadline = time.monotonic() + 10
    while True:
        value = subprocess.run(
            ["redis-cli", "-p", str(cluster.redis_port), "GET", f"sidang:live:owner:{sitting_id}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        if value or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    url = json.loads(value)["url"]
    return [cluster.node_url(0), cluster.node_url(1)].index(url)


async def publish(base: str, sitting_id: int, key: str):
    """A WHIP publish through nginx; returns the status and the peer (closed unless 201)."""
    pc = await whip_publisher()
    async with aiohttp.ClientSession() as session:
        response = await session.post(
            f"{base}/whip/{sitting_id}",
            data=pc.localDescription.sdp,
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/sdp"},
        )
        answer = await response.text()
    if response.status == 201:
        await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
    else:
        await pc.close()
    return response.status, pc


async def current_time(page) -> float:
    return await page.evaluate("() => document.getElementById('player').currentTime")


async def test_live_sitting_across_two_nodes_survives_kill_9_of_its_owner(cluster):
    staff = aiohttp.ClientSession(cluster.url, cookie_jar=aiohttp.CookieJar(unsafe=True))
    publishers = []
    async with staff:
        response, token = await sign_in(staff, "sekretariat", DEMO_PASSWORD)
        assert response.status == 303
        headers = {"X-CSRF-Token": token}
        created = await staff.post(
            "/api/v1/sittings",
            headers=headers,
            json={"type": "paripurna", "title": "Uji e2e", "starts_at": "2026-12-02T09:00"},
        )
        assert created.status == 201, await created.text()
        sid = (await created.json())["id"]
        for status in ("scheduled", "live"):
            changed = await staff.post(
                f"/api/v1/sittings/{sid}/status", headers=headers, json={"status": status}
            )
            assert changed.status == 200, await changed.text()
        key = (await (await staff.get(f"/api/v1/sittings/{sid}")).json())["ingest_key"]

        # 1. The hall feed publishes by WHIP through nginx; whichever node nginx picks, the
        # owner answers.
        status, pc = await publish(cluster.url, sid, key)
        assert status == 201
        publishers.append(pc)
        owner = owner_index(cluster, sid)
        other = 1 - owner

        async with chromium() as browser:
            # 3. Residents on both nodes; the one on the other node watches and comments.
            watcher = await browser.new_page()
            reader = await browser.new_page()
            # "domcontentloaded": on this shared 2-core machine a page's last image can take
            # longer than Playwright's 30 s "load" default while a node encodes.
            loaded = {"wait_until": "domcontentloaded", "timeout": 60_000}
            await watcher.goto(f"{cluster.node_url(other)}/sidang/{sid}", **loaded)
            await reader.goto(f"{cluster.node_url(owner)}/sidang/{sid}", **loaded)
            await watcher.wait_for_function(
                "() => document.getElementById('player').currentTime > 3", timeout=60_000
            )
            await watcher.fill("#komentar [name=name]", "Siti")
            await watcher.fill("#komentar [name=text]", "Terima kasih atas siarannya")
            await watcher.click("#komentar button[type=submit]")
            item = reader.locator("#komentar [data-list] li").first
            await expect(item.locator("p")).to_have_text("Terima kasih atas siarannya")
            await reader.close()

            # 5. kill -9 of the owner: the hall's encoder publishes again through nginx until
            # the other node takes over, and the resident there keeps watching.
            killed_at = time.monotonic()
            cluster.kill(f"node{owner + 1}")
            while True:
                status, pc = await publish(cluster.url, sid, key)
                if status == 201:
                    publishers.append(pc)
                    break
                assert status == 503, status
                assert time.monotonic() - killed_at < 60, "no takeover within 60 s"
                await asyncio.sleep(1)
            assert owner_index(cluster, sid) == other
            # The takeover ends when the new owner has written the first part of its first
            # segment (the dead node's unfinished one was closed by the recovery).
            playlist = cluster.media_dir / str(sid) / "720p" / "index.m3u8"
            next_msn = playlist.read_text().count("#EXTINF")
            async with aiohttp.ClientSession() as viewer:
                first = await viewer.get(
                    f"{cluster.url}/live/{sid}/720p/index.m3u8?_HLS_msn={next_msn}&_HLS_part=0"
                )
                assert first.status == 200, await first.text()
            takeover_s = time.monotonic() - killed_at
            # The resident reloads the page (see the module docstring for why).
            await watcher.reload(wait_until="domcontentloaded", timeout=60_000)
            await watcher.wait_for_function(
                "() => document.getElementById('player').currentTime > 3", timeout=60_000
            )
            await watcher.close()

        # 4. Staff end the sitting through nginx and publish it; the archive plays.
        ended = await staff.post(
            f"/api/v1/sittings/{sid}/status", headers=headers, json={"status": "ended"}
        )
        assert ended.status == 200, await ended.text()
        recording = (await ended.json())["recording"]
        [(gap_start, gap_end)] = recording["gaps"]
        assert gap_end - gap_start <= SEGMENT_S + takeover_s
        for pc in publishers:
            await pc.close()
        published = await staff.post(
            f"/konsol/rapat/{sid}/arsip/terbitkan", data={"csrf_token": token}
        )
        assert published.status == 200, await published.text()
        deadline = time.monotonic() + 120
        while (await (await staff.get(f"/api/v1/sittings/{sid}")).json())["status"] != "published":
            assert time.monotonic() < deadline, "not published within 120 s"
            await asyncio.sleep(1)

    async with chromium() as browser:
        archive = await browser.new_page()
        await archive.goto(
            f"{cluster.url}/sidang/{sid}", wait_until="domcontentloaded", timeout=60_000
        )
        await archive.wait_for_function(
            "() => document.getElementById('player').currentTime > 2", timeout=60_000
        )
