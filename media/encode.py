"""Encode once per rendition: the packets feed LL-HLS, the recording and every WebRTC sender.

Keyframes fall on the segment grid (every `fps * SEGMENT_SECONDS` frames) because we force
an IDR on each grid frame ourselves as well as fixing x264's GOP. A keyframe requested for
WebRTC (`request_keyframe`) adds one extra IDR inside a segment: the muxer then cuts an extra,
shorter part (INDEPENDENT=YES) but segment boundaries stay on the 2 s grid, because the
segmenter closes a segment only when a part ends on that grid.

Audio: one AAC encode at 128 kbps is shared by the 720p and 360p renditions; the audio-only
rendition gets its own 48 kbps AAC encode (two AAC encoders in total, a few % of a core).
"""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass
from fractions import Fraction
from typing import ClassVar

import av
from av.video.frame import PictureType

FPS = 30
SEGMENT_SECONDS = 2
SAMPLE_RATE = 48000
AUDIO_LAYOUT = "stereo"
AAC_FRAME = 1024


@dataclass(frozen=True)
class Rendition:
    """One rung of the ladder; `name` is also its directory and URL segment."""

    name: str
    video_bitrate: int | None
    audio_bitrate: int
    width: int | None = None
    height: int | None = None
    level: str = "3.1"

    def __post_init__(self) -> None:
        if (self.width is None) != (self.video_bitrate is None):
            raise ValueError("a video rendition needs both a size and a bitrate")

    @property
    def has_video(self) -> bool:
        return self.video_bitrate is not None

    @property
    def codecs(self) -> str:
        """RFC 6381 codecs: constrained baseline (42c0, as in x264's SPS) plus AAC-LC."""
        if not self.has_video:
            return "mp4a.40.2"
        level = int(float(self.level) * 10)
        return f"avc1.42c0{level:02x},mp4a.40.2"

    @property
    def bandwidth(self) -> int:
        """Peak bits per second for the master playlist: bitrates plus ~10% container cost."""
        return int(((self.video_bitrate or 0) + self.audio_bitrate) * 1.1)


RENDITIONS: tuple[Rendition, ...] = (
    Rendition("720p", 2_000_000, 128_000, 1280, 720, "3.1"),
    Rendition("360p", 600_000, 128_000, 640, 360, "3.0"),
    Rendition("audio", None, 48_000),
)


def video_options(rendition: Rendition, fps: int = FPS) -> dict[str, str]:
    """The libx264 options for a rendition; the golden test pins these."""
    gop = fps * SEGMENT_SECONDS
    kbps = (rendition.video_bitrate or 0) // 1000
    params = (
        f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes=0:vbv-maxrate={kbps}:vbv-bufsize={kbps}"
    )
    return {
        "preset": "veryfast",
        "tune": "zerolatency",
        "profile": "baseline",
        "level": rendition.level,
        "forced-idr": "1",
        "x264-params": params,
    }


class _Counted:
    """Counts encoder instances so tests and the bench can prove that consumers add none."""

    created: ClassVar[int] = 0
    live: ClassVar[int] = 0
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def _count(self, delta: int) -> None:
        with _Counted._lock:
            _Counted.live += delta
            if delta > 0:
                _Counted.created += delta


def encoder_count() -> int:
    """Encoders currently open in this process (video and audio)."""
    return _Counted.live


class VideoEncoder(_Counted):
    """libx264 constrained baseline, Annex-B (in-band SPS/PPS at every IDR), zero latency."""

    def __init__(self, rendition: Rendition, fps: int = FPS) -> None:
        if not rendition.has_video:
            raise ValueError(f"{rendition.name} has no video")
        self.rendition = rendition
        self.gop = fps * SEGMENT_SECONDS
        ctx = av.CodecContext.create("libx264", "w")
        ctx.width = rendition.width
        ctx.height = rendition.height
        ctx.pix_fmt = "yuv420p"
        ctx.time_base = Fraction(1, fps)
        ctx.framerate = Fraction(fps, 1)
        ctx.bit_rate = rendition.video_bitrate
        ctx.max_b_frames = 0
        ctx.options = video_options(rendition, fps)
        ctx.open()
        self._ctx = ctx
        self._last_grid = -1
        self._force = threading.Event()
        self._count(1)
        self._closed = False

    def request_keyframe(self) -> None:
        """Make the next frame an IDR (thread-safe; the fanout throttles callers)."""
        self._force.set()

    def encode(self, frame: av.VideoFrame | None) -> list[av.Packet]:
        """Encode one frame whose pts counts ticks (time base 1/fps); None flushes."""
        if frame is None:
            return self._ctx.encode(None)
        grid = frame.pts // self.gop
        if grid != self._last_grid or self._force.is_set():
            frame.pict_type = PictureType.I
            self._force.clear()
        else:
            # Decoded input frames carry their own I/P type; x264 must not obey it.
            frame.pict_type = PictureType.NONE
        self._last_grid = grid
        return self._ctx.encode(frame)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._count(-1)


class AudioEncoder(_Counted):
    """AAC-LC 48 kHz stereo; input is any-size s16 frames, re-chunked to 1024 samples.

    The codec context lives in a stream of a never-written ADTS container so that `stream`
    can serve as the template muxers copy codec parameters (and AAC extradata) from.
    """

    def __init__(self, bitrate: int) -> None:
        self._holder = av.open(io.BytesIO(), "w", format="adts")
        stream = self._holder.add_stream("aac", rate=SAMPLE_RATE)
        stream.layout = AUDIO_LAYOUT
        stream.format = "fltp"
        stream.bit_rate = bitrate
        stream.time_base = Fraction(1, SAMPLE_RATE)
        self._holder.start_encoding()  # opens the encoder and fills the stream's codecpar
        self.stream = stream
        self.bitrate = bitrate
        self._ctx = stream.codec_context
        self._resampler = av.AudioResampler(
            format="fltp", layout=AUDIO_LAYOUT, rate=SAMPLE_RATE, frame_size=AAC_FRAME
        )
        self._count(1)
        self._closed = False

    def encode(self, frame: av.AudioFrame | None) -> list[av.Packet]:
        """Encode a frame; None flushes the resampler and encoder at the end."""
        packets: list[av.Packet] = []
        for chunk in self._resampler.resample(frame):
            packets.extend(self._ctx.encode(chunk))
        if frame is None:
            packets.extend(self._ctx.encode(None))
        return packets

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._count(-1)


def clone_packet(packet: av.Packet) -> av.Packet:
    """A private copy for a muxer: muxing rewrites time base and stream index in place."""
    copy = av.Packet(bytes(packet))
    copy.pts = packet.pts
    copy.dts = packet.dts
    copy.time_base = packet.time_base
    copy.is_keyframe = packet.is_keyframe
    return copy
