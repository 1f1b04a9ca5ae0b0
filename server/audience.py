"""Who pulls the live stream from this node (the origin), for /metrics.

- **Playlist requests that reached the origin**, by sitting, rendition and kind (`blocking`: an
  LL-HLS reload held until its part exists; `plain`: the first load). An hls.js viewer reloads
  once a part (0.5 s), so the app alone sees about two a second per viewer; behind nginx, which
  collapses concurrent reloads of the same part into one upstream request, about two a second
  per edge, whatever the audience.
- **LL-HLS viewers**: distinct players that reloaded a live media playlist here within the last
  `WINDOW_S`. A player sends no cookie (playlist URLs are shared and cacheable), so a player is
  its client address and User-Agent: a reloading player is never absent for 6 s (three part
  targets, one if a reload is held to its timeout), and one that stopped is gone within 6 s. Two
  identical browsers behind one NAT count once, and behind a cache this counts the edges: the
  audience as people is `sidang_viewers` (sockets and player heartbeats, across nodes).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable

from server.metrics import Metrics

WINDOW_S = 6.0
PRUNE_EVERY = 4096  # players recorded between two sweeps of the expired ones
MAX_AGENT_CHARS = 200


class Audience:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._seen: dict[tuple[int, str, str], float] = {}
        self._since_prune = 0
        self.requests: Counter[tuple[int, str, str]] = Counter()
        self._reported: set[int] = set()

    def playlist(self, sitting_id: int, rendition: str, client: str, agent: str, blocking: bool):
        """A live media playlist request reached this node."""
        self.requests[(sitting_id, rendition, "blocking" if blocking else "plain")] += 1
        self._seen[(sitting_id, client, agent[:MAX_AGENT_CHARS])] = self._clock()
        self._since_prune += 1
        if self._since_prune >= PRUNE_EVERY:
            self._prune()

    def viewers(self) -> Counter[int]:
        """Players per sitting seen within the window."""
        self._prune()
        return Counter(sitting_id for sitting_id, _, _ in self._seen)

    def _prune(self) -> None:
        horizon = self._clock() - WINDOW_S
        self._seen = {key: at for key, at in self._seen.items() if at >= horizon}
        self._since_prune = 0

    def register(self, metrics: Metrics) -> None:
        metrics.describe(
            "sidang_hls_viewers", "gauge", "Players reloading a live playlist here in the last 6 s"
        )
        metrics.describe(
            "sidang_playlist_requests_total", "counter", "Live playlist requests at this origin"
        )
        metrics.add_collector(self._collect)

    async def _collect(self, metrics: Metrics) -> None:
        viewers = self.viewers()
        for sitting_id in self._reported | set(viewers):  # a sitting nobody watches shows 0
            metrics.set("sidang_hls_viewers", viewers[sitting_id], sitting=str(sitting_id))
        self._reported |= set(viewers)
        for (sitting_id, rendition, kind), count in self.requests.items():
            labels = {"sitting": str(sitting_id), "rendition": rendition, "kind": kind}
            metrics.set("sidang_playlist_requests_total", count, **labels)
