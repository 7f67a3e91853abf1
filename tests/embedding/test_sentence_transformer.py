"""The packaged model through PyTorch and through the ONNX query encoder gives the same vectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag.embedding import SentenceTransformerEmbedder
from rag.embedding.sentence_transformer import packaged_model_path
from rag.errors import ConfigError

pytestmark = pytest.mark.slow

TEXTS = [
    "What is the comparative efficacy of PRP micro-needling versus exosome micro-needling?",
    "Screening for high blood pressure in adults aged 18 years or older (A recommendation).",
    "ECCA fell 32.5% vs 19.9% (p<0.01) on the exosome side.",
]


def test_onnx_queries_match_pytorch_and_the_export_is_cached(tmp_path: Path) -> None:
    reference = SentenceTransformerEmbedder()
    fast = SentenceTransformerEmbedder(onnx_cache=tmp_path / "models")
    expected = reference.embed_documents(TEXTS)
    for text, vector in zip(TEXTS, expected, strict=True):
        got = fast.embed_query(text)
        assert got.shape == (384,) and got.dtype == np.float32
        assert float(np.dot(got, vector)) > 0.99999 and abs(float(np.linalg.norm(got)) - 1) < 1e-5
    exported = list((tmp_path / "models").glob("*.onnx"))
    assert len(exported) == 1
    mtime = exported[0].stat().st_mtime
    again = SentenceTransformerEmbedder(onnx_cache=tmp_path / "models")
    assert float(np.dot(again.embed_query(TEXTS[0]), expected[0])) > 0.99999
    assert exported[0].stat().st_mtime == mtime, "a second embedder reuses the exported graph"


def test_embedder_metadata_and_token_counts() -> None:
    embedder = SentenceTransformerEmbedder()
    assert (embedder.name, embedder.dimension, embedder.max_tokens) == ("all-MiniLM-L6-v2", 384, 256)
    assert embedder.count_tokens(["", "platelet-rich plasma"]) == [0, 5]
    assert embedder.embed_documents([]).shape == (0, 384)


def test_a_folder_that_is_not_a_model_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a sentence-transformers model"):
        SentenceTransformerEmbedder(tmp_path)
    assert packaged_model_path().is_dir()
