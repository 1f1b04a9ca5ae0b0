"""docker-compose.yml, deploy/nginx.conf and the Dockerfile describe one topology. No Docker
engine runs here, so the structure is checked: what each service needs, and that the paths,
ports and names the three files share agree."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import re
import resource
import shutil
import signal
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
import yaml
from aiohttp import web

from server.middlewares import SECURITY_HEADERS
from tests.archive_helpers import ended_sitting, publish
from tests.cluster import load_cluster_script
from tests.server_process import free_port

ROOT = Path(__file__).resolve().parent.parent
APP_NODES = ("app1", "app2")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def nginx_conf() -> str:
    return (ROOT / "deploy" / "nginx.conf").read_text()


def _env(service: dict) -> dict[str, str]:
    return {k: str(v) for k, v in service["environment"].items()}


def _mounts(service: dict) -> dict[str, str]:
    """volume or host path -> target, without the mode."""
    return {v.split(":")[0]: v.split(":")[1] for v in service.get("volumes", [])}


def _dockerfile_env() -> dict[str, str]:
    """The SIDANG_* values the image sets (ENV, on one line or continued over several)."""
    return dict(re.findall(r"\b(SIDANG_[A-Z_]+)=(\S+)", (ROOT / "Dockerfile").read_text()))


def test_two_app_nodes_redis_postgres_and_nginx_with_health_checks(compose):
    services = compose["services"]
    assert {*APP_NODES, "redis", "postgres", "nginx"} <= set(services)
    for name in (*APP_NODES, "redis", "postgres", "nginx"):
        check = services[name]["healthcheck"]
        assert check["test"][0] in ("CMD", "CMD-SHELL") and not check.get("disable"), name
    for name, service in services.items():
        for dependency, condition in service.get("depends_on", {}).items():
            assert dependency in services, (name, dependency)
            wanted = services[dependency].get("healthcheck", {}).get("disable")
            expected = "service_completed_successfully" if wanted else "service_healthy"
            assert condition["condition"] == expected, (name, dependency)
    declared = set(compose["volumes"])
    for service in services.values():
        named = {v for v in _mounts(service) if not v.startswith((".", "/"))}
        assert named <= declared


def test_app_nodes_share_the_media_and_data_volumes_and_name_themselves(compose):
    services = compose["services"]
    nodes = [services[name] for name in APP_NODES]
    assert all(node["build"] == "." for node in nodes)
    assert nodes[0]["volumes"] == nodes[1]["volumes"]
    dockerfile = _dockerfile_env()
    for name, node in zip(APP_NODES, nodes, strict=True):
        env = _env(node)
        mounts = _mounts(node)
        assert mounts["media"] == env["SIDANG_MEDIA_DIR"] == dockerfile["SIDANG_MEDIA_DIR"]
        assert mounts["data"] == env["SIDANG_DATA_DIR"] == dockerfile["SIDANG_DATA_DIR"]
        assert env["SIDANG_NODE_URL"] == f"http://{name}:{env['SIDANG_PORT']}"
        assert env["SIDANG_REDIS_URL"].startswith("redis://redis:")
        assert "@postgres:5432/" in env["SIDANG_DATABASE_URL"]
        assert node["env_file"] == "deploy/sidang.env"
        assert node["command"][0] == "sidang"
    # Migrations run once, before either node serves.
    assert services["migrate"]["command"] == ["sidang", "db", "upgrade"]


def test_nodes_trust_the_network_that_nginx_and_the_other_node_are_on(compose):
    subnet = ipaddress.ip_network(compose["networks"]["sidang"]["ipam"]["config"][0]["subnet"])
    for name in APP_NODES:
        trusted = _env(compose["services"][name])["SIDANG_TRUSTED_PROXIES"]
        assert ipaddress.ip_network(trusted) == subnet
    assert all("sidang" in s["networks"] for s in compose["services"].values())


def test_nginx_serves_the_media_volume_and_proxies_to_both_nodes(compose, nginx_conf):
    nginx = compose["services"]["nginx"]
    mounts = _mounts(nginx)
    assert mounts["./deploy/nginx.conf"] == "/etc/nginx/nginx.conf"
    assert mounts["media"] == "/data/recordings"
    assert all(v.endswith(":ro") for v in nginx["volumes"])
    assert "/data/recordings/" in nginx_conf
    upstream = re.findall(r"^\s*server (\S+:\d+)", nginx_conf, re.MULTILINE)
    services = compose["services"]
    assert upstream == [f"{n}:{_env(services[n])['SIDANG_PORT']}" for n in APP_NODES]
    cache_dir = re.search(r"proxy_cache_path (\S+)", nginx_conf).group(1)
    assert any(cache_dir.startswith(tmpfs) for tmpfs in nginx["tmpfs"])


def test_the_env_file_example_lists_documented_settings():
    readme = (ROOT / "README.md").read_text()
    example = (ROOT / "deploy" / "sidang.env.example").read_text()
    names = re.findall(r"^#? ?(SIDANG_[A-Z_]+)=", example, re.MULTILINE)
    assert "SIDANG_SECRET_KEY" in names
    assert [n for n in names if f"`{n}`" not in readme] == []


def test_playlists_are_cached_per_full_uri_with_a_lock(nginx_conf):
    playlists = nginx_conf[nginx_conf.index("index\\.m3u8") :]
    block = playlists[: playlists.index("}")]
    assert "proxy_cache_key $request_uri;" in block  # the query (_HLS_msn, _HLS_part) included
    assert "proxy_cache_lock on;" in block
    assert "proxy_cache_valid 200 1s;" in block
    # An expired first-load playlist is refreshed by one request, not by every viewer arriving.
    assert "proxy_cache_use_stale updating;" in block


def test_nginx_accepts_the_config_as_scripts_cluster_renders_it(nginx_conf, tmp_path):
    cluster = load_cluster_script()
    conf = cluster.render_nginx(
        nginx_conf,
        listen="127.0.0.1:18088",
        nodes=["127.0.0.1:18091", "127.0.0.1:18092"],
        media_root=tmp_path / "recordings",
        state=tmp_path,
    )
    assert "app1" not in conf and "/data/recordings" not in conf
    (tmp_path / "nginx.conf").write_text(conf)
    result = subprocess.run(
        ["nginx", "-t", "-c", str(tmp_path / "nginx.conf"), "-e", str(tmp_path / "error.log")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


@pytest.fixture
def database_url(sqlite_url):
    """The nginx tests check what nginx sends; the store behind the app is not under test."""
    return sqlite_url


@contextlib.contextmanager
def running_nginx(conf: str, state: Path) -> Iterator[None]:
    """nginx with this config until the block ends. With `daemon on` the command returns once
    the master has bound its socket, so requests queue in the backlog instead of racing it."""
    (state / "nginx.conf").write_text(conf)
    pid = state / "nginx.pid"
    # As root, workers would run as `nobody`, who cannot read the test's private tmp_path.
    user = " user root;" if os.geteuid() == 0 else ""
    subprocess.run(
        ["nginx", "-c", str(state / "nginx.conf"), "-e", str(state / "error.log")]
        + ["-g", f"daemon on; pid {pid};{user}"],
        check=True,
        capture_output=True,
    )
    try:
        yield
    finally:
        os.kill(int(pid.read_text()), signal.SIGQUIT)


async def test_media_nginx_sends_itself_carry_the_apps_security_headers(
    nginx_conf, tmp_path, client, login, store, config, recording_template
):
    """Live parts come straight from the volume and archive media after the app's check
    (X-Accel-Redirect); either way the resident gets the headers the app sets on its own."""
    sitting_id = await ended_sitting(store, config, recording_template)
    await publish(client, await login("sekretariat"), sitting_id)
    segment = config.media_dir / str(sitting_id) / "360p" / "seg00001.m4s"
    live_dir = config.media_dir / str(sitting_id + 1) / "360p"  # on air: no FINISHED yet
    live_dir.mkdir(parents=True)
    shutil.copy(segment, live_dir / "part00001.0.m4s")
    archive = f"/sidang/{sitting_id}/rekaman/360p/seg00002.m4s"
    from_app = await client.get(archive)
    assert from_app.status == 200
    assert {k: from_app.headers[k] for k in SECURITY_HEADERS} == SECURITY_HEADERS

    port = free_port()
    conf = load_cluster_script().render_nginx(
        nginx_conf,
        listen=f"127.0.0.1:{port}",
        nodes=[f"127.0.0.1:{client.server.port}"],
        media_root=config.media_dir,
        state=tmp_path,
    )
    with running_nginx(conf, tmp_path):
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as resident:
            for path, cache in (
                (f"/live/{sitting_id + 1}/360p/part00001.0.m4s", "immutable"),
                (archive, "immutable"),
            ):
                response = await resident.get(path)
                body = await response.read()
                assert response.status == 200, (path, body[:200])
                assert body and "X-Accel-Redirect" not in response.headers
                assert response.content_type == "video/iso.segment"
                assert cache in response.headers["Cache-Control"]
                for name, value in SECURITY_HEADERS.items():
                    assert response.headers.getall(name, []) == [value], (path, name)


class Origin:
    """An app node that holds blocking reloads until the part is "written", counting them."""

    RELOAD = "/live/3/360p/index.m3u8?_HLS_msn=9&_HLS_part=2"

    def __init__(self) -> None:
        self.reached: list[str] = []
        self.first_reload = asyncio.Event()
        self.part_written = asyncio.Event()
        self.status = 200  # what the held reloads get
        self.app = web.Application()
        self.app.router.add_get("/live/{sitting}/{rendition}/index.m3u8", self.playlist)
        self.app.router.add_get("/probe", self.probe)

    async def playlist(self, request: web.Request) -> web.Response:
        self.reached.append(request.path_qs)
        self.first_reload.set()
        await self.part_written.wait()
        if self.status != 200:  # as the app refuses: no-store, retry in a second
            headers = {"Retry-After": "1", "Cache-Control": "no-store"}
            return web.Response(status=self.status, text="Siaran sedang dimulai.", headers=headers)
        headers = {"X-Accel-Expires": "6", "Cache-Control": "no-cache"}
        return web.Response(text="#EXTM3U\n", headers=headers)

    async def probe(self, request: web.Request) -> web.Response:
        return web.Response(text="ok")


@pytest.fixture
async def edge(nginx_conf, tmp_path, aiohttp_server) -> AsyncIterator[tuple[Origin, int]]:
    """deploy/nginx.conf in front of one Origin: (the origin, nginx's port)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < 4000:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    origin = Origin()
    upstream = await aiohttp_server(origin.app)
    port = free_port()
    conf = load_cluster_script().render_nginx(
        nginx_conf,
        listen=f"127.0.0.1:{port}",
        nodes=[f"127.0.0.1:{upstream.port}"],
        media_root=tmp_path / "recordings",
        state=tmp_path,
    )
    with running_nginx(conf, tmp_path):
        yield origin, port


async def _viewers(
    port: int, count: int
) -> list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    """`count` connections, each with the blocking reload written."""
    request = f"GET {Origin.RELOAD} HTTP/1.1\r\nHost: t\r\n\r\n".encode()
    viewers = [await asyncio.open_connection("127.0.0.1", port) for _ in range(count)]
    for _, writer in viewers:
        writer.write(request)
    return viewers


async def _through_nginx(port: int) -> None:
    """nginx reads sockets in the order they became readable: once a later request has gone
    through it, whatever was written or closed before has been seen."""
    async with aiohttp.ClientSession() as other:
        assert (await other.get(f"http://127.0.0.1:{port}/probe")).status == 200


async def test_a_crowd_waiting_on_one_part_makes_one_origin_request(edge):
    """1,500 viewers hold the same blocking reload before its part exists: the origin answers
    one of them and nginx the rest. (nginx 1.22 counts an entry's requests in 10 bits; without
    `proxy_cache_min_uses 0` the 1,024th went to the origin past the lock.)"""
    origin, port = edge
    answers = await _answers_once_written(origin, port, await _viewers(port, 1500))
    assert origin.reached == [Origin.RELOAD]
    assert all(status == 200 and body == b"#EXTM3U\n" for status, _, body in answers)
    assert sorted(cache for _, cache, _ in answers) == ["HIT"] * 1499 + ["MISS"]


async def test_the_viewer_whose_reload_reached_the_origin_may_leave(edge):
    """The first viewer's reload is the one the origin holds for everyone; when that viewer
    leaves, nginx still takes the answer for the others instead of asking again."""
    origin, port = edge
    (_, first), *_ = await _viewers(port, 1)
    await origin.first_reload.wait()
    others = await _viewers(port, 50)
    first.close()
    await first.wait_closed()
    answers = await _answers_once_written(origin, port, others)
    assert origin.reached == [Origin.RELOAD]
    assert [(status, cache) for status, cache, _ in answers] == [(200, "HIT")] * 50


async def test_a_refusal_reaches_a_crowd_from_one_origin_request(edge):
    """A node falling behind answers a held reload with 503: the viewers waiting on it get that
    answer from nginx rather than each asking the struggling node in turn."""
    origin, port = edge
    origin.status = 503
    answers = await _answers_once_written(origin, port, await _viewers(port, 200))
    assert origin.reached == [Origin.RELOAD]
    assert {status for status, _, _ in answers} == {503}


async def _answers_once_written(origin: Origin, port: int, viewers) -> list[tuple[int, str, bytes]]:
    """Once nginx has seen every viewer, the part is written: what each viewer then gets."""
    await _through_nginx(port)
    origin.part_written.set()
    answers = [await _response(reader) for reader, _ in viewers]
    for _, writer in viewers:
        writer.close()
    return answers


async def _response(reader: asyncio.StreamReader) -> tuple[int, str, bytes]:
    """(status, X-Cache, body) of one HTTP/1.1 response with a Content-Length."""
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").lower()
    length = int(re.search(r"\r\ncontent-length: *(\d+)", head).group(1))
    cache = re.search(r"\r\nx-cache: *(\w+)", head).group(1).upper()
    return int(head[9:12]), cache, await reader.readexactly(length)


def test_nginx_may_open_a_file_per_connection_and_its_upstream(nginx_conf):
    """5,000 viewers are 5,000 kept-alive connections: a 1,024 open-file limit (a common
    default for services and containers) would refuse most of them."""
    connections = int(re.search(r"worker_connections (\d+);", nginx_conf).group(1))
    files = int(re.search(r"^worker_rlimit_nofile (\d+);", nginx_conf, re.MULTILINE).group(1))
    assert connections >= 5000
    assert files >= 2 * connections


def test_the_cluster_asks_nginx_for_no_more_open_files_than_it_may_have(nginx_conf, tmp_path):
    conf = load_cluster_script().render_nginx(
        nginx_conf,
        listen="127.0.0.1:18088",
        nodes=["127.0.0.1:18091", "127.0.0.1:18092"],
        media_root=tmp_path / "recordings",
        state=tmp_path,
    )
    files = int(re.search(r"^worker_rlimit_nofile (\d+);", conf, re.MULTILINE).group(1))
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    assert hard == resource.RLIM_INFINITY or files <= hard
