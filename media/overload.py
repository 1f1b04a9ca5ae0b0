"""Overload: which video frames to encode when the machine cannot keep up.

The program ticks 30 times a second, and every tick's audio is mixed and encoded whatever
happens: it costs well under a millisecond, so the audio rendition and the recording's audio
never lose a sample to load. Video encodes are the cost (x264 at 720p is most of it). When
the program runs late it drops video frames in a stated order, one step at most per second,
and restores one step after CALM_S on time:

    0  every rendition at 30 fps
    1  720p at 15 fps
    2  720p at 5 fps
    3  720p at 2 fps, 360p at 15 fps
    4  every video rendition at 2 fps

A frame on a part boundary (every 0.5 s) is always encoded, so every part holds video and
every segment starts with its keyframe on the 2 s grid. While more than two ticks late, only
those frames are encoded until the program is on time again, so one slow encode never leaves
the stream further and further behind. When over a fifth of the last second's ticks had to
catch up, the next step is shed: a short burst (two encodes back to back on a part boundary)
is not overload.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from media.clock import Clock

SHED_ORDER: tuple[dict[str, int], ...] = (
    {},
    {"720p": 2},
    {"720p": 6},
    {"720p": 15, "360p": 2},
    {"720p": 15, "360p": 15},
)
PART_TICKS_S = 0.5  # a part: frames on its boundaries are never dropped
LATE_TICKS = 2  # this many ticks late: encode only part-boundary frames until on time
RAISE_EVERY_S = 1.0
RAISE_SHARE = 0.2  # of the last second's ticks caught up: shed one more step
CALM_S = 10.0  # on time this long: restore one step
RTF_WINDOW_S = 10.0


@dataclass(frozen=True)
class LoadState:
    """What the console and /metrics show."""

    level: int
    late_s: float
    realtime_factor: float
    catching_up: bool
    fps: dict[str, float]  # video frames per second each rendition is encoded at


class LoadShedder:
    """Fed once per program tick (program thread); read from anywhere."""

    def __init__(self, fps: int, clock: Clock) -> None:
        self.fps = fps
        self.level = 0
        self.late_s = 0.0
        self.catching_up = False
        self._clock = clock
        self._part_ticks = int(fps * PART_TICKS_S)
        self._changed_at = clock.now()
        self._calm_since: float | None = None
        self._processed = 0
        self._samples: deque[tuple[float, int]] = deque()
        self._recent: deque[tuple[float, bool]] = deque()  # (time, caught up) of the last second
        self._recent_late = 0

    def observe(self, late_s: float) -> None:
        """One tick is about to be encoded, `late_s` behind the program clock."""
        now = self._clock.now()
        self.late_s = late_s
        self.catching_up = late_s > LATE_TICKS / self.fps
        self._recent.append((now, self.catching_up))
        self._recent_late += self.catching_up
        while now - self._recent[0][0] > RAISE_EVERY_S:
            self._recent_late -= self._recent.popleft()[1]
        if self.catching_up:
            self._calm_since = None
            overloaded = self._recent_late > RAISE_SHARE * self.fps * RAISE_EVERY_S
            can_raise = now - self._changed_at >= RAISE_EVERY_S
            if overloaded and can_raise and self.level < len(SHED_ORDER) - 1:
                self.level += 1
                self._changed_at = now
        elif late_s <= 1 / self.fps:
            if self._calm_since is None:
                self._calm_since = now
            elif self.level and min(now - self._calm_since, now - self._changed_at) >= CALM_S:
                self.level -= 1
                self._changed_at = self._calm_since = now
        self._processed += 1
        self._samples.append((now, self._processed))
        while now - self._samples[0][0] > RTF_WINDOW_S:
            self._samples.popleft()

    def encodes(self, rendition: str, tick: int) -> bool:
        """Is this tick's frame encoded for this video rendition?"""
        if tick % self._part_ticks == 0:
            return True
        if self.catching_up:
            return False
        return tick % SHED_ORDER[self.level].get(rendition, 1) == 0

    def realtime_factor(self) -> tuple[float, float]:
        """(media seconds per wall second, over how many wall seconds) for the last window."""
        if len(self._samples) < 2:
            return 1.0, 0.0
        (t0, n0), (t1, n1) = self._samples[0], self._samples[-1]
        span = max(t1, self._clock.now()) - t0
        if span <= 0:
            return 1.0, 0.0
        return (n1 - n0) / self.fps / span, span

    def state(self, renditions: list[str]) -> LoadState:
        rtf, _ = self.realtime_factor()
        divisors = SHED_ORDER[self.level]
        return LoadState(
            level=self.level,
            late_s=self.late_s,
            realtime_factor=rtf,
            catching_up=self.catching_up,
            fps={r: self.fps / divisors.get(r, 1) for r in renditions},
        )
