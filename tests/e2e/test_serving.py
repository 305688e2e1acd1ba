"""How the API serves the built web apps (needs `make web`, like the other tests here)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from huiliu.app import create_app
from tests.e2e.server import Server, make_settings

pytestmark = pytest.mark.e2e


def test_console_routes_fall_back_to_the_app_and_assets_are_cached_for_good(e2e_server: Server) -> None:
    with httpx.Client(base_url=e2e_server.url) as http:
        root = http.get("/")
        deep = http.get("/tickets/0193a0b4-6c1e-7d42-9a51-4f0c8e2b7a10")
        assert root.status_code == deep.status_code == 200
        assert root.text == deep.text and '<div id="app">' in root.text
        assert root.headers["cache-control"] == "no-cache"
        asset = re.search(r'src="(/assets/[^"]+\.js)"', root.text)
        assert asset is not None
        loaded = http.get(asset.group(1))
        assert loaded.status_code == 200
        assert loaded.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert http.get("/assets/missing-0000.js").status_code == 404
        assert http.get("/../../pyproject.toml").status_code == 404


def test_h5_has_its_own_app_and_api_paths_never_get_a_page(e2e_server: Server) -> None:
    with httpx.Client(base_url=e2e_server.url) as http:
        h5 = http.get("/h5/anything/here")
        assert h5.status_code == 200
        assert "/h5/assets/" in h5.text
        assert h5.text != http.get("/").text
        missing = http.get("/api/v1/no-such-route")
        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("application/problem+json")
        assert http.get("/api/v1/health").json() == {"status": "ok"}


def test_a_progress_link_opened_directly_is_the_h5_page(e2e_server: Server) -> None:
    """The signed token has dots (``v1.<payload>.<tag>``): it is a route parameter, not a file name."""
    with httpx.Client(base_url=e2e_server.url) as http:
        page = http.get("/h5/p/v1.AaItW8CRc0KC9bdjiHfJUwGiLVvDGnvxufOciMt5zso.eLspaS-XuI7ikyZKYNUmPg")
        assert page.status_code == 200
        assert "/h5/assets/" in page.text
        assert http.get("/h5/assets/missing-0000.js").status_code == 404
        assert http.get("/h5/manifest.webmanifest").status_code == 404


def test_without_a_build_the_api_works_and_the_root_says_how_to_build(tmp_path: Path) -> None:
    settings = make_settings(tmp_path).model_copy(update={"web_dist_dir": tmp_path / "empty"})
    # No lifespan: neither route needs the runtime. TestClient runs the app on its own thread, clear of
    # the event loop Playwright keeps on this one.
    http = TestClient(create_app(settings))
    page = http.get("/queues/mine")
    assert page.status_code == 503
    assert "make web" in page.text
    assert http.get("/api/v1/health").json() == {"status": "ok"}
