"""The JSON API: public reads, staff CRUD, bad input."""

import pytest

from server.app import create_app
from server.store import repo

SITTING = {
    "type": "komisi",
    "title": "Rapat Komisi B",
    "starts_at": "2026-03-02T09:00",
    "location": "Ruang Komisi B",
    "komisi": "Komisi B",
    "quorum_rule": "1/2",
}


@pytest.fixture
async def staff(client, login):
    token = await login("sekretariat")
    return {"X-CSRF-Token": token}


async def create(client, staff, **overrides):
    response = await client.post("/api/v1/sittings", headers=staff, json=SITTING | overrides)
    assert response.status == 201, await response.text()
    return await response.json()


async def test_staff_create_a_sitting_with_local_time(client, staff):
    sitting = await create(client, staff)
    assert sitting["status"] == "draft"
    assert sitting["starts_at"] == "2026-03-02T02:00:00+00:00", "09:00 WIB is 02:00 UTC"
    assert sitting["ingest_key"]


async def test_public_list_and_detail_hide_drafts_and_keys(client, staff):
    sitting = await create(client, staff)
    as_staff = await (await client.get("/api/v1/sittings")).json()
    assert [i["id"] for i in as_staff["items"]] == [sitting["id"]], "staff see drafts"
    client.session.cookie_jar.clear()
    public = await client.get("/api/v1/sittings")
    assert (await public.json()) == {"items": []}
    assert (await client.get(f"/api/v1/sittings/{sitting['id']}")).status == 404


async def test_status_filter_and_detail_shape(client, staff):
    sitting = await create(client, staff)
    for target in ("scheduled", "live"):
        response = await client.post(
            f"/api/v1/sittings/{sitting['id']}/status", headers=staff, json={"status": target}
        )
        assert response.status == 200
    await client.post(
        f"/api/v1/sittings/{sitting['id']}/agenda", headers=staff, json={"title": "Pembukaan"}
    )
    client.session.cookie_jar.clear()
    live = await (await client.get("/api/v1/sittings?status=live")).json()
    assert [i["id"] for i in live["items"]] == [sitting["id"]]
    assert set(live["items"][0]) >= {"id", "title", "status", "starts_at"}
    assert (await (await client.get("/api/v1/sittings?status=scheduled")).json())["items"] == []
    detail = await (await client.get(f"/api/v1/sittings/{sitting['id']}")).json()
    assert detail["agenda"][0]["title"] == "Pembukaan"
    assert {"recording", "attendance", "votes"} <= set(detail)
    assert "ingest_key" not in detail


async def test_invalid_transition_is_a_409_with_a_message(client, staff):
    sitting = await create(client, staff)
    response = await client.post(
        f"/api/v1/sittings/{sitting['id']}/status", headers=staff, json={"status": "published"}
    )
    assert response.status == 409
    assert "tidak dapat diubah" in (await response.json())["error"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**SITTING, "type": "arisan"}, "type"),
        ({**SITTING, "starts_at": "besok pagi"}, "starts_at"),
        ({**SITTING, "starts_at": "0001-01-01T00:00"}, "starts_at"),
        ({**SITTING, "title": ""}, "title"),
        ({**SITTING, "title": "x" * 301}, "title"),
        ({**SITTING, "quorum_rule": "1/3"}, "quorum_rule"),
        ({**SITTING, "unexpected": 1}, "unexpected"),
        ({k: v for k, v in SITTING.items() if k != "title"}, "title"),
    ],
)
async def test_bad_fields_are_named_in_a_400(client, staff, body, field, store):
    response = await client.post("/api/v1/sittings", headers=staff, json=body)
    assert response.status == 400
    assert field in (await response.json())["fields"]
    async with store.read() as session:
        assert await repo.list_sittings(session, public_only=False) == []


async def test_malformed_json_is_a_400(client, staff):
    for body in ("{not json", "[1, 2]"):
        response = await client.post(
            "/api/v1/sittings", headers={**staff, "Content-Type": "application/json"}, data=body
        )
        assert response.status == 400
        assert "JSON" in (await response.json())["error"]


async def test_unknown_ids_are_404(client, staff):
    assert (await client.get("/api/v1/sittings/9999")).status == 404
    assert (await client.get("/api/v1/sittings/abc")).status == 404
    response = await client.patch("/api/v1/sittings/9999", headers=staff, json={"title": "x"})
    assert response.status == 404


async def test_patch_agenda_reorder_and_delete(client, staff):
    sitting = await create(client, staff)
    base = f"/api/v1/sittings/{sitting['id']}"
    ids = []
    for title in ("A", "B", "C"):
        response = await client.post(f"{base}/agenda", headers=staff, json={"title": title})
        ids.append((await response.json())["id"])
    response = await client.patch(
        f"{base}/agenda/{ids[0]}", headers=staff, json={"start_offset": 12.5}
    )
    assert (await response.json())["start_offset"] == 12.5
    response = await client.put(
        f"{base}/agenda/order", headers=staff, json={"item_ids": [ids[2], ids[0], ids[1]]}
    )
    assert [i["title"] for i in (await response.json())["items"]] == ["C", "A", "B"]
    assert (await client.delete(f"{base}/agenda/{ids[0]}", headers=staff)).status == 204
    detail = await (await client.get(base)).json()
    assert [(i["order"], i["title"]) for i in detail["agenda"]] == [(1, "C"), (2, "B")]
    patched = await client.patch(base, headers=staff, json={"title": "Judul baru"})
    assert (await patched.json())["title"] == "Judul baru"


async def test_ingest_key_rotation(client, staff):
    sitting = await create(client, staff)
    response = await client.post(f"/api/v1/sittings/{sitting['id']}/ingest-key", headers=staff)
    body = await response.json()
    assert body["ingest_key"] != sitting["ingest_key"]
    assert body["whip_url"] == f"/whip/{sitting['id']}"


async def test_only_drafts_can_be_deleted_over_the_api(client, staff):
    sitting = await create(client, staff)
    url = f"/api/v1/sittings/{sitting['id']}"
    await client.post(f"{url}/status", headers=staff, json={"status": "scheduled"})
    assert (await client.delete(url, headers=staff)).status == 409
    other = await create(client, staff)
    assert (await client.delete(f"/api/v1/sittings/{other['id']}", headers=staff)).status == 204


async def test_healthz_and_metrics(client):
    health = await client.get("/healthz")
    assert await health.json() == {"status": "ok", "db": "ok", "bus": "memory", "media": "ok"}
    metrics = await client.get("/metrics")
    assert metrics.status == 200
    assert metrics.content_type == "text/plain"
    assert "sidang_bus_failed_writes_total 0" in await metrics.text()


async def test_healthz_fails_when_the_media_dir_is_unwritable(
    aiohttp_client, make_config, database_url, tmp_path
):

    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the media directory should be")
    client = await aiohttp_client(
        create_app(make_config(database_url=database_url, media_dir=blocker))
    )
    response = await client.get("/healthz")
    assert response.status == 503
    body = await response.json()
    assert body["media"].startswith("error") and body["db"] == "ok"


async def test_metrics_carry_http_latency_by_route(client):
    await client.get("/api/v1/sittings")
    text = await (await client.get("/metrics")).text()
    assert (
        'sidang_http_request_duration_seconds_count{method="GET",route="/api/v1/sittings"} 1.0'
        in text
    )
    assert "# TYPE sidang_http_requests_total counter" in text
