from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.security import hash_key
from rag.config import ApiSettings, Settings
from rag.factory import Components

READ_KEY = "rag_test_read_key"
ADMIN_KEY = "rag_test_admin_key"
READ = {"Authorization": f"Bearer {READ_KEY}"}
ADMIN = {"X-API-Key": ADMIN_KEY}


def keyed(settings: Settings, **api: object) -> Settings:
    hashes = f"{hash_key(READ_KEY)}:read,{hash_key(ADMIN_KEY)}:admin"
    return settings.model_copy(update={"api_key_hashes": hashes, "api": ApiSettings(**api)})  # type: ignore[arg-type]


@pytest.fixture
def client(answer_corpus: Components) -> Iterator[TestClient]:
    app = create_app(keyed(answer_corpus.settings), components=answer_corpus)
    with TestClient(app, client=("127.0.0.1", 40000), raise_server_exceptions=False) as test_client:
        yield test_client
