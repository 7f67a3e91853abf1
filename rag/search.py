"""Dense search over the index: embed the query, ask the vector store, keep hits the catalog has committed."""

from __future__ import annotations

import logging

from rag.config import RetrievalSettings
from rag.embedding.protocol import Embedder
from rag.errors import UserError, VectorIndexNotReady
from rag.models import Hit, Kind
from rag.store.catalog import StoredChunk
from rag.store.index import Index

logger = logging.getLogger(__name__)

_OVERFETCH = 2  # chunks in the vector store but not (yet) committed are skipped, so ask for a few more


def validate_query(query: str, k: int, settings: RetrievalSettings) -> str:
    """The stripped query; an empty or over-long query, or k outside 1..max_k, is a clear error."""
    stripped = query.strip()
    if not stripped:
        raise UserError("the query is empty")
    if len(stripped) > settings.max_query_chars:
        raise UserError(f"the query is {len(stripped)} characters long; the limit is {settings.max_query_chars} "
                        "(RAG_RETRIEVAL__MAX_QUERY_CHARS)")
    if not 1 <= k <= settings.max_k:
        raise UserError(f"k must be between 1 and {settings.max_k}, got {k}")
    return stripped


class DenseSearcher:
    """Nearest chunks by embedding similarity, optionally of one kind."""

    def __init__(self, index: Index, embedder: Embedder, settings: RetrievalSettings) -> None:
        self._index = index
        self._embedder = embedder
        self._settings = settings

    def search(self, query: str, k: int | None = None, kind: Kind | None = None) -> list[Hit]:
        k = self._settings.default_k if k is None else k
        query = validate_query(query, k, self._settings)
        vector = self._embedder.embed_query(query)
        where = {"kind": kind} if kind else None
        try:
            scored = self._index.vectors.query(vector, k * _OVERFETCH + 5, where)
        except VectorIndexNotReady:
            # Another process is writing the very first vectors; Chroma has not put them on disk yet. The catalog's
            # BM25 table is already committed, so answer from it rather than fail.
            logger.warning("vector index not readable yet; answering from the lexical index")
            scored = self._index.lexical.search(query, k * _OVERFETCH + 5, [kind] if kind else None)
        chunks = self._index.catalog.chunks([chunk_id for chunk_id, _ in scored])
        hits = [to_hit(chunks[chunk_id], score) for chunk_id, score in scored if chunk_id in chunks]
        return hits[:k]


def to_hit(chunk: StoredChunk, score: float) -> Hit:
    meta = chunk.meta
    return Hit(
        doc_id=chunk.doc_id, chunk_id=chunk.id, kind=meta.kind, title=meta.title, score=round(score, 6),
        text=chunk.text, section=chunk.section, span=(chunk.start, chunk.end), year=meta.year,
        source=meta.source_name, study_design=meta.study_design, evidence_level=meta.evidence_level,
        pmid=meta.pmid, doi=meta.doi, url=meta.url,
    )
