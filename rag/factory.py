"""Explicit construction of the components from settings (no globals): the one place backends are chosen."""

from __future__ import annotations

from rag.config import Settings
from rag.embedding import Embedder, make_embedder
from rag.ingest import Ingestor
from rag.search import DenseSearcher
from rag.store.chroma import RagEmbeddingFunction
from rag.store.index import Index, open_index


class Components:
    """The embedder and index for one process, opened once and shared by the commands that need them."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.embedder = embedder or make_embedder(settings)
        self.index: Index = open_index(settings, RagEmbeddingFunction(embedder=self.embedder))
        self.index.check_embedder(self.embedder)

    def ingestor(self) -> Ingestor:
        return Ingestor(self.settings, self.index, self.embedder)

    def searcher(self) -> DenseSearcher:
        return DenseSearcher(self.index, self.embedder, self.settings.retrieval)

    def close(self) -> None:
        self.index.close()
