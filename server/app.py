"""The application factory. Tests build the app exactly as `sidang serve` does."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import AsyncIterator

from aiohttp import web

from server import connections, error_pages, keys, middlewares
from server.archive import views as archive
from server.assets import Assets
from server.bus import create_bus
from server.comments import views as comments
from server.config import Config
from server.i18n import Translations
from server.live import views as live
from server.metrics import Metrics
from server.pengaduan import open311
from server.pengaduan import views as pengaduan
from server.room import views as room
from server.signing import Signer
from server.store import Store
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


def create_app(config: Config) -> web.Application:
    config = config.with_secret()
    app = web.Application(
        client_max_size=config.max_upload_bytes,
        middlewares=[
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
    app[keys.SIGNER] = Signer(config.secret_key)
    app[keys.METRICS] = Metrics()
    app[connections.SOCKETS] = Counter()
    translations = Translations()
    app[keys.TRANSLATIONS] = translations
    app[keys.ASSETS] = Assets()
    app[keys.TEMPLATES] = create_environment(translations, app[keys.ASSETS].url)
    app.cleanup_ctx.append(_store)
    app.cleanup_ctx.append(_bus)

    for module in (
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
        documents,
        pengaduan,
        open311,
        assets,
    ):
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
    await bus.start()
    app[keys.BUS] = bus
    yield
    await bus.close()
