"""The offline extractive generator (the embedded default): it quotes the most relevant sentences of each
section's passages, each cited, and says plainly when a section has no relevant passage. Deterministic.

Relevance of a sentence = cosine similarity of its passage's stored embedding with the question's embedding
+ 0.3 x the share of the question's content words the sentence contains. Sentences below ``relevance_threshold``,
or sharing fewer than two content words with the question (one for very short questions), are not evidence.
Passage vectors come from the vector store (no re-encoding): embedding each sentence would cost ~20 ms a sentence
on a CPU, far over an interactive budget.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from rag.config import GenerationSettings
from rag.contract import (
    LIMITATIONS_TITLE,
    NO_EVIDENCE_STATEMENTS,
    SECTION_SOURCE_KIND,
    SECTION_TITLES,
    SectionKind,
    Source,
    cite,
)
from rag.embedding.protocol import Embedder, Vectors
from rag.generate.protocol import Generation, GenerationRequest
from rag.text.sentences import BULLET, sentence_spans
from rag.text.terms import content_terms

VectorLookup = Callable[[list[str]], dict[str, Vectors]]
LEXICAL_WEIGHT = 0.3
MAX_PER_SOURCE = 2


@dataclass(frozen=True)
class Candidate:
    """A passage sentence that may be quoted, with its position in the passage and its relevance."""

    source: Source
    position: int
    text: str
    relevance: float


class ExtractiveGenerator:
    """Composes the answer from the sources' own sentences."""

    name = "extractive"

    def __init__(self, embedder: Embedder, vectors: VectorLookup, settings: GenerationSettings) -> None:
        self._embedder = embedder
        self._vectors = vectors
        self._settings = settings

    def generate(self, request: GenerationRequest) -> Generation:
        """The whole answer, composed from the sources' sentences."""
        return Generation("".join(self._compose(request)))

    def stream(self, request: GenerationRequest) -> Iterator[str | Generation]:
        """The answer a section at a time, then the whole of it."""
        pieces: list[str] = []
        for piece in self._compose(request):
            pieces.append(piece)
            yield piece
        yield Generation("".join(pieces))

    def _compose(self, request: GenerationRequest) -> Iterator[str]:
        candidates = self._score(request.question, request.sources)
        limits: dict[SectionKind, int] = {"guidelines": self._settings.guideline_sentences,
                                          "research": self._settings.research_sentences}
        chosen_all: list[Candidate] = []
        for section, limit in limits.items():
            chosen = self._choose([c for c in candidates if c.source.kind == SECTION_SOURCE_KIND[section]], limit)
            chosen_all.extend(chosen)
            body = " ".join(cite(c.text, c.source.n) for c in chosen) or NO_EVIDENCE_STATEMENTS[section]
            yield f"## {SECTION_TITLES[section]}\n{body}\n\n"
        yield f"## {LIMITATIONS_TITLE}\n{limitations(chosen_all, request.audience == 'patient')}\n"

    def _score(self, question: str, sources: Sequence[Source]) -> list[Candidate]:
        if not sources:
            return []
        question_vector = self._embedder.embed_query(question)
        stored = self._vectors([s.hit.chunk_id for s in sources])
        wanted = content_terms(question)
        minimum = 2 if len(wanted) >= 4 else 1  # a sentence must share this many content words with the question
        candidates = []
        for source in sources:
            vector = stored.get(source.hit.chunk_id)
            similarity = float(np.dot(vector, question_vector)) if vector is not None else 0.0
            for position, text, terms in _sentences(source.text):
                shared = len(wanted & terms)
                if shared >= minimum:
                    overlap = shared / len(wanted)
                    candidates.append(Candidate(source, position, text, similarity + LEXICAL_WEIGHT * overlap))
        return candidates

    def _choose(self, candidates: list[Candidate], limit: int) -> list[Candidate]:
        """The best sentences above the threshold, at most two per source, in source then reading order."""
        relevant = sorted((c for c in candidates if c.relevance >= self._settings.relevance_threshold),
                          key=lambda c: (-c.relevance, c.source.n, c.position))
        chosen: list[Candidate] = []
        per_source: dict[int, int] = {}
        seen: set[frozenset[str]] = set()
        for candidate in relevant:
            terms = frozenset(content_terms(candidate.text))
            if per_source.get(candidate.source.n, 0) >= MAX_PER_SOURCE or terms in seen:
                continue
            chosen.append(candidate)
            seen.add(terms)
            per_source[candidate.source.n] = per_source.get(candidate.source.n, 0) + 1
            if len(chosen) == limit:
                break
        return sorted(chosen, key=lambda c: (c.source.n, c.position))


@lru_cache(maxsize=1024)
def _sentences(passage: str) -> tuple[tuple[int, str, frozenset[str]], ...]:
    """The quotable sentences of a passage (position, text without bullet or line breaks, content words): six words
    or more, no headings. Computed once per passage text."""
    found = []
    for position, (start, end) in enumerate(sentence_spans(passage)):
        text = " ".join(BULLET.sub("", passage[start:end]).split())
        if len(text.split()) >= 6 and not text.startswith("#"):
            found.append((position, text, frozenset(content_terms(text))))
    return tuple(found)



_DESIGN_NAMES = {
    "meta-analysis": "meta-analysis", "systematic-review": "systematic review", "rct": "randomised trial",
    "non-randomized-trial": "non-randomised trial", "cohort": "cohort study", "case-control": "case-control study",
    "cross-sectional": "cross-sectional study", "case-series": "case series", "case-report": "case report",
    "narrative-review": "narrative review",
}


def limitations(chosen: Sequence[Candidate], patient: bool) -> str:
    """A deterministic limitations paragraph from what the cited studies are."""
    studies = {c.source.hit.doc_id: c.source.hit for c in chosen if c.source.kind == "study"}
    designs: dict[str, int] = {}
    for hit in studies.values():
        name = _DESIGN_NAMES.get(hit.study_design or "", "study of another or unstated design")
        designs[name] = designs.get(name, 0) + 1
    if patient:
        evidence = (f"This summary is based on {len(studies)} published {'study' if len(studies) == 1 else 'studies'}"
                    if studies else "No research studies in our sources answer this directly")
        return (f"{evidence}. It repeats sentences from the sources word for word and does not weigh them against "
                "each other, so it cannot tell you what is best for you. Please talk to your clinician.")
    parts = ", ".join(f"{n} {name}{'s' if n > 1 and not name.endswith(('s', 'series')) else ''}"
                      for name, n in sorted(designs.items(), key=lambda item: (-item[1], item[0])))
    described = f"The research cited here comprises {parts}." if studies else "No study is cited."
    return (f"{described} This answer was composed extractively: it quotes the most relevant sentences of the "
            "retrieved passages verbatim and does not synthesise, weigh or grade them; sample sizes, risk of bias and "
            "applicability should be judged from the original publications.")
