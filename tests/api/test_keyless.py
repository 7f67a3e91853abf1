"""A server without API keys (as `rag serve` runs by default) through a live uvicorn on 127.0.0.1: it answers only
requests addressed to a loopback name (DNS rebinding gives a page another name for 127.0.0.1), that come through no
proxy and from no other site's page; a keyed server, meant to be proxied, accepts them."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from api.app import create_app
from rag.factory import Components
from tests.helpers import local_http
from tests.helpers.keys import READ, keyed
from tests.helpers.live_server import live_server

QUESTION = {"question": "Is any exosome product approved by the FDA?"}


@pytest.fixture
def keyless(answer_corpus: Components) -> Iterator[str]:
    with live_server(create_app(answer_corpus.settings, components=answer_corpus)) as base:
        yield base


def test_a_keyless_server_refuses_a_foreign_host(keyless: str) -> None:
    port = urlsplit(keyless).port
    for host in ("evil.example", f"evil.example:{port}", "127.0.0.1.nip.io", "10.0.0.5", "localhost.evil.example"):
        for method, path, body in (("GET", "/v1/search?q=exosome", None), ("POST", "/v1/answers", QUESTION),
                                   ("GET", "/", None), ("GET", "/healthz", None)):
            response = local_http.request(method, f"{keyless}{path}", json=body, headers={"Host": host}, timeout=30)
            assert response.status_code == 403, (host, path, response.text)
            assert "localhost" in response.json()["error"]["message"]
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", "localhost", f"[::1]:{port}", "127.0.0.2"):
        assert local_http.get(f"{keyless}/v1/search?q=exosome", headers={"Host": host}, timeout=30).status_code == 200


def test_a_keyless_server_refuses_proxied_requests_and_other_sites_pages(keyless: str) -> None:
    for header in ({"X-Forwarded-For": "203.0.113.9"}, {"Forwarded": "for=203.0.113.9"}, {"Via": "1.1 proxy"},
                   {"X-Real-IP": "203.0.113.9"}, {"X-Forwarded-Host": "rag.example"}):
        response = local_http.post(f"{keyless}/v1/answers", json=QUESTION, headers=header, timeout=30)
        assert response.status_code == 403 and "proxy" in response.json()["error"]["message"], header
    foreign = local_http.post(f"{keyless}/v1/answers", json=QUESTION, headers={"Origin": "https://evil.example"},
                         timeout=30)
    assert foreign.status_code == 403
    own = local_http.post(f"{keyless}/v1/answers", json=QUESTION, headers={"Origin": keyless}, timeout=60)
    assert own.status_code == 200, "the page served at / is the same origin"


def test_a_keyed_server_serves_any_host_behind_a_proxy(answer_corpus: Components) -> None:
    with live_server(create_app(keyed(answer_corpus.settings), components=answer_corpus)) as base:
        response = local_http.get(f"{base}/v1/search?q=exosome", timeout=30, headers={
            **READ, "Host": "rag.example.org", "X-Forwarded-For": "203.0.113.9", "Via": "1.1 proxy"})
        assert response.status_code == 200
        assert local_http.get(f"{base}/v1/search?q=exosome", headers={"Host": "rag.example.org"},
                         timeout=30).status_code == 401
