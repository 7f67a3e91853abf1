"""Explicit construction of the components from settings (no globals): the one place backends are chosen."""

from __future__ import annotations

from rag.config import Settings
from rag.embedding import Embedder, make_embedder
from rag.ingest import Ingestor
from rag.retrieve import Retriever
from rag.retrieve.rerank import CrossEncoderReranker, Reranker
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

    def retriever(self, reranker: Reranker | None = None) -> Retriever:
        """The hybrid retriever; the reranker is the configured cross-encoder unless one is passed in."""
        path = self.settings.retrieval.reranker_path
        if reranker is None and path is not None:
            reranker = CrossEncoderReranker(path, device=self.settings.embedding.device)
        return Retriever(self.index, self.embedder, self.settings.retrieval, reranker)

    def close(self) -> None:
        self.index.close()
