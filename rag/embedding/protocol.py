"""The Embedder seam: turns chunk texts and queries into unit vectors, and counts word pieces for the chunker."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]


@runtime_checkable
class Embedder(Protocol):
    """Embeds passages and queries; ``name`` identifies the model so an index never mixes two models."""

    @property
    def name(self) -> str:
        """Identifies the model; recorded with an index so that one index never mixes two models."""
        ...

    @property
    def dimension(self) -> int:
        """Length of each vector."""
        ...

    @property
    def max_tokens(self) -> int:
        """Word pieces the model reads, special tokens included; the rest of a longer input is ignored."""
        ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Word pieces of each text, without the model's special tokens."""
        ...

    def embed_documents(self, texts: Sequence[str]) -> Vectors:
        """One L2-normalised row per text."""
        ...

    def embed_query(self, text: str) -> Vectors:
        """One L2-normalised vector (1-D)."""
        ...

    def encode_tokens(self, texts: Sequence[str]) -> list[tuple[Vectors, Vectors]]:
        """For each text, its vector and its L2-normalised contextual token vectors (for alignment scores)."""
        ...
