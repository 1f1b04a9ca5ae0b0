"""The aiortc seams for forwarding encoded media: every reach into aiortc internals lives here.

Written for aiortc 1.16 (`AIORTC_SERIES`); importing this module under another series fails,
because each seam below depends on private details that aiortc may change:

- **Receiving packets.** `RTCRtpReceiver.receive()` starts `rtcrtpreceiver.decoder_worker` on a
  thread, and that worker builds its decoder with `rtcrtpreceiver.get_decoder(codec)`. We wrap
  both once: a worker whose output queue belongs to a track marked by `receive_packets` builds a
  `PacketDecoder`, whose `decode()` hands back the reassembled encoded frame as an `av.Packet`.
  The remote track then yields packets (pts in the RTP clock, e.g. 90 kHz) and nothing is
  decoded. Unmarked receivers (the WHIP hall, members' microphones) decode as usual.
- **Sender feedback.** `RTCRtpSender.pack()` ignores PLI/FIR, so `watch_sender_feedback` wraps
  the sender's `_handle_rtcp_packet` to report keyframe requests and receiver-reported loss.
- **Upstream keyframes.** `request_keyframe_from` sends a PLI through a receiver.
- **Proof of no encode.** `sender_encodes_video` reads whether a sender built a video encoder.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import weakref
from collections.abc import Callable
from fractions import Fraction

import aiortc
import av
from aiortc import rtcrtpreceiver
from aiortc.codecs.base import Decoder
from aiortc.jitterbuffer import JitterFrame
from aiortc.mediastreams import MediaStreamTrack
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtcrtpreceiver import RTCRtpReceiver
from aiortc.rtcrtpsender import RTCRtpSender
from aiortc.rtp import (
    RTCP_PSFB_FIR,
    RTCP_PSFB_PLI,
    AnyRtcpPacket,
    RtcpPsfbPacket,
    RtcpRrPacket,
    RtcpSrPacket,
)

AIORTC_SERIES = "1.16."
if not aiortc.__version__.startswith(AIORTC_SERIES):
    raise ImportError(
        f"media.packets was written for aiortc {AIORTC_SERIES}x, found {aiortc.__version__}"
    )

_H264_IDR = 5
_marked: weakref.WeakSet[asyncio.Queue] = weakref.WeakSet()
_worker = threading.local()
_original_worker = rtcrtpreceiver.decoder_worker
_original_get_decoder = rtcrtpreceiver.get_decoder
_pending: set[asyncio.Future] = set()


def is_keyframe(codec_name: str, data: bytes) -> bool:
    """Whether an encoded frame starts a decodable picture: an H.264 access unit holding an
    IDR slice (Annex-B, as aiortc depayloads it), a VP8 key frame; audio frames always."""
    name = codec_name.lower()
    if name == "h264":
        i = data.find(b"\x00\x00\x01")
        while i != -1 and i + 3 < len(data):
            if data[i + 3] & 0x1F == _H264_IDR:
                return True
            i = data.find(b"\x00\x00\x01", i + 3)
        return False
    if name == "vp8":
        return bool(data) and not data[0] & 0x01
    return True


class PacketDecoder(Decoder):
    """A "decoder" that returns the encoded frame itself, timestamped in the codec's clock."""

    def __init__(self, codec: RTCRtpCodecParameters) -> None:
        self.codec_name = codec.name
        self.time_base = Fraction(1, codec.clockRate)

    def decode(self, encoded_frame: JitterFrame) -> list[av.Packet]:  # type: ignore[override]
        packet = av.Packet(encoded_frame.data)
        packet.pts = packet.dts = encoded_frame.timestamp
        packet.time_base = self.time_base
        packet.is_keyframe = is_keyframe(self.codec_name, encoded_frame.data)
        return [packet]


def _get_decoder(codec: RTCRtpCodecParameters) -> Decoder:
    if getattr(_worker, "packets", False):
        return PacketDecoder(codec)
    return _original_get_decoder(codec)


def _decoder_worker(
    loop: asyncio.AbstractEventLoop,
    input_q: queue.Queue,
    output_q: asyncio.Queue,
    decode_error: threading.Event,
) -> None:
    _worker.packets = output_q in _marked
    _original_worker(loop, input_q, output_q, decode_error)


def receive_packets(track: MediaStreamTrack) -> None:
    """Make a remote track yield `av.Packet`s instead of decoded frames.

    Call it before the receiver starts, i.e. between `setRemoteDescription` and the connection
    coming up (the "track" event or right after `setRemoteDescription` returns). The caller must
    keep draining the track: aiortc's queue behind it is unbounded.
    """
    queue = getattr(track, "_queue", None)
    if not isinstance(queue, asyncio.Queue):
        raise TypeError("not an aiortc remote track")
    rtcrtpreceiver.decoder_worker = _decoder_worker
    rtcrtpreceiver.get_decoder = _get_decoder
    _marked.add(queue)


def watch_sender_feedback(
    sender: RTCRtpSender,
    on_keyframe_request: Callable[[], None],
    on_loss: Callable[[float], None] | None = None,
) -> None:
    """Report a subscriber's PLI/FIR (`pack()` would ignore them) and, with `on_loss`, the
    fraction of our packets it reports lost (0..1) in each receiver report."""
    original = sender._handle_rtcp_packet

    async def handle(packet: AnyRtcpPacket) -> None:
        await original(packet)
        if isinstance(packet, RtcpPsfbPacket) and packet.fmt in (RTCP_PSFB_PLI, RTCP_PSFB_FIR):
            on_keyframe_request()
        elif on_loss is not None and isinstance(packet, RtcpRrPacket | RtcpSrPacket):
            for report in packet.reports:
                if report.ssrc == sender._ssrc:
                    on_loss(report.fraction_lost / 256)

    sender._handle_rtcp_packet = handle  # type: ignore[method-assign]


def request_keyframe_from(receiver: RTCRtpReceiver) -> None:
    """Ask the remote sender for a keyframe (PLI on each SSRC heard recently); the caller
    throttles. A no-op until the first RTP packet has told us the SSRC."""
    for source in receiver.getSynchronizationSources():
        task = asyncio.ensure_future(receiver._send_rtcp_pli(source.source))
        _pending.add(task)
        task.add_done_callback(_pending.discard)


def sender_encodes_video(sender: RTCRtpSender) -> bool:
    """True if the sender has built a video encoder (it only does when handed frames)."""
    encoder = getattr(sender, "_RTCRtpSender__encoder", None)
    return sender.kind == "video" and getattr(encoder, "codec", None) is not None
