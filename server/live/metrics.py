"""What the live pipeline reports to /metrics: per sitting and rendition, refreshed per scrape."""

from __future__ import annotations

from media.encode import encoder_count
from server.live.service import LiveService
from server.metrics import Metrics


def register(metrics: Metrics, service: LiveService) -> None:
    metrics.describe("sidang_live_sittings", "gauge", "Live sittings owned by this node")
    metrics.describe("sidang_encoders", "gauge", "Encoder instances alive in this process")
    metrics.describe("sidang_live_input_connected", "gauge", "1 while the hall feed arrives")
    metrics.describe("sidang_live_output_fps", "gauge", "Program frames per second")
    metrics.describe("sidang_live_dropped_frames_total", "counter", "Program ticks skipped")
    metrics.describe("sidang_live_bitrate_kbps", "gauge", "Encoded bitrate per stream")
    metrics.describe(
        "sidang_program_realtime_factor", "gauge", "Program media seconds per wall second (10 s)"
    )
    metrics.describe("sidang_program_late_seconds", "gauge", "How far the program runs behind")
    metrics.describe(
        "sidang_renditions_shed_level", "gauge", "Overload step: 0 none, 4 all video at 2 fps"
    )
    metrics.describe("sidang_rendition_encoded_fps", "gauge", "Frames per second encoded now")
    metrics.describe(
        "sidang_rendition_last_part_age_seconds", "gauge", "Time since the rendition's last part"
    )
    metrics.describe(
        "sidang_rendition_restarts_total", "counter", "Packager restarts after a failure"
    )
    metrics.describe(
        "sidang_encoder_restarts_total", "counter", "Encoders replaced after a failure"
    )
    metrics.add_collector(_collector(service))


def _collector(service: LiveService):
    async def collect(metrics: Metrics) -> None:
        sittings = service.sittings
        metrics.set("sidang_live_sittings", len(sittings))
        metrics.set("sidang_encoders", encoder_count())
        for sid, live in sittings.items():
            stats = live.stats()
            label = str(sid)
            metrics.set("sidang_live_input_connected", int(stats.input_connected), sitting=label)
            metrics.set("sidang_live_output_fps", round(stats.output_fps, 2), sitting=label)
            metrics.set("sidang_live_dropped_frames_total", stats.dropped_frames, sitting=label)
            metrics.set("sidang_program_realtime_factor", stats.load.realtime_factor, sitting=label)
            metrics.set("sidang_program_late_seconds", stats.load.late_s, sitting=label)
            metrics.set("sidang_renditions_shed_level", stats.load.level, sitting=label)
            for rendition, fps in stats.load.fps.items():
                metrics.set("sidang_rendition_encoded_fps", fps, sitting=label, rendition=rendition)
            for rendition, health in stats.renditions.items():
                labels = {"sitting": label, "rendition": rendition}
                metrics.set(
                    "sidang_rendition_last_part_age_seconds", health.last_part_age_s, **labels
                )
                metrics.set("sidang_rendition_restarts_total", health.restarts, **labels)
                metrics.set("sidang_encoder_restarts_total", health.encoder_restarts, **labels)
            for rendition, kbps in stats.bitrate_kbps.items():
                metrics.set(
                    "sidang_live_bitrate_kbps", round(kbps, 1), sitting=label, stream=rendition
                )

    return collect
