"""The program's time source: the system's, or a manual one that tests and benches advance.

Media tests used to measure wall time and failed whenever the machine was busy. The program
clock, input freshness, part ages and the real-time factor all read this one clock instead, so
a test can say "the encoder took 2 s" or "20 s pass" and get the same result on any machine.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Monotonic seconds."""

    def wall(self) -> float:
        """Epoch seconds (program date-time, offsets people read)."""

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        """Sleep for `seconds` of this clock's time; True when `stop` was set meanwhile."""


class SystemClock:
    def now(self) -> float:
        return time.monotonic()

    def wall(self) -> float:
        return time.time()

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        return stop.wait(seconds)


SYSTEM_CLOCK = SystemClock()


class ManualClock:
    """Time moves only when `advance` is called; a waiting thread wakes when its time comes.

    `idle()` tells whether every waiter is waiting for a time still ahead, i.e. the program
    has done all the work that is due: tests advance, then wait until idle, then assert."""

    EPOCH = 1_700_000_000.0

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._cond = threading.Condition()
        self._targets: list[float] = []

    def now(self) -> float:
        return self._now

    def wall(self) -> float:
        return self.EPOCH + self._now

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        with self._cond:
            target = self._now + seconds
            self._targets.append(target)
            self._cond.notify_all()
            try:
                while self._now < target and not stop.is_set():
                    self._cond.wait(0.05)  # also notices `stop`, which has no condition
            finally:
                self._targets.remove(target)
        return stop.is_set()

    def advance(self, seconds: float) -> None:
        with self._cond:
            self._now += seconds
            self._cond.notify_all()

    def sleep(self, seconds: float) -> None:
        """Work that takes time on this clock (a slow encode in a test)."""
        self.advance(seconds)

    def idle(self, waiters: int = 1) -> bool:
        """Are `waiters` threads waiting, all for a time that has not come yet?"""
        with self._cond:
            return self._idle_locked(waiters)

    def _idle_locked(self, waiters: int) -> bool:
        ahead = [t for t in self._targets if t > self._now]
        return len(ahead) == len(self._targets) >= waiters

    def wait_idle(self, waiters: int = 1, timeout: float = 30.0) -> bool:
        """Block until `idle(waiters)`: call it through a thread from async code."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self._idle_locked(waiters):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(min(remaining, 0.05))
        return True
