"""What live comments report to /metrics: viewers and sockets per sitting, slow evictions."""

from __future__ import annotations

from server.comments.service import CommentService
from server.metrics import Metrics


def register(metrics: Metrics, service: CommentService) -> None:
    metrics.describe("sidang_viewers", "gauge", "Viewers of a sitting across all nodes")
    metrics.describe("sidang_comment_sockets", "gauge", "Comment sockets open on this node")
    metrics.describe(
        "sidang_comment_slow_evictions_total", "counter", "Comment sockets closed for lagging"
    )
    metrics.describe("sidang_comments_total", "counter", "Comments posted, by outcome")
    metrics.add_collector(_collector(service))


def _collector(service: CommentService):
    async def collect(metrics: Metrics) -> None:
        for sitting in sorted(service.watched):
            room = service.hub.rooms.get(sitting)
            metrics.set("sidang_viewers", await service.viewers(sitting), sitting=str(sitting))
            sockets = 0 if room is None else len(room.listeners)
            metrics.set("sidang_comment_sockets", sockets, sitting=str(sitting))
        metrics.set("sidang_comment_slow_evictions_total", service.hub.evicted)

    return collect
