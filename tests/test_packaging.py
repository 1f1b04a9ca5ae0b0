"""The image must start: the wheel, installed like any package in a clean venv, migrates, serves
pages rendered from its own templates and its static files.

The wheel is built from exactly the files the Dockerfile copies, with the static files `make
assets` built (vendored scripts, compressed copies), as the Dockerfile's build stage does. The
clean venv resolves the wheel's own dependency list; only the files come from a local
wheelhouse (`.venv/wheelhouse`, filled once at the versions the test venv runs), so a runtime
dependency missing from [project.dependencies] fails here as it would in the image.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from tests.server_process import ServerProcess, free_port

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
WHEELHOUSE = Path(sys.prefix) / "wheelhouse"
PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check"]

pytestmark = [pytest.mark.slow, pytest.mark.packaging]


def dockerfile_stages() -> dict[str, list[str]]:
    """Instructions per stage (continuation lines joined); the last stage is named `run`."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    stages: dict[str, list[str]] = {}
    current: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("FROM "):
            name = line.split(" AS ")[-1].strip() if " AS " in line else "run"
            current = stages.setdefault(name, [])
        elif line and not line.startswith("#"):
            current.append(line)
    return stages


def copied_sources() -> list[str]:
    """What the Dockerfile's build stage copies from the repository."""
    sources = []
    for line in dockerfile_stages()["build"]:
        if line.startswith("COPY "):
            sources += line.split()[1:-1]
    return sources


def test_the_dockerfile_installs_the_wheel_and_nothing_else():
    stages = dockerfile_stages()
    build, run = stages["build"], stages["run"]
    steps = " ".join(build)
    assert "python -m server.assets" in steps, "the compressed copies go into the wheel"
    wheel = re.search(r"pip wheel [^&]*--no-deps -w /wheels \.", steps)
    assert wheel and steps.index("python -m server.assets") < wheel.start()
    # The run stage gets the wheel and only the wheel: no source tree, no editable install.
    copies = [line for line in run if line.startswith("COPY ")]
    assert copies == ["COPY --from=build /wheels /wheels"]
    installs = [line for line in run if "pip install" in line]
    assert len(installs) == 1 and "/wheels/*.whl" in installs[0] and " -e " not in installs[0]
    assert run[-1] == 'CMD ["sh", "-c", "sidang db upgrade && sidang serve"]'


def build_wheel(tmp_path: Path) -> Path:
    source = tmp_path / "src"
    source.mkdir()
    for name in copied_sources():
        path = ROOT / name
        if path.is_dir():
            ignore = shutil.ignore_patterns("__pycache__")
            shutil.copytree(path, source / name, symlinks=True, ignore=ignore)
        else:
            shutil.copy2(path, source / name)
    for built in ("web/static/vendor/hls.light.min.js", "web/compressed"):
        assert (source / built).exists(), f"{built} is missing: run `make assets` first"
    dist = tmp_path / "dist"
    subprocess.run(
        [*PIP, "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", dist, source],
        check=True,
        capture_output=True,
    )
    [wheel] = dist.glob("sidang-*.whl")
    return wheel


def install(wheel: Path, venv: Path) -> None:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    command = [
        *PIP,
        "--python",
        venv / "bin" / "python",
        "install",
        "-q",
        "--no-compile",
        "--no-index",
        "--find-links",
        WHEELHOUSE,
        wheel,
    ]
    if subprocess.run(command, capture_output=True).returncode != 0:
        # The wheelhouse lacks a file (first run, or a new dependency): fetch the wheel's
        # dependencies once, at the versions this test venv runs, then install offline.
        constraints = venv / "constraints.txt"
        frozen = subprocess.run(
            [*PIP, "freeze", "--exclude-editable"], check=True, capture_output=True, text=True
        )
        constraints.write_text(frozen.stdout)
        subprocess.run(
            [*PIP, "download", "-q", "-d", WHEELHOUSE, "-c", constraints, wheel],
            check=True,
            capture_output=True,
        )
        (WHEELHOUSE / wheel.name).unlink(missing_ok=True)
        subprocess.run(command, check=True, capture_output=True)


async def test_the_installed_wheel_migrates_and_serves(tmp_path):
    wheel = build_wheel(tmp_path)
    venv = tmp_path / "venv"
    install(wheel, venv)
    run_dir = tmp_path / "run"  # no source tree anywhere near: the installed package only
    run_dir.mkdir()
    env = {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "SIDANG_DATABASE_URL": f"sqlite+aiosqlite:///{run_dir / 'sidang.db'}",
        "SIDANG_MEDIA_DIR": str(run_dir / "recordings"),
        "SIDANG_DATA_DIR": str(run_dir / "var"),
    }
    sidang = str(venv / "bin" / "sidang")
    [site] = venv.glob("lib/python*/site-packages")
    assert not list(site.glob("*.pth")), "nothing may point back at a source tree"
    base = site / "server" / "web" / "templates" / "base.html"
    assert base.is_file() and not base.is_symlink()
    subprocess.run([sidang, "db", "upgrade"], env=env, cwd=run_dir, check=True)

    server = ServerProcess(env, free_port(), tmp_path / "server.log", sidang=sidang, cwd=run_dir)
    await server.start()
    try:
        async with aiohttp.ClientSession(base_url=server.url) as session:
            home = await session.get("/")
            page = await home.text()
            assert home.status == 200, page
            missing = await session.get("/sidang/1")
            assert missing.status == 404  # rendered in the site's layout, not a bare error
            assert "<title>404" in await missing.text()
            stylesheet = re.search(r'href="(/static/css/[^"]+\.css)"', page)[1]
            css = await session.get(stylesheet, headers={"Accept-Encoding": "br"})
            assert css.status == 200 and css.headers["Content-Encoding"] == "br"
            vendored = await session.head("/static/vendor/hls.light.min.js")
            assert vendored.status == 200
            assert (await session.get("/healthz")).status == 200
    finally:
        server.stop()
    assert server.process.returncode == 0, server.log()
    assert "Traceback" not in server.log()
