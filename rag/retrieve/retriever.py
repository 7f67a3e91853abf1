"""Hybrid retrieval: dense (Chroma) and BM25 candidates fused by RRF, optionally reranked, then ordered and
diversified; and per-section retrieval, so guidelines and studies each get their own passages."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

from rag.config import RetrievalSettings
from rag.embedding.protocol import Embedder, Vectors
from rag.errors import UserError, VectorIndexNotReady
from rag.filters import Filters
from rag.models import Document, Hit
from rag.retrieve.fusion import Candidate, reciprocal_rank_fusion
from rag.retrieve.ordering import break_ties, diversify
from rag.retrieve.rerank import Reranker
from rag.store.catalog import StoredChunk
from rag.store.index import Index
from rag.text.sections import states_findings
from rag.tracing import span

logger = logging.getLogger(__name__)

Mode = Literal["hybrid", "dense", "lexical"]
MODES: tuple[Mode, ...] = ("hybrid", "dense", "lexical")


@dataclass(frozen=True)
class SectionHits:
    """Passages for each answer section: guidelines for "From the Guidelines", studies for "From the Research"."""

    guidelines: list[Hit]
    studies: list[Hit]

    def merged(self, more: SectionHits) -> SectionHits:
        """These hits, then those of ``more`` that are not among them (by chunk)."""
        def joined(first: list[Hit], second: list[Hit]) -> list[Hit]:
            seen = {h.chunk_id for h in first}
            return [*first, *(h for h in second if h.chunk_id not in seen)]

        return SectionHits(joined(self.guidelines, more.guidelines), joined(self.studies, more.studies))


def check_mode(mode: object) -> Mode:
    """``mode`` as a :data:`Mode`; anything else is a :class:`UserError` naming the modes."""
    if mode not in MODES:
        raise UserError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    return mode


def validate_query(query: str, k: int, settings: RetrievalSettings) -> str:
    """The stripped query; an empty or over-long query, or k outside 1..max_k, is a clear error."""
    if not isinstance(query, str):
        raise UserError("the query must be a string")
    stripped = query.strip()
    if not stripped:
        raise UserError("the query is empty")
    if len(stripped) > settings.max_query_chars:
        raise UserError(f"the query is {len(stripped)} characters long; the limit is {settings.max_query_chars} "
                        "(RAG_RETRIEVAL__MAX_QUERY_CHARS)")
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= settings.max_k:
        raise UserError(f"k must be an integer between 1 and {settings.max_k}, got {k!r}")
    return stripped


FINDINGS_PER_DOCUMENT = 8
"""At most this many result, conclusion or recommendation passages are added after a publication's retrieved ones
(:meth:`Retriever.with_findings`), in reading order."""


class Retriever:
    """Searches one index; ``mode`` picks hybrid (default), dense only or BM25 only."""

    def __init__(
        self, index: Index, embedder: Embedder, settings: RetrievalSettings, reranker: Reranker | None = None
    ) -> None:
        self._index = index
        self._embedder = embedder
        self._settings = settings
        self._reranker = reranker
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="rag-bm25")

    @property
    def settings(self) -> RetrievalSettings:
        """The retrieval settings this retriever was built with."""
        return self._settings

    def with_findings(self, hits: list[Hit], documents: int = 6) -> list[Hit]:
        """``hits`` with, after each of the first ``documents`` publications' passages, its result, conclusion or
        recommendation passages that are not among them (a question about a trial is answered by its results, which
        retrieval may have passed over for its design section). Added passages have score 0."""
        first: list[str] = list(dict.fromkeys(h.doc_id for h in hits))[:documents]
        if not first:
            return hits
        held = {h.chunk_id for h in hits}
        siblings = self._index.chunk_ids(first)
        wanted = sorted(c for doc_id in first for c in siblings[doc_id] if c not in held)
        stored = self._index.chunks(wanted) if wanted else {}
        extra: dict[str, list[Hit]] = {}
        for chunk in sorted(stored.values(), key=lambda c: (c.doc_id, c.start)):
            if states_findings(chunk.section) and len(extra.get(chunk.doc_id, ())) < FINDINGS_PER_DOCUMENT:
                extra.setdefault(chunk.doc_id, []).append(to_hit(chunk, score=0.0))
        out: list[Hit] = []
        for index, hit in enumerate(hits):
            out.append(hit)
            last_of_document = all(h.doc_id != hit.doc_id for h in hits[index + 1:])
            if last_of_document:
                out.extend(extra.pop(hit.doc_id, []))
        return out

    def documents(self, doc_ids: Sequence[str]) -> dict[str, Document]:
        """The committed documents (text, sections, metadata) of these ids; unknown ids are left out."""
        found = {doc_id: self._index.document(doc_id) for doc_id in dict.fromkeys(doc_ids)}
        return {doc_id: document for doc_id, document in found.items() if document is not None}

    def is_empty(self) -> bool:
        """No document is indexed (as of the last refresh)."""
        return self._index.is_empty()

    def close(self) -> None:
        """Stop the BM25 worker threads (searches after this fail)."""
        self._pool.shutdown(wait=True)

    def search(
        self, query: str, k: int | None = None, filters: Filters | None = None, mode: Mode = "hybrid"
    ) -> list[Hit]:
        """The best ``k`` passages for ``query`` that pass ``filters``, best first."""
        k = self._settings.default_k if k is None else k
        query = validate_query(query, k, self._settings)
        plan = [(k, filters or Filters())]
        return self._run(query, plan, check_mode(mode))[0]

    def search_sections(
        self,
        query: str,
        guideline_k: int | None = None,
        study_k: int | None = None,
        filters: Filters | None = None,
        mode: Mode = "hybrid",
    ) -> SectionHits:
        """Guidelines and studies retrieved separately, each with its own k (0 skips a section)."""
        settings = self._settings
        guideline_k = settings.guideline_k if guideline_k is None else guideline_k
        study_k = settings.study_k if study_k is None else study_k
        for name, value in (("guideline_k", guideline_k), ("study_k", study_k)):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= settings.max_k:
                raise UserError(f"{name} must be an integer between 0 and {settings.max_k}, got {value!r}")
        query = validate_query(query, max(guideline_k, study_k, 1), settings)
        filters = filters or Filters()
        plan = [(guideline_k, filters.with_kind("guideline")), (study_k, filters.with_kind("study"))]
        guidelines, studies = self._run(query, plan, check_mode(mode))
        return SectionHits(guidelines=guidelines, studies=studies)

    def _run(self, query: str, plan: list[tuple[int, Filters]], mode: Mode) -> list[list[Hit]]:
        """One result list per ``(k, filters)``. BM25 runs in a worker thread while the query is embedded (both
        release the GIL), then the dense side queries the store."""
        self._index.refresh()
        plan = [(k, f if not self._passes_nothing(f) else _NOTHING) for k, f in plan]
        live = [(k, f) for k, f in plan if k > 0 and not f.is_empty_set()]
        lexical = {
            id(f): self._pool.submit(self._index.lexical.search, query, self._depth(k), f)
            for k, f in live if mode != "dense"
        }
        with span("retrieve.embed_query"):
            vector = self._embedder.embed_query(query) if mode != "lexical" and live else None
        results: list[list[Hit]] = []
        for k, filters in plan:
            if k == 0 or filters.is_empty_set():
                results.append([])
                continue
            with span("retrieve.dense", k=k):
                dense = self._dense(vector, self._depth(k), filters) if vector is not None else []
            with span("retrieve.lexical", k=k):
                bm25 = lexical[id(filters)].result() if mode != "dense" else []
            with span("retrieve.fuse", k=k, dense=len(dense), lexical=len(bm25)):
                results.append(self._finish(query, dense, bm25, k))
        return results

    def _passes_nothing(self, filters: Filters) -> bool:
        """No stored passage passes (e.g. guidelines in a studies-only corpus): skip both retrievers."""
        return not filters.is_unrestricted() and self._index.filter_share(filters) == 0.0

    def _depth(self, k: int) -> int:
        return max(self._settings.candidates, 3 * k * self._settings.max_chunks_per_doc)

    def _finish(self, query: str, dense: list[tuple[str, float]], lexical: list[tuple[str, float]],
                k: int) -> list[Hit]:
        settings = self._settings
        fused = reciprocal_rank_fusion(
            dense, lexical, rrf_k=settings.rrf_k, dense_weight=settings.dense_weight,
            lexical_weight=settings.lexical_weight,
        )
        # Load passages for the head of the fused list only (plus any candidates tied with its last one): 2k, then
        # 8k, then all of them while diversity filtering leaves fewer than k. The reranker's depth is always loaded.
        # Greedy diversification of a prefix that yields k hits gives the same k hits as the whole list.
        wanted = max(2 * k, settings.rerank_depth if self._reranker is not None else 0)
        while True:
            head = self._head_size(fused, wanted)
            stored = self._index.chunks([c.chunk_id for c in fused[:head]])
            hits = [to_hit(stored[c.chunk_id], c) for c in fused[:head] if c.chunk_id in stored]
            if self._reranker is not None and hits:
                hits = self._rerank(query, hits)
            hits = break_ties(hits, settings.tie_tolerance, settings.tie_breakers)
            kept = diversify(hits, k, settings.max_chunks_per_doc, settings.near_duplicate)
            if len(kept) == k or head == len(fused):
                return kept
            wanted = 4 * head

    def _head_size(self, fused: list[Candidate], wanted: int) -> int:
        if wanted >= len(fused):
            return len(fused)
        floor = fused[wanted - 1].fused * (1 - self._settings.tie_tolerance)
        while wanted < len(fused) and fused[wanted].fused >= floor:
            wanted += 1
        return wanted

    def _dense(self, vector: Vectors, depth: int, filters: Filters) -> list[tuple[str, float]]:
        try:
            return self._index.dense_search(vector, depth, filters)
        except VectorIndexNotReady:
            # Another process is writing the very first vectors and Chroma has not flushed them to disk yet; the
            # catalog's BM25 rows are committed already, so the lexical side still answers.
            logger.warning("vector index not readable yet; this search uses BM25 only")
            return []

    def _rerank(self, query: str, hits: list[Hit]) -> list[Hit]:
        assert self._reranker is not None
        head, tail = hits[: self._settings.rerank_depth], hits[self._settings.rerank_depth :]
        scores = self._reranker.score(query, [h.text for h in head])
        rescored = [h.model_copy(update={"score": s, "rerank_score": s}) for h, s in zip(head, scores, strict=True)]
        rescored.sort(key=lambda h: -h.score)
        floor = min((h.score for h in rescored), default=0.0)
        return rescored + [h.model_copy(update={"score": floor - 1.0}) for h in tail]


_NOTHING = Filters(doc_ids=())


def to_hit(chunk: StoredChunk, candidate: Candidate | None = None, score: float | None = None) -> Hit:
    """A search hit from a committed chunk and (when fused) its component ranks and scores."""
    meta = chunk.meta
    fused = candidate.fused if candidate is not None else None
    # Every value comes from the catalog (validated when stored) or the fusion: built without re-validation.
    return Hit.model_construct(
        doc_id=chunk.doc_id, chunk_id=chunk.id, kind=meta.kind, title=meta.title,
        score=round(score if score is not None else (fused or 0.0), 6),
        text=chunk.text, section=chunk.section, span=(chunk.start, chunk.end), year=meta.year,
        source=meta.source_name, study_design=meta.study_design, evidence_level=meta.evidence_level,
        pmid=meta.pmid, doi=meta.doi, url=meta.url, authors=meta.authors, sample_size=meta.sample_size,
        publication_types=meta.publication_types, notes=meta.notes, retracted=meta.retracted,
        dense_rank=candidate.dense_rank if candidate else None,
        dense_score=round(candidate.dense_score, 6) if candidate and candidate.dense_score is not None else None,
        lexical_rank=candidate.lexical_rank if candidate else None,
        lexical_score=round(candidate.lexical_score, 6) if candidate and candidate.lexical_score is not None else None,
        fused_score=round(fused, 6) if fused is not None else None,
    )
