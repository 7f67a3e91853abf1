"""Ranked-retrieval metrics against gold document ids (binary relevance): recall@k, nDCG@k, MRR."""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass


def recall_at(ranked: Sequence[str], gold: Collection[str], k: int) -> float:
    """Share of the gold documents found in the first ``k`` results."""
    if not gold:
        raise ValueError("recall needs at least one gold document")
    return len(set(ranked[:k]) & set(gold)) / len(set(gold))


def ndcg_at(ranked: Sequence[str], gold: Collection[str], k: int) -> float:
    """Normalised discounted cumulative gain with binary gains; duplicates in ``ranked`` count once."""
    if not gold:
        raise ValueError("nDCG needs at least one gold document")
    seen: set[str] = set()
    dcg = 0.0
    for position, doc_id in enumerate(ranked[:k], start=1):
        if doc_id in gold and doc_id not in seen:
            dcg += 1.0 / math.log2(position + 1)
        seen.add(doc_id)
    ideal = sum(1.0 / math.log2(position + 1) for position in range(1, min(len(set(gold)), k) + 1))
    return dcg / ideal


def reciprocal_rank(ranked: Sequence[str], gold: Collection[str]) -> float:
    """1 / rank of the first gold document (0 when none is retrieved)."""
    for position, doc_id in enumerate(ranked, start=1):
        if doc_id in gold:
            return 1.0 / position
    return 0.0


@dataclass(frozen=True)
class RetrievalScores:
    """Means over queries."""

    ndcg10: float
    recall5: float
    recall10: float
    recall100: float
    mrr: float
    queries: int


def score_runs(runs: Sequence[Sequence[str]], golds: Sequence[Collection[str]]) -> RetrievalScores:
    """Mean metrics of ranked document lists against their gold sets (one pair per query)."""
    if len(runs) != len(golds) or not runs:
        raise ValueError("need one ranked list per gold set, and at least one query")
    n = len(runs)
    return RetrievalScores(
        ndcg10=sum(ndcg_at(r, g, 10) for r, g in zip(runs, golds, strict=True)) / n,
        recall5=sum(recall_at(r, g, 5) for r, g in zip(runs, golds, strict=True)) / n,
        recall10=sum(recall_at(r, g, 10) for r, g in zip(runs, golds, strict=True)) / n,
        recall100=sum(recall_at(r, g, 100) for r, g in zip(runs, golds, strict=True)) / n,
        mrr=sum(reciprocal_rank(r, g) for r, g in zip(runs, golds, strict=True)) / n,
        queries=n,
    )
