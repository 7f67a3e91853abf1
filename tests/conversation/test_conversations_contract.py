"""The Conversations contract against every store: SQLite in the data dir, Chroma (embedded and a server), and the
in-memory fake."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from chromadb.api import ClientAPI

from rag.conversation import ChromaConversationStore, Conversations, ConversationStore
from rag.store.chroma import open_client
from rag.testing import InMemoryConversations
from rag.testing.contracts import ConversationsContract


class TestSqlite(ConversationsContract):
    def make_conversations(self, tmp_path: Path, retention_days: float,
                           clock: Callable[[], float]) -> Conversations:
        return ConversationStore(tmp_path / "conversations.sqlite3", retention_days, clock)


class TestInMemory(ConversationsContract):
    def make_conversations(self, tmp_path: Path, retention_days: float,
                           clock: Callable[[], float]) -> Conversations:
        return InMemoryConversations(retention_days, clock)


class ChromaStores(ConversationsContract):
    """Stores on one Chroma client per class, each in its own collection."""

    @staticmethod
    def open(folder: Path, request: pytest.FixtureRequest) -> ClientAPI:
        raise NotImplementedError

    @pytest.fixture(scope="class")
    def client(self, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[ClientAPI]:
        client = self.open(tmp_path_factory.mktemp("chroma"), request)
        yield client
        client.close()  # type: ignore[attr-defined]

    @pytest.fixture(autouse=True)
    def use_client(self, client: ClientAPI) -> None:
        self.client = client

    def make_conversations(self, tmp_path: Path, retention_days: float,
                           clock: Callable[[], float]) -> Conversations:
        collection = f"contract-{uuid.uuid4().hex}"  # every store starts empty
        return ChromaConversationStore(self.client, collection, retention_days, clock)


class TestChromaEmbedded(ChromaStores):
    @staticmethod
    def open(folder: Path, request: pytest.FixtureRequest) -> ClientAPI:
        return open_client(folder, None)


class TestChromaServer(ChromaStores):
    @staticmethod
    def open(folder: Path, request: pytest.FixtureRequest) -> ClientAPI:
        return open_client(folder, request.getfixturevalue("chroma_url"))
