"""The public and hook routes are described in the OpenAPI document, and every reference in it
resolves (the submission body is read by hand, so its schema is written in place)."""

from __future__ import annotations

from typing import Any


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in refs(value)]
    if isinstance(node, list):
        return [ref for item in node for ref in refs(item)]
    return []


async def test_openapi_lists_the_routes_and_every_reference_resolves(client: Any) -> None:
    document = (await client.get("/api/openapi.json")).json()
    paths = document["paths"]
    for path in (
        "/api/v1/entry-points",
        "/api/v1/entry-points/{entry_point_id}/qr.png",
        "/api/v1/entry-points/stats",
        "/api/v1/public/forms/{public_key}/submissions",
        "/api/v1/public/progress/{token}",
        "/hooks/{entry_point_id}",
    ):
        assert path in paths, path
    body = paths["/api/v1/public/forms/{public_key}/submissions"]["post"]["requestBody"]["content"]
    assert set(body) == {"application/json", "multipart/form-data"}
    schemas = document["components"]["schemas"]
    for ref in refs(document):
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.removeprefix("#/components/schemas/") in schemas, ref
