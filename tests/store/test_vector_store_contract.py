"""The VectorStore contract against every store: the in-memory fake, embedded Chroma and a Chroma server."""

from __future__ import annotations

import uuid
from pathlib import Path

from rag.store.chroma import ChromaVectorStore, RagEmbeddingFunction
from rag.store.protocols import VectorStore
from rag.testing import HashEmbedder, InMemoryVectorStore
from rag.testing.contracts import VectorStoreContract
from tests.helpers.chroma import ChromaClientPerClass


class TestInMemory(VectorStoreContract):
    def make_store(self, tmp_path: Path) -> VectorStore:
        return InMemoryVectorStore()


class ChromaStores(ChromaClientPerClass, VectorStoreContract):
    """Collections of one Chroma client per class, each store in its own."""

    def make_store(self, tmp_path: Path) -> VectorStore:
        collection = f"contract-{uuid.uuid4().hex}"  # every store starts empty
        return ChromaVectorStore(self.client, collection, RagEmbeddingFunction(embedder=HashEmbedder()))


class TestChromaEmbedded(ChromaStores):
    server = False


class TestChromaServer(ChromaStores):
    server = True


class SearchBreadth(ChromaClientPerClass):
    """Chroma's default search breadth (ef_search 100) returned a different set of the 160 nearest chunks in about
    half the processes, so the same question got different sources between runs: the store sets its own breadth on
    every collection it opens, new or old."""

    def test_the_collection_is_searched_with_the_configured_breadth(self) -> None:
        function = RagEmbeddingFunction(embedder=HashEmbedder())
        name = f"breadth-{uuid.uuid4().hex}"
        self.client.get_or_create_collection(name, embedding_function=function,  # type: ignore[arg-type]
                                             configuration={"hnsw": {"space": "cosine"}})  # as before: Chroma's 100
        assert self.client.get_collection(name).configuration["hnsw"]["ef_search"] == 100
        store = ChromaVectorStore(self.client, name, function, ef_search=400)
        store.upsert(["a"], [[1.0] + [0.0] * 383], ["a passage"], [{"kind": "study"}])
        assert self.client.get_collection(name).configuration["hnsw"]["ef_search"] == 400
        fresh = f"breadth-{uuid.uuid4().hex}"
        ChromaVectorStore(self.client, fresh, function, ef_search=250)
        assert self.client.get_collection(fresh).configuration["hnsw"]["ef_search"] == 250


class TestSearchBreadthEmbedded(SearchBreadth):
    server = False


class TestSearchBreadthServer(SearchBreadth):
    server = True

