"""The application factory, and the one place where services are built.

Tests build the app exactly as `sidang serve` does. Services start in the order of
`SERVICES` below (each may use those before it) and stop in reverse; view modules only
declare routes and read services through `server.keys`.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator

from aiohttp import web

from server import connections, error_pages, forward, keys, logs, middlewares
from server.archive import feeds
from server.archive import views as archive
from server.archive.jobs import ArchiveService
from server.assets import Assets
from server.audience import Audience
from server.bus import create_bus
from server.bus import metrics as bus_metrics
from server.comments import metrics as comment_metrics
from server.comments import views as comments
from server.comments.service import CommentService
from server.config import Config
from server.domain import localtime
from server.domain.sitting import SittingStatus
from server.forum import views as forum
from server.forum.service import ForumService
from server.i18n import Translations
from server.live import metrics as live_metrics
from server.live import views as live
from server.live.service import LiveService
from server.mail import Mailer
from server.metrics import Metrics
from server.pengaduan import open311
from server.pengaduan import views as pengaduan
from server.pengaduan.service import PengaduanService
from server.pengaduan.vault import Vault
from server.raperda import views as raperda
from server.raperda.phone import PhoneVerifier
from server.raperda.service import InputReports, RaperdaService
from server.reports import ReportService
from server.room import metrics as room_metrics
from server.room import views as room
from server.room.service import RoomService
from server.search import views as search
from server.signing import Signer
from server.sms import create_gateway
from server.store import Store
from server.tasks import stop
from server.templating import create_environment
from server.views import (
    accounts,
    api,
    assets,
    auth,
    documents,
    health,
    moderation,
    public,
    staff,
)

log = logging.getLogger(__name__)

ROUTES = (
    health,
    auth,
    public,
    staff,
    accounts,
    api,
    live,
    comments,
    moderation,
    room,
    archive,
    feeds,
    search,
    documents,
    pengaduan,
    open311,
    raperda,
    forum,
    assets,
)


def create_app(config: Config) -> web.Application:
    config = config.with_secret()
    app = web.Application(
        client_max_size=config.max_upload_bytes,
        middlewares=[
            logs.with_request_id,
            middlewares.count_requests,
            middlewares.security_headers,
            middlewares.errors,
            middlewares.client_ip,
            middlewares.locale,
            connections.limits,
            middlewares.session,
            error_pages.http_errors,
            middlewares.path_ids,
            middlewares.csrf,
        ],
    )
    app[keys.CONFIG] = config
    app.on_response_prepare.append(logs.echo_request_id)
    localtime.use_zone(config.timezone)
    app[keys.SIGNER] = Signer(config.secret_key)
    app[keys.METRICS] = Metrics()
    app[keys.HEALTH_CHECKS] = []
    app[keys.SOCKETS_PER_IP] = Counter()
    app[keys.AUDIENCE] = Audience()
    app[keys.AUDIENCE].register(app[keys.METRICS])
    translations = Translations()
    app[keys.TRANSLATIONS] = translations
    app[keys.ASSETS] = Assets()
    app[keys.TEMPLATES] = create_environment(translations, app[keys.ASSETS].url)
    app.cleanup_ctx.extend(SERVICES)
    app.on_shutdown.append(_close_sockets)
    for module in ROUTES:
        module.setup(app)
    return app


async def _store(app: web.Application) -> AsyncIterator[None]:
    store = Store(app[keys.CONFIG].database_url)
    app[keys.STORE] = store
    yield
    await store.close()


async def _bus(app: web.Application) -> AsyncIterator[None]:
    config = app[keys.CONFIG]
    bus = create_bus(config.redis_url, prefix=config.redis_prefix)
    bus.observe_lag = app[keys.METRICS].bus_lag.observe
    await bus.start()
    app[keys.BUS] = bus
    bus_metrics.register(app[keys.METRICS], bus)
    yield
    await bus.close()


async def _live(app: web.Application) -> AsyncIterator[None]:
    config = app[keys.CONFIG]
    service = LiveService(
        app[keys.STORE], app[keys.BUS], config.media_dir, config.ice_servers, config.node_url
    )
    app[keys.LIVE] = service
    live_metrics.register(app[keys.METRICS], service)
    app[keys.HEALTH_CHECKS].append(service.health_problem)
    await service.open()
    yield
    await service.close()


async def _rooms(app: web.Application) -> AsyncIterator[None]:
    config = app[keys.CONFIG]
    service = RoomService(app[keys.STORE], app[keys.BUS], app[keys.LIVE], config.ice_servers)
    await service.start()
    app[keys.ROOMS] = service
    room_metrics.register(app[keys.METRICS], service)
    yield
    await service.close()


async def _comments(app: web.Application) -> AsyncIterator[None]:
    service = CommentService(app[keys.STORE], app[keys.BUS], app[keys.SIGNER])
    await service.start()
    app[keys.COMMENTS] = service
    comment_metrics.register(app[keys.METRICS], service)
    yield
    await service.close()


async def _archive(app: web.Application) -> AsyncIterator[None]:
    live = app[keys.LIVE]

    async def publish_status(sitting_id: int, actor: str) -> None:
        await live.transition(sitting_id, SittingStatus.PUBLISHED, actor)

    service = ArchiveService(app[keys.STORE], app[keys.CONFIG].media_dir, publish_status)
    app[keys.ARCHIVE] = service
    await service.open()
    yield
    await service.close()


async def _pengaduan(app: web.Application) -> AsyncIterator[None]:
    config = app[keys.CONFIG]
    vault = Vault(config.data_keys)
    if not vault.available:
        log.warning(
            "SIDANG_DATA_KEY is not set: complaint contact details cannot be stored "
            "(reports without contact still can)"
        )
    service = PengaduanService(
        app[keys.STORE], app[keys.BUS], app[keys.SIGNER], vault, app[keys.MAILER], config.timezone
    )
    app[keys.PENGADUAN] = service
    retention = asyncio.create_task(
        service.keep_erasing_expired_contacts(config.contact_retention_days)
    )
    yield
    await stop(retention)


async def _mail(app: web.Application) -> AsyncIterator[None]:
    """One mailer for every feature; what is still being sent goes out before the loop ends
    (the features that send close first)."""
    config = app[keys.CONFIG]
    app[keys.MAILER] = Mailer(config.smtp_url, config.public_host)
    yield
    await app[keys.MAILER].drain()


async def _reports(app: web.Application) -> AsyncIterator[None]:
    """Before the features, which register their reportable kinds with it at start-up."""
    app[keys.REPORTS] = ReportService(app[keys.STORE], app[keys.BUS])
    yield


async def _raperda(app: web.Application) -> AsyncIterator[None]:
    """Raperda input: after the store, the bus and the reports it registers its input with;
    its SMS gateway closes on the way out."""
    config = app[keys.CONFIG]
    app[keys.RAPERDA] = RaperdaService(
        app[keys.STORE], app[keys.BUS], app[keys.SIGNER], app[keys.MAILER]
    )
    gateway = create_gateway(config.sms_url, config.sms_token)
    app[keys.PHONE_VERIFIER] = PhoneVerifier(
        app[keys.STORE],
        app[keys.BUS],
        app[keys.SIGNER],
        gateway,
        config.public_host,
    )
    app[keys.REPORTS].register(InputReports.kind, InputReports())
    yield
    if gateway is not None:
        await gateway.close()


async def _forum(app: web.Application) -> AsyncIterator[None]:
    """The forum: after the reports it registers its threads and replies with."""
    config = app[keys.CONFIG]
    app[keys.FORUM] = ForumService(
        app[keys.STORE],
        app[keys.BUS],
        app[keys.SIGNER],
        app[keys.REPORTS],
        Vault(config.data_keys),
        app[keys.MAILER],
        config.public_url,
    )
    yield


# Each service may use the ones before it: rooms use the live sittings, all use store and bus.
SERVICES = (
    _store,
    _bus,
    forward.http_client,
    _mail,
    _reports,
    _live,
    _rooms,
    _comments,
    _archive,
    _pengaduan,
    _raperda,
    _forum,
)


async def _close_sockets(app: web.Application) -> None:
    """Close rooms and comment sockets (1001) as shutdown begins: the server waits for open
    handlers before cleanup, so sockets left open would hold a restart for its whole timeout."""
    await app[keys.ROOMS].close()
    await app[keys.COMMENTS].hub.close()
