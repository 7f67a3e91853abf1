"""Result-list hygiene: evidence and recency as tie-breakers, a per-document cap, near-duplicate removal."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from rag.models import Hit

_WORD = re.compile(r"\w+")
_NO_LEVEL = 6  # documents without an evidence level sort after level 5


def break_ties(hits: Sequence[Hit], tolerance: float, breakers: Sequence[str]) -> list[Hit]:
    """Within each run of hits whose score is within ``tolerance`` (relative) of the run's best, order by the
    breakers: ``evidence`` (lower evidence level first: systematic reviews, then trials, ...) and ``recency``
    (newer first). Hits are expected best first; the order between runs never changes."""
    if not breakers or not hits:
        return list(hits)
    ordered: list[Hit] = []
    group: list[Hit] = []
    for hit in hits:
        if group and hit.score < group[0].score - abs(group[0].score) * tolerance:
            ordered.extend(sorted(group, key=lambda h: _tie_key(h, breakers)))
            group = []
        group.append(hit)
    ordered.extend(sorted(group, key=lambda h: _tie_key(h, breakers)))
    return ordered


def _tie_key(hit: Hit, breakers: Sequence[str]) -> tuple[int, ...]:
    key = []
    for breaker in breakers:
        if breaker == "evidence":
            key.append(hit.evidence_level or _NO_LEVEL)
        elif breaker == "recency":
            key.append(-(hit.year or 0))
    return tuple(key)


def diversify(hits: Sequence[Hit], k: int, max_per_doc: int, near_duplicate: float) -> list[Hit]:
    """The first ``k`` hits, skipping a document's passages beyond ``max_per_doc`` and any passage whose word
    trigrams overlap a kept passage's by ``near_duplicate`` (Jaccard) or more."""
    kept: list[Hit] = []
    shingles: list[frozenset[int]] = []
    per_doc: dict[str, int] = {}
    for hit in hits:
        if len(kept) == k:
            break
        if per_doc.get(hit.doc_id, 0) >= max_per_doc:
            continue
        signature = _trigrams(hit.text)
        if any(_near_duplicates(signature, other, near_duplicate) for other in shingles):
            continue
        kept.append(hit)
        shingles.append(signature)
        per_doc[hit.doc_id] = per_doc.get(hit.doc_id, 0) + 1
    return kept


@lru_cache(maxsize=1024)
def _trigrams(text: str) -> frozenset[int]:
    """Hashes of the text's lowercased word trigrams; remembered per text (the same passages recur from query to
    query). A hash collision could only raise a Jaccard value by one shared element in 2**64."""
    words = _WORD.findall(text.lower())
    if len(words) < 3:
        return frozenset({hash(tuple(words))})
    return frozenset(map(hash, zip(words, words[1:], words[2:], strict=False)))


def _near_duplicates(a: frozenset[int], b: frozenset[int], threshold: float) -> bool:
    """Jaccard(a, b) >= threshold. Jaccard is at most |small| / |large|, so sets of very different sizes are not
    intersected at all."""
    small, large = sorted((len(a), len(b)))
    if not small or small < threshold * large:
        return False
    common = len(a & b)
    return common >= threshold * (small + large - common)
