"""The archive's text formats: cut lists, clock times, WebVTT (captions in, chapters out).

Everything stored keeps the raw recording clock (the stream clock of `live_started_at`); a
`media.archive.Timeline` maps it to the published recording when a page or file is served.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from media.archive import Range, Timeline, vtt_time
from server.domain.errors import InvalidInput
from server.i18n import N_
from server.store.archive import CueIn
from server.store.models import AgendaItem

MAX_CAPTION_BYTES = 5 * 1024 * 1024
MAX_CUES = 50_000
_TIMESTAMP = r"(?:(\d{2,}):)?([0-5]\d):([0-5]\d)\.(\d{3})"
_TIMING = re.compile(rf"^{_TIMESTAMP}[ \t]+-->[ \t]+{_TIMESTAMP}(?:[ \t].*)?$")
_TAG = re.compile(r"<[^>]*>")
_VOICE = re.compile(r"<v(?:\.[^ >]*)?[ \t]+([^>]+)>")
_CLOCK = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{1,2}(?:[.,]\d+)?)$")


@dataclass(frozen=True)
class Chapter:
    position: int
    title: str
    start: float
    end: float


def parse_seconds(value: str, field: str) -> float:
    """Seconds ("754.5") or a clock ("12:34", "1:02:03") as staff type them."""
    value = value.strip()
    try:
        seconds = float(value.replace(",", "."))
    except ValueError:
        match = _CLOCK.match(value)
        if not match:
            raise _field_error(
                field, N_("Tulis detik (754) atau jam:menit:detik (0:12:34).")
            ) from None
        hours, minutes, rest = match.groups()
        seconds = int(hours or 0) * 3600 + int(minutes) * 60 + float(rest.replace(",", "."))
    if seconds < 0 or seconds != seconds:
        raise _field_error(field, N_("Waktu tidak boleh negatif."))
    return seconds


def _field_error(field: str, problem: str) -> InvalidInput:
    """One form field's problem, said beside the field and as the error's message."""
    return InvalidInput(problem, {field: problem})


def check_edit(
    duration: float,
    *,
    trim_start: float,
    trim_end: float | None,
    cuts: list[Range],
    poster_s: float | None,
) -> None:
    """Refuse an edit that cannot work before any file is touched: a start at or after the
    end, or a time outside the recording (a cut "5:00:00-6:00:00" of a 1:43 recording)."""
    length = clock(duration)
    if trim_start >= duration:
        raise _outside("trim_start", length)
    if trim_end is not None:
        if trim_end > duration:
            raise _outside("trim_end", length)
        if trim_end <= trim_start:
            raise _field_error("trim_end", N_("Waktu selesai harus setelah waktu mulai."))
    for start, end in cuts:
        if end > duration:
            raise _outside("cuts", length, start=clock(start), end=clock(end))
    if poster_s is not None and poster_s >= duration:
        raise _outside("poster", length)


def check_within(duration: float, seconds: float, field: str) -> None:
    """One time typed into `field` lies inside the recording."""
    if seconds > duration:
        raise _outside(field, clock(duration))


def _outside(field: str, length: str, **cut: str) -> InvalidInput:
    problem = (
        N_("Bagian %(start)s - %(end)s di luar rekaman (panjang rekaman %(length)s).")
        if cut
        else N_("Waktu ini di luar rekaman (panjang rekaman %(length)s).")
    )
    error = InvalidInput(problem, length=length, **cut)
    error.fields = {field: error.message}
    return error


def parse_cuts(text: str) -> list[Range]:
    """Closed-door parts, one per line: "start - end" (seconds or clock times)."""
    cuts = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        start, sep, end = line.partition(" - ") if " - " in line else line.partition("-")
        if not sep:
            problem = N_("Baris %(line)s: tulis bagian tertutup sebagai mulai - selesai.")
            raise InvalidInput(problem, {"cuts": problem}, line=number)
        first, last = parse_seconds(start, "cuts"), parse_seconds(end, "cuts")
        if last <= first:
            problem = N_("Baris %(line)s: waktu selesai harus setelah waktu mulai.")
            raise InvalidInput(problem, {"cuts": problem}, line=number)
        cuts.append((first, last))
    return sorted(cuts)


def format_cuts(cuts: list[Range]) -> str:
    return "\n".join(f"{clock(a)} - {clock(b)}" for a, b in cuts)


def clock(seconds: float) -> str:
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    text = f"{hours}:{rest // 60:02d}:{rest % 60:02d}"
    fraction = round(seconds - whole, 1)
    return f"{text}.{int(fraction * 10)}" if fraction else text


def parse_webvtt(data: bytes) -> list[CueIn]:
    """Cues of a WebVTT file, judged by its content (the WEBVTT signature and cue timings)."""
    if len(data) > MAX_CAPTION_BYTES:
        raise InvalidInput(N_("Berkas WebVTT terlalu besar (paling besar 5 MB)."))
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        raise InvalidInput(N_("Berkas WebVTT harus berenkode UTF-8.")) from None
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if not re.match(r"^WEBVTT(?:[ \t].*)?$", lines[0]):
        raise InvalidInput(N_("Berkas bukan WebVTT: baris pertama harus 'WEBVTT'."))
    cues: list[CueIn] = []
    blocks = "\n".join(lines[1:]).split("\n\n")
    for block in blocks:
        rows = [row for row in block.split("\n") if row.strip()]
        if not rows or rows[0].startswith(("NOTE", "STYLE", "REGION")):
            continue
        timing_at = 0 if "-->" in rows[0] else 1
        if timing_at >= len(rows) or not (match := _TIMING.match(rows[timing_at].strip())):
            raise InvalidInput(
                N_("Waktu isyarat WebVTT tidak sah: %(row)r."),
                row=rows[min(timing_at, len(rows) - 1)][:80],
            )
        start, end = _cue_time(match.groups()[:4]), _cue_time(match.groups()[4:])
        if end <= start:
            raise InvalidInput(
                N_("Isyarat WebVTT berakhir sebelum mulai: %(row)r."), row=rows[timing_at][:80]
            )
        body = " ".join(
            _TAG.sub("", _VOICE.sub(r"\1: ", row)).strip() for row in rows[timing_at + 1 :]
        )
        if body:
            cues.append(CueIn(start, end, body))
        if len(cues) > MAX_CUES:
            raise InvalidInput(N_("Terlalu banyak isyarat (paling banyak %(max)s)."), max=MAX_CUES)
    if not cues:
        raise InvalidInput(N_("Berkas WebVTT tidak berisi isyarat teks."))
    return cues


def _cue_time(parts) -> float:
    hours, minutes, seconds, millis = parts
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds) + int(millis) / 1000


def to_raw_cues(cues: list[CueIn], timeline: Timeline | None) -> list[CueIn]:
    """Captions made against the published recording go back onto the raw clock."""
    if timeline is None:
        return cues
    out = []
    for cue in cues:
        start = timeline.to_raw(cue.start_s)
        if start is not None:
            out.append(CueIn(start, start + (cue.end_s - cue.start_s), cue.text))
    return out


def webvtt(cues: list[tuple[float, float, str]]) -> str:
    blocks = ["WEBVTT", ""]
    for start, end, text in cues:
        blocks += [f"{vtt_time(start)} --> {vtt_time(end)}", text.replace("-->", "→"), ""]
    return "\n".join(blocks)


def chapters(items: list[AgendaItem], timeline: Timeline) -> list[Chapter]:
    """Agenda items with a start offset, on the published clock; each ends where the next
    begins unless staff set its end."""
    timed = sorted(
        (i for i in items if i.start_offset is not None), key=lambda i: (i.start_offset, i.position)
    )
    out = []
    for index, item in enumerate(timed):
        start = timeline.chapter_start(item.start_offset)
        if item.end_offset is not None:
            end = timeline.chapter_start(item.end_offset)
        elif index + 1 < len(timed):
            end = timeline.chapter_start(timed[index + 1].start_offset)
        else:
            end = timeline.duration
        if end > start:
            out.append(Chapter(item.position, item.title, start, end))
    return out


def chapters_vtt(found: list[Chapter]) -> str:
    return webvtt([(c.start, c.end, f"{c.position}. {c.title}") for c in found])
