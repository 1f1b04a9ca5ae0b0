"""The comment socket on one node: the protocol frames, limits, words, moderation, persistence."""

from __future__ import annotations

import asyncio
import ipaddress
import json

import pytest
from aiohttp import WSMsgType
from sqlalchemy import select

from server.app import create_app
from server.store.models import AuditEntry, Comment
from tests.conftest import csrf_token_for


async def receive(ws, timeout=3.0) -> dict:
    message = await asyncio.wait_for(ws.receive(), timeout)
    return json.loads(message.data)


async def receive_until(ws, kind: str, timeout=3.0) -> dict:
    while (frame := await receive(ws, timeout))["type"] != kind:
        pass
    return frame


def bus_comment(comment_id: int, text: str, name: str = "Warga") -> dict:
    """A comment event as the service publishes it, for tests that drive the hub directly."""
    record = {
        "id": str(comment_id),
        "name": name,
        "text": text,
        "at": "2026-01-01T00:00:00+00:00",
        "offset": float(comment_id),
        "question": False,
        "held": False,
        "hidden": False,
        "identity": "00000000",
    }
    return {"kind": "comment", "c": record}


async def outcome(ws, text: str, timeout=3.0) -> dict:
    """The sender's own comment coming back, or the error it got instead."""
    while True:
        frame = await receive(ws, timeout)
        if frame["type"] in ("error", "held") or frame.get("text") == text:
            return frame


async def connect(client, sitting_id: int, ip: str | None = None):
    headers = {"X-Forwarded-For": ip} if ip else {}
    ws = await client.ws_connect(f"/sidang/{sitting_id}/komentar/ws", headers=headers)
    hello = await receive(ws)
    assert hello["type"] == "hello"
    return ws


async def post(ws, text: str, name: str = "Budi", **extra) -> None:
    await ws.send_json({"type": "post", "name": name, "text": text, **extra})


@pytest.fixture
async def proxied(aiohttp_client, make_config, database_url, store):
    """A client behind a trusted proxy, so each socket can claim its own resident IP."""
    config = make_config(
        database_url=database_url, trusted_proxies=(ipaddress.ip_network("127.0.0.1/32"),)
    )
    return await aiohttp_client(create_app(config))


async def test_hello_history_and_comment_frames_exactly_as_documented(client, live_sitting):
    ws = await client.ws_connect(f"/sidang/{live_sitting}/komentar/ws")
    hello = await receive(ws)
    assert set(hello) == {"type", "viewers", "slow_mode"} and hello["slow_mode"] == 0
    await post(ws, "Kapan jalan diperbaiki?")
    frame = await receive_until(ws, "comment")
    assert set(frame) == {"type", "id", "name", "text", "at", "offset"}
    assert (frame["name"], frame["text"]) == ("Budi", "Kapan jalan diperbaiki?")
    assert isinstance(frame["offset"], float) and frame["offset"] >= 0

    late = await client.ws_connect(f"/sidang/{live_sitting}/komentar/ws")
    assert (await receive(late))["type"] == "hello"
    assert await receive(late) == frame  # the recent history follows hello
    await post(ws, "Ini pertanyaan untuk Komisi C", question=True)
    question = await receive_until(late, "comment")
    assert question["question"] is True


async def test_comment_is_stored_with_identity_offset_and_audit_fields(client, store, live_sitting):
    ws = await connect(client, live_sitting)
    await post(ws, "Terima kasih atas siarannya")
    frame = await receive_until(ws, "comment")
    async with store.read() as session:
        comment = await session.get(Comment, int(frame["id"]))
    assert comment.sitting_id == live_sitting
    assert len(comment.identity_hash) == 64 and len(comment.ip_hash) == 64
    assert comment.offset_s == frame["offset"] and not comment.hidden and not comment.held


async def test_errors_for_long_empty_and_unknown_frames(client, live_sitting):
    ws = await connect(client, live_sitting)
    await post(ws, "x" * 501)
    error = await receive_until(ws, "error")
    assert set(error) == {"type", "code", "message"} and error["code"] == "too_long"
    await post(ws, "   ")
    assert (await receive_until(ws, "error"))["code"] == "invalid"
    await ws.send_str("bukan json")
    assert (await receive_until(ws, "error"))["message"] == "Jenis pesan tidak dikenal."


async def test_posting_is_closed_when_the_sitting_is_not_live(client, store):
    from server.store import repo
    from server.store.models import utcnow

    async with store.transaction() as session:
        sitting = await repo.create_sitting(
            session, type="komisi", title="Rapat Komisi", starts_at=utcnow(), is_public=True
        )
        from server.domain.sitting import SittingStatus

        await repo.change_status(session, sitting, SittingStatus.SCHEDULED)
    ws = await connect(client, sitting.id)
    await post(ws, "Halo")
    error = await receive_until(ws, "error")
    assert error["code"] == "closed" and "siaran langsung" in error["message"]


async def test_rate_limit_per_identity(client, live_sitting):
    ws = await connect(client, live_sitting)
    for n in range(3):
        await post(ws, f"pesan {n}")
        assert (await outcome(ws, f"pesan {n}"))["type"] == "comment"
    await post(ws, "pesan keempat")
    assert (await outcome(ws, "pesan keempat"))["code"] == "rate_limited"


async def test_rate_limit_per_ip_across_identities(proxied, live_sitting):
    results = []
    for n in range(7):
        proxied.session.cookie_jar.clear()  # every socket a fresh identity, one shared IP
        ws = await connect(proxied, live_sitting, ip="203.0.113.9")
        await post(ws, f"dari warnet {n}")
        results.append((await outcome(ws, f"dari warnet {n}"))["type"])
    assert results == ["comment"] * 6 + ["error"]
    proxied.session.cookie_jar.clear()
    elsewhere = await connect(proxied, live_sitting, ip="198.51.100.7")
    await post(elsewhere, "dari rumah")
    assert (await outcome(elsewhere, "dari rumah"))["type"] == "comment"


async def test_duplicates_are_refused(client, live_sitting):
    ws = await connect(client, live_sitting)
    await post(ws, "Setuju!")
    await receive_until(ws, "comment")
    await post(ws, "SETUJUUU!")
    error = await receive_until(ws, "error")
    assert error["code"] == "rate_limited" and "sama" in error["message"]


async def test_cross_origin_socket_is_refused(client, live_sitting):
    response = await client.get(
        f"/sidang/{live_sitting}/komentar/ws",
        headers={
            "Origin": "https://jahat.example",
            "Connection": "Upgrade",
            "Upgrade": "websocket",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        },
    )
    assert response.status == 403
    same = await client.ws_connect(
        f"/sidang/{live_sitting}/komentar/ws",
        headers={"Origin": str(client.make_url("")).rstrip("/")},
    )
    assert (await receive(same))["type"] == "hello"


async def test_unknown_sitting_has_no_socket(client):
    response = await client.get("/sidang/999/komentar/ws")
    assert response.status == 404


async def test_viewers_count_sockets_and_heartbeats_and_show_in_metrics(client, live_sitting):
    first = await connect(client, live_sitting)
    await connect(client, live_sitting)
    token = await csrf_token_for(client)
    response = await client.post(
        f"/sidang/{live_sitting}/penonton",
        json={"viewer": "pemutar-hls-1"},
        headers={"X-CSRF-Token": token},
    )
    assert response.status == 200
    assert (await response.json())["viewers"] == 3
    no_token = await client.post(f"/sidang/{live_sitting}/penonton", json={"viewer": "x" * 10})
    assert no_token.status == 403
    metrics = await (await client.get("/metrics")).text()
    assert f'sidang_viewers{{sitting="{live_sitting}"}} 3' in metrics
    assert f'sidang_comment_sockets{{sitting="{live_sitting}"}} 2' in metrics
    await first.close()
    metrics = await (await client.get("/metrics")).text()
    assert f'sidang_viewers{{sitting="{live_sitting}"}} 2' in metrics


async def test_audit_log_records_moderator_actions(client, store, login, live_sitting):
    token = await login("moderator", "moderator-audit")
    ws = await connect(client, live_sitting)
    await post(ws, "Komentar yang akan disembunyikan")
    frame = await receive_until(ws, "comment")
    response = await client.post(
        f"/moderasi/{live_sitting}/komentar/{frame['id']}/sembunyikan",
        headers={"X-CSRF-Token": token},
    )
    assert response.status == 200
    assert await receive_until(ws, "hidden") == {"type": "hidden", "id": frame["id"]}
    async with store.read() as session:
        entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "comment.hide"))
        comment = await session.get(Comment, int(frame["id"]))
    assert entry.actor == "moderator-audit" and entry.target == f"comment:{frame['id']}"
    assert comment.hidden  # kept for audit, never deleted


async def test_shutting_down_closes_comment_sockets_as_going_away(
    aiohttp_server, aiohttp_client, config, store, live_sitting
):
    """Without this a restart waits out aiohttp's shutdown timeout for every open socket."""
    server = await aiohttp_server(create_app(config))
    resident = await aiohttp_client(server)
    ws = await resident.ws_connect(f"/sidang/{live_sitting}/komentar/ws")
    assert (await receive(ws))["type"] == "hello"
    closing = asyncio.create_task(server.close())
    while (message := await ws.receive(timeout=10)).type is not WSMsgType.CLOSE:
        pass
    assert message.data == 1001
    await asyncio.wait_for(closing, 10)
