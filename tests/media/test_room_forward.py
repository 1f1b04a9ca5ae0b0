"""Room building blocks without a network: packet tracks, the camera's one decode, mix-minus."""

from __future__ import annotations

import asyncio
from fractions import Fraction

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from media.encode import RENDITIONS, VideoEncoder
from media.fanout import PacketFanout
from media.forward import Camera, DecodedCamera, PacketTrack
from media.mixminus import OPUS_FRAME, MixMinus, VoiceGate
from media.source import SyntheticAudioTrack, TestCard


def packet(pts: int, key: bool, time_base: Fraction = Fraction(1, 90000)) -> av.Packet:
    p = av.Packet(b"\x00\x00\x00\x01\x65" if key else b"\x00\x00\x00\x01\x41")
    p.pts, p.time_base, p.is_keyframe = pts, time_base, key
    return p


async def test_packet_track_shares_packets_and_restamps_across_sources() -> None:
    program, camera = PacketFanout("720p"), PacketFanout("cam")
    track = PacketTrack()
    track.switch(program.subscribe())
    first = packet(3000 * 1000, True)
    program.publish(first)
    assert await track.recv() is first  # the shared packet itself: no copy, no re-encode

    track.switch(camera.subscribe())
    camera.publish(packet(0, True))  # an unrelated timeline: it must not go backwards
    restamped = await track.recv()
    assert restamped.time_base == Fraction(1, 90000) and 3000 * 1000 < restamped.pts < 3000 * 1100
    camera.publish(packet(3000, False))
    assert (await track.recv()).pts == restamped.pts + 3000
    assert track.delivered == 3 and program.subscribers == 0

    track.stop()
    try:
        await track.recv()
    except MediaStreamError:
        pass
    else:
        raise AssertionError("a stopped track ends")


async def test_packet_track_forwards_keyframe_requests_throttled() -> None:
    asked: list[int] = []
    fanout = PacketFanout("720p", on_keyframe_request=lambda: asked.append(1))
    fanout.publish(packet(0, True))
    track = PacketTrack()
    track.switch(fanout.subscribe())  # the join asks once
    track.request_keyframe()  # a PLI right after: throttled
    assert asked == [1]


class PacketSource(MediaStreamTrack):
    """A member camera already switched to packets: x264 packets from a test card."""

    kind = "video"

    def __init__(self) -> None:
        super().__init__()
        self.encoder = VideoEncoder(RENDITIONS[1])
        self.card = TestCard("Anggota", 640, 360)
        self.index = 0
        self.force = False

    async def recv(self) -> av.Packet:
        while True:
            await asyncio.sleep(0)
            frame = self.card.render(self.index, 0.0)
            frame.pts, frame.time_base = self.index, Fraction(1, 30)
            self.index += 1
            if self.force:
                self.encoder.request_keyframe()
                self.force = False
            out = self.encoder.encode(frame)
            if out:
                return out[0]


async def test_camera_is_decoded_only_while_on_air() -> None:
    source = PacketSource()
    on_air = False
    camera = Camera("12", source, request_upstream_keyframe=lambda: setattr(source, "force", True))
    decoded = DecodedCamera(camera, lambda: on_air)
    reader = asyncio.create_task(decoded.recv())
    while camera.fanout.packets < 20:
        await asyncio.sleep(0)
    assert decoded.decoded == 0 and not decoded.decoding and not reader.done()

    on_air = True  # shown: decoding resumes from a keyframe we ask the member for
    frame = await asyncio.wait_for(reader, 10)
    assert (frame.width, frame.height) == (640, 360) and decoded.decoding
    assert camera.fanout.keyframe_requests == 1
    decoded.stop()
    camera.close()
    source.encoder.close()


async def test_mix_minus_subtracts_only_the_listener() -> None:
    mix = MixMinus(samples_per_tick=1600)
    a, b, c = mix.listen("member:a"), mix.listen("member:b"), mix.listen("member:c")
    chunks = {
        "hall": np.full((1600, 2), 100, np.int16),
        "member:a": np.full((1600, 2), 10, np.int16),
        "member:b": np.full((1600, 2), 1, np.int16),
    }
    mix.deliver(0, chunks)
    heard = {}
    for name, track in (("a", a), ("b", b), ("c", c)):
        frame = await track.recv()
        assert frame.samples == OPUS_FRAME and frame.format.name == "s16"
        heard[name] = int(frame.to_ndarray()[0, 0])
    assert heard == {"a": 101, "b": 110, "c": 111}
    mix.forget("member:a", a)
    assert mix.listeners == 2 and a.readyState == "ended"


async def test_voice_gate_drops_while_not_allowed() -> None:
    gate = VoiceGate(SyntheticAudioTrack(700.0))
    reader = asyncio.create_task(gate.recv())
    while gate.dropped < 3:
        await asyncio.sleep(0.01)
    assert not reader.done()
    gate.allowed = True
    frame = await asyncio.wait_for(reader, 1)
    assert frame.samples == 960
