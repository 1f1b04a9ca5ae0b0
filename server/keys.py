"""Typed application and request state (aiohttp AppKey), declared once."""

from __future__ import annotations

from aiohttp import web
from jinja2 import Environment

from server.assets import Assets
from server.bus import Bus
from server.config import Config
from server.i18n import Translations
from server.live.service import LiveService
from server.metrics import Metrics
from server.signing import Signer
from server.store import Store

CONFIG = web.AppKey("config", Config)
STORE = web.AppKey("store", Store)
BUS = web.AppKey("bus", Bus)
SIGNER = web.AppKey("signer", Signer)
METRICS = web.AppKey("metrics", Metrics)
TEMPLATES = web.AppKey("templates", Environment)
TRANSLATIONS = web.AppKey("translations", Translations)
LIVE = web.AppKey("live", LiveService)
ASSETS = web.AppKey("assets", Assets)
