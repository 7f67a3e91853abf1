"""The offline extractive generator (the embedded default): it quotes the sentences of each section's passages that
answer the question, each cited, and says plainly when a section has no relevant passage. Deterministic.

Publications first: each scores the cosine of its best passage's stored embedding with the question + 0.3 x the share
of the question's words it holds, weighted by their rarity in the index (IDF). Only publications close to the best
one are quoted: within ``RELATIVE_FLOOR`` of its score (and above ``relevance_threshold``), and holding at least half
of what it holds of the question's words, so a passage retrieved for one common word cannot contribute. They are
ordered most direct first (covering the question's topic words as well as the best one), then stronger evidence
(systematic review/meta-analysis > randomised trial > other), then newer. From each, at most two sentences, its best
first: a sentence's score is the role of its section (results, conclusions, recommendations above methods,
background below), a small bonus for wording that states a finding or a recommendation, and the weighted share of
the question's words it holds.
Passage vectors come from the vector store (no re-encoding): embedding each sentence would cost ~20 ms a sentence
on a CPU, far over an interactive budget.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
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
from rag.evidence import LEVEL_BY_DESIGN
from rag.generate.protocol import Generation, GenerationRequest
from rag.models import Hit
from rag.text.sections import Role, section_role
from rag.text.sentences import BULLET, sentence_spans
from rag.text.terms import content_terms
from rag.text.topic import FRAMING, TermWeights, question_topic, stems

VectorLookup = Callable[[list[str]], dict[str, Vectors]]
LEXICAL_WEIGHT = 0.3
MAX_PER_DOCUMENT = 2
RELATIVE_FLOOR = 0.12
"""A publication scoring more than this below the section's best one is not quoted."""
MIN_COVERAGE = 0.25
"""A publication must hold at least this share of the question's words, weighted by rarity."""
COVERAGE_SHARE = 0.5
"""A publication must hold at least this share of what the best one holds of the question's words, weighted by
rarity: one that shares only a common word with the question cannot contribute."""
DIRECTNESS_SHARE = 0.9
"""Publications covering at least this share of what the best one covers of the question's topic words (not its
framing words) count as direct."""

_ROLE_BONUS: dict[Role | None, float] = {
    "conclusion": 0.10, "result": 0.10, "method": -0.04, "background": -0.12, None: 0.0}
_FINDING = re.compile(
    r"\b(?:significant(?:ly)?|improv\w*|reduc\w*|increas\w*|decreas\w*|associated|no (?:significant )?difference|"
    r"did not|was not|were not|comparable|similar|superior|inferior|recommend\w*|should|conclud\w*|"
    r"odds ratio|hazard ratio|relative risk|(?:95% )?CI\b|p\s?[<=>])", re.IGNORECASE)
_EMPHASIS = re.compile(r"\*\*|__")
_AIM = re.compile(r"\b(?:we aimed|the aim|aims? (?:of|to)|objective (?:of|was)|was to (?:evaluate|determine|assess|"
                  r"investigate|examine|compare)|little is known|remains? unclear|is unknown)", re.IGNORECASE)

_LEADING_PRONOUN = re.compile(r"(?:It|They|This|These|Those|Its|Their|He|She|Such)\b")
"""A sentence opening on a pronoun leans on the one before it, which the answer may not quote ("It had previously
found that ...")."""


@dataclass(frozen=True)
class Candidate:
    """A passage sentence that may be quoted: where it is, how well it answers (its section's role, its wording,
    the question's words it holds), and whether its section states results, conclusions or recommendations."""

    source: Source
    position: int
    text: str
    relevance: float
    leading: bool


@dataclass
class _Document:
    """A publication among the sources: how relevant and how direct it is, and its quotable sentences."""

    hit: Hit
    similarity: float = 0.0
    stems: set[str] = field(default_factory=set)
    sentences: list[Candidate] = field(default_factory=list)
    score: float = 0.0
    coverage: float = 0.0
    directness: float = 0.0


class ExtractiveGenerator:
    """Composes the answer from the sources' own sentences."""

    name = "extractive"

    def __init__(self, embedder: Embedder, vectors: VectorLookup, settings: GenerationSettings,
                 term_weights: TermWeights | None = None) -> None:
        self._embedder = embedder
        self._vectors = vectors
        self._settings = settings
        self._term_weights = term_weights

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
        documents = self._documents(request.question, request.sources)
        limits: dict[SectionKind, int] = {"guidelines": self._settings.guideline_sentences,
                                          "research": self._settings.research_sentences}
        chosen_all: list[Candidate] = []
        for section, limit in limits.items():
            chosen = self._choose([d for d in documents if d.hit.kind == SECTION_SOURCE_KIND[section]], limit)
            chosen_all.extend(chosen)
            body = " ".join(cite(c.text, c.source.n) for c in chosen) or NO_EVIDENCE_STATEMENTS[section]
            yield f"## {SECTION_TITLES[section]}\n{body}\n\n"
        yield f"## {LIMITATIONS_TITLE}\n{limitations(chosen_all, request.audience == 'patient')}\n"

    def _documents(self, question: str, sources: Sequence[Source]) -> list[_Document]:
        """The sources grouped by publication, each scored: its best passage's similarity to the question plus the
        IDF-weighted share of the question's words it holds; only publications holding a distinctive word."""
        if not sources:
            return []
        topic = question_topic(question, self._term_weights)
        weights = topic.weights
        if not weights:
            return []
        total = sum(weights.values())
        question_vector = self._embedder.embed_query(question)
        stored = self._vectors([s.hit.chunk_id for s in sources])
        documents: dict[str, _Document] = {}
        for source in sources:
            document = documents.setdefault(source.hit.doc_id, _Document(source.hit))
            vector = stored.get(source.hit.chunk_id)
            similarity = float(np.dot(vector, question_vector)) if vector is not None else 0.0
            document.similarity = max(document.similarity, similarity)
            role = _role_bonus(source.hit.section)
            for position, text, words in _sentences(source.text):
                shared = words & weights.keys()
                document.stems |= shared
                if shared & topic.topical:
                    relevance = role + _wording_bonus(text) + LEXICAL_WEIGHT * sum(weights[t] for t in shared) / total
                    document.sentences.append(Candidate(source, position, text, relevance, role > 0))
        kept = []
        for document in documents.values():
            coverage = sum(weights[t] for t in document.stems) / total
            if document.sentences and topic.addresses(document.stems) and coverage >= MIN_COVERAGE:
                document.coverage = coverage
                document.directness = sum(weights[t] for t in document.stems - FRAMING)
                document.score = document.similarity + LEXICAL_WEIGHT * document.coverage
                kept.append(document)
        return kept

    def _choose(self, documents: list[_Document], limit: int) -> list[Candidate]:
        """Sentences of the publications close to the best one: the most direct publications first, then stronger
        evidence, then newer; from each, its best result or conclusion first and at most two sentences."""
        if not documents:
            return []
        best = max(d.score for d in documents)
        floor = max(self._settings.relevance_threshold, best - RELATIVE_FLOOR)
        best_coverage = max(d.coverage for d in documents)
        relevant = [d for d in documents if d.score >= floor and d.coverage >= COVERAGE_SHARE * best_coverage]
        if not relevant:
            return []
        most_direct = max(d.directness for d in relevant)

        def order(document: _Document) -> tuple[bool, int, int, float]:
            hit = document.hit
            level = hit.evidence_level or LEVEL_BY_DESIGN.get(hit.study_design or "", 9)
            return (document.directness < DIRECTNESS_SHARE * most_direct, level, -(hit.year or 0), -document.score)

        relevant.sort(key=order)
        picks: dict[str, list[Candidate]] = {d.hit.doc_id: [] for d in relevant}
        ranked = {d.hit.doc_id: _ranked_sentences(d.sentences) for d in relevant}
        for round_ in range(MAX_PER_DOCUMENT):
            for document in relevant:
                pool = ranked[document.hit.doc_id]
                if round_ < len(pool) and sum(map(len, picks.values())) < limit:
                    picks[document.hit.doc_id].append(pool[round_])
        return [c for d in relevant for c in picks[d.hit.doc_id]]


def _ranked_sentences(sentences: list[Candidate]) -> list[Candidate]:
    """A publication's sentences, most answering first, each distinct."""
    ranked: list[Candidate] = []
    seen: set[str] = set()
    for candidate in sorted(sentences, key=lambda c: (-c.relevance, c.source.n, c.position)):
        key = " ".join(sorted(content_terms(candidate.text)))
        if key not in seen:
            seen.add(key)
            ranked.append(candidate)
    return ranked



def _role_bonus(section: str) -> float:
    return _ROLE_BONUS[section_role(section)]


def _wording_bonus(sentence: str) -> float:
    if _AIM.search(sentence) or _LEADING_PRONOUN.match(sentence):
        return -0.05
    return 0.03 if _FINDING.search(sentence) else 0.0


@lru_cache(maxsize=1024)
def _sentences(passage: str) -> tuple[tuple[int, str, frozenset[str]], ...]:
    """The quotable sentences of a passage (position, text without bullet or line breaks, word stems): six words
    or more, no headings. Computed once per passage text."""
    found = []
    for position, (start, end) in enumerate(sentence_spans(passage)):
        text = " ".join(_EMPHASIS.sub("", BULLET.sub("", passage[start:end])).split())
        if len(text.split()) >= 6 and not text.startswith("#"):
            found.append((position, text, stems(text)))
    return tuple(found)


#: Each design's name in the singular and the plural.
_DESIGN_NAMES: dict[str, tuple[str, str]] = {
    "meta-analysis": ("meta-analysis", "meta-analyses"), "systematic-review": ("systematic review",
                                                                             "systematic reviews"),
    "rct": ("randomised trial", "randomised trials"),
    "non-randomized-trial": ("non-randomised trial", "non-randomised trials"),
    "cohort": ("cohort study", "cohort studies"), "case-control": ("case-control study", "case-control studies"),
    "cross-sectional": ("cross-sectional study", "cross-sectional studies"),
    "case-series": ("case series", "case series"), "case-report": ("case report", "case reports"),
    "narrative-review": ("narrative review", "narrative reviews"),
}
_OTHER_DESIGN = ("study of another or unstated design", "studies of other or unstated designs")
_NUMBER_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def count_of(n: int, forms: tuple[str, str]) -> str:
    """'one randomised trial', 'two case series', '12 cohort studies'."""
    number = _NUMBER_WORDS[n] if n < len(_NUMBER_WORDS) else str(n)
    return f"{number} {forms[0] if n == 1 else forms[1]}"


def _listed(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def limitations(chosen: Sequence[Candidate], patient: bool) -> str:
    """A deterministic limitations paragraph from what the cited studies are, in plain words for a patient."""
    studies = {c.source.hit.doc_id: c.source.hit for c in chosen if c.source.kind == "study"}
    designs: dict[tuple[str, str], int] = {}
    for hit in studies.values():
        forms = _DESIGN_NAMES.get(hit.study_design or "", _OTHER_DESIGN)
        designs[forms] = designs.get(forms, 0) + 1
    if patient:
        evidence = (f"This summary is based on {count_of(len(studies), ('published study', 'published studies'))}"
                    if studies else "No research studies in our sources answer this directly")
        return (f"{evidence}. It repeats sentences from the sources word for word and does not weigh them against "
                "each other, so it cannot tell you what is best for you. Please talk to your clinician.")
    parts = [count_of(n, forms) for forms, n in sorted(designs.items(), key=lambda item: (-item[1], item[0]))]
    described = f"The research cited here comprises {_listed(parts)}." if studies else "No study is cited."
    return (f"{described} This answer was composed extractively: it quotes the most relevant sentences of the "
            "retrieved passages verbatim and does not synthesise, weigh or grade them; sample sizes, risk of bias and "
            "applicability should be judged from the original publications.")
