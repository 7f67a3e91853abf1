"""The VectorStore contract: what every vector store does, whatever holds the vectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag.store.protocols import MetadataValue, VectorStore
from rag.testing.fakes import HashEmbedder

TEXTS = {
    "a#0": "platelet rich plasma with microneedling for acne scars",
    "b#0": "exosome gel after fractional laser",
    "c#0": "blood pressure screening in adults",
    "c#1": "home blood pressure monitoring",
}
METADATA: dict[str, dict[str, MetadataValue]] = {
    "a#0": {"doc_id": "a", "kind": "study", "year": 2016, "study_design": "rct"},
    "b#0": {"doc_id": "b", "kind": "study", "year": 2020},
    "c#0": {"doc_id": "c", "kind": "guideline", "year": 2021},
    "c#1": {"doc_id": "c", "kind": "guideline", "year": 2021},
}


class VectorStoreContract:
    """Implement :meth:`make_store`; every store it makes must start empty."""

    embedder = HashEmbedder()

    def make_store(self, tmp_path: Path) -> VectorStore:
        """A new, empty store (files, if any, under ``tmp_path``)."""
        raise NotImplementedError

    @pytest.fixture
    def store(self, tmp_path: Path) -> VectorStore:
        return self.make_store(tmp_path)

    @pytest.fixture
    def filled(self, store: VectorStore) -> VectorStore:
        ids = list(TEXTS)
        store.upsert(ids, self.embedder.embed_documents(list(TEXTS.values())), list(TEXTS.values()),
                     [METADATA[i] for i in ids])
        return store

    def nearest(self, store: VectorStore, text: str, k: int = 10, **where: object) -> list[str]:
        return [chunk_id for chunk_id, _ in store.query(self.embedder.embed_query(text), k, where or None)]

    def test_it_is_a_vector_store(self, store: VectorStore) -> None:
        assert isinstance(store, VectorStore)

    def test_an_empty_store_holds_nothing(self, store: VectorStore) -> None:
        assert store.count() == 0 and store.all_ids() == set()
        assert store.query(self.embedder.embed_query("anything"), 3) == []
        assert store.ids_for_documents(["a"]) == set() and store.get_vectors(["a#0"]) == {}

    def test_upserted_chunks_are_counted_and_found_by_document(self, filled: VectorStore) -> None:
        assert filled.count() == 4 and filled.all_ids() == set(TEXTS)
        assert filled.ids_for_documents(["c"]) == {"c#0", "c#1"}
        assert filled.ids_for_documents(["a", "missing"]) == {"a#0"} and filled.ids_for_documents([]) == set()

    def test_query_gives_the_nearest_first_with_their_cosine(self, filled: VectorStore) -> None:
        found = filled.query(self.embedder.embed_query(TEXTS["b#0"]), 3)
        assert len(found) == 3 and found[0][0] == "b#0" and found[0][1] == pytest.approx(1.0, abs=1e-4)
        scores = [score for _, score in found]
        assert scores == sorted(scores, reverse=True) and all(-1.0001 <= s <= 1.0001 for s in scores)
        assert all(isinstance(chunk_id, str) and isinstance(score, float) for chunk_id, score in found)
        assert self.nearest(filled, "home blood pressure monitoring", k=2) == ["c#1", "c#0"]

    def test_query_gives_at_most_k_and_none_for_zero(self, filled: VectorStore) -> None:
        assert set(self.nearest(filled, "acne", k=10)) == set(TEXTS)
        assert self.nearest(filled, "acne", k=1) == ["a#0"]
        assert filled.query(self.embedder.embed_query("acne"), 0) == []

    def test_where_filters_by_metadata(self, filled: VectorStore) -> None:
        assert set(self.nearest(filled, "blood pressure", kind="guideline")) == {"c#0", "c#1"}
        assert set(self.nearest(filled, "blood pressure", doc_id={"$in": ["a", "b"]})) == {"a#0", "b#0"}
        assert set(self.nearest(filled, "acne", year={"$gte": 2020})) == {"b#0", "c#0", "c#1"}
        assert set(self.nearest(filled, "acne", year={"$lte": 2016})) == {"a#0"}
        assert self.nearest(filled, "acne", study_design={"$in": ["rct"]}) == ["a#0"]
        both = {"$and": [{"kind": {"$in": ["study"]}}, {"year": {"$gte": 2017}}]}
        assert [i for i, _ in filled.query(self.embedder.embed_query("acne"), 5, both)] == ["b#0"]
        assert self.nearest(filled, "acne", kind="nothing-is-this-kind") == []

    def test_upsert_replaces_the_vector_and_metadata_of_an_id(self, filled: VectorStore) -> None:
        text = "influenza vaccination of older adults"
        filled.upsert(["a#0"], self.embedder.embed_documents([text]), [text], [{"doc_id": "z", "kind": "guideline"}])
        assert filled.count() == 4
        assert self.nearest(filled, text, k=1) == ["a#0"]
        assert filled.ids_for_documents(["a"]) == set() and filled.ids_for_documents(["z"]) == {"a#0"}
        assert self.nearest(filled, "acne", study_design={"$in": ["rct"]}) == []

    def test_get_vectors_returns_what_was_stored(self, filled: VectorStore) -> None:
        found = filled.get_vectors(["b#0", "missing", "c#1"])
        assert set(found) == {"b#0", "c#1"} and filled.get_vectors([]) == {}
        expected = self.embedder.embed_documents([TEXTS["b#0"]])[0]
        assert np.asarray(found["b#0"]).shape == expected.shape
        assert np.allclose(found["b#0"], expected, atol=1e-6)

    def test_delete_removes_ids_and_ignores_unknown_ones(self, filled: VectorStore) -> None:
        filled.delete(["a#0", "missing"])
        filled.delete([])
        assert filled.all_ids() == {"b#0", "c#0", "c#1"} and filled.count() == 3
        assert filled.ids_for_documents(["a"]) == set() and "a#0" not in self.nearest(filled, TEXTS["a#0"])

    def test_a_misaligned_upsert_is_refused_whole(self, filled: VectorStore) -> None:
        vectors = self.embedder.embed_documents(["one", "two"])
        with pytest.raises(ValueError):
            filled.upsert(["x#0", "y#0"], vectors, ["one"], [{"doc_id": "x"}, {"doc_id": "y"}])
        with pytest.raises(ValueError):
            filled.upsert(["x#0"], vectors, ["one"], [{"doc_id": "x"}])
        assert filled.count() == 4 and filled.ids_for_documents(["x", "y"]) == set()

    def test_an_empty_upsert_changes_nothing(self, filled: VectorStore) -> None:
        filled.upsert([], self.embedder.embed_documents([]), [], [])
        assert filled.count() == 4
