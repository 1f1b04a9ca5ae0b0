"""Open311 GeoReport v2: spec field names, filters, errors, keys and rate limits."""

from __future__ import annotations

import pytest

from server.app import create_app
from server.domain.moderation import Limits
from server.keys import PENGADUAN
from tests.conftest import log_in
from tests.pengaduan_helpers import DATA_KEY, file_report, seed_category

SERVICE_FIELDS = {
    "service_code",
    "service_name",
    "description",
    "metadata",
    "type",
    "keywords",
    "group",
}
REQUEST_FIELDS = {
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
}


@pytest.fixture
async def client(aiohttp_client, make_config, database_url, store):
    config = make_config(database_url=database_url, data_keys=(DATA_KEY,))
    return await aiohttp_client(create_app(config))


@pytest.fixture
async def api_key(client, store) -> str:
    token = await log_in(client, store, "sekretariat")
    response = await client.post(
        "/pengaduan/kelola/kunci-api", data={"csrf_token": token, "name": "Aplikasi Kota"}
    )
    body = await response.text()
    key = body.split('id="kunci-baru">')[1].split("<")[0]
    client.session.cookie_jar.clear()  # the API client has no browser session
    return key


def assert_spec_error(payload, code: int) -> None:
    assert isinstance(payload, list) and payload[0]["code"] == code
    assert set(payload[0]) == {"code", "description"} and payload[0]["description"]


async def test_services_are_the_categories(client, store):
    await seed_category(store)
    services = await (await client.get("/open311/v2/services.json")).json()
    assert len(services) == 1 and set(services[0]) == SERVICE_FIELDS
    assert services[0]["group"] == "Komisi C" and services[0]["metadata"] is False


async def test_post_needs_a_key_and_answers_in_spec_shape(client, store, api_key):
    category = await seed_category(store)
    form = {
        "service_code": str(category),
        "description": "Jalan amblas",
        "lat": "-6.888",
        "long": "109.675",
    }
    refused = await client.post("/open311/v2/requests.json", data={**form, "api_key": "salah"})
    assert refused.status == 403
    assert_spec_error(await refused.json(), 403)
    created = await client.post("/open311/v2/requests.json", data={**form, "api_key": api_key})
    assert created.status == 201, await created.text()
    answer = (await created.json())[0]
    code = answer["service_request_id"]
    assert code.startswith("ADU-") and "account_id" in answer and "service_notice" in answer
    one = await (await client.get(f"/open311/v2/requests/{code}.json")).json()
    assert len(one) == 1 and set(one[0]) == REQUEST_FIELDS
    assert one[0]["status"] == "open" and one[0]["lat"] == -6.888 and one[0]["long"] == 109.675
    assert one[0]["description"] == "Jalan amblas"
    assert one[0]["requested_datetime"].endswith("+07:00")


async def test_bad_input_is_a_spec_error(client, store, api_key):
    missing = await client.post(
        "/open311/v2/requests.json", data={"api_key": api_key, "service_code": "999"}
    )
    assert missing.status == 400
    assert_spec_error(await missing.json(), 400)
    bad_status = await client.get("/open311/v2/requests.json?status=pending")
    assert_spec_error(await bad_status.json(), 400)
    unknown = await client.get("/open311/v2/requests/ADU-2026-ZZZZZ.json")
    assert unknown.status == 404
    assert_spec_error(await unknown.json(), 404)


async def test_list_filters_by_status_service_and_id(client, store):
    roads = await seed_category(store)
    lights = await seed_category(store, "Penerangan jalan", "Komisi C")
    first, _, _ = await file_report(client, roads)
    second, _, _ = await file_report(client, lights, description="Lampu mati")
    token = await log_in(client, store, "sekretariat")
    await client.post(
        f"/pengaduan/kelola/{first}/status",
        data={"csrf_token": token, "status": "ditolak", "message": "Sudah diperbaiki"},
    )
    ids = lambda rows: {r["service_request_id"] for r in rows}  # noqa: E731
    everything = await (await client.get("/open311/v2/requests.json")).json()
    assert ids(everything) == {first, second}
    closed = await (await client.get("/open311/v2/requests.json?status=closed")).json()
    assert ids(closed) == {first} and closed[0]["status_notes"] == "Sudah diperbaiki"
    by_service = await (await client.get(f"/open311/v2/requests.json?service_code={lights}")).json()
    assert ids(by_service) == {second}
    by_id = await (
        await client.get(f"/open311/v2/requests.json?service_request_id={second}")
    ).json()
    assert ids(by_id) == {second}
    future = await (
        await client.get("/open311/v2/requests.json?start_date=2099-01-01T00:00:00Z")
    ).json()
    assert future == []


async def test_writes_are_rate_limited_by_the_moderation_gate(client, store, api_key):
    category = await seed_category(store)
    client.app[PENGADUAN].api_gate.limits = Limits(per_identity=2, per_ip=10, window_s=600.0)
    statuses = []
    for n in range(3):
        response = await client.post(
            "/open311/v2/requests.json",
            data={
                "api_key": api_key,
                "service_code": str(category),
                "description": f"Laporan {n}",
                "address_string": "Jl. Sultan Agung",
            },
        )
        statuses.append(response.status)
    assert statuses == [201, 201, 429]
    assert_spec_error(await response.json(), 429)
