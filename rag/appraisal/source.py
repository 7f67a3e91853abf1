"""Per-source appraisal: everything judged about one cited publication, each value traceable to its metadata or
to a quoted sentence. Pure: the caller passes the metadata, the text, the cited quotes, the question and today."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from functools import lru_cache

from rag.appraisal.applicability import describe, gives_advice, mismatches, patient_of
from rag.appraisal.design import design_of, included_randomised
from rag.appraisal.direction import direction_of
from rag.appraisal.models import (
    AppraisalOptions,
    DesignFinding,
    Flag,
    RecommendationFinding,
    SampleSizeFinding,
    SourceAppraisal,
)
from rag.appraisal.passages import sentence_texts
from rag.appraisal.recommendation import direction_of_recommendation, evidence_grade_of, recommendation_of
from rag.appraisal.sample_size import sample_size_of
from rag.models import DocumentMeta, Section
from rag.text.terms import content_terms

DEFAULT_OPTIONS = AppraisalOptions()
_REVIEWS = frozenset({"systematic-review", "meta-analysis"})
_ACCOUNT = (r"(?:news summary|press (?:account|report|release)s?|trade news|research story|vendor|"
            r"company(?:'s)? (?:summary|story|page)|third-party summary)")
_TAKEN_FROM = re.compile(r"\b(?:recorded|written|taken|drawn|comes?|came|based|known)\s+(?:only\s+)?(?:from|on|through)"
                         r"\s+(?:an?\s+|the\s+)?(?:[\w'-]+\s+){0,3}?" + _ACCOUNT
                         + r"|\b(?:every|each|all)\s+(?:points?|facts?|findings?)\s+(?:is|are|was|were)\s+(?:an?\s+)?"
                         + _ACCOUNT, re.IGNORECASE)
"""The record's notes say that its facts come from such an account ("The findings were recorded from a news summary
of the paper", "Every point is a press account"), not merely that an account added a detail the record keeps apart
("Secondary press reports, not the notification, said that fewer than 5 people became seriously ill": two readings
counted `secondhand` on the FDA's own notification as an error)."""
_BIAS_UNCLEAR = re.compile(r"\b(?:random(?:ised|ized|ly)?|at random|allocat(?:ed|ion)|blind(?:ed|ing)?)\b",
                           re.IGNORECASE)
_NOT_SAID = re.compile(r"\b(?:does not (?:say|state|describe|give)|did not (?:say|state|describe)|not (?:recorded|"
                       r"described|stated))\b[^.]*", re.IGNORECASE)
"""A note of what the record leaves out; when what it leaves out is allocation or blinding, the study's risk of bias
cannot be judged from it."""
_GAP = re.compile(r"\b(?:does not (?:say|state|describe|give|list|report|contain|include|name|define|break)|did not "
                  r"(?:say|state|describe|give|report)|gives? (?:no|neither)|(?:or|nor) give|nor (?:were|was|did|"
                  r"does)|but not|(?:were|was) not (?:recorded|described|stated|reported|available|given))\b",
                  re.IGNORECASE)
"""A clause of the record's notes saying that something was not recorded."""
_CLAUSES = re.compile(r"[.;]\s+|,? hence\b[^.;]*")
"""Where the notes' clauses end; what follows "hence" ("..., hence the design label") is our inference, not a gap."""
_HOW_ALLOCATED = frozenset(content_terms("""random randomised randomized randomly allocated allocation assigned
    blinded blinding assessors sides side chosen whether halves treated patients participants group groups two
    three four"""))
"""Words of a gap in how participants were allocated or assessed, which ``bias_unclear`` reports."""
_BIBLIOGRAPHIC = frozenset(content_terms("""record records recorded publication published article paper year years
    author authors journal doi pmid title titles initials date posting volume issue pages name exact first full text
    shown show says say given give gives state states stated describe described report reported available entry copy
    english language document-sharing mirror site repost"""))
"""Words of a note about a gap in the citation (who, where, when), which says nothing of the evidence."""


def appraise_source(
    meta: DocumentMeta,
    text: str,
    quotes: Sequence[str],
    question: str,
    today: date,
    sections: tuple[Section, ...] = (),
    options: AppraisalOptions = DEFAULT_OPTIONS,
) -> SourceAppraisal:
    """Appraise one cited publication.

    ``text`` is the document's text (or, when only passages are at hand, the passages joined); its first
    ``options.max_text_chars`` characters are read for design and sample size. ``sections`` are the document's
    section spans, which tell methods from background. ``quotes`` are the cited sentences: they decide the
    direction and, for guidelines, which recommendation's strength is reported. ``today`` dates the source.

    A quoted sentence about a population the question's patient is outside of (rag.appraisal.applicability: "adults
    aged 40 to 75 years" for an 80-year-old) sets no direction; when it gives advice, the reference is flagged
    ``outside_population`` (all its quoted advice excludes the patient) or ``partly_outside_population`` (some does),
    saying which bound the patient misses, and the strength reported is that of the advice not excluding the
    patient, when one is quoted.
    """
    budget = options.max_text_chars
    design, conflict, sample = _document_findings(meta, text, sections, budget)
    included = included_randomised(text, budget) if design.design in _REVIEWS else None
    is_guideline = meta.kind == "guideline"
    patient = patient_of(question)
    sentences = sentence_texts(quotes) if patient else []
    missed = {sentence: found for sentence in sentences if (found := mismatches(patient, sentence))}
    including = [sentence for sentence in sentences if sentence not in missed] if missed else list(quotes)
    advice = [sentence for sentence in sentences if gives_advice(sentence)] if missed else []
    excluding = [m for sentence in advice for m in missed.get(sentence, ())]
    recommendation = RecommendationFinding()
    if is_guideline:
        recommendation = recommendation_of(including)
        recommendation = recommendation if recommendation.strength else recommendation_of(quotes)
    grade, grade_quote = evidence_grade_of(quotes, text, budget) if is_guideline else (None, None)
    direction = direction_of(question, including)
    age = age_in_years(meta.year, today)
    reasons = _flag_reasons(meta, age, conflict, design.design is None and not is_guideline, recommendation, options)
    if excluding and all(sentence in missed for sentence in advice):
        reasons["outside_population"] = f"Its quoted advice is for {describe(excluding)}."
    elif excluding:
        reasons["partly_outside_population"] = (f"Some of its quoted advice is for {describe(excluding)}; its other "
                                                "quoted advice states no bound the patient is outside.")
    return SourceAppraisal(
        design=design.design, level=design.level, design_source=design.source, design_quote=design.quote,
        sample_size=sample.value, sample_size_source=sample.source, sample_size_quote=sample.quote,
        randomised_included=included[:2] if included else None, randomised_included_quote=included[2] if included
        else None,
        year=meta.year, age_years=age,
        direction=direction.direction, direction_quote=direction.quote, direction_words=direction.words,
        recommendation_strength=recommendation.strength, recommendation_quote=recommendation.quote,
        recommendation_direction=direction_of_recommendation(recommendation.strength, recommendation.quote),
        evidence_grade=grade, evidence_grade_quote=grade_quote,
        issuer=meta.source_name, flags=tuple(reasons), flag_reasons=reasons,
    )


@lru_cache(maxsize=256)
def _document_findings(meta: DocumentMeta, text: str, sections: tuple[Section, ...],
                       budget: int) -> tuple[DesignFinding, str | None, SampleSizeFinding]:
    """What does not depend on the question (design, conflict, sample size); cached, since the same publications
    are cited in many answers."""
    design, conflict = design_of(meta, text, sections, budget)
    sample = SampleSizeFinding() if meta.kind == "guideline" else sample_size_of(meta, text, sections, budget)
    return design, conflict, sample


def _secondhand(notes: str) -> bool:
    """Whether the notes say the record's facts were taken from someone's account of the publication (a news, press
    or company summary). A "third-party repost" of the PubMed record or the article is the publication's own text,
    copied: not an account."""
    return bool(_TAKEN_FROM.search(notes))


def _data_missing(notes: str) -> bool:
    """Whether the notes say the record lacks some of the study's data ("does not give the scores, p-values or
    adverse events"), not merely a part of its citation ("gives no year, authors or journal")."""
    for clause in _CLAUSES.split(notes):
        if _GAP.search(clause) and content_terms(_GAP.sub(" ", clause)) - _BIBLIOGRAPHIC - _HOW_ALLOCATED:
            return True
    return False


def age_in_years(year: int | None, today: date) -> int | None:
    """Whole years since publication (0 for this year's, and for a year after ``today``); None when unknown."""
    return None if year is None else max(0, today.year - year)


def _flag_reasons(meta: DocumentMeta, age: int | None, conflict: str | None, design_unknown: bool,
                  recommendation: RecommendationFinding, options: AppraisalOptions) -> dict[Flag, str]:
    reasons: dict[Flag, str] = {}
    if meta.retracted:
        reasons["retracted"] = "The publication was retracted."
    if age is not None and age > options.outdated_after_years and (
            meta.kind == "guideline" or options.flag_outdated_studies):
        reasons["outdated"] = f"Published {meta.year}, {age} years ago (older than {options.outdated_after_years})."
    if conflict:
        reasons["design_conflict"] = f"The front matter's design is kept: {conflict}."
    if design_unknown:
        reasons["design_unknown"] = "Neither metadata nor the text state this study's own design."
    if meta.notes and _secondhand(meta.notes):  # a guideline known from press accounts too
        reasons["secondhand"] = "Our record was written from an account of the publication (a news, press or " \
                                "company summary), not from the publication."
    if meta.kind == "study" and meta.notes and any(_BIAS_UNCLEAR.search(m.group(0))
                                                   for m in _NOT_SAID.finditer(meta.notes)):
        reasons["bias_unclear"] = "Our record does not say how participants or sides were allocated, or whether " \
                                  "assessors were blinded."
    if meta.kind == "study" and meta.notes and _data_missing(meta.notes):
        reasons["data_missing"] = "Our record of the publication leaves out some of its data (the notes say what)."
    if recommendation.several:
        reasons["several_recommendations"] = "The quotes state several recommendations of different strength, so " \
                                             "no one strength is shown."
    return reasons
