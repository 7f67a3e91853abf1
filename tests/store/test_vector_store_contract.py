"""The VectorStore contract against every store: the in-memory fake, embedded Chroma and a Chroma server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from chromadb.api import ClientAPI

from rag.store.chroma import ChromaVectorStore, RagEmbeddingFunction, open_client
from rag.store.protocols import VectorStore
from rag.testing import HashEmbedder, InMemoryVectorStore
from rag.testing.contracts import VectorStoreContract


class TestInMemory(VectorStoreContract):
    def make_store(self, tmp_path: Path) -> VectorStore:
        return InMemoryVectorStore()


class ChromaStores(VectorStoreContract):
    """Collections of one Chroma client per class, each store in its own."""

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

    def make_store(self, tmp_path: Path) -> VectorStore:
        collection = f"contract-{uuid.uuid4().hex}"  # every store starts empty
        return ChromaVectorStore(self.client, collection, RagEmbeddingFunction(embedder=HashEmbedder()))


class TestChromaEmbedded(ChromaStores):
    @staticmethod
    def open(folder: Path, request: pytest.FixtureRequest) -> ClientAPI:
        return open_client(folder, None)


class TestChromaServer(ChromaStores):
    @staticmethod
    def open(folder: Path, request: pytest.FixtureRequest) -> ClientAPI:
        return open_client(folder, request.getfixturevalue("chroma_url"))
