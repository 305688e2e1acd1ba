"""Serving the built web apps: the agent console at ``/`` and the mobile H5 pages at ``/h5/``.

Both are single-page apps: a path that is not a file gets the app's ``index.html`` and the client-side
router takes over. Vite names built assets by content hash, so ``/assets/*`` may be cached for a year;
``index.html`` is revalidated on every load so a new release is picked up at once. Paths under
``/api/`` never fall back to a page: an unknown API route stays a problem+json 404."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response

from huiliu.core.errors import NotFound
from huiliu.settings import Settings

PACKAGED_STATIC = Path(__file__).parent / "static"
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
SHORT = "public, max-age=3600"
H5_PREFIX = "h5"
# A file name's extension (js, css, woff2, webmanifest): a missing file is a 404, never the app's page.
FILE_EXTENSION = re.compile(r"[A-Za-z0-9]{1,12}")

NOT_BUILT_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>汇流 Huiliu</title>
<style>body{font-family:system-ui,sans-serif;max-width:40em;margin:4em auto;line-height:1.6;color:#303133}
code{background:#f2f3f5;padding:2px 6px;border-radius:4px}</style></head>
<body><h1>汇流 Huiliu</h1>
<p>The API is running, but the web console has not been built. Run <code>make web</code> in the
repository (or set <code>HUILIU_WEB_DIST_DIR</code> to a built console) and reload this page.</p>
<p>API 已启动，但网页工作台尚未构建：请在仓库中运行 <code>make web</code>，然后刷新本页。</p>
<p>API reference: <a href="/api/docs">/api/docs</a></p></body></html>
"""


@dataclass(frozen=True)
class WebDirs:
    console: Path
    h5: Path


def web_dirs(settings: Settings) -> WebDirs:
    """Where the built apps are. ``HUILIU_WEB_DIST_DIR`` may name the build root (holding ``console/``
    and ``h5/``, as ``npm run build`` writes them) or a console build itself."""
    root = settings.web_dist_dir
    if root is None:
        return WebDirs(PACKAGED_STATIC / "console", PACKAGED_STATIC / H5_PREFIX)
    if (root / "console" / "index.html").is_file():
        return WebDirs(root / "console", root / H5_PREFIX)
    return WebDirs(root, root.parent / H5_PREFIX)


def _file_in(root: Path, relative: str) -> Path | None:
    """``relative`` inside ``root`` as an existing file; None for anything else, including a path that
    climbs out of ``root``."""
    if not relative:
        return None
    base = root.resolve()
    candidate = (base / relative).resolve()
    if not candidate.is_relative_to(base) or not candidate.is_file():
        return None
    return candidate


def _cache_control(relative: str) -> str:
    if relative.startswith("assets/"):
        return IMMUTABLE
    if relative.endswith(".html"):
        return REVALIDATE
    return SHORT


def _looks_like_a_file(relative: str) -> bool:
    """A path whose last segment ends in a file extension. Other dots belong to route parameters: the
    H5 progress link's signed token (``/h5/p/v1.<payload>.<tag>``, the tag 22 characters of base64url)
    is a page, also when it is opened directly from a notification."""
    _, dot, extension = relative.rsplit("/", 1)[-1].rpartition(".")
    return bool(dot) and FILE_EXTENSION.fullmatch(extension) is not None


def serve_app(root: Path, relative: str) -> Response:
    """A file of the built app, or its ``index.html`` for a client-side route."""
    found = _file_in(root, relative)
    if found is not None:
        return FileResponse(found, headers={"Cache-Control": _cache_control(relative)})
    if _looks_like_a_file(relative):
        # A missing asset is a 404, not the page: a browser must never run HTML as a script.
        return Response(status_code=404, headers={"Cache-Control": REVALIDATE})
    index = root / "index.html"
    if not index.is_file():
        return HTMLResponse(NOT_BUILT_PAGE, status_code=503, headers={"Cache-Control": REVALIDATE})
    return FileResponse(index, headers={"Cache-Control": REVALIDATE})


def mount_web(app: FastAPI, settings: Settings) -> None:
    """Add the catch-all route of the web apps. Call it after every API router, so they match first."""
    dirs = web_dirs(settings)

    async def web(request: Request, path: str = "") -> Response:
        if path == "api" or path.startswith("api/"):
            raise NotFound(f"no API route {request.url.path}")
        if path == H5_PREFIX or path.startswith(H5_PREFIX + "/"):
            return serve_app(dirs.h5, path[len(H5_PREFIX) + 1 :])
        return serve_app(dirs.console, path)

    app.add_api_route("/{path:path}", web, methods=["GET", "HEAD"], include_in_schema=False)
