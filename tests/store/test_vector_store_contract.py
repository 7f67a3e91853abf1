"""One contract, every VectorStore backend: the in-memory fake and embedded Chroma."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from rag.store.chroma import ChromaVectorStore, RagEmbeddingFunction, open_client
from rag.store.protocols import VectorStore
from rag.testing import HashEmbedder, InMemoryVectorStore


@pytest.fixture(params=["memory", "chroma"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[VectorStore]:
    if request.param == "memory":
        yield InMemoryVectorStore()
    else:
        function = RagEmbeddingFunction(embedder=HashEmbedder())
        yield ChromaVectorStore(open_client(tmp_path, None), "contract_test", function)


def vectors(embedder: HashEmbedder, texts: list[str]) -> np.ndarray:
    return embedder.embed_documents(texts)


def test_upsert_query_delete(store: VectorStore) -> None:
    embedder = HashEmbedder()
    texts = ["platelet rich plasma scars", "exosome gel laser", "blood pressure screening"]
    ids = ["a#0", "b#0", "c#0"]
    metas = [{"doc_id": "a", "kind": "study"}, {"doc_id": "b", "kind": "study"}, {"doc_id": "c", "kind": "guideline"}]
    store.upsert(ids, vectors(embedder, texts), texts, metas)
    assert store.count() == 3 and store.all_ids() == set(ids)
    top = store.query(embedder.embed_query("exosome gel laser"), 2)
    assert top[0][0] == "b#0" and top[0][1] > top[1][1] and 0.99 < top[0][1] <= 1.0001
    assert [i for i, _ in store.query(embedder.embed_query("screening"), 5, {"kind": "guideline"})] == ["c#0"]
    assert store.ids_for_documents(["a", "c"]) == {"a#0", "c#0"}
    store.upsert(["a#0"], vectors(embedder, ["blood pressure"]), ["blood pressure"], [metas[0]])
    assert store.count() == 3
    assert store.query(embedder.embed_query("blood pressure"), 1)[0][0] in {"a#0", "c#0"}
    store.delete(["a#0", "missing"])
    assert store.all_ids() == {"b#0", "c#0"} and store.ids_for_documents(["a"]) == set()


def test_empty_store(store: VectorStore) -> None:
    assert store.count() == 0 and store.all_ids() == set()
    assert store.query(HashEmbedder().embed_query("anything"), 3) == []
