"""Assembly of a grounded answer: the sections' text with citations numbered per publication, each reference with
the exact supporting sentences as quotes in reading order, and the grounding report."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rag.answer.ground import Grounded
from rag.answer.lexical import support
from rag.answer.models import AnswerSection, Attribution, Grounding, Quote, Reference, Removal
from rag.contract import NO_EVIDENCE_STATEMENTS, SECTION_KINDS, SECTION_TITLES, SectionKind, Source, cite


@dataclass(frozen=True)
class Assembled:
    """An answer's sections, references and grounding report, and the reference numbers each section cites (in
    order of first citation), which its appraisal rests on."""

    sections: list[AnswerSection]
    references: list[Reference]
    grounding: Grounding
    cited: dict[SectionKind, list[int]]


def assemble(grounded: Grounded, sources: Sequence[Source], dangling: Sequence[int]) -> Assembled:
    """The answer's sections, references and grounding from a grounded answer. References are numbered per
    publication in order of first citation; each carries every passage sentence its citations rest on."""
    by_number = {s.n: s for s in sources}
    order = list(dict.fromkeys(by_number[n].hit.doc_id for claim in grounded.sourced() for n in claim.sources))
    ref_of = {doc_id: i for i, doc_id in enumerate(order, start=1)}
    quotes: dict[str, list[Quote]] = {doc_id: [] for doc_id in order}
    sections: list[AnswerSection] = []
    attributed: list[Attribution] = []
    cited: dict[SectionKind, list[int]] = {}
    for kind in SECTION_KINDS:
        sentences = []
        cited[kind] = []
        for claim in grounded.claims[kind]:
            refs = list(dict.fromkeys(ref_of[by_number[n].hit.doc_id] for n in claim.sources))
            cited[kind] = list(dict.fromkeys([*cited[kind], *refs]))
            sentences.append(cite(claim.text, refs))
            if claim.attributed:
                attributed.append(Attribution(sentence=sentences[-1], refs=refs))
            for n in claim.sources:
                quotes[by_number[n].hit.doc_id].append(_quote(claim.text, by_number[n]))
        found = any(claim.sources for claim in grounded.claims[kind])
        text = " ".join(sentences) or NO_EVIDENCE_STATEMENTS[kind]
        sections.append(AnswerSection(kind=kind, title=SECTION_TITLES[kind], text=text, evidence_found=found))
    first_source: dict[str, Source] = {}
    for source in sources:
        first_source.setdefault(source.hit.doc_id, source)
    references = [_reference(ref_of[doc_id], first_source[doc_id], quotes[doc_id]) for doc_id in order]
    grounding = Grounding(
        dangling=sorted(set(dangling)), misrouted=sorted(set(grounded.misrouted)), attributed=attributed,
        removed=[Removal(sentence=sentence, reason=reason) for sentence, reason in grounded.removed], verified=True,
    )
    return Assembled(sections, references, grounding, cited)


def _quote(claim: str, source: Source) -> Quote:
    """The sentence of the source's passage that best supports ``claim``, with its span in the document."""
    found = support(claim, source.text)
    hit = source.hit
    return Quote(text=source.text[found.start:found.end], chunk_id=hit.chunk_id,
                 span=(hit.span[0] + found.start, hit.span[0] + found.end))


def _reference(n: int, source: Source, quotes: list[Quote]) -> Reference:
    hit = source.hit
    unique = sorted({(q.chunk_id, q.span): q for q in quotes}.values(), key=lambda q: q.span)
    return Reference(n=n, kind=hit.kind, doc_id=hit.doc_id, title=hit.title, source=hit.source, year=hit.year,
                     pmid=hit.pmid, doi=hit.doi, url=hit.url, notes=hit.notes, quotes=unique)
