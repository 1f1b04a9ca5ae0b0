"""Benchmark the member room: server CPU per extra member, packets vs the naive per-member encode.

This process is the server: a LiveSitting fed by the synthetic 720p hall, and a MemberRoom. A
separate client process plays the members with aiortc: P of them publish a 640x360 camera (one
shared x264 encode in the client, sent as packets) and a tone; every member receives the program
video and its mix-minus as packets, without decoding, so what is measured is the server. Server
CPU (all threads) is read from this process's own times over a steady window per row.

The naive rows give each subscriber `MediaRelay` frames of a 720p source, and aiortc encodes
once per subscriber (its own H264Encoder, as aiortc does by default). The marginal cost is the
least-squares slope of server CPU against the number of subscribers.
`--json` prints one JSON object as the last line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction
from multiprocessing.connection import Connection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiortc import (  # noqa: E402
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.contrib.media import MediaRelay  # noqa: E402
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack  # noqa: E402

from media.encode import RENDITIONS, VideoEncoder  # noqa: E402
from media.fanout import PacketFanout  # noqa: E402
from media.forward import PacketTrack  # noqa: E402
from media.live import LiveSitting  # noqa: E402
from media.packets import receive_packets, watch_sender_feedback  # noqa: E402
from media.room import MemberRoom, PeerOptions  # noqa: E402
from media.source import SyntheticAudioTrack, SyntheticVideoTrack, TestCard  # noqa: E402

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Plan:
    publishers: tuple[int, ...]
    subscribers: tuple[int, ...]
    naive: tuple[int, ...]
    warmup: float
    window: float
    rendition: str
    full_receivers: int = 2


def config() -> RTCConfiguration:
    # MAX_BUNDLE: aiortc's default policy strands a second same-kind transceiver (see room.py).
    return RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)


def process_cpu_seconds() -> float:
    with open("/proc/self/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


# -- server (this process) ---------------------------------------------------------------------


class Server:
    """Answers the client's requests: joins, naive joins, teardown, measurement windows."""

    def __init__(self, conn: Connection, media_dir: Path) -> None:
        self.conn = conn
        self.media_dir = media_dir
        self.requests: asyncio.Queue = asyncio.Queue()
        self.naive: list[RTCPeerConnection] = []
        self.relay = MediaRelay()
        self.result: dict | None = None

    def _reader(self, loop: asyncio.AbstractEventLoop) -> None:
        while True:
            try:
                message = self.conn.recv()
            except EOFError:
                message = ("done", None)
            asyncio.run_coroutine_threadsafe(self.requests.put(message), loop)
            if message[0] == "done":
                return

    async def run(self) -> dict | None:
        live = LiveSitting("bench", "Rapat Paripurna DPRD", self.media_dir)
        await live.start()
        await live.attach_hall(SyntheticVideoTrack("Rapat Paripurna DPRD"), SyntheticAudioTrack())
        self.live, self.room = live, MemberRoom(live, ice_servers=[])
        self.naive_source = SyntheticVideoTrack("Naive relay", 1280, 720)
        loop = asyncio.get_running_loop()
        threading.Thread(target=self._reader, args=(loop,), daemon=True).start()
        while True:
            kind, *args = await self.requests.get()
            if kind == "done":
                self.result = args[0]
                break
            self.conn.send(await getattr(self, f"on_{kind}")(*args))
        await self.room.close()
        await self._close_naive()
        await live.stop()
        return self.result

    async def on_join(self, key: str, offer: str, rendition: str) -> str:
        return await self.room.join(key, offer, PeerOptions(rendition=rendition, adaptive=False))

    async def on_naive(self, offer: str) -> str:
        pc = RTCPeerConnection(config())
        self.naive.append(pc)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
        pc.addTrack(self.relay.subscribe(self.naive_source, buffered=False))
        await pc.setLocalDescription(await pc.createAnswer())
        return pc.localDescription.sdp

    async def on_reset(self) -> bool:
        for key in self.room.members():
            await self.room.leave(key)
        await self._close_naive()
        return True

    async def _close_naive(self) -> None:
        for pc in self.naive:
            await pc.close()
        self.naive.clear()

    async def on_measure(self, seconds: float) -> dict:
        cpu0, wall0 = process_cpu_seconds(), time.monotonic()
        ticks0 = self.live.program.stats.ticks
        await asyncio.sleep(seconds)
        wall = time.monotonic() - wall0
        stats = self.room.stats()
        return {
            "cpu": round((process_cpu_seconds() - cpu0) / wall, 4),
            "rss_mb": round(rss_mb(), 1),
            "program_fps": round((self.live.program.stats.ticks - ticks0) / wall, 1),
            "video_encoders": stats.video_encoders,
            "opus_encoders": stats.opus_encoders,
            "packets_forwarded": stats.packets_forwarded,
            "drops": stats.drops,
            "audio_drops": stats.audio_drops,
            "loadavg_1m": os.getloadavg()[0],
        }


# -- client (separate process) -----------------------------------------------------------------


class SharedCamera:
    """One x264 encode of a 640x360 test card, sent by every publisher as packets."""

    def __init__(self) -> None:
        self.encoder = VideoEncoder(RENDITIONS[1])
        self.fanout = PacketFanout("camera", on_keyframe_request=self.encoder.request_keyframe)
        self.card = TestCard("Anggota DPRD", 640, 360)

    async def run(self) -> None:
        loop, start, tick = asyncio.get_running_loop(), time.monotonic(), 0
        while True:
            await asyncio.sleep(max(0.0, start + tick / 30 - time.monotonic()))
            frame = self.card.render(tick, time.time())
            frame.pts, frame.time_base = tick, Fraction(1, 30)
            for packet in await loop.run_in_executor(None, self.encoder.encode, frame):
                self.fanout.publish(packet)
            tick += 1


class Client:
    def __init__(self, conn: Connection, plan: Plan) -> None:
        self.conn = conn
        self.plan = plan
        self.peers: list[RTCPeerConnection] = []
        self.video = Counter()
        self.first_video: dict[int, asyncio.Event] = {}
        self.camera: SharedCamera | None = None
        self.tasks: set[asyncio.Task] = set()

    async def rpc(self, *message):
        self.conn.send(message)
        return await asyncio.get_running_loop().run_in_executor(None, self.conn.recv)

    def _sink(self, index: int, pc: RTCPeerConnection, answer: str) -> None:
        """Make a peer a cheap listener: count video frames by RTP marker bit and drop every
        packet before aiortc's jitter buffer, so the client process stays light and the
        server's cost is what is measured. Installed before any RTP can arrive."""
        video_types = {
            int(pt)
            for line in answer.splitlines()
            if line.startswith("m=video")
            for pt in line.split()[3:]
        }

        async def handle_rtp(data: bytes, arrival_time_ms: int) -> None:
            if data[1] & 0x80 and data[1] & 0x7F in video_types:
                self.video[index] += 1
                self.first_video[index].set()

        transport = pc.getTransceivers()[0].receiver.transport
        transport._handle_rtp_data = handle_rtp

    def _drain(self, index: int, track: MediaStreamTrack) -> None:
        """A full listener: the remote track yields packets (no decode); count video frames."""
        receive_packets(track)

        async def drain() -> None:
            try:
                while True:
                    await track.recv()
                    if track.kind == "video":
                        self.video[index] += 1
                        self.first_video[index].set()
            except MediaStreamError:
                pass

        task = asyncio.ensure_future(drain())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def add_peer(self, publisher: bool, naive: bool) -> None:
        index = len(self.peers)
        pc = RTCPeerConnection(config())
        self.peers.append(pc)
        self.first_video[index] = asyncio.Event()
        sink = index >= self.plan.full_receivers
        if not sink:
            pc.on("track", lambda track: self._drain(index, track))
        codecs = RTCRtpSender.getCapabilities("video").codecs
        h264 = [c for c in codecs if c.mimeType == "video/H264"]
        if naive:
            pc.addTransceiver("video", direction="recvonly").setCodecPreferences(h264)
        elif publisher:
            pc.addTransceiver(SyntheticAudioTrack(300.0 + 50 * index), direction="sendrecv")
            camera = PacketTrack()
            assert self.camera is not None
            camera.switch(self.camera.fanout.subscribe())
            video = pc.addTransceiver(camera, direction="sendrecv")
            video.setCodecPreferences(h264)
            watch_sender_feedback(video.sender, camera.request_keyframe)
        else:
            pc.addTransceiver("audio", direction="recvonly")
            pc.addTransceiver("video", direction="recvonly").setCodecPreferences(h264)
        await pc.setLocalDescription(await pc.createOffer())
        offer = pc.localDescription.sdp
        if naive:
            answer = await self.rpc("naive", offer)
        else:
            answer = await self.rpc("join", f"m{index}", offer, self.plan.rendition)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        if sink:
            self._sink(index, pc, answer)

    async def reset(self) -> None:
        await self.rpc("reset")
        for pc in self.peers:
            await pc.close()
        self.peers.clear()
        self.video.clear()
        self.first_video.clear()

    async def measure(self, mode: str, publishers: int) -> dict:
        async with asyncio.timeout(30):
            await asyncio.gather(*(e.wait() for e in self.first_video.values()))
        await asyncio.sleep(self.plan.warmup)
        before = dict(self.video)
        cpu0, wall0 = process_cpu_seconds(), time.monotonic()
        row = await self.rpc("measure", self.plan.window)
        client_cpu = (process_cpu_seconds() - cpu0) / (time.monotonic() - wall0)
        fps = [(self.video[i] - before.get(i, 0)) / self.plan.window for i in self.first_video]
        row.update(
            mode=mode,
            P=publishers,
            S=len(self.peers),
            client_cpu=round(client_cpu, 3),
            client_video_fps_min=round(min(fps), 1),
            client_video_fps_mean=round(sum(fps) / len(fps), 1),
        )
        print(
            f"  {mode:5} P={publishers:2} S={row['S']:2}  server {row['cpu']:.3f} core  "
            f"rss {row['rss_mb']} MB  program {row['program_fps']} fps  "
            f"client {row['client_cpu']:.2f} core, video fps min/mean "
            f"{row['client_video_fps_min']}/{row['client_video_fps_mean']}",
            flush=True,
        )
        return row

    async def run(self) -> None:
        self.camera = SharedCamera()
        camera = asyncio.ensure_future(self.camera.run())
        rows = []
        for publishers in self.plan.publishers:
            for subscribers in self.plan.subscribers:
                if subscribers < publishers:
                    continue
                while len(self.peers) < subscribers:
                    await self.add_peer(publisher=len(self.peers) < publishers, naive=False)
                rows.append(await self.measure("room", publishers))
            await self.reset()
        for subscribers in self.plan.naive:
            while len(self.peers) < subscribers:
                await self.add_peer(publisher=False, naive=True)
            rows.append(await self.measure("naive", 0))
        await self.reset()
        camera.cancel()
        self.conn.send(("done", rows))


def client_main(conn: Connection, plan: Plan) -> None:
    import aioice.ice

    # Loopback only (see BROWSER.md); the server process is patched the same way.
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]
    asyncio.run(Client(conn, plan).run())


# -- analysis ----------------------------------------------------------------------------------


def slope(points: list[tuple[float, float]]) -> float | None:
    if len({x for x, _ in points}) < 2:
        return None
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    return sum((x - mx) * (y - my) for x, y in points) / sum((x - mx) ** 2 for x, _ in points)


def analyse(rows: list[dict]) -> dict:
    per_p = {}
    for p in sorted({r["P"] for r in rows if r["mode"] == "room"}):
        s = slope([(r["S"], r["cpu"]) for r in rows if r["mode"] == "room" and r["P"] == p])
        if s is not None:
            per_p[str(p)] = round(s, 5)
    marginal = sum(per_p.values()) / len(per_p) if per_p else None
    naive = slope([(r["S"], r["cpu"]) for r in rows if r["mode"] == "naive"])
    ratio = naive / marginal if naive and marginal and marginal > 0 else None
    return {
        "marginal_cpu_per_subscriber": round(marginal, 5) if marginal is not None else None,
        "marginal_cpu_per_subscriber_by_publishers": per_p,
        "naive_marginal_cpu_per_subscriber": round(naive, 5) if naive is not None else None,
        "ratio": round(ratio, 1) if ratio is not None else None,
        "video_encoders_in_room": max((r["video_encoders"] for r in rows), default=0),
        "rows": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="P=4, S=8,16,32, naive S=1,2")
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    parser.add_argument("--rendition", default="720p", choices=("720p", "360p"))
    args = parser.parse_args()
    if args.quick:
        plan = Plan((4,), (8, 16, 32), (1, 2), warmup=2.0, window=5.0, rendition=args.rendition)
    else:
        plan = Plan(
            (4, 8, 12), (8, 16, 32, 45), (1, 2, 3), warmup=3.0, window=8.0, rendition=args.rendition
        )
    import aioice.ice

    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]
    print(
        f"member room, hall 720p30 + {plan.rendition} to members, {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f} at start (other work skews CPU figures)"
    )
    ours, theirs = mp.get_context("spawn").Pipe()
    client = mp.get_context("spawn").Process(target=client_main, args=(theirs, plan))
    client.start()
    theirs.close()  # the client's exit then ends our reads (EOF) instead of hanging
    with tempfile.TemporaryDirectory(prefix="sidang-bench-room-") as tmp:
        rows = asyncio.run(Server(ours, Path(tmp)).run())
    client.join(timeout=30)
    result = analyse(rows or [])
    print(
        f"  marginal server CPU per member (packets + mix-minus Opus): "
        f"{result['marginal_cpu_per_subscriber']} core  by P: "
        f"{result['marginal_cpu_per_subscriber_by_publishers']}"
    )
    print(
        f"  naive (MediaRelay frames, one aiortc encode per subscriber): "
        f"{result['naive_marginal_cpu_per_subscriber']} core"
    )
    print(f"  ratio naive / packets: {result['ratio']}x (goal >= 20)")
    print(f"  video encoders created by the room: {result['video_encoders_in_room']}")
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
