"""The `sidang` command line (click)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click
from aiohttp import web
from cryptography.fernet import InvalidToken

from server import backup as backups
from server import logs
from server.accounts import add_account
from server.app import create_app
from server.config import Config, ConfigError
from server.connections import run_app
from server.demo import DEMO_PASSWORD, demo_live_ctx, seed_demo
from server.domain.errors import DomainError
from server.domain.roles import Role, parse_role
from server.heap import keeper_ctx
from server.pengaduan.service import rotate_contact_keys
from server.pengaduan.vault import Vault
from server.store import Store
from server.store.migrate import upgrade


def load_config() -> Config:
    """The settings, and the log format they ask for."""
    try:
        config = Config.from_env()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    logs.configure(config.log_format)
    return config


def node_app(config: Config) -> web.Application:
    """The app as a serving process runs it: with the process-wide garbage collector policy."""
    app = create_app(config)
    app.cleanup_ctx.append(keeper_ctx)
    return app


@click.group(invoke_without_command=True)
@click.pass_context
def main(ctx: click.Context) -> None:
    """Sidang: remote sittings, live stream and public archive for a DPRD.

    Settings come from SIDANG_* environment variables (see README). Without a command,
    `sidang` runs `serve`.
    """
    if ctx.invoked_subcommand is None:
        ctx.invoke(serve)


@main.command()
@click.option("--host", default=None, help="Interface to listen on (default SIDANG_HOST).")
@click.option("--port", type=int, default=None, help="Port to listen on (default SIDANG_PORT).")
def serve(host: str | None, port: int | None) -> None:
    """Serve the web app, the API and the live streams."""
    config = load_config()
    app = node_app(config)
    run_app(app, host or config.host, port or config.port)


@main.command()
@click.option("--host", default=None, help="Interface to listen on (default SIDANG_HOST).")
@click.option("--port", type=int, default=None, help="Port to listen on (default SIDANG_PORT).")
def demo(host: str | None, port: int | None) -> None:
    """Migrate, seed demo data (first run only) and serve a live demo sitting."""
    config = load_config().with_secret().with_data_key().with_log_outboxes()
    upgrade(config.database_url)
    created = asyncio.run(seed_demo(config))
    if created:
        click.echo(f"Demo data created. Staff login: sekretariat / {DEMO_PASSWORD}")
    app = node_app(config)
    app.cleanup_ctx.append(demo_live_ctx)
    run_app(app, host or config.host, port or config.port)


@main.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Run database migrations up to the newest schema."""
    config = load_config()
    upgrade(config.database_url)
    click.echo("Database is up to date.")


@main.command("backup")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def backup_command(directory: Path) -> None:
    """Write the database and the media manifest into DIRECTORY (media files: copy them)."""
    config = load_config()
    counts = asyncio.run(_with_store(config, backups.backup, config.media_dir, directory))
    click.echo(f"{sum(counts.values())} rows from {len(counts)} tables written to {directory}.")
    click.echo(f"Media are referenced, not copied: copy {config.media_dir} beside the backup.")


@main.command("restore")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--replace", is_flag=True, help="Replace a database that already holds data.")
def restore_command(directory: Path, replace: bool) -> None:
    """Load a backup into this migrated database, then check the media directory against it."""
    config = load_config()
    try:
        counts = asyncio.run(_with_store(config, backups.restore, directory, replace=replace))
    except backups.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{sum(counts.values())} rows restored into {len(counts)} tables.")
    media = backups.check_media(directory, config.media_dir)
    click.echo(f"Media: {media.files} files in the manifest under {config.media_dir}.")
    for label, paths in (("missing", media.missing), ("different", media.different)):
        for path in paths:
            click.echo(f"  {label}: {path}", err=True)
    if media.missing or media.different:
        raise click.ClickException(
            f"{len(media.missing)} media files missing, {len(media.different)} different"
        )


async def _with_store(config: Config, action, *args, **kwargs):
    store = Store(config.database_url)
    try:
        return await action(store, *args, **kwargs)
    finally:
        await store.close()


@main.group()
def user() -> None:
    """Manage user accounts."""


@user.command("add")
@click.argument("name")
@click.option("--role", required=True, help="One of: " + ", ".join(r.value for r in Role))
@click.option("--member-id", type=int, default=None, help="Link the account to a member.")
def user_add(name: str, role: str, member_id: int | None) -> None:
    """Create user NAME; the password is read from standard input."""
    try:
        parsed_role = parse_role(role)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--role") from None
    password = sys.stdin.readline().rstrip("\n")
    config = load_config()

    async def create() -> int:
        store = Store(config.database_url)
        try:
            account = await add_account(store, "cli", name, parsed_role.value, member_id, password)
            return account.id
        finally:
            await store.close()

    try:
        user_id = asyncio.run(create())
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"User {name} ({parsed_role.value}) created with id {user_id}.")


@main.group()
def keys() -> None:
    """Encryption keys for personal data (SIDANG_DATA_KEY)."""


@keys.command("rotate")
def keys_rotate() -> None:
    """Re-encrypt complaint contact data under the first key of SIDANG_DATA_KEY.

    Put the new key first (`NEW,OLD`), run this, then drop the old key from the list.
    """
    config = load_config()
    vault = Vault(config.data_keys)
    if not vault.available:
        raise click.ClickException("SIDANG_DATA_KEY is not set: there is no key to rotate to.")

    async def rotate() -> int:
        store = Store(config.database_url)
        try:
            return await rotate_contact_keys(store, vault, "cli")
        finally:
            await store.close()

    try:
        count = asyncio.run(rotate())
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    except InvalidToken:
        raise click.ClickException(
            "A stored contact does not open with any key of SIDANG_DATA_KEY: keep the old key "
            "in the list (after the new one) until the rotation has run."
        ) from None
    click.echo(f"{count} contact records re-encrypted under the newest key.")
