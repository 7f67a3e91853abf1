from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rag.models import Hit
from rag.retrieve.fusion import reciprocal_rank_fusion
from rag.retrieve.ordering import _near_duplicates, break_ties, diversify


def test_rrf_sums_reciprocal_ranks_and_keeps_components() -> None:
    fused = reciprocal_rank_fusion([("a", 0.9), ("b", 0.8)], [("b", 12.0), ("c", 7.0)], rrf_k=60)
    assert [c.chunk_id for c in fused] == ["b", "a", "c"]
    b = fused[0]
    assert (b.dense_rank, b.dense_score, b.lexical_rank, b.lexical_score) == (2, 0.8, 1, 12.0)
    assert b.fused == pytest.approx(1 / 62 + 1 / 61)
    assert fused[1].lexical_rank is None and fused[2].dense_rank is None


def test_rrf_weights_and_deterministic_ties() -> None:
    fused = reciprocal_rank_fusion([("x", 1.0)], [("y", 1.0)], rrf_k=10, dense_weight=2.0, lexical_weight=1.0)
    assert [c.chunk_id for c in fused] == ["x", "y"]
    tied = reciprocal_rank_fusion([("b", 1.0)], [("a", 1.0)], rrf_k=10)
    assert [c.chunk_id for c in tied] == ["a", "b"]


def hit(doc: str, score: float, text: str = "", level: int | None = None, year: int | None = None) -> Hit:
    return Hit(doc_id=doc, chunk_id=f"{doc}#{score}", kind="study", title=doc, score=score,
               text=text or f"unique text for {doc} {score}", section="S", span=(0, 1), evidence_level=level,
               year=year)


def test_ties_prefer_stronger_evidence_then_recency_but_never_cross_score_gaps() -> None:
    hits = [hit("case", 1.0, level=4, year=2024), hit("rct-old", 0.995, level=2, year=2010),
            hit("rct-new", 0.99, level=2, year=2020), hit("meta", 0.5, level=1, year=2023)]
    ordered = break_ties(hits, tolerance=0.02, breakers=["evidence", "recency"])
    assert [h.doc_id for h in ordered] == ["rct-new", "rct-old", "case", "meta"]
    assert [h.doc_id for h in break_ties(hits, 0.02, ["recency"])] == ["case", "rct-new", "rct-old", "meta"]
    assert break_ties(hits, 0.0, ["evidence"]) == hits
    assert break_ties(hits, 0.02, []) == hits


def test_diversify_caps_documents_and_drops_near_duplicates() -> None:
    same = "platelet rich plasma improved acne scars more than saline in this split face trial"
    hits = [hit("a", 0.9), hit("a", 0.8), hit("a", 0.7), hit("b", 0.6, text=same), hit("c", 0.5, text=same + " too"),
            hit("d", 0.4)]
    kept = diversify(hits, k=10, max_per_doc=2, near_duplicate=0.8)
    assert [h.doc_id for h in kept] == ["a", "a", "b", "d"]
    assert [h.doc_id for h in diversify(hits, k=2, max_per_doc=1, near_duplicate=0.8)] == ["a", "b"]


def test_equal_scores_share_a_rank() -> None:
    fused = reciprocal_rank_fusion([("a", 0.9), ("b", 0.9), ("c", 0.5)], [], rrf_k=60)
    assert [(c.chunk_id, c.dense_rank) for c in fused] == [("a", 1), ("b", 1), ("c", 3)]
    assert fused[0].fused == fused[1].fused


@given(st.sets(st.integers(0, 30), max_size=25), st.sets(st.integers(0, 30), max_size=25),
       st.sampled_from([0.1, 0.5, 0.8, 0.9, 1.0, 1.01]))
def test_near_duplicate_shortcut_agrees_with_jaccard(a: set[int], b: set[int], threshold: float) -> None:
    """The size bound only skips work: the decision is Jaccard(a, b) >= threshold."""
    left, right = frozenset(a), frozenset(b)
    jaccard = len(a & b) / len(a | b) if a and b else 0.0
    assert _near_duplicates(left, right, threshold) == (jaccard >= threshold)
