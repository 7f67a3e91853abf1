"""The storage seams: a vector store (Chroma embedded or HTTP; an in-memory fake) and a lexical index."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

from rag.embedding.protocol import Vectors
from rag.filters import Filters

MetadataValue = str | int | float | bool
Where = Mapping[str, object]


@runtime_checkable
class VectorStore(Protocol):
    """Chunk vectors with a little metadata, addressed by chunk id."""

    def upsert(
        self,
        ids: Sequence[str],
        vectors: Vectors,
        texts: Sequence[str],
        metadatas: Sequence[Mapping[str, MetadataValue]],
    ) -> None:
        """Add or replace the vectors of these chunk ids (one row of ``vectors`` each), with texts and metadata.
        Arguments of different lengths are a ValueError, and nothing is stored."""
        ...

    def delete(self, ids: Sequence[str]) -> None:
        """Delete these chunk ids; ids not stored are ignored."""
        ...

    def ids_for_documents(self, doc_ids: Sequence[str]) -> set[str]:
        """Every stored chunk id whose ``doc_id`` metadata is one of ``doc_ids``."""
        ...

    def all_ids(self) -> set[str]:
        """Every stored chunk id."""
        ...

    def get_vectors(self, ids: Sequence[str]) -> dict[str, Vectors]:
        """The stored vectors of these chunk ids (ids not stored are left out)."""
        ...

    def count(self) -> int:
        """Number of stored vectors."""
        ...

    def query(self, vector: Vectors, k: int, where: Where | None = None) -> list[tuple[str, float]]:
        """``(chunk id, cosine similarity)`` of the ``k`` nearest chunks that match ``where`` (Chroma's filter
        language: equality, ``$in``, ``$gte``, ``$lte``, ``$and``), best first; none for ``k`` 0."""
        ...


@runtime_checkable
class LexicalIndex(Protocol):
    """Keyword (BM25) search over chunk texts."""

    def search(self, query: str, k: int, filters: Filters | None = None) -> list[tuple[str, float]]:
        """``(chunk id, BM25 score)`` of the best ``k`` chunks that hold any of the query's words and pass
        ``filters``, best first; higher is better. The query is words, never syntax: quotes, operators and
        punctuation in it are not interpreted."""
        ...

    def term_weights(self, terms: Sequence[str]) -> dict[str, float]:
        """Inverse document frequency of each word in the indexed chunks (rarer words weigh more)."""
        ...

    def count(self) -> int:
        """Number of indexed chunks."""
        ...


def check_aligned(ids: Sequence[str], vectors: Vectors, texts: Sequence[str],
                  metadatas: Sequence[Mapping[str, MetadataValue]]) -> None:
    """Refuse, before anything is written, an upsert whose arguments differ in length (a ValueError)."""
    if not len(ids) == len(vectors) == len(texts) == len(metadatas):
        raise ValueError(f"upsert of {len(ids)} ids with {len(vectors)} vectors, {len(texts)} texts and "
                         f"{len(metadatas)} metadata records")
