from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from rag.factory import Components
from tests.helpers.keys import keyed


@pytest.fixture
def client(answer_corpus: Components) -> Iterator[TestClient]:
    app = create_app(keyed(answer_corpus.settings), components=answer_corpus)
    with TestClient(app, client=("127.0.0.1", 40000), raise_server_exceptions=False) as test_client:
        yield test_client
