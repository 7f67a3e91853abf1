"""The optional reranker seam: a cross-encoder from a local model folder re-scores the best fused candidates.

No reranker weights ship with the project (none is on PyPI), so reranking is off unless
``RAG_RETRIEVAL__RERANKER_PATH`` names a local sentence-transformers CrossEncoder folder (e.g. a MedCPT or
ms-marco cross-encoder copied onto the machine).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from rag.errors import ConfigError, ProviderError

if TYPE_CHECKING:
    from sentence_transformers import CrossEncoder


@runtime_checkable
class Reranker(Protocol):
    """Scores (query, passage) pairs; higher is more relevant."""

    @property
    def name(self) -> str:
        """Identifies the reranking model."""
        ...

    def score(self, query: str, passages: Sequence[str]) -> list[float]:
        """One score per passage for ``query``, in the passages' order; higher is more relevant."""
        ...


class CrossEncoderReranker:
    """A sentence-transformers CrossEncoder loaded from a local folder on first use; never downloads."""

    def __init__(self, path: Path, *, device: str = "cpu", batch_size: int = 32) -> None:
        if not (path / "config.json").is_file():
            raise ConfigError(f"retrieval.reranker_path {path} is not a local cross-encoder model folder")
        self._path = path
        self._device = device
        self._batch_size = batch_size
        self._lock = threading.Lock()
        self._model: CrossEncoder | None = None

    @property
    def name(self) -> str:
        """The model folder's name."""
        return self._path.name

    def score(self, query: str, passages: Sequence[str]) -> list[float]:
        """Cross-encoder scores in the passages' order; the model loads on first use, a failure is a
        :class:`ProviderError`."""
        if not passages:
            return []
        model = self._load()
        try:
            scores = model.predict([(query, p) for p in passages], batch_size=self._batch_size,
                                   show_progress_bar=False)
        except (RuntimeError, ValueError) as exc:
            raise ProviderError(f"the reranker failed: {exc}") from exc
        return [float(s) for s in scores]

    def _load(self) -> CrossEncoder:
        with self._lock:
            if self._model is None:
                from sentence_transformers import CrossEncoder

                self._model = CrossEncoder(str(self._path), device=self._device, local_files_only=True)
            return self._model
