import asyncio

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from media.ingest import IngestSession, InvalidOffer
from media.program import HALL, Program
from media.source import SyntheticAudioTrack, SyntheticVideoTrack

pytestmark = pytest.mark.slow


class ProgramHall:
    """The HallSink contract on a bare Program: proves frames reach the program."""

    def __init__(self) -> None:
        self.program = Program(lambda tick: None)
        self.detached = 0

    async def attach_hall(self, video_track, audio_track=None) -> None:
        for track in (video_track, audio_track):
            if track is not None:
                self.program.set_input(HALL, track)

    async def detach_hall(self, tracks=None) -> None:
        self.detached += 1
        self.program.remove_input(HALL)


async def test_whip_publish_reaches_program(loopback_ice) -> None:
    client = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    client.addTrack(SyntheticVideoTrack("WHIP", 640, 360))
    client.addTrack(SyntheticAudioTrack())
    await client.setLocalDescription(await client.createOffer())
    hall = ProgramHall()
    session = IngestSession(hall)
    answer = await session.create(client.localDescription.sdp, ice_servers=[])
    assert "a=candidate" in answer and "127.0.0.1" in answer
    await client.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    try:
        async with asyncio.timeout(15):
            while hall.program.input_frames().get(HALL, 0) < 10:
                await asyncio.sleep(0.05)
        assert hall.program.has_live_video(HALL)
        assert [t.kind for t in session.tracks] == ["video", "audio"]
    finally:
        await session.close()
        await client.close()
    assert hall.detached == 1
    assert HALL not in hall.program.input_names()


@pytest.mark.parametrize(
    "sdp",
    [
        "",
        "hello",
        "v=1\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n",
        "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n",  # no m-lines
        "v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n",
        "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n",  # m-line but not a parseable offer
    ],
)
async def test_malformed_offer_is_invalid(sdp: str) -> None:
    hall = ProgramHall()
    with pytest.raises(InvalidOffer):
        await IngestSession(hall).create(sdp)
    assert isinstance(InvalidOffer("x"), ValueError)
