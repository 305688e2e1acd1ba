"""A prefix check in front of each included router.

FastAPI (0.16x) keeps every ``include_router`` as one node of the application's route list and, for
each request, asks the nodes in order whether one of their routes matches — a regular-expression match
per route. With ~40 routers and ~220 routes a request to a late router paid for every route before it
(measured: 0.3 ms for ``POST /api/v1/intake/messages``, 1.4 ms for an analytics route, twice per request,
against ~1 ms for the rest of a cheap request). Each router's routes share a few static path prefixes
(the path up to its first ``{parameter}``); a request whose path starts with none of them cannot match
any of that router's routes, so the node answers "no match" after a ``str.startswith``. Routes and
their order are unchanged: a router whose prefix could match the request is still asked as before."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from fastapi import FastAPI
from starlette.routing import Match
from starlette.types import Scope


def _static_prefix(path: str) -> str:
    return path.split("{", 1)[0]


def _paths(node: Any) -> Iterable[str | None]:
    """The full path of every route an included-router node serves (include prefixes and nested routers
    resolved by FastAPI); ``None`` for a route without a plain path (then no filter is safe)."""
    for context in node.effective_route_contexts():
        path = getattr(context, "path_format", None)
        yield path if isinstance(path, str) else None


def _route_path(scope: Scope) -> str:
    path: str = scope["path"]
    root = scope.get("root_path", "")
    if root and path.startswith(root):
        return path[len(root) :]
    return path


def install(app: FastAPI) -> int:
    """Put the prefix check in front of every included router of ``app``; returns how many got one."""
    filtered = 0
    for node in app.router.routes:
        if getattr(node, "original_router", None) is None:
            continue
        paths = list(_paths(node))
        if not paths or any(path is None for path in paths):
            continue
        prefixes = tuple(sorted({_static_prefix(path) for path in paths if path is not None}))
        if any(prefix in ("", "/") for prefix in prefixes):
            continue
        node.matches = _filtered(node.matches, prefixes)  # type: ignore[method-assign,assignment]
        filtered += 1
    return filtered


def _filtered(
    matches: Callable[[Scope], tuple[Match, Scope]], prefixes: tuple[str, ...]
) -> Callable[[Scope], tuple[Match, Any]]:
    def prefix_checked(scope: Scope) -> tuple[Match, Any]:
        if scope["type"] in ("http", "websocket") and not _route_path(scope).startswith(prefixes):
            return Match.NONE, {}
        return matches(scope)

    prefix_checked.__wrapped__ = matches  # type: ignore[attr-defined]
    return prefix_checked
