"""Hostile input at the edge: ids out of range, deeply nested JSON, header injection (issue 13)."""

from __future__ import annotations

import io
import re
from urllib.parse import unquote

import pytest

from server.edge import MAX_ID, content_disposition, loads_json, parse_id
from tests.conftest import csrf_token_for, log_in
from tests.test_comments import receive_until
from tests.test_pages import make_pdf

BOGUS_IDS = [str(MAX_ID + 1), str(2**63), "99999999999999999999999999", "0", "-1", "abc", "١٢"]
OTHER_PARAMS = {
    "rendition": "720p",
    "name": "index.m3u8",
    "resource": "x",
    "direction": "naik",
}
DEEP = "[" * 100_000 + "]" * 100_000
DEEP_FRAME = "[" * 1_500 + "]" * 1_500  # deeper than the interpreter's stack, within a frame


def test_parse_id_accepts_only_keys_both_backends_can_store():
    assert parse_id("1") == 1 and parse_id(str(MAX_ID)) == MAX_ID
    assert [parse_id(v) for v in BOGUS_IDS] == [None] * len(BOGUS_IDS)
    assert parse_id("9" * 5000) is None, "no int() of an unbounded digit string"


def _routes(app) -> list[tuple[str, str, list[str]]]:
    """(method, path template, id parameter names) for every route with an id in its path."""
    found = []
    for route in app.router.routes():
        template = route.resource.canonical if route.resource else ""
        names = re.findall(r"\{(\w+)", template)
        ids = [n for n in names if n.endswith("_id") or n == "position"]
        if ids:
            found.append((route.method, template, names))
    return found


def _url(template: str, names: list[str], id_value: str) -> str:
    values = {n: OTHER_PARAMS.get(n, id_value) for n in names}
    return re.sub(r"\{(\w+)(:[^}]*)?\}", lambda m: values[m.group(1)], template)


async def test_every_id_route_answers_404_for_ids_out_of_range(client):
    routes = _routes(client.app)
    assert len(routes) > 40, "every {…_id} route is covered"
    headers = {"X-CSRF-Token": await csrf_token_for(client)}
    for method, template, names in routes:
        for bogus in BOGUS_IDS:
            response = await client.request(method, _url(template, names, bogus), headers=headers)
            assert response.status == 404, (method, template, bogus, await response.text())
        widest = await client.request(method, _url(template, names, str(MAX_ID)), headers=headers)
        assert widest.status < 500, (method, template, await widest.text())


async def test_an_id_past_two_to_the_63_is_a_styled_404(client):
    response = await client.get(f"/sidang/{2**63}")
    assert response.status == 404 and response.content_type == "text/html"
    api = await client.get(f"/api/v1/sittings/{2**63}")
    assert api.status == 404 and "error" in await api.json()


def test_deep_json_is_one_value_error():
    with pytest.raises(ValueError):
        loads_json(DEEP)
    assert loads_json('{"a": [1]}') == {"a": [1]}


async def test_deeply_nested_json_body_is_a_400(client, live_sitting):
    response = await client.post(
        f"/sidang/{live_sitting}/penonton",
        data=DEEP,
        headers={"Content-Type": "application/json", "X-CSRF-Token": await csrf_token_for(client)},
    )
    assert response.status == 400
    assert "JSON" in (await response.json())["error"]


async def test_deeply_nested_comment_frame_gets_an_error_frame_and_keeps_the_socket(
    client, live_sitting
):
    ws = await client.ws_connect(f"/sidang/{live_sitting}/komentar/ws")
    await ws.send_str(DEEP_FRAME)
    assert (await receive_until(ws, "error"))["code"] == "invalid"
    await ws.send_json({"type": "post", "name": "Budi", "text": "Masih tersambung?"})
    frame = await receive_until(ws, "comment")
    assert frame["text"] == "Masih tersambung?"
    assert not ws.closed
    await ws.close()


def _filename(header: str) -> tuple[str, str]:
    """The quoted fallback and the RFC 5987 exact name, as a browser reads them."""
    fallback = re.search(r'; filename="([^"]*)"', header).group(1)
    exact = re.search(r"; filename\*=UTF-8''([^;\s]*)$", header).group(1)
    return fallback, unquote(exact)


def test_content_disposition_cannot_be_injected():
    header = content_disposition("inline", 'perda-1\r\nSet-Cookie: a=1"; filename="evil.exe.pdf')
    assert "\r" not in header and "\n" not in header
    assert header.count("filename=") == 1 and header.count("filename*=") == 1
    fallback, exact = _filename(header)
    assert '"' not in fallback and exact == 'perda-1Set-Cookie: a=1"; filename="evil.exe.pdf'
    assert _filename(content_disposition("attachment", "Perda 5/2026 — Pajak.pdf"))[1] == (
        "Perda 5-2026 — Pajak.pdf"
    )


async def test_a_document_number_with_crlf_and_quotes_downloads_cleanly(client, store):
    token = await log_in(client, store, "sekretariat")
    form = {
        "file": io.BytesIO(make_pdf()),
        "jenis": "perda",
        "judul": "Perda Pajak",
        "tahun": "2026",
        "nomor": '7\r\nX-Evil: 1"; filename="evil.exe',
    }
    created = await client.post("/api/v1/documents", headers={"X-CSRF-Token": token}, data=form)
    assert created.status == 201, await created.text()
    download = await client.get(f"/dokumen/{(await created.json())['id']}/unduh")
    assert download.status == 200 and "X-Evil" not in download.headers
    header = download.headers["Content-Disposition"]
    assert header.startswith("inline; ") and header.count("filename=") == 1
    assert _filename(header)[1].endswith("evil.exe-2026.pdf")
