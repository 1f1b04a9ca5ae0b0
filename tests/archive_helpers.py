"""Archive test helpers: a short real recording made once, an ended sitting that owns a copy of
it, a text PDF, and a second browser session on the same test server."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp

from media.boxes import iter_boxes
from media.recorder import finalize
from server.domain.sitting import SittingStatus, SittingType
from server.keys import ARCHIVE
from server.store import repo
from tests.conftest import in_thread
from tests.media.conftest import OfflineFeed

RECORDED_S = 12
EDIT = {"trim_start": "2", "trim_end": "0:00:10", "cuts": "6 - 8", "poster": "3"}


def text_pdf(text: str) -> bytes:
    """A one-page PDF whose page draws `text`, a line of the page per line of the text (pypdf
    can only write blank pages)."""
    lines = " ".join(
        "({}) Tj T*".format(line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)"))
        for line in text.split("\n")
    )
    stream = f"BT /F1 12 Tf 14 TL 72 720 Td {lines} ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def mdats(segment: bytes) -> list[bytes]:
    return [segment[s:e] for kind, s, e in iter_boxes(segment) if kind == "mdat"]


@contextlib.asynccontextmanager
async def visitor(client) -> AsyncIterator[aiohttp.ClientSession]:
    """Another browser on the same server, with its own cookies."""
    jar = aiohttp.CookieJar(unsafe=True)  # the test server is on 127.0.0.1
    async with aiohttp.ClientSession(base_url=client.make_url(""), cookie_jar=jar) as session:
        yield session


def record_template(tmp_path_factory) -> Path:
    """One short real recording (360p + audio), made once per session and copied per test."""
    target = tmp_path_factory.mktemp("recording") / "raw"

    async def record() -> None:
        feed = OfflineFeed(target)
        await feed.feed(30 * RECORDED_S)
        await feed.close()

    in_thread(asyncio.run, record())
    finalize(target, "360p")
    return target


async def ended_sitting(store, config, template: Path, title="Paripurna APBD 2026") -> int:
    """An ended public sitting with the template recording and agenda items at raw 2.5 and 8.5 s."""
    async with store.transaction() as session:
        sitting = await repo.create_sitting(
            session,
            type=SittingType.PARIPURNA,
            title=title,
            starts_at=dt.datetime(2026, 3, 10, 2, 0, tzinfo=dt.UTC),
            location="Ruang Paripurna",
            is_public=True,
            quorum_rule="1/2",
            komisi="",
        )
        await repo.add_agenda_item(session, sitting, title="Pembukaan", start_offset=2.5)
        await repo.add_agenda_item(
            session, sitting, title="Pengesahan penganggaran daerah", start_offset=8.5
        )
        await repo.add_agenda_item(session, sitting, title="Penutup")
        for status in (SittingStatus.SCHEDULED, SittingStatus.LIVE, SittingStatus.ENDED):
            await repo.change_status(session, sitting, status)
        await repo.save_recording(
            session,
            sitting,
            playlist_path=f"{sitting.id}/index.m3u8",
            mp4_path=f"{sitting.id}/recording.mp4",
            duration_s=float(RECORDED_S),
            sha256="0" * 64,
            size=1,
        )
        sitting_id = sitting.id
    shutil.copytree(template, config.media_dir / str(sitting_id))
    return sitting_id


async def publish(client, token: str, sitting_id: int) -> None:
    edited = await client.post(
        f"/konsol/rapat/{sitting_id}/arsip",
        data={**EDIT, "csrf_token": token},
        allow_redirects=False,
    )
    assert edited.status == 303, await edited.text()
    await finished(client, sitting_id)
    published = await client.post(
        f"/konsol/rapat/{sitting_id}/arsip/terbitkan",
        data={"csrf_token": token},
        allow_redirects=False,
    )
    assert published.status == 303, await published.text()
    await finished(client, sitting_id)


async def finished(client, sitting_id: int) -> None:
    """Wait for the recording job the last console request started; it must have succeeded."""
    job = await client.app[ARCHIVE].wait(sitting_id)
    assert job is not None and job.error is None, job and job.error
