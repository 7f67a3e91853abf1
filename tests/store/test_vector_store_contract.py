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
