from fractions import Fraction

import av
import numpy as np

from media.encode import RENDITIONS, AudioEncoder, VideoEncoder, encoder_count, video_options


def test_video_options_golden() -> None:
    assert video_options(RENDITIONS[0]) == {
        "preset": "veryfast",
        "tune": "zerolatency",
        "profile": "baseline",
        "level": "3.1",
        "forced-idr": "1",
        "x264-params": "keyint=60:min-keyint=60:scenecut=0:bframes=0"
        ":vbv-maxrate=2000:vbv-bufsize=2000",
    }
    assert video_options(RENDITIONS[1])["x264-params"].endswith("vbv-maxrate=600:vbv-bufsize=600")
    assert video_options(RENDITIONS[1])["level"] == "3.0"


def test_ladder() -> None:
    assert [(r.name, r.width, r.height) for r in RENDITIONS] == [
        ("720p", 1280, 720),
        ("360p", 640, 360),
        ("audio", None, None),
    ]
    assert RENDITIONS[2].codecs == "mp4a.40.2"


def _frame(i: int) -> av.VideoFrame:
    frame = av.VideoFrame.from_ndarray(np.full((540, 640), i % 200, np.uint8), format="yuv420p")
    frame.pts, frame.time_base = i, Fraction(1, 30)
    frame.pict_type = av.video.frame.PictureType.I  # a decoded input's own type is ignored
    return frame


def test_annexb_keyframes_on_grid_and_forced_idr() -> None:
    enc = VideoEncoder(RENDITIONS[1])
    keys = []
    for i in range(125):
        if i == 75:
            enc.request_keyframe()
        for packet in enc.encode(_frame(i)):
            data = bytes(packet)
            if packet.is_keyframe:
                keys.append(packet.pts)
                # Annex-B with in-band SPS whose profile/constraints/level match CODECS.
                assert data.startswith(b"\x00\x00\x00\x01\x67")
                assert data[5:8].hex() == RENDITIONS[1].codecs[5:11]
    enc.close()
    assert keys == [0, 60, 75, 120]


def test_audio_encoder_is_aac_lc_stereo() -> None:
    enc = AudioEncoder(48_000)
    frame = av.AudioFrame.from_ndarray(np.zeros((1, 3200), np.int16), format="s16", layout="stereo")
    frame.sample_rate, frame.pts, frame.time_base = 48000, 0, Fraction(1, 48000)
    packets = enc.encode(frame) + enc.encode(None)
    assert packets and enc.stream.codec_context.extradata[:2] == b"\x11\x90"
    enc.close()


def test_encoder_count_tracks_open_encoders() -> None:
    before = encoder_count()
    enc = AudioEncoder(48_000)
    assert encoder_count() == before + 1
    enc.close()
    enc.close()
    assert encoder_count() == before
