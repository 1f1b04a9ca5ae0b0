"""Record once: the LL-HLS segments are the recording; recording.mp4 is a remux, no encode.

`finalize` concatenates init.mp4 and the segments of one rendition, demuxes them with PyAV and
remuxes to a faststart MP4 (and an audio-only M4A). `recover` does the same for a sitting that
died mid-stream, after rebuilding a VOD playlist from the segments that are complete on disk.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path

import av

from media.boxes import fragment_timing, init_tracks, iter_boxes
from media.encode import RENDITIONS
from media.hls import Part, Segment, part_target_for, render_playlist
from media.storage import MediaStorageError, atomic_write

log = logging.getLogger(__name__)

FINISHED = "FINISHED"
META = "sitting.json"
RECORDING = "recording.mp4"
AUDIO = "audio.m4a"
_SEGMENT = re.compile(r"^seg(\d+)\.m4s$")


@dataclass(frozen=True)
class RecordingInfo:
    path: Path
    duration_s: float
    sha256: str
    size: int
    audio_path: Path | None = None


class _ChainReader:
    """Read several files as one stream (init segment followed by media segments)."""

    def __init__(self, paths: list[Path]) -> None:
        self._paths = list(paths)
        self._fh = None

    def read(self, n: int = -1) -> bytes:
        while self._paths or self._fh:
            if self._fh is None:
                self._fh = open(self._paths.pop(0), "rb")  # noqa: SIM115 - closed below
            data = self._fh.read(n)
            if data:
                return data
            self._fh.close()
            self._fh = None
        return b""

    def close(self) -> None:
        if self._fh:
            self._fh.close()


def _whole_boxes(data: bytes) -> bool:
    """A segment is usable when it is nothing but complete moof+mdat pairs."""
    end = 0
    kinds = []
    for kind, _start, box_end in iter_boxes(data):
        kinds.append(kind)
        end = box_end
    return end == len(data) and bool(kinds) and kinds[0] == "moof" and "mdat" in kinds


def complete_segments(rendition_dir: Path) -> list[Path]:
    """Segments 0..n-1 that exist and are whole; stops at the first gap or damaged file."""
    found = {int(m[1]): p for p in rendition_dir.glob("seg*.m4s") if (m := _SEGMENT.match(p.name))}
    out: list[Path] = []
    for msn in range(len(found)):
        path = found.get(msn)
        if path is None or not _whole_boxes(path.read_bytes()):
            break
        out.append(path)
    return out


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _remux(sources: list[Path], target: Path, audio_target: Path | None) -> float:
    """Copy packets from the concatenated fMP4 into faststart MP4s; returns the duration."""
    reader = _ChainReader(sources)
    tmp = target.with_name(f".{target.name}.tmp")
    audio_tmp = audio_target.with_name(f".{audio_target.name}.tmp") if audio_target else None
    options = {"movflags": "faststart"}
    try:
        with (
            av.open(reader, "r", format="mp4") as src,
            av.open(str(tmp), "w", format="mp4", options=options) as out,
        ):
            audio_out = None
            if audio_tmp is not None:
                audio_out = av.open(str(audio_tmp), "w", format="ipod", options=options)
            mapping = {s.index: out.add_stream_from_template(s) for s in src.streams}
            audio_map = {}
            if audio_out is not None:
                audio_map = {
                    s.index: audio_out.add_stream_from_template(s) for s in src.streams.audio
                }
            last = 0.0
            for packet in src.demux():
                if packet.dts is None:
                    continue
                index = packet.stream.index
                end = float((packet.pts + (packet.duration or 0)) * packet.time_base)
                last = max(last, end)
                if index in audio_map:
                    packet.stream = audio_map[index]
                    audio_out.mux(packet)
                packet.stream = mapping[index]
                out.mux(packet)
            if audio_out is not None:
                audio_out.close()
        tmp.replace(target)
        if audio_tmp is not None and audio_target is not None:
            audio_tmp.replace(audio_target)
        return last
    except OSError as exc:
        for path in (tmp, audio_tmp):
            if path is not None:
                with contextlib.suppress(OSError):
                    path.unlink()
        raise MediaStorageError(target, exc) from exc
    finally:
        reader.close()


def finalize(sitting_dir: Path, rendition: str = "720p") -> RecordingInfo:
    """Remux the sitting's segments to recording.mp4 and audio.m4a; marks the sitting done."""
    rendition_dir = sitting_dir / rendition
    segments = complete_segments(rendition_dir)
    if not (rendition_dir / "init.mp4").is_file() or not segments:
        raise FileNotFoundError(f"no complete segments under {rendition_dir}")
    target, audio_target = sitting_dir / RECORDING, sitting_dir / AUDIO
    _remux([rendition_dir / "init.mp4", *segments], target, audio_target)
    with av.open(str(target)) as check:
        duration = (check.duration or 0) / av.time_base
    info = RecordingInfo(target, duration, _sha256(target), target.stat().st_size, audio_target)
    atomic_write(sitting_dir / FINISHED, json.dumps(_info_json(info)))
    return info


def _info_json(info: RecordingInfo) -> dict:
    return {
        "path": info.path.name,
        "duration_s": info.duration_s,
        "sha256": info.sha256,
        "size": info.size,
        "finished_at": time.time(),
    }


def rebuild_playlist(rendition_dir: Path, epoch: float) -> int:
    """Write a VOD (EVENT + ENDLIST) playlist from the whole segments on disk; returns count."""
    init = rendition_dir / "init.mp4"
    if not init.is_file():
        return 0
    tracks = init_tracks(init.read_bytes())
    rendition = next((r for r in RENDITIONS if r.name == rendition_dir.name), None)
    want = "vide" if rendition is None or rendition.has_video else "soun"
    model: list[Segment] = []
    for path in complete_segments(rendition_dir):
        data = path.read_bytes()
        start, duration = None, 0.0
        for kind, s, e in iter_boxes(data):
            if kind != "moof":
                continue
            for t in fragment_timing(data[s:e], tracks):
                if tracks[t.track_id].kind == want:
                    start = t.start if start is None else start
                    duration += t.duration
        seg = Segment(msn=len(model), start=start or 0.0, complete=True)
        seg.parts.append(Part(0, duration, True, "", 0.0))
        model.append(seg)
    if model:
        target = part_target_for(rendition) if rendition else 0.5
        text = render_playlist(
            model, part_target=target, epoch=epoch, low_latency=False, ended=True
        )
        atomic_write(rendition_dir / "index.m3u8", text)
    return len(model)


def recover(sitting_dir: Path) -> RecordingInfo:
    """Make an interrupted sitting whole: VOD playlists from complete segments, then finalize."""
    epoch = sitting_dir.stat().st_mtime
    with contextlib.suppress(OSError, ValueError, KeyError):
        epoch = float(json.loads((sitting_dir / META).read_text())["started_at"])
    for rendition_dir in sorted(p for p in sitting_dir.iterdir() if p.is_dir()):
        for stale in rendition_dir.glob(".*.tmp"):
            with contextlib.suppress(OSError):
                stale.unlink()
        count = rebuild_playlist(rendition_dir, epoch)
        log.info("recovered %d segments in %s", count, rendition_dir)
    return finalize(sitting_dir)
