"""The page is served by the app at / without a key, from files shipped in the package, with nothing external."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from api.app import create_app
from api.routes.web import STATIC_DIR
from rag.factory import Components
from tests.helpers.keys import keyed

ASSETS = ["index.html", "app.css", "app.js", "api.js", "dom.js", "markdown.js", "popover.js", "render.js"]


def test_the_page_needs_no_key_and_forbids_outside_content(starter_index: Components) -> None:
    app = create_app(keyed(starter_index.settings), components=starter_index)  # API keys configured
    client = TestClient(app, client=("127.0.0.1", 40000))
    page = client.get("/")  # public, unlike the API
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy and "connect-src 'self'" in policy
    assert client.post("/v1/answers", json={"question": "PRP?"}).status_code == 401
    for name in ASSETS[1:]:
        asset = client.get(f"/static/{name}")
        assert asset.status_code == 200 and asset.headers["x-content-type-options"] == "nosniff", name
    assert client.get("/static/%2e%2e/routes/web.py").status_code == 404  # nothing outside api/static
    assert "/" not in client.get("/openapi.json").json()["paths"]


def test_assets_ship_with_the_package_and_load_nothing_from_outside() -> None:
    assert sorted(p.name for p in STATIC_DIR.iterdir()) == sorted(ASSETS)
    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    assert 'api = ["static/*.html", "static/*.js", "static/*.css"]' in pyproject
    for name in ASSETS:
        text = (STATIC_DIR / name).read_text()
        assert not re.search(r"""(src|href)=["']?(https?:)?//|@import|url\(\s*["']?(https?:)?//""", text), name
        assert "innerHTML" not in text and "insertAdjacentHTML" not in text and "document.write" not in text, name
