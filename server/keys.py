"""Typed application state (aiohttp AppKey), declared once, for every feature.

The service types are imported only for type checkers: importing this module loads no media
(aiortc, PyAV) and no service, so any layer may use the keys. `server/app.py` fills them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from aiohttp import ClientSession
    from jinja2 import Environment

    from server.archive.jobs import ArchiveService
    from server.assets import Assets
    from server.audience import Audience
    from server.bus import Bus
    from server.comments.service import CommentService
    from server.config import Config
    from server.connections import Guard
    from server.forum.service import ForumService
    from server.i18n import Translations
    from server.live.service import LiveService
    from server.mail import Mailer
    from server.metrics import Metrics
    from server.pengaduan.service import PengaduanService
    from server.raperda.phone import PhoneVerifier
    from server.raperda.service import RaperdaService
    from server.reports import ReportService
    from server.room.service import RoomService
    from server.signing import Signer
    from server.store import Store

# A health check returns a problem to report on /healthz, or None.
HealthCheck = Callable[[], "str | None"]

CONFIG: web.AppKey[Config] = web.AppKey("config")
STORE: web.AppKey[Store] = web.AppKey("store")
BUS: web.AppKey[Bus] = web.AppKey("bus")
SIGNER: web.AppKey[Signer] = web.AppKey("signer")
METRICS: web.AppKey[Metrics] = web.AppKey("metrics")
TEMPLATES: web.AppKey[Environment] = web.AppKey("templates")
TRANSLATIONS: web.AppKey[Translations] = web.AppKey("translations")
ASSETS: web.AppKey[Assets] = web.AppKey("assets")
AUDIENCE: web.AppKey[Audience] = web.AppKey("audience")
HEALTH_CHECKS: web.AppKey[list[HealthCheck]] = web.AppKey("health_checks")
CONNECTION_GUARD: web.AppKey[Guard] = web.AppKey("connection_guard")
SOCKETS_PER_IP: web.AppKey[Counter[str]] = web.AppKey("sockets_per_ip")
HTTP_CLIENT: web.AppKey[ClientSession] = web.AppKey("http_client")  # to a sitting's owner node
MAILER: web.AppKey[Mailer] = web.AppKey("mailer")

LIVE: web.AppKey[LiveService] = web.AppKey("live")
ROOMS: web.AppKey[RoomService] = web.AppKey("rooms")
COMMENTS: web.AppKey[CommentService] = web.AppKey("comments")
ARCHIVE: web.AppKey[ArchiveService] = web.AppKey("archive")
PENGADUAN: web.AppKey[PengaduanService] = web.AppKey("pengaduan")
REPORTS: web.AppKey[ReportService] = web.AppKey("reports")
RAPERDA: web.AppKey[RaperdaService] = web.AppKey("raperda")
PHONE_VERIFIER: web.AppKey[PhoneVerifier] = web.AppKey("phone_verifier")
FORUM: web.AppKey[ForumService] = web.AppKey("forum")
