"""Configuration from SIDANG_* environment variables.

Every value is validated at start-up so that a typo stops the process with one line that names the
variable, instead of failing later in the middle of a sitting.
"""

from __future__ import annotations

import ipaddress
import json
import os
import resource
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cryptography.fernet import Fernet
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./var/sidang.db"
SUPPORTED_DRIVERS = ("sqlite+aiosqlite", "postgresql+asyncpg")
LOG_FORMATS = ("json", "text")
LOG_OUTBOX = "log:"

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class ConfigError(Exception):
    """A bad setting; the message names the variable."""


@dataclass(frozen=True)
class Config:
    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str | None = None
    redis_prefix: str = "sidang:"
    media_dir: Path = Path("./recordings")
    data_dir: Path = Path("./var")
    secret_key: str = ""
    host: str = "127.0.0.1"
    port: int = 8080
    ice_servers: list[dict] = field(default_factory=list)
    trusted_proxies: tuple[IpNetwork, ...] = ()
    public_url: str = "http://127.0.0.1:8080"
    # Where the other nodes reach this one (the owner of a live sitting, server/live.py).
    node_url: str = "http://127.0.0.1:8080"
    max_upload_bytes: int = 25 * 1024 * 1024
    default_locale: str = "id"
    # Connection limits (server/connections.py).
    max_connections: int = field(default_factory=lambda: default_max_connections())
    header_timeout_s: int = 20
    max_sockets_per_ip: int = 500
    # Pengaduan: Fernet keys for personal data (newest first), mail, the zone people read times
    # in, and an optional map tile URL template.
    data_keys: tuple[str, ...] = ()
    smtp_url: str | None = None
    # Raperda phone verification: an HTTP SMS gateway (server/sms.py), or "log:" to write
    # each SMS to the log instead; unset, no SMS is sent.
    sms_url: str | None = None
    sms_token: str = ""
    timezone: str = "Asia/Jakarta"
    map_tiles: str | None = None
    contact_retention_days: int = 365  # after a report is closed, its contact data goes
    log_format: str = "json"  # or "text" (server/logs.py)

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.startswith("https://")

    @property
    def public_host(self) -> str:
        """The site's host name, as mail senders and SMS autofill name it."""
        return urlsplit(self.public_url).hostname or "localhost"

    @property
    def documents_dir(self) -> Path:
        return self.data_dir / "documents"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Config:
        env = os.environ if env is None else env
        data_dir = Path(env.get("SIDANG_DATA_DIR", "./var"))
        host = env.get("SIDANG_HOST", "127.0.0.1")
        port = _parse_port(env.get("SIDANG_PORT", "8080"))
        return cls(
            database_url=_parse_database_url(env.get("SIDANG_DATABASE_URL", DEFAULT_DATABASE_URL)),
            redis_url=_parse_redis_url(env.get("SIDANG_REDIS_URL") or None),
            redis_prefix=env.get("SIDANG_REDIS_PREFIX", "sidang:"),
            media_dir=Path(env.get("SIDANG_MEDIA_DIR", "./recordings")),
            data_dir=data_dir,
            secret_key=env.get("SIDANG_SECRET_KEY") or "",
            host=host,
            port=port,
            ice_servers=_parse_ice_servers(env.get("SIDANG_ICE_SERVERS", "[]")),
            trusted_proxies=_parse_proxies(env.get("SIDANG_TRUSTED_PROXIES", "")),
            public_url=_parse_public_url(env.get("SIDANG_PUBLIC_URL") or f"http://{host}:{port}"),
            node_url=_parse_node_url(env.get("SIDANG_NODE_URL") or f"http://{host}:{port}"),
            max_upload_bytes=_parse_positive_int(
                "SIDANG_MAX_UPLOAD_MB", env.get("SIDANG_MAX_UPLOAD_MB", "25")
            )
            * 1024
            * 1024,
            default_locale=_parse_locale(env.get("SIDANG_LOCALE", "id")),
            max_connections=_parse_positive_int(
                "SIDANG_MAX_CONNECTIONS",
                env.get("SIDANG_MAX_CONNECTIONS", str(default_max_connections())),
            ),
            header_timeout_s=_parse_positive_int(
                "SIDANG_HEADER_TIMEOUT_S", env.get("SIDANG_HEADER_TIMEOUT_S", "20")
            ),
            max_sockets_per_ip=_parse_positive_int(
                "SIDANG_MAX_SOCKETS_PER_IP", env.get("SIDANG_MAX_SOCKETS_PER_IP", "500")
            ),
            data_keys=_parse_data_keys(env.get("SIDANG_DATA_KEY", "")),
            smtp_url=_parse_smtp_url(env.get("SIDANG_SMTP_URL") or None),
            sms_url=_parse_sms_url(env.get("SIDANG_SMS_URL") or None),
            sms_token=env.get("SIDANG_SMS_TOKEN", ""),
            timezone=_parse_timezone(env.get("SIDANG_TIMEZONE") or "Asia/Jakarta"),
            map_tiles=_parse_map_tiles(env.get("SIDANG_MAP_TILES") or None),
            contact_retention_days=_parse_positive_int(
                "SIDANG_CONTACT_RETENTION_DAYS", env.get("SIDANG_CONTACT_RETENTION_DAYS", "365")
            ),
            log_format=_parse_log_format(env.get("SIDANG_LOG_FORMAT") or "json"),
        )

    def with_data_key(self) -> Config:
        """For `sidang demo` only: a personal-data key generated once under data_dir, so the
        demo's complaint form takes contact details. Production sets SIDANG_DATA_KEY."""
        if self.data_keys:
            return self
        key = _key_file(self.data_dir / "data_key", lambda: Fernet.generate_key().decode())
        return replace(self, data_keys=(key,))

    def with_log_outboxes(self) -> Config:
        """For `sidang demo` only: without an SMS gateway or a mail server, each SMS (its
        one-time code) and each e-mail (a sign-in link) is written to the log, so verification
        can be tried. Production sets SIDANG_SMS_URL and SIDANG_SMTP_URL."""
        return replace(
            self, sms_url=self.sms_url or LOG_OUTBOX, smtp_url=self.smtp_url or LOG_OUTBOX
        )

    def with_secret(self) -> Config:
        """Return a copy with a secret key, generating one under data_dir on first use."""
        if self.secret_key:
            return self
        key = _key_file(self.data_dir / "secret_key", lambda: secrets.token_urlsafe(48))
        return replace(self, secret_key=key)


def default_max_connections() -> int:
    """What the process's file-descriptor limit allows, keeping 256 for the database, Redis,
    media files and encoders."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return 65536 if soft == resource.RLIM_INFINITY else max(64, soft - 256)


def _key_file(path: Path, make: Callable[[], str]) -> str:
    """A key kept under data_dir: read it, or make it once, readable by this user only."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = make()
    path.touch(mode=0o600)
    path.write_text(key)
    return key


def _parse_database_url(value: str) -> str:
    try:
        url = make_url(value)
    except ArgumentError as exc:
        raise ConfigError(f"SIDANG_DATABASE_URL is not a database URL: {value!r}") from exc
    if url.drivername not in SUPPORTED_DRIVERS:
        raise ConfigError(
            f"SIDANG_DATABASE_URL must use one of {', '.join(SUPPORTED_DRIVERS)}, "
            f"not {url.drivername!r}"
        )
    return value


def _parse_redis_url(value: str | None) -> str | None:
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("redis", "rediss", "unix") or not (parts.hostname or parts.path):
        raise ConfigError(f"SIDANG_REDIS_URL is not a redis:// URL: {value!r}")
    return value


def _parse_port(value: str) -> int:
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise ConfigError(f"SIDANG_PORT must be a port number, not {value!r}")
    return int(value)


def _parse_positive_int(name: str, value: str) -> int:
    if not value.isdigit() or int(value) <= 0:
        raise ConfigError(f"{name} must be a positive whole number, not {value!r}")
    return int(value)


def _parse_ice_servers(value: str) -> list[dict]:
    try:
        servers = json.loads(value)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"SIDANG_ICE_SERVERS is not valid JSON: {exc.msg}") from exc
    if not isinstance(servers, list) or not all(
        isinstance(s, dict) and "urls" in s for s in servers
    ):
        raise ConfigError('SIDANG_ICE_SERVERS must be a JSON list like [{"urls": "stun:..."}]')
    return servers


def _parse_proxies(value: str) -> tuple[IpNetwork, ...]:
    networks = []
    for item in filter(None, (part.strip() for part in value.split(","))):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError as exc:
            raise ConfigError(f"SIDANG_TRUSTED_PROXIES has a bad IP or CIDR: {item!r}") from exc
    return tuple(networks)


def _parse_public_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"SIDANG_PUBLIC_URL must be an http(s) URL, not {value!r}")
    return value.rstrip("/")


def _parse_log_format(value: str) -> str:
    if value not in LOG_FORMATS:
        raise ConfigError(f"SIDANG_LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}: {value!r}")
    return value


def _parse_node_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path.strip("/"):
        raise ConfigError(f"SIDANG_NODE_URL must be an http(s) URL without a path, not {value!r}")
    return value.rstrip("/")


def _parse_locale(value: str) -> str:
    if value not in ("id", "en"):
        raise ConfigError(f"SIDANG_LOCALE must be 'id' or 'en', not {value!r}")
    return value


def _parse_data_keys(value: str) -> tuple[str, ...]:
    """Comma-separated Fernet keys, the one to encrypt with first; older ones still decrypt."""
    keys = tuple(filter(None, (part.strip() for part in value.split(","))))
    for key in keys:
        try:
            Fernet(key)
        except ValueError:
            raise ConfigError(
                "SIDANG_DATA_KEY must be Fernet keys (32 url-safe base64 bytes), comma-separated"
            ) from None
    return keys


def _parse_smtp_url(value: str | None) -> str | None:
    if value is None or value == LOG_OUTBOX:
        return value
    parts = urlsplit(value)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ConfigError(
            f"SIDANG_SMTP_URL must be an smtp:// or smtps:// URL or {LOG_OUTBOX!r}, not {value!r}"
        )
    return value


def _parse_sms_url(value: str | None) -> str | None:
    if value is None or value == LOG_OUTBOX:
        return value
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"SIDANG_SMS_URL must be an http(s) URL or {LOG_OUTBOX!r}, not {value!r}")
    return value


def _parse_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"SIDANG_TIMEZONE is not a time zone name: {value!r}") from None
    return value


def _parse_map_tiles(value: str | None) -> str | None:
    if value is None:
        return None
    parts = urlsplit(value.replace("{s}", "a"))
    if parts.scheme != "https" or not parts.netloc or "{z}" not in value:
        raise ConfigError(
            f"SIDANG_MAP_TILES must be an https tile URL template with {{z}}/{{x}}/{{y}}: {value!r}"
        )
    return value
