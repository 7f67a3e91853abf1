from __future__ import annotations

import math

import pytest

from evals.metrics.retrieval import ndcg_at, recall_at, reciprocal_rank, score_runs


def test_hand_computed_values() -> None:
    ranked = ["x", "a", "y", "b"]
    gold = {"a", "b", "c"}
    assert recall_at(ranked, gold, 2) == pytest.approx(1 / 3)
    assert recall_at(ranked, gold, 10) == pytest.approx(2 / 3)
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    ideal = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert ndcg_at(ranked, gold, 10) == pytest.approx(dcg / ideal)
    assert reciprocal_rank(ranked, gold) == 0.5 and reciprocal_rank(["z"], gold) == 0.0


def test_perfect_and_duplicate_rankings() -> None:
    assert ndcg_at(["a", "b"], {"a", "b"}, 10) == pytest.approx(1.0)
    assert ndcg_at(["a", "a", "b"], {"a", "b"}, 10) < 1.0, "a repeated document gains nothing the second time"


def test_score_runs_means_and_validation() -> None:
    scores = score_runs([["a"], ["x", "b"]], [{"a"}, {"b"}])
    assert scores.mrr == pytest.approx(0.75) and scores.recall10 == 1.0 and scores.queries == 2
    with pytest.raises(ValueError):
        score_runs([["a"]], [set()])
    with pytest.raises(ValueError):
        score_runs([], [])
