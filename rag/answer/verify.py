"""Verification: every answer sentence checked against the passages it cites, citations renumbered in order of
appearance, misplaced citations flagged, and each reference given the exact supporting sentence(s) as its quote."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from rag.answer.models import AnswerSection, Grounding, Reference
from rag.answer.parse import ParsedAnswer
from rag.contract import (
    CITATION,
    NO_EVIDENCE_PREFIXES,
    NO_EVIDENCE_STATEMENTS,
    SECTION_SOURCE_KIND,
    SECTION_TITLES,
    SectionKind,
    Source,
    citations_in,
    strip_citations,
)
from rag.text.sentences import BULLET, sentence_spans
from rag.text.terms import content_terms, numbers


@dataclass(frozen=True)
class Support:
    """How well a passage sentence supports an answer sentence: share of content words found, numbers all found."""

    recall: float
    numbers_ok: bool
    start: int
    end: int

    def passes(self, threshold: float) -> bool:
        return self.numbers_ok and self.recall >= threshold


def support(claim: str, passage: str) -> Support:
    """The best supporting sentence of ``passage`` for ``claim``, and whether the passage as a whole covers the
    claim's content words and numbers."""
    claim_text = CITATION.sub("", claim)
    wanted, wanted_numbers = content_terms(claim_text), numbers(claim_text)
    whole, whole_numbers, sentences = _profile(passage)
    recall = len(wanted & whole) / len(wanted) if wanted else 1.0
    numbers_ok = wanted_numbers <= whole_numbers
    best, best_span = -1.0, (0, len(passage))
    for start, end, terms, sentence_numbers in sentences:
        overlap = len(wanted & terms) / (len(wanted | terms) or 1) + len(wanted_numbers & sentence_numbers)
        if overlap > best:
            best, best_span = overlap, (start, end)
    return Support(recall, numbers_ok, *best_span)


_Profile = tuple[frozenset[str], frozenset[str], tuple[tuple[int, int, frozenset[str], frozenset[str]], ...]]


@lru_cache(maxsize=1024)
def _profile(passage: str) -> _Profile:
    """A passage's content words and numbers, and each sentence's span (after any bullet), words and numbers:
    computed once per passage text, not once per answer sentence that cites it."""
    sentences = []
    for start, end in sentence_spans(passage):
        sentence = passage[start:end]
        bullet = BULLET.match(sentence)
        sentences.append((start + (bullet.end() if bullet else 0), end, frozenset(content_terms(sentence)),
                          frozenset(numbers(sentence))))
    return frozenset(content_terms(passage)), frozenset(numbers(passage)), tuple(sentences)


_LEADING_CITATIONS = re.compile(r"^\s*((?:\[\d+\]\s*)+)")


def answer_sentences(text: str) -> list[str]:
    """Sentences of an answer section; citations written after the full stop ("... advice. [1] Next") belong to
    the sentence before them."""
    sentences: list[str] = []
    for start, end in sentence_spans(text):
        sentence = text[start:end]
        leading = _LEADING_CITATIONS.match(sentence)
        if leading and sentences:
            sentences[-1] = f"{sentences[-1]} {leading.group(1).strip()}"
            sentence = sentence[leading.end():]
        if sentence.strip():
            sentences.append(sentence)
    return sentences


def is_no_evidence(text: str) -> bool:
    plain = CITATION.sub("", text).strip().lower()
    return not plain or plain.startswith(NO_EVIDENCE_PREFIXES)


def verify(parsed: ParsedAnswer, sources: Sequence[Source],
           threshold: float) -> tuple[list[AnswerSection], list[Reference], Grounding]:
    by_number = {s.n: s for s in sources}
    order = _first_appearance(parsed)
    renumber = {old: new for new, old in enumerate(order, start=1)}
    grounding = Grounding(dangling=list(parsed.dangling))
    best: dict[int, tuple[float, Support]] = {}
    sections: list[AnswerSection] = []
    for kind in ("guidelines", "research"):
        section_kind: SectionKind = kind
        text = parsed.sections.get(section_kind, "").strip()
        renumbered = CITATION.sub(lambda m: f"[{renumber[int(m.group(1))]}]", text)
        if is_no_evidence(text):  # its citations, if any, are renumbered too: they are in the references
            sections.append(AnswerSection(kind=section_kind, title=SECTION_TITLES[section_kind],
                                          text=renumbered or NO_EVIDENCE_STATEMENTS[section_kind],
                                          evidence_found=False))
            continue
        for sentence in answer_sentences(text):
            _check_sentence(sentence, section_kind, by_number, threshold, grounding, best)
        sections.append(AnswerSection(kind=section_kind, title=SECTION_TITLES[section_kind], text=renumbered,
                                      evidence_found=True))
    grounding.misrouted = sorted({renumber[n] for n in grounding.misrouted})
    references = [_reference(renumber[n], by_number[n], best.get(n)) for n in order]
    grounding.verified = not (grounding.dangling or grounding.misrouted or grounding.unsupported_sentences
                              or grounding.uncited_sentences)
    return sections, references, grounding


def _check_sentence(sentence: str, section: SectionKind, sources: dict[int, Source], threshold: float,
                    grounding: Grounding, best: dict[int, tuple[float, Support]]) -> None:
    cited = list(dict.fromkeys(citations_in(sentence)))
    if not cited:
        if len(content_terms(sentence)) >= 3 and not is_no_evidence(sentence):
            grounding.uncited_sentences.append(sentence)
        return
    together = " ".join(sources[n].text for n in cited)
    if not support(sentence, together).passes(threshold):
        grounding.unsupported_sentences.append(strip_citations(sentence))
    for n in cited:
        if sources[n].kind != SECTION_SOURCE_KIND[section]:
            grounding.misrouted.append(n)
        found = support(sentence, sources[n].text)
        if n not in best or found.recall > best[n][0]:
            best[n] = (found.recall, found)


def _first_appearance(parsed: ParsedAnswer) -> list[int]:
    order: list[int] = []
    for kind in ("guidelines", "research"):
        for n in citations_in(parsed.sections.get(kind, "")):
            if n not in order:
                order.append(n)
    return order


def _reference(n: int, source: Source, best: tuple[float, Support] | None) -> Reference:
    hit = source.hit
    start, end = (best[1].start, best[1].end) if best else next(iter(sentence_spans(source.text)), (0, 0))
    return Reference(
        n=n, kind=hit.kind, doc_id=hit.doc_id, chunk_id=hit.chunk_id, title=hit.title, source=hit.source,
        year=hit.year, pmid=hit.pmid, doi=hit.doi, url=hit.url, quote=source.text[start:end],
        span=(hit.span[0] + start, hit.span[0] + end),
    )
