"""The OpenAPI document is generated from the route declarations and describes every API route."""

from server.views.api import routes


async def test_openapi_document_lists_every_api_route(client):
    document = await (await client.get("/api/v1/openapi.json")).json()
    assert document["openapi"].startswith("3.")
    declared = {(op.method.lower(), op.path.replace(":\\d+", "")) for op in routes.operations}
    documented = {(m, p) for p, ops in document["paths"].items() for m in ops}
    assert declared == documented
    served = {
        (route.method.lower(), route.resource.canonical.replace(":\\d+", ""))
        for route in client.app.router.routes()
        if route.resource is not None
        and route.resource.canonical.startswith("/api/v1/")
        and route.method != "HEAD"
    }
    assert served - {("get", "/api/v1/openapi.json")} == documented


async def test_staff_operations_declare_roles_and_bodies(client):
    document = await (await client.get("/api/v1/openapi.json")).json()
    create = document["paths"]["/api/v1/sittings"]["post"]
    assert create["x-roles"] == ["admin", "sekretariat"]
    schema = create["requestBody"]["content"]["application/json"]["schema"]
    assert set(schema["required"]) == {"type", "title", "starts_at"}
    kind = schema["properties"]["type"]["$ref"].removeprefix("#/components/schemas/")
    assert "paripurna" in document["components"]["schemas"][kind]["enum"]
    upload = document["paths"]["/api/v1/documents"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in upload
    assert "x-roles" not in document["paths"]["/api/v1/sittings"]["get"]
