"""The `sidang` command line, run as a real process."""

import os
import subprocess
import sys
from pathlib import Path

SIDANG = Path(sys.executable).parent / "sidang"


def run(args, env_extra, stdin=""):
    env = {**os.environ, **env_extra}
    return subprocess.run(
        [str(SIDANG), *args], input=stdin, capture_output=True, text=True, env=env, timeout=60
    )


def test_help_explains_each_command():
    result = run(["--help"], {})
    assert result.returncode == 0
    for command in ("serve", "demo", "db", "user", "keys"):
        assert command in result.stdout


def test_db_upgrade_then_user_add_reads_the_password_from_stdin(tmp_path):
    env = {
        "SIDANG_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}",
        "SIDANG_DATA_DIR": str(tmp_path),
    }
    assert run(["db", "upgrade"], env).returncode == 0
    created = run(["user", "add", "budi", "--role", "sekretariat"], env, "kata-sandi-kuat\n")
    assert created.returncode == 0, created.stderr
    assert "budi" in created.stdout
    again = run(["user", "add", "BUDI", "--role", "anggota"], env, "kata-sandi-kuat\n")
    assert again.returncode != 0 and "sudah dipakai" in again.stderr


def test_unknown_role_and_bad_settings_stop_with_one_line(tmp_path):
    env = {"SIDANG_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"}
    bad_role = run(["user", "add", "x", "--role", "raja"], env, "kata-sandi-kuat\n")
    assert bad_role.returncode != 0 and "raja" in bad_role.stderr
    bad_url = run(["db", "upgrade"], {"SIDANG_DATABASE_URL": "mysql://x"})
    assert bad_url.returncode != 0
    assert "SIDANG_DATABASE_URL" in bad_url.stderr
    assert len(bad_url.stderr.strip().splitlines()) == 1


async def test_demo_seed_runs_once_with_a_full_dprd(tmp_path):
    from server.config import Config
    from server.demo import seed_demo
    from server.store import Store, repo
    from server.store.migrate import upgrade_async

    config = Config(database_url=f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}", data_dir=tmp_path)
    await upgrade_async(config.database_url)
    assert await seed_demo(config) is True
    assert await seed_demo(config) is False, "a second run leaves the data alone"
    store = Store(config.database_url)
    try:
        async with store.read() as session:
            institution = await repo.get_institution(session)
            assert (institution.name, institution.seats) == ("DPRD Kota Pekalongan", 35)
            assert len(await repo.list_members(session)) == 35
            assert await repo.get_user_by_username(session, "sekretariat") is not None
            assert await repo.list_sittings(session, status=None, public_only=True)
    finally:
        await store.close()
