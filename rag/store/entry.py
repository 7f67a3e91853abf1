"""What the stores keep of one document: the document, where it came from, its fingerprint and its chunks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from rag.embedding.protocol import Vectors
from rag.models import Chunk, Document


@dataclass(frozen=True)
class IndexEntry:
    """A document ready to store: its chunks, and vectors for the chunks the vector store does not hold yet (none
    when only the catalog is written, as a replica does)."""

    document: Document
    source_file: str
    fingerprint: str
    chunks: Sequence[Chunk]
    new_vectors: dict[str, Vectors] = field(default_factory=dict)
