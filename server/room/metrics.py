"""What the member room reports to /metrics: people and connected WebRTC peers per room."""

from __future__ import annotations

from server.metrics import Metrics
from server.room.service import RoomService


def register(metrics: Metrics, service: RoomService) -> None:
    metrics.describe("sidang_room_connections", "gauge", "People with the member room open here")
    metrics.describe("sidang_room_peers", "gauge", "Member WebRTC peers connected here")
    metrics.add_collector(_collector(service))


def _collector(service: RoomService):
    reported: set[int] = set()

    async def collect(metrics: Metrics) -> None:
        peers = service.peers()
        for room in reported | set(peers):  # a closed room shows 0, not its last count
            connections, connected = peers.get(room, (0, 0))
            metrics.set("sidang_room_connections", connections, sitting=str(room))
            metrics.set("sidang_room_peers", connected, sitting=str(room))
        reported.update(peers)

    return collect
