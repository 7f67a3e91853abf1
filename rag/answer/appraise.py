"""Evidence appraisal of an assembled answer: each reference's design, size, age, recommendation strength and the
direction of what it is cited for; each section's GRADE-inspired certainty and (yes/no questions) consensus; the
references that disagree; and the sentences these add to the limitations. The judgments are rag.appraisal's."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from rag.answer.models import AnswerSection, Reference
from rag.appraisal import (
    AppraisalOptions,
    Disagreement,
    SourceAppraisal,
    appraise_section,
    appraise_source,
    is_yes_no_question,
)
from rag.contract import SectionKind
from rag.models import Document, DocumentMeta, Hit
from rag.text.stopwords import STOPWORDS
from rag.text.terms import content_terms

"""Share of title words two guidelines of one body must share to be on the same topic."""


@dataclass(frozen=True)
class Appraised:
    """An answer's sections and references with their appraisal, what they add up to, and what the limitations say."""

    sections: list[AnswerSection]
    references: list[Reference]
    disagreements: list[Disagreement]
    label: str | None
    limitations: list[str]


def appraise_answer(question: str, sections: Sequence[AnswerSection], references: Sequence[Reference],
                    cited: Mapping[SectionKind, Sequence[int]], documents: Mapping[str, Document],
                    passages: Mapping[int, Sequence[str]], today: date, options: AppraisalOptions,
                    retrieved: Sequence[Hit] = (), patient: bool = False,
                    direct: Mapping[str, bool] | None = None) -> Appraised:
    """Appraise every reference (from its document when the index has it, else from its quotes) and every
    section from the references it cites (``cited``, by section, as assembly numbered them); ``passages`` are the
    texts each reference number was cited from; ``retrieved`` are the passages the answer was written from (a newer
    guideline among them supersedes an older one of the same body and topic); ``direct``: by document id, whether a
    publication clearly addresses the question (rag.meaning); the finding of one that does not is "unclear",
    whatever its words."""
    appraised = []
    yes_no = is_yes_no_question(question)
    for reference in references:
        appraisal = _appraise(reference, documents.get(reference.doc_id), question, today, options)
        off_question = direct is not None and not direct.get(reference.doc_id, False)
        if (off_question or not yes_no) and appraisal.direction != "unclear":
            # a finding says which way the answer goes only for a yes/no question ("supports" means nothing for
            # "how many sessions?") and only when its publication clearly addresses the question
            appraisal = appraisal.model_copy(update={"direction": "unclear", "direction_quote": None,
                                                     "direction_words": ()})
        newer = _superseded_by(reference, retrieved) if reference.kind == "guideline" else None
        if newer is not None:
            reason = (f"A newer statement of the same body on the same topic was retrieved: {newer.title} "
                      f"({newer.year}).")
            appraisal = appraisal.model_copy(update={"flags": (*appraisal.flags, "superseded"),
                                                     "flag_reasons": {**appraisal.flag_reasons, "superseded": reason}})
        appraised.append(reference.model_copy(update={"appraisal": appraisal}))
    by_n = {r.n: r for r in appraised}
    out_sections: list[AnswerSection] = []
    disagreements: list[Disagreement] = []
    label: str | None = None
    for section in sections:
        numbers = [n for n in cited.get(section.kind, ()) if n in by_n]
        if not section.evidence_found or not numbers:
            out_sections.append(section)
            continue
        cited_appraisals = {n: given for n in numbers if (given := by_n[n].appraisal) is not None}
        section_appraisal = appraise_section(
            section.kind, question, cited_appraisals, [" ".join(passages.get(n, ())) for n in cited_appraisals],
            options, {n: direct.get(by_n[n].doc_id, False) for n in cited_appraisals} if direct is not None else None)
        out_sections.append(section.model_copy(update={"certainty": section_appraisal.certainty,
                                                       "consensus": section_appraisal.consensus}))
        if is_yes_no_question(question):  # "for" or "against" means something only for a yes/no question
            disagreements.extend(section_appraisal.disagreements)
        if section.kind == "research" and section_appraisal.consensus is not None:
            label = section_appraisal.consensus.label
    limitations = _limitations(out_sections, appraised, disagreements, patient)
    return Appraised(out_sections, appraised, disagreements, label, limitations)


def _superseded_by(reference: Reference, retrieved: Sequence[Hit]) -> Hit | None:
    """The newest retrieved guideline of the same issuer whose title holds every word of this one's (the same topic,
    perhaps updated: "Depression in adults: screening" by "Depression in adults: screening, update"), when newer. A
    title sharing only the issuer's formula and the condition ("Final recommendation statement: skin cancer:
    screening" against "...: skin cancer prevention: behavioral counseling") is another topic."""
    if reference.year is None or not reference.source:
        return None
    words = _title_words(reference.title)
    newer = [hit for hit in retrieved
             if hit.kind == "guideline" and hit.doc_id != reference.doc_id and hit.year and hit.year > reference.year
             and (hit.source or "").lower() == reference.source.lower() and words
             and words <= _title_words(hit.title)]
    return max(newer, key=lambda hit: hit.year or 0, default=None)


def _title_words(title: str) -> set[str]:
    """A title's content words with its short names of one or two letters or digits ("C" in "Screening for hepatitis
    C virus infection", "2" in "type 2"), which content words leave out: without them the hepatitis C statement read
    as superseded by the newer hepatitis B one."""
    return content_terms(title) | {token.lower() for token in _SHORT_NAME.findall(title)
                                   if token.lower() not in STOPWORDS}


_SHORT_NAME = re.compile(r"\b[A-Za-z0-9]{1,2}\b")


def _appraise(reference: Reference, document: Document | None, question: str, today: date,
              options: AppraisalOptions) -> SourceAppraisal:
    quotes = [q.text for q in reference.quotes]
    if document is not None:
        return appraise_source(document.meta, document.text, quotes, question, today, document.sections, options)
    meta = DocumentMeta(id=reference.doc_id, kind=reference.kind, title=reference.title, year=reference.year,
                        journal=reference.source)
    return appraise_source(meta, " ".join(quotes), quotes, question, today, (), options)


def _limitations(sections: Sequence[AnswerSection], references: Sequence[Reference],
                 disagreements: Sequence[Disagreement], patient: bool) -> list[str]:
    """Sentences on how far to trust the cited evidence that the sections do not show: for a patient how sure the
    research is, and for everyone the findings that disagree and guidance that may be out of date."""
    lines: list[str] = []
    for section in sections:
        if section.certainty is not None and patient:
            lines.append(f"How sure the research is: {section.certainty.level}.")
    for disagreement in disagreements:
        lines.append(f"The cited findings disagree: {disagreement.about}.")
    for reference in references:
        appraisal = reference.appraisal
        if appraisal is not None and "superseded" in appraisal.flags:
            lines.append(f"Reference [{reference.n}]: {appraisal.flag_reasons['superseded']}")
        elif appraisal is not None and "outdated" in appraisal.flags:
            lines.append(f"Reference [{reference.n}] was issued in {appraisal.year}, {appraisal.age_years} years ago; "
                         "newer guidance may exist.")
        if appraisal is not None and "outside_population" in appraisal.flags:
            lines.append(f"Reference [{reference.n}] may not apply to this patient. "
                         f"{appraisal.flag_reasons['outside_population']}")
        elif appraisal is not None and "partly_outside_population" in appraisal.flags:
            lines.append(f"Reference [{reference.n}]: {appraisal.flag_reasons['partly_outside_population']}")
    return lines
