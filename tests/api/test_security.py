"""Keys and scopes, anonymous loopback reads, rate limits, body limits, CORS."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fastapi.testclient import TestClient

from api.app import create_app
from api.limits import Limit, SQLiteLimitStore
from api.security import hash_key, load_key_hashes
from rag.config import ApiSettings
from rag.errors import ConfigError
from rag.factory import Components
from tests.helpers.chroma import embedded_only
from tests.helpers.keys import ADMIN, READ, keyed


def open_client(components: Components, host: str = "127.0.0.1", keys: bool = True, **api: object) -> TestClient:
    settings = keyed(components.settings, **api) if keys else components.settings.model_copy(
        update={"api": ApiSettings(**api)})  # type: ignore[arg-type]
    # A server without keys answers only requests addressed to a loopback name (not TestClient's "testserver").
    return TestClient(create_app(settings, components=components), client=(host, 40000),
                      base_url="http://127.0.0.1:8000", raise_server_exceptions=False)


def test_keys_and_scopes(answer_corpus: Components) -> None:
    with open_client(answer_corpus) as client:
        assert client.get("/v1/search", params={"q": "exosome"}).status_code == 401
        bad = client.get("/v1/search", params={"q": "exosome"}, headers={"Authorization": "Bearer nope"})
        assert bad.status_code == 401 and bad.headers["WWW-Authenticate"] == "Bearer"
        assert client.get("/v1/search", params={"q": "exosome"}, headers=READ).status_code == 200
        assert client.get("/v1/search", params={"q": "exosome"}, headers=ADMIN).status_code == 200
        upload = {"file": ("a.md", b"---\nid: a1\nkind: study\ntitle: A\n---\nText here.\n")}
        assert client.post("/v1/documents", files=upload, headers=READ).status_code == 403
        assert client.delete("/v1/documents/fda", headers=READ).status_code == 403
        assert client.get("/metrics").status_code == 401 and client.get("/healthz").status_code == 200


def test_without_keys_only_loopback_reads(answer_corpus: Components) -> None:
    with open_client(answer_corpus, keys=False) as local:
        assert local.get("/v1/search", params={"q": "exosome"}).status_code == 200
        assert local.delete("/v1/documents/fda").status_code == 403, "no admin without a key"
    with open_client(answer_corpus, host="203.0.113.7", keys=False) as remote:
        assert remote.get("/v1/search", params={"q": "exosome"}).status_code == 401


def test_rate_limit_answers_429_with_retry_after(answer_corpus: Components) -> None:
    with open_client(answer_corpus, rate_limit_per_minute=6, rate_limit_burst=2) as client:
        statuses = [client.get("/v1/search", params={"q": "exosome"}, headers=READ).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        limited = client.get("/v1/search", params={"q": "exosome"}, headers=READ)
        assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
        assert client.get("/v1/search", params={"q": "exosome"}, headers=ADMIN).status_code == 200, "per key"


def test_body_limit_413(answer_corpus: Components) -> None:
    with open_client(answer_corpus, max_body_mb=0.001) as client:
        big = client.post("/v1/documents", files={"file": ("big.md", b"x" * 5000)}, headers=ADMIN)
        assert big.status_code == 413 and "limit" in big.json()["error"]["message"]
        assert client.post("/v1/answers", json={"question": "ok?"}, headers=READ).status_code == 200


def test_cors_only_for_configured_origins(answer_corpus: Components) -> None:
    with open_client(answer_corpus, cors_origins=("https://app.example",)) as client:
        allowed = client.options("/v1/answers", headers={"Origin": "https://app.example",
                                                         "Access-Control-Request-Method": "POST"})
        assert allowed.headers.get("access-control-allow-origin") == "https://app.example"
        other = client.options("/v1/answers", headers={"Origin": "https://evil.example",
                                                       "Access-Control-Request-Method": "POST"})
        assert "access-control-allow-origin" not in other.headers


@embedded_only
def test_key_configuration_errors(tmp_path: object, answer_corpus: Components) -> None:
    import pytest

    settings = answer_corpus.settings.model_copy(update={"api_key_hashes": "abc:read"})
    with pytest.raises(ConfigError, match="sha256hex"):
        load_key_hashes(settings)
    assert load_key_hashes(answer_corpus.settings.model_copy(
        update={"api_key_hashes": f"{hash_key('k')}:admin"})) == {hash_key("k"): "admin"}


def test_rate_limit_tables_stay_bounded(tmp_path: Path) -> None:
    store = SQLiteLimitStore(tmp_path / "limits.sqlite3")
    limit, now = Limit("auth_failures", per_minute=60, burst=1), 1_000_000_000
    for n in range(1000):  # a thousand addresses, each failing once
        decision = asyncio.run(store.check(f"address:10.0.{n // 256}.{n % 256}", limit.rates, lambda: now))
        assert decision.allowed
    assert store.buckets.rows() == 1000
    assert not asyncio.run(store.check("address:10.0.3.231", limit.rates, lambda: now + 10)).allowed, "still limited"
    assert store.buckets.purge(now + 500) == 0, "nothing has refilled after half a second"
    assert store.buckets.purge(now + 1100) == 1000, "every bucket refilled a second later: forgotten"
    assert store.buckets.rows() == 0
