"""Just enough ISO-BMFF parsing to cut fMP4 into LL-HLS parts and read their timing.

FFmpeg's mp4 muxer writes `ftyp`+`moov` once, then one `moof`+`mdat` per fragment; the
timing of a fragment lives in `tfdt` (start) and `trun` (sample durations and flags).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

_NON_SYNC = 0x00010000


@dataclass(frozen=True)
class Track:
    track_id: int
    timescale: int
    kind: str  # "vide" or "soun"
    default_duration: int = 0
    default_flags: int = 0


@dataclass(frozen=True)
class FragmentTiming:
    """Timing of one moof for one track, in seconds."""

    track_id: int
    start: float
    duration: float
    independent: bool


def iter_boxes(data: bytes | memoryview, offset: int = 0, end: int | None = None) -> Iterator:
    """Yield (type, payload_start, box_end) for each complete box in data[offset:end]."""
    end = len(data) if end is None else end
    while offset + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, offset)
        header = 8
        if size == 1:
            if offset + 16 > end:
                return
            (size,) = struct.unpack_from(">Q", data, offset + 8)
            header = 16
        if size < header or offset + size > end:
            return
        yield kind.decode("latin-1"), offset + header, offset + size
        offset += size


def box_size(data: bytes | bytearray, offset: int = 0) -> int | None:
    """Size of the box starting at offset, or None while its header is incomplete."""
    if len(data) - offset < 8:
        return None
    (size,) = struct.unpack_from(">I", data, offset)
    if size == 1:
        if len(data) - offset < 16:
            return None
        (size,) = struct.unpack_from(">Q", data, offset + 8)
    return size


def _child(data: bytes, start: int, end: int, kind: str) -> tuple[int, int] | None:
    for k, s, e in iter_boxes(data, start, end):
        if k == kind:
            return s, e
    return None


def parse_tracks(moov: bytes) -> dict[int, Track]:
    """Track id → timescale, handler and trex defaults from an init segment's moov payload."""
    trex: dict[int, tuple[int, int]] = {}
    mvex = _child(moov, 0, len(moov), "mvex")
    if mvex:
        for k, s, _e in iter_boxes(moov, *mvex):
            if k == "trex":
                tid, _desc, dur, _size, flags = struct.unpack_from(">IIIII", moov, s + 4)
                trex[tid] = (dur, flags)
    tracks: dict[int, Track] = {}
    for k, s, e in iter_boxes(moov, 0, len(moov)):
        if k != "trak":
            continue
        tkhd = _child(moov, s, e, "tkhd")
        mdia = _child(moov, s, e, "mdia")
        if not tkhd or not mdia:
            continue
        version = moov[tkhd[0]]
        (tid,) = struct.unpack_from(">I", moov, tkhd[0] + (20 if version == 1 else 12))
        mdhd = _child(moov, *mdia, "mdhd")
        hdlr = _child(moov, *mdia, "hdlr")
        if not mdhd or not hdlr:
            continue
        version = moov[mdhd[0]]
        (timescale,) = struct.unpack_from(">I", moov, mdhd[0] + (20 if version == 1 else 12))
        handler = moov[hdlr[0] + 8 : hdlr[0] + 12].decode("latin-1")
        dur, flags = trex.get(tid, (0, 0))
        tracks[tid] = Track(tid, timescale, handler, dur, flags)
    return tracks


def init_tracks(init: bytes) -> dict[int, Track]:
    """Tracks of a complete init segment (ftyp + moov)."""
    moov = _child(init, 0, len(init), "moov")
    if moov is None:
        raise ValueError("init segment has no moov")
    return parse_tracks(bytes(init[moov[0] : moov[1]]))


def fragment_timing(moof: bytes, tracks: dict[int, Track]) -> list[FragmentTiming]:
    """Per-track start, duration and independence of one moof (its payload, without header)."""
    out: list[FragmentTiming] = []
    for k, s, e in iter_boxes(moof, 0, len(moof)):
        if k != "traf":
            continue
        tfhd = _child(moof, s, e, "tfhd")
        if tfhd is None:
            continue
        (tf_flags_word, tid) = struct.unpack_from(">II", moof, tfhd[0])
        tf_flags = tf_flags_word & 0xFFFFFF
        track = tracks.get(tid)
        if track is None:
            continue
        pos = tfhd[0] + 8
        default_duration, default_flags = track.default_duration, track.default_flags
        if tf_flags & 0x1:
            pos += 8
        if tf_flags & 0x2:
            pos += 4
        if tf_flags & 0x8:
            (default_duration,) = struct.unpack_from(">I", moof, pos)
            pos += 4
        if tf_flags & 0x10:
            pos += 4
        if tf_flags & 0x20:
            (default_flags,) = struct.unpack_from(">I", moof, pos)
        base = 0
        tfdt = _child(moof, s, e, "tfdt")
        if tfdt:
            version = moof[tfdt[0]]
            fmt = ">Q" if version == 1 else ">I"
            (base,) = struct.unpack_from(fmt, moof, tfdt[0] + 4)
        total = 0
        first_flags: int | None = None
        for rk, rs, _re in iter_boxes(moof, s, e):
            if rk != "trun":
                continue
            flags_word, count = struct.unpack_from(">II", moof, rs)
            flags = flags_word & 0xFFFFFF
            pos = rs + 8
            if flags & 0x1:
                pos += 4
            run_first: int | None = None
            if flags & 0x4:
                (run_first,) = struct.unpack_from(">I", moof, pos)
                pos += 4
            for i in range(count):
                duration, sample_flags = default_duration, default_flags
                if flags & 0x100:
                    (duration,) = struct.unpack_from(">I", moof, pos)
                    pos += 4
                if flags & 0x200:
                    pos += 4
                if flags & 0x400:
                    (sample_flags,) = struct.unpack_from(">I", moof, pos)
                    pos += 4
                if flags & 0x800:
                    pos += 4
                if i == 0 and run_first is not None:
                    sample_flags = run_first
                if first_flags is None:
                    first_flags = sample_flags
                total += duration
        independent = first_flags is not None and not first_flags & _NON_SYNC
        ts = track.timescale
        out.append(FragmentTiming(tid, base / ts, total / ts, independent))
    return out
