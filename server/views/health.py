"""/healthz and /metrics for load balancers and Prometheus."""

from __future__ import annotations

import os
import tempfile

from aiohttp import web

from server import keys


async def healthz(request: web.Request) -> web.Response:
    app = request.app
    bus = app[keys.BUS]
    report = {"status": "ok", "db": "ok", "bus": bus.name, "media": "ok"}
    failures: dict[str, str] = {}
    try:
        await app[keys.STORE].ping()
    except Exception as exc:  # noqa: BLE001 - any database failure makes the node unhealthy
        failures["db"] = f"error: {type(exc).__name__}"
    if not await bus.ping():
        failures["bus"] = f"error: {bus.name} unreachable"
    media_problem = media_dir_problem(app[keys.CONFIG].media_dir)
    for check in app[keys.HEALTH_CHECKS]:
        media_problem = media_problem or check()
    if media_problem:
        failures["media"] = f"error: {media_problem}"
    if failures:
        report.update(failures, status="error")
        return web.json_response(report, status=503)
    return web.json_response(report)


def media_dir_problem(media_dir) -> str | None:
    """A write probe: a full disk or a read-only mount must show up here, not mid-sitting."""
    try:
        media_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=media_dir, prefix=".health-") as probe:
            probe.write(b"ok")
            probe.flush()
            os.fsync(probe.fileno())
    except OSError as exc:
        return f"media dir not writable ({exc.strerror})"
    return None


async def metrics(request: web.Request) -> web.Response:
    text = await request.app[keys.METRICS].render()
    return web.Response(
        text=text, content_type="text/plain", charset="utf-8", headers={"Cache-Control": "no-store"}
    )


def setup(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
