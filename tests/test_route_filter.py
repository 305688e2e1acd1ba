"""The prefix check in front of included routers (``huiliu.route_filter``) changes no routing decision:
for every route of the application, and for paths no route serves, the first node that matches is the
same with and without the check."""

from __future__ import annotations

import re
import uuid
from typing import Any

from fastapi.routing import APIRoute
from starlette.routing import Match

from huiliu.app import create_app

SAMPLE_ID = str(uuid.UUID(int=7))


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", SAMPLE_ID, path)


def _first_match(app: Any, scope: dict[str, Any], *, unfiltered: bool) -> tuple[int, Match] | None:
    partial = None
    for index, node in enumerate(app.router.routes):
        matches = getattr(node.matches, "__wrapped__", node.matches) if unfiltered else node.matches
        match, _ = matches(dict(scope))
        if match == Match.FULL:
            return index, match
        if match == Match.PARTIAL and partial is None:
            partial = (index, match)
    return partial


def test_every_route_resolves_to_the_same_node_with_the_prefix_check(settings):
    app = create_app(settings)
    filtered = [n for n in app.router.routes if hasattr(n.matches, "__wrapped__")]
    assert len(filtered) >= 20  # the API routers got the check
    requests: list[tuple[str, str]] = []
    for node in app.router.routes:
        contexts = node.effective_route_contexts() if hasattr(node, "effective_route_contexts") else []
        for context in contexts:
            route = context.original_route
            if isinstance(route, APIRoute):
                requests += [(method, _concrete(context.path_format)) for method in sorted(route.methods)]
    requests += [
        ("GET", "/"),
        ("GET", "/console/tickets"),
        ("GET", "/h5/form/abc"),
        ("GET", "/api/v1/no-such-thing"),
        ("DELETE", "/api/v1/tickets"),
        ("GET", "/api/v1/ticketsx"),
        ("GET", "/api/v1/tickets/"),
    ]
    assert len(requests) > 150
    for method, path in requests:
        scope = {
            "type": "http",
            "method": method,
            "path": path,
            "root_path": "",
            "headers": [],
            "query_string": b"",
        }
        assert _first_match(app, scope, unfiltered=False) == _first_match(app, scope, unfiltered=True), (
            method,
            path,
        )


def test_a_router_under_a_root_path_is_still_found(settings):
    app = create_app(settings)
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/prefix/api/v1/health",
        "root_path": "/prefix",
        "headers": [],
        "query_string": b"",
    }
    assert _first_match(app, scope, unfiltered=False) == _first_match(app, scope, unfiltered=True)
    assert _first_match(app, scope, unfiltered=False) is not None
