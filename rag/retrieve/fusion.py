"""Reciprocal rank fusion of ranked candidate lists, keeping each component's rank and score."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass


@dataclass(slots=True)
class Candidate:
    """A chunk proposed by one or more retrievers."""

    chunk_id: str
    dense_rank: int | None = None
    dense_score: float | None = None
    lexical_rank: int | None = None
    lexical_score: float | None = None
    fused: float = 0.0


def reciprocal_rank_fusion(
    dense: Sequence[tuple[str, float]],
    lexical: Sequence[tuple[str, float]],
    *,
    rrf_k: float,
    dense_weight: float = 1.0,
    lexical_weight: float = 1.0,
) -> list[Candidate]:
    """``fused = sum(weight / (rrf_k + rank))`` over the lists a chunk appears in; best first, ties by chunk id.

    Equal scores within a list share a rank (competition ranking), so identical passages fuse to identical scores
    and the tie-breakers, not an arbitrary order, decide between them."""
    candidates: dict[str, Candidate] = {}
    for rank, chunk_id, score in _ranked(dense):
        candidate = candidates.get(chunk_id)
        if candidate is None:
            candidate = candidates[chunk_id] = Candidate(chunk_id)
        candidate.dense_rank, candidate.dense_score = rank, score
        candidate.fused += dense_weight / (rrf_k + rank)
    for rank, chunk_id, score in _ranked(lexical):
        candidate = candidates.get(chunk_id)
        if candidate is None:
            candidate = candidates[chunk_id] = Candidate(chunk_id)
        candidate.lexical_rank, candidate.lexical_score = rank, score
        candidate.fused += lexical_weight / (rrf_k + rank)
    return sorted(candidates.values(), key=lambda c: (-c.fused, c.chunk_id))


def _ranked(items: Sequence[tuple[str, float]]) -> Iterator[tuple[int, str, float]]:
    """``(rank, id, score)`` with 1-based competition ranks of a best-first list: an item tied with the one before
    it shares its rank."""
    rank, previous = 0, None
    for position, (chunk_id, score) in enumerate(items, start=1):
        if previous is None or abs(previous - score) > 1e-9 * max(1.0, abs(score)):
            rank = position
        previous = score
        yield rank, chunk_id, score
