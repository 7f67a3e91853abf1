"""Embedding models behind the :class:`Embedder` seam, and the factory that picks one from settings."""

from __future__ import annotations

from rag.config import Settings
from rag.embedding.protocol import Embedder, Vectors
from rag.embedding.sentence_transformer import SentenceTransformerEmbedder

__all__ = ["Embedder", "SentenceTransformerEmbedder", "Vectors", "make_embedder"]


def make_embedder(settings: Settings) -> Embedder:
    """The sentence-transformers embedder named by settings (the packaged model unless a path is set)."""
    onnx_cache = settings.data_dir / "models" if settings.embedding.onnx_queries else None
    return SentenceTransformerEmbedder(
        settings.embedding.model_path, device=settings.embedding.device, batch_size=settings.ingest.embed_batch_size,
        onnx_cache=onnx_cache,
    )
