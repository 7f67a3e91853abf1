"""One Chroma client per test class, embedded or on the session's Chroma server, for contract tests that open a
fresh collection per test; ``embedded_only`` for tests that never reach the store."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

import pytest
from chromadb.api import ClientAPI

from rag.store.chroma import open_client

embedded_only = pytest.mark.parametrize("store_mode", ["embedded"])
"""For a test built on ``settings`` (run in both store modes, tests/conftest.py) whose body never reaches the store
(its input is refused first, or it reads only the app's schema or settings): its server-mode run would repeat the
embedded one."""


class ChromaClientPerClass:
    """Mixin: ``self.client`` is a Chroma client shared by the class's tests; ``server`` picks a Chroma server (the
    ``chroma_url`` fixture) over an embedded one."""

    server: ClassVar[bool] = False
    client: ClientAPI

    @pytest.fixture(scope="class")
    def chroma_client(self, tmp_path_factory: pytest.TempPathFactory,
                      request: pytest.FixtureRequest) -> Iterator[ClientAPI]:
        url = request.getfixturevalue("chroma_url") if self.server else None
        client = open_client(tmp_path_factory.mktemp("chroma"), url)
        yield client
        client.close()  # type: ignore[attr-defined]

    @pytest.fixture(autouse=True)
    def use_client(self, chroma_client: ClientAPI) -> None:
        self.client = chroma_client
