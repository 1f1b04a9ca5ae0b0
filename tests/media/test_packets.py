"""The aiortc receiver swap and sender hooks in media.packets, on their own."""

from __future__ import annotations

import asyncio
from fractions import Fraction

import aioice.ice
import aiortc
import av
import pytest
from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RTCP_PSFB_PLI, RtcpPsfbPacket, RtcpReceiverInfo, RtcpRrPacket

from media import packets
from media.encode import RENDITIONS, VideoEncoder
from media.source import SyntheticVideoTrack

H264 = RTCRtpCodecParameters(mimeType="video/H264", clockRate=90000, payloadType=102)


def encoded(count: int) -> list[av.Packet]:
    enc = VideoEncoder(RENDITIONS[1])
    out = []
    for i in range(count):
        frame = av.VideoFrame(640, 360, "yuv420p")
        frame.pts, frame.time_base = i, Fraction(1, 30)
        out += enc.encode(frame)
    enc.close()
    return out


def test_written_for_this_aiortc() -> None:
    assert aiortc.__version__.startswith(packets.AIORTC_SERIES) and packets.AIORTC_SERIES == "1.16."


def test_keyframe_detection() -> None:
    idr, p = encoded(2)
    assert packets.is_keyframe("H264", bytes(idr)) and not packets.is_keyframe("H264", bytes(p))
    assert packets.is_keyframe("VP8", b"\x10\x02") and not packets.is_keyframe("VP8", b"\x11")
    assert packets.is_keyframe("opus", b"\x01")


def test_packet_decoder_returns_the_encoded_frame() -> None:
    idr = encoded(1)[0]
    (packet,) = packets.PacketDecoder(H264).decode(JitterFrame(bytes(idr), 180000))
    assert isinstance(packet, av.Packet) and bytes(packet) == bytes(idr)
    assert packet.pts == 180000 and packet.time_base == Fraction(1, 90000) and packet.is_keyframe


async def test_marked_receiver_yields_packets_others_still_decode(monkeypatch) -> None:
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])
    config = RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
    sender, receiver = RTCPeerConnection(config), RTCPeerConnection(config)
    h264 = [c for c in RTCRtpSender.getCapabilities("video").codecs if c.mimeType == "video/H264"]
    for title in ("packets", "frames"):
        sender.addTransceiver(SyntheticVideoTrack(title, 640, 360)).setCodecPreferences(h264)
    tracks = []
    receiver.on("track", tracks.append)
    try:
        await sender.setLocalDescription(await sender.createOffer())
        await receiver.setRemoteDescription(sender.localDescription)
        packets.receive_packets(tracks[0])
        await receiver.setLocalDescription(await receiver.createAnswer())
        answer = receiver.localDescription.sdp
        await sender.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        async with asyncio.timeout(15):
            received = [await tracks[0].recv() for _ in range(10)]
            frame = await tracks[1].recv()
    finally:
        await sender.close()
        await receiver.close()
    assert all(isinstance(p, av.Packet) for p in received) and received[0].is_keyframe
    assert all(p.time_base == Fraction(1, 90000) for p in received)
    decoder = av.CodecContext.create("h264", "r")
    frames = [f for p in received for f in decoder.decode(p)]
    assert frames and {(f.width, f.height) for f in frames} == {(640, 360)}
    assert isinstance(frame, av.VideoFrame) and (frame.width, frame.height) == (640, 360)


class StandInSender:
    """Just the RTCRtpSender surface the hooks touch."""

    kind = "video"
    _ssrc = 1234

    def __init__(self) -> None:
        self.handled: list[object] = []

    async def _handle_rtcp_packet(self, packet: object) -> None:
        self.handled.append(packet)


async def test_sender_feedback_reports_pli_and_loss() -> None:
    sender = StandInSender()
    keyframes: list[int] = []
    losses: list[float] = []
    packets.watch_sender_feedback(sender, lambda: keyframes.append(1), losses.append)
    await sender._handle_rtcp_packet(RtcpPsfbPacket(fmt=RTCP_PSFB_PLI, ssrc=9, media_ssrc=1234))
    report = RtcpReceiverInfo(
        ssrc=1234, fraction_lost=64, packets_lost=5, highest_sequence=1, jitter=0, lsr=0, dlsr=0
    )
    other = RtcpReceiverInfo(
        ssrc=99, fraction_lost=255, packets_lost=5, highest_sequence=1, jitter=0, lsr=0, dlsr=0
    )
    await sender._handle_rtcp_packet(RtcpRrPacket(ssrc=9, reports=[report, other]))
    assert keyframes == [1] and losses == [0.25] and len(sender.handled) == 2


def test_sender_encodes_video_reads_the_encoder() -> None:
    sender = StandInSender()
    assert not packets.sender_encodes_video(sender)
    sender._RTCRtpSender__encoder = type("Enc", (), {"codec": object()})()
    assert packets.sender_encodes_video(sender)


def test_receive_packets_rejects_local_tracks() -> None:
    with pytest.raises(TypeError):
        packets.receive_packets(SyntheticVideoTrack("x", 640, 360))
