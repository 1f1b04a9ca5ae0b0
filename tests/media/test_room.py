"""The member room end to end: aiortc members on loopback join a LiveSitting (synthetic hall)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aioice.ice
import av
import numpy as np
import pytest
from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.codecs import h264
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from media.encode import RENDITIONS, encoder_count
from media.ingest import InvalidOffer
from media.live import LiveSitting
from media.program import Layout, LayoutKind
from media.room import MemberRoom, PeerOptions
from media.source import SyntheticAudioTrack, SyntheticVideoTrack

pytestmark = pytest.mark.slow

HALL_TONE = 440.0
VIDEO = (RENDITIONS[0], RENDITIONS[1])  # 720p and 360p: what members can ask for


@pytest.fixture
def loopback_ice(monkeypatch) -> None:
    # aioice never offers 127.0.0.1 on its own (see BROWSER.md).
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])


@pytest.fixture
async def live(tmp_path: Path, loopback_ice) -> AsyncIterator[LiveSitting]:
    sitting = LiveSitting("room", "Rapat Paripurna", tmp_path, renditions=VIDEO)
    await sitting.start(wait_ready=None)
    await sitting.attach_hall(
        SyntheticVideoTrack("Rapat Paripurna", 640, 360), SyntheticAudioTrack(HALL_TONE)
    )
    yield sitting
    # LiveSitting cannot finish a recording that has no complete segment yet.
    await sitting.wait_ready(10)
    await sitting.stop()


@pytest.fixture
async def room(live: LiveSitting) -> AsyncIterator[MemberRoom]:
    members = MemberRoom(live, ice_servers=[])
    yield members
    await members.close()


class Member:
    """A member's browser, played by aiortc: mic (a tone) and camera up, program down."""

    def __init__(self, tone: float | None = None, camera: bool = True, slots: int = 0) -> None:
        # MAX_BUNDLE: under aiortc's default policy a second transceiver of the same kind is
        # left on a transport that BUNDLE discards, and never receives.
        self.pc = RTCPeerConnection(
            RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
        )
        self.tracks: list[MediaStreamTrack] = []
        self.pc.on("track", self.tracks.append)
        mic = SyntheticAudioTrack(tone) if tone else "audio"
        self.pc.addTransceiver(mic, direction="sendrecv" if tone else "recvonly")
        video = SyntheticVideoTrack("Anggota", 640, 360) if camera else "video"
        videos = [self.pc.addTransceiver(video, direction="sendrecv" if camera else "recvonly")]
        videos += [self.pc.addTransceiver("video", direction="recvonly") for _ in range(slots)]
        h264_only = [
            c for c in RTCRtpSender.getCapabilities("video").codecs if c.mimeType == "video/H264"
        ]
        for transceiver in videos:
            transceiver.setCodecPreferences(h264_only)

    async def join(self, room: MemberRoom, key: str, **options) -> None:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        answer = await room.join(key, self.pc.localDescription.sdp, PeerOptions(**options))
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))

    def track(self, kind: str, index: int = 0) -> MediaStreamTrack:
        return [t for t in self.tracks if t.kind == kind][index]

    async def close(self) -> None:
        await self.pc.close()


@pytest.fixture
async def member_factory() -> AsyncIterator[Callable[..., Member]]:
    made: list[Member] = []

    def make(**kwargs) -> Member:
        made.append(Member(**kwargs))
        return made[-1]

    yield make
    for member in made:
        await member.close()


async def video_frames(track: MediaStreamTrack, count: int) -> list[av.VideoFrame]:
    async with asyncio.timeout(15):
        return [await track.recv() for _ in range(count)]


async def audio_samples(track: MediaStreamTrack, seconds: float, skip: float = 1.0) -> np.ndarray:
    """Left-channel samples of the received (decoded Opus) audio after `skip` seconds."""
    chunks, total = [], 0
    async with asyncio.timeout(15):
        while total < (skip + seconds) * 48000:
            frame = await track.recv()
            pcm = frame.to_ndarray().reshape(-1, len(frame.layout.channels))[:, 0]
            total += len(pcm)
            if total > skip * 48000:
                chunks.append(pcm)
    return np.concatenate(chunks).astype(np.float64) / 32768


def heard(samples: np.ndarray, freq: float) -> bool:
    """The tone is clearly there in at least a quarter of the 100 ms windows. Routing is what
    these tests check: on a busy machine a member's input underruns now and then and the mix
    goes on without it, which lowers a whole-second level but never routes a voice wrongly."""
    windows = [samples[i : i + 4800] for i in range(0, len(samples) - 4799, 4800)]
    return sum(tone_level(w, freq) > 0.05 for w in windows) >= len(windows) / 4


def tone_level(samples: np.ndarray, freq: float) -> float:
    """Amplitude (full scale = 1) of the strongest component within 15 Hz of `freq`."""
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples)))) * 4 / len(samples)
    bins = np.fft.rfftfreq(len(samples), 1 / 48000)
    return float(spectrum[np.abs(bins - freq) < 15].max())


async def wait_until(predicate: Callable[[], bool], timeout: float = 10) -> None:
    """For state with no event to await (e.g. frames counted on the program thread)."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.05)


async def test_member_gets_program_packets_and_feeds_the_floor(
    live: LiveSitting, room: MemberRoom, member_factory, monkeypatch
) -> None:
    before = encoder_count()
    x264 = []
    original = h264.H264Encoder._encode_frame
    monkeypatch.setattr(
        h264.H264Encoder,
        "_encode_frame",
        lambda self, *a: x264.append(self) or original(self, *a),
    )
    states: list[tuple[str, str]] = []
    room.on_state = lambda key, state: states.append((key, state))
    member = member_factory(tone=700.0)
    await member.join(room, "12")

    frames = await video_frames(member.track("video"), 10)
    assert {(f.width, f.height) for f in frames} == {(1280, 720)}
    assert ("12", "connected") in states and room.members() == ["12"]

    # The camera is decoded for the program only once the member holds the floor.
    assert room.stats().decoding == 0
    live.set_layout(Layout(LayoutKind.FLOOR, floor="member:12"))
    await wait_until(lambda: live.program.has_live_video("member:12"))
    assert room.stats().decoding == 1

    room.set_rendition("12", "360p")
    async with asyncio.timeout(10):
        while (await member.track("video").recv()).width != 640:
            pass
    stats = room.stats()
    assert stats.video_encoders == 0 and stats.opus_encoders == 1 and stats.peers == 1
    assert stats.packets_forwarded > 10
    # The room added no encoder of ours, and the member's sender never ran x264 server-side:
    # the only x264 in this process is the member client's own camera encoder.
    assert encoder_count() == before
    assert {id(e) for e in x264} == {id(e) for e in x264 if _is_client_encoder(member, e)}


def _is_client_encoder(member: Member, encoder: object) -> bool:
    senders = [t.sender for t in member.pc.getTransceivers()]
    return any(getattr(s, "_RTCRtpSender__encoder", None) is encoder for s in senders)


async def test_mix_minus_each_member_hears_everyone_but_themselves(
    room: MemberRoom, member_factory
) -> None:
    a, b = member_factory(tone=700.0), member_factory(tone=1100.0)
    await a.join(room, "a")
    await b.join(room, "b")
    room.set_audio_allowed("a", True)
    room.set_audio_allowed("b", True)
    heard_a, heard_b = await asyncio.gather(
        audio_samples(a.track("audio"), 1.0), audio_samples(b.track("audio"), 1.0)
    )
    assert heard(heard_a, 1100) and heard(heard_a, HALL_TONE)
    assert tone_level(heard_a, 700) < 0.01
    assert heard(heard_b, 700) and heard(heard_b, HALL_TONE)
    assert tone_level(heard_b, 1100) < 0.01


async def test_hard_mute_drops_the_voice_on_the_server(
    live: LiveSitting, room: MemberRoom, member_factory
) -> None:
    program_inputs: list[set[str]] = []
    program_mix: list[np.ndarray] = []

    def tap(tick: int, chunks: dict[str, np.ndarray]) -> None:
        program_inputs.append(set(chunks))
        program_mix.append(np.sum([c.astype(np.int32) for c in chunks.values()], axis=0))

    a, b = member_factory(tone=700.0), member_factory(tone=1100.0)
    await a.join(room, "a")
    await b.join(room, "b")
    room.set_audio_allowed("a", True)  # b sends a tone all along, but is never allowed
    live.program.audio_taps.append(tap)
    heard_a, heard_b = await asyncio.gather(
        audio_samples(a.track("audio"), 1.0), audio_samples(b.track("audio"), 1.0)
    )
    live.program.audio_taps.remove(tap)

    assert tone_level(heard_a, 1100) < 0.01 and heard(heard_a, HALL_TONE)
    assert heard(heard_b, 700)
    assert program_inputs and all("member:b" not in names for names in program_inputs)
    assert any("member:a" in names for names in program_inputs)
    public = np.concatenate([m[:, 0] for m in program_mix if m.ndim == 2]) / 32768
    assert heard(public, 700) and tone_level(public, 1100) < 0.01
    assert room.stats().peers == 2


async def test_reconnect_replaces_the_peer(room: MemberRoom, member_factory) -> None:
    first = member_factory(tone=700.0)
    await first.join(room, "7")
    await video_frames(first.track("video"), 3)
    room.set_audio_allowed("7", True)

    second = member_factory(tone=700.0)
    await second.join(room, "7")
    frames = await video_frames(second.track("video"), 10)
    assert {(f.width, f.height) for f in frames} == {(1280, 720)}
    assert room.members() == ["7"] and room.stats().peers == 1
    # The old peer was closed by the room: its program track ends.
    with pytest.raises(MediaStreamError):
        async with asyncio.timeout(10):
            while True:
                await first.track("video").recv()


async def test_gallery_forwards_cameras_as_packets(room: MemberRoom, member_factory) -> None:
    galleries: dict[str, list[str | None]] = {}
    room.on_gallery = lambda key, slots: galleries.__setitem__(key, slots)
    publisher = member_factory(tone=700.0)
    await publisher.join(room, "a")
    viewer = member_factory(camera=False, slots=2)
    await viewer.join(room, "b", gallery=True, rendition="360p")

    assert galleries["b"] == ["a", None] and room.gallery("b") == ["a", None]
    program, slot = viewer.track("video", 0), viewer.track("video", 1)
    frames = await video_frames(slot, 10)
    assert {(f.width, f.height) for f in frames} == {(640, 360)}
    assert (await program.recv()).width == 640
    stats = room.stats()
    assert stats.cameras == 1 and stats.decoding == 0 and stats.video_encoders == 0

    await room.leave("a")
    assert galleries["b"] == [None, None]
    with contextlib.suppress(MediaStreamError):
        await publisher.close()


async def test_offer_without_h264_is_refused(room: MemberRoom) -> None:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    vp8 = [c for c in RTCRtpSender.getCapabilities("video").codecs if c.mimeType == "video/VP8"]
    pc.addTransceiver("video", direction="recvonly").setCodecPreferences(vp8)
    await pc.setLocalDescription(await pc.createOffer())
    with pytest.raises(InvalidOffer):
        await room.join("9", pc.localDescription.sdp)
    await pc.close()
    assert room.members() == [] and room.stats().opus_encoders == 0
