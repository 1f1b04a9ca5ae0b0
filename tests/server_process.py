"""A real `sidang serve` in a child process, for the tests that crash, stop or install it."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp

from tests.conftest import TEST_PASSWORD, sign_in

SIDANG = str(Path(sys.executable).parent / "sidang")
READY_LINE = "======== Running on"  # what server.connections.run_app prints once it listens


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """`sidang serve` (or the same command from another install); its log goes to `log_path`."""

    def __init__(
        self, env: dict[str, str], port: int, log_path: Path, sidang: str = SIDANG, cwd=None
    ) -> None:
        self.env, self.port, self.log_path = env, port, log_path
        self.sidang, self.cwd = sidang, cwd
        self.url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen | None = None

    async def start(self) -> None:
        """Returns once the server listens (it says so on stdout), so no polling."""
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [self.sidang, "serve", "--port", str(self.port)],
                env=self.env,
                cwd=self.cwd,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )
        line = await asyncio.to_thread(self.process.stdout.readline)
        assert line.startswith(READY_LINE), f"server did not start:\n{self.log()}"

    def log(self) -> str:
        return self.log_path.read_text()

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


async def staff_session(server: ServerProcess) -> tuple[aiohttp.ClientSession, dict]:
    session = aiohttp.ClientSession(base_url=server.url, cookie_jar=aiohttp.CookieJar(unsafe=True))
    response, token = await sign_in(session, "staf", TEST_PASSWORD)
    assert response.status == 303
    return session, {"X-CSRF-Token": token}


def migrate_with_staff(env: dict[str, str]) -> None:
    """`sidang db upgrade`, then a staff account `staf` (TEST_PASSWORD), as an operator does."""
    subprocess.run([SIDANG, "db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run(
        [SIDANG, "user", "add", "staf", "--role", "sekretariat"],
        env=env,
        check=True,
        input=TEST_PASSWORD + "\n",
        text=True,
        capture_output=True,
    )
