"""The offline extractive generator (the embedded default): it quotes the sentences of each section's passages that
answer the question, each cited, and says plainly when a section has no relevant passage. Deterministic.

What to quote is judged by meaning (rag.meaning): each sentence scores its cosine with the question (the packaged
encoder, sentence vectors stored at ingest) blended with its passage's, and a publication scores its best sentence.
A section abstains when no publication addresses the question (``RAG_MEANING__ADDRESSES``, calibrated on in-corpus
against off-corpus questions); otherwise the publications within ``RAG_MEANING__RELATIVE_FLOOR`` of the best are
quoted, the most direct first (within ``DIRECT_MARGIN`` of the best), then stronger evidence (systematic
review/meta-analysis > randomised trial > other), then newer. Each gives its best sentence, then the best of the rest
fill the section, at most three from one publication; a sentence of a list item comes with the item's other
sentences. A study whose passages only describe it (a record without results) is quoted only when no study with a
finding addresses the question. A sentence ranks by its score, the role of its section
(results, conclusions, recommendations above methods, background below), wording that states a finding, a number
when the question asks for one, and, in a follow-up, its cosine with the follow-up's own ask. No word list decides
what addresses the question.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence, Set
from dataclasses import dataclass, field, replace

from rag.appraisal.applicability import advises, narrows_to, patient_of
from rag.appraisal.certainty import states_caution
from rag.appraisal.counts import counts_in
from rag.appraisal.recommendation import (
    CONFIRMING_MARGIN,
    Stance,
    claimed_stance,
    contradicted,
    contradicts,
    position_on,
    premise_of,
    stance_of,
    strengths_in,
)
from rag.config import GenerationSettings
from rag.contract import (
    LIMITATIONS_TITLE,
    NO_EVIDENCE_STATEMENTS,
    NOT_AS_CLOSE_STATEMENTS,
    SECTION_SOURCE_KIND,
    SECTION_TITLES,
    SectionKind,
    Source,
    cite,
    strip_citations,
)
from rag.conversation import own_ask
from rag.evidence import LEVEL_BY_DESIGN
from rag.generate.protocol import Draft, DraftSentence, Generation, GenerationRequest
from rag.meaning.relevance import SENTENCE_MARGIN, FollowUp, Relevance, ScoredPassage
from rag.models import Hit
from rag.text.sections import Role, section_role
from rag.text.sentences import leans_on_previous, list_items, quotable_sentences, sentence_spans, tidy
from rag.text.terms import content_terms

MAX_PER_DOCUMENT = 3
ASK_WEIGHT = 0.6
"""In a follow-up, a sentence ranks higher by this times its cosine with the follow-up's own ask (was 0.3)."""
SAID_BEFORE = 0.1
"""In a follow-up, a sentence an earlier answer of the conversation quoted ranks this much lower: the follow-up asks
for something new. With ASK_WEIGHT 0.6, chosen on the clinician dev half's 14 follow-ups: required facts 75% -> 89%,
nothing else changed on dev (0.2 gave the same; 0.3 and 0.5, 86%). Any earlier answer, not only the last: a third
turn had led with the first turn's sentence again (starter dev required facts 84% -> 85%)."""
ASK_KIND_WEIGHT = 0.4
"""A sentence ranks higher by this times its cosine with the kind of finding the question asks for."""
_ASK_KINDS = (
    (re.compile(r"\b(?:side[- ]effects?|adverse|harms?|harmful|safe|safety|complications?|risks?|toxicity|"
                r"tolerat\w*|problems?)\b", re.IGNORECASE),
     "adverse events, side effects, harms and complications of the treatment"),
    (re.compile(r"\b(?:sensitivity|specificity|accura\w*|predictive|false positives?|detects?)\b", re.IGNORECASE),
     "sensitivity, specificity and diagnostic accuracy"),
    (re.compile(r"\b(?:dose|dosage|doses|sessions?|how often|intervals?|protocol|regimen|schedule|frequency|"
                r"apart|how many (?:treatments|injections|infusions))\b", re.IGNORECASE),
     "the number of sessions, the interval between treatments, the dose and the schedule"),
    (re.compile(r"\b(?:how long|duration|follow-up|followed up|last|lasting)\b", re.IGNORECASE),
     "how long the treatment lasted and the length of follow-up"),
    (re.compile(r"\b(?:who should|which patients|eligible|contraindicat\w*|shouldn't|should not|avoid)\b",
                re.IGNORECASE),
     "which patients should or should not receive it, and its contraindications"),
    (re.compile(r"\b(?:which|what|preferred) (?:\w+ )?(?:tests?|assays?|specimens?|samples?|labs?)\b|\bspecimens?\b|"
                r"\bnext step\b|\bwhat (?:should|do) (?:i|we) (?:\w+ )?(?:order|test|send)\b", re.IGNORECASE),
     "the test, assay or specimen to use and what to do after its result"),
)
STRENGTH_BONUS = 0.2
"""For a question that asks how strong a recommendation is, or what to do (:func:`asks_for_decision`), or takes a
grade for granted ("Since the USPSTF gives annual skin exams a B grade, ..."), a sentence stating a strength
(rag.appraisal.recommendation) ranks this much higher: the grade answers it, or corrects it. Chosen on the two dev
halves (3 such questions): at 0.05 and 0.1 nothing moved; at 0.2 the skin-exam premise is corrected by the I
statement (starter dev premises 75% -> 88%) and nothing else moved."""
_STRENGTH_ASK = re.compile(r"\b(?:grades?|graded|how strong(?:ly)?|strength|level of evidence)\b", re.IGNORECASE)
POPULATION_BONUS = 0.1
"""For a question describing its patient by a number (an age, a life expectancy: rag.appraisal.applicability), a
sentence of advice whose stated population holds the patient ranks this much higher: "life expectancy <5 years" leads
for "maybe 3 years to live" over the targets for 5 to 10 and over 10 years. Chosen on the dev halves: 0.1 and 0.2 read
the same (second corpus true premises 90% -> 100% of 10, nothing else moved); a bonus for any sentence holding the
patient, advice or not, raised scope lines ("This recommendation applies to ... women 18 years and older") and cost
required facts (second corpus 84% -> 81%)."""
NUMBER_BONUS = 0.05
"""For a question that asks for a number (how many, how often, what dose, what share), a sentence stating one ranks
this much higher."""
_NUMBER = re.compile(r"\d")
_DOSE_WORD = re.compile(r"\b(?:doses?|dosage|dosing|mg|milligrams?|mg/kg|micrograms?)\b", re.IGNORECASE)
"""A dose named in a question, or a unit of one."""
_PLACED_DOSE = re.compile(r"\b(?:between|first|second|third|fourth|final|last|next|booster|missed)\s++(?:\w++\s++)?+"
                          r"\Z", re.IGNORECASE)
"""What, just before "dose", places it in a series ("minimum intervals between doses", "the second dose"): the
question asks when, not how much."""
_DOSE = re.compile(r"\d\s?(?:mg|g|mcg|µg|ug|ml|mL|IU|units?|tablets?|capsules?|puffs?|drops?|ampoules?|vials?)"
                   r"(?!\s?/\s?(?:dL|L|l|dl|mmol)\b)\b|\b(?:single|one|two|three|daily|twice|once) (?:dose|tablet|"
                   r"capsule|injection)s?\b", re.IGNORECASE)
"""A dose stated in a sentence ("2.5 mg", "0.5 mg/kg", "one tablet"); a concentration ("110 mg/dL") is not one."""
_NUMBER_ASK = re.compile(
    r"\b(?:how (?:many|much|often|long|far|frequently|large|big|accurate|common|likely)|what (?:dose|dosage|"
    r"percentage|proportion|share|fraction|number|rate|interval|sample|size)|sample size|odds ratio|"
    r"sensitivity|specificity|per ?cent|percentage|numbers?|interval|sessions?|weeks?|months?|years?|mg)\b",
    re.IGNORECASE)
DIRECT_MARGIN = 0.03
"""Publications scoring within this of the best one are direct: they come first, by evidence level and year."""

_ROLE_BONUS: dict[Role | None, float] = {
    "conclusion": 0.10, "result": 0.10, "method": -0.04, "background": -0.12, None: 0.0}
_FINDING = re.compile(
    r"\b(?:significant(?:ly)?|improv\w*|reduc\w*|increas\w*|decreas\w*|associated|no (?:significant )?difference|"
    r"did not|was not|were not|comparable|similar|superior|inferior|recommend\w*|should|conclud\w*|"
    r"odds ratio|hazard ratio|relative risk|(?:95% )?CI\b|p\s?[<=>])", re.IGNORECASE)
_AIM = re.compile(r"\b(?:we aimed|the aim|aims? (?:of|to)|objective (?:of|was)|was to (?:evaluate|determine|assess|"
                  r"investigate|examine|compare)|little is known|remains? unclear|is unknown)", re.IGNORECASE)

_SIGNIFICANCE = re.compile(
    r"\b(?:statistically|significan\w*|p\s?[<=>]\s?0?\.\d|95% CI|confidence interval)", re.IGNORECASE)
"""A statement of whether a result is significant."""
_CONTINUES = re.compile(r"\A(?:(?:In addition|Additionally|Moreover|Furthermore),|(?:\S++ ){1,6}?also (?:found|"
                        r"reported|noted|observed|identified) (?:\S++ ){0,8}?other\b|(?:\S++ ){1,12}?(?:should|may|"
                        r"must|can) also be\b)", re.IGNORECASE)
"""A sentence that goes on with the one before it: the list it began ("The USPSTF also found adequate evidence of
other moderate harms, such as ... stroke, dementia ...": a reader found three of seven harms quoted, the rest in the
sentence after), or the population it named ("Younger adolescents and older adults who are at increased risk should
also be screened. (A recommendation)" after the statement for ages 15 to 65, which then reads as the whole of it)."""
_ANNOUNCES = re.compile(r"\b(?:several|various|a number of|numerous|multiple|many|different)\s++(?:\w++\s++){0,2}?"
                        r"(?:instruments|tools|tests|options|strategies|interventions|methods|approaches|treatments|"
                        r"regimens|measures|questionnaires|scales|ways|drugs|medications)\b", re.IGNORECASE)
"""A sentence naming a set without its members ("Several screening instruments can be used to screen women for
IPV."): the next sentence, when it leans on it ("Those with the highest ... are HITS; ..."), names them."""
_LEADING_PRONOUN = re.compile(r"(?:It|They|This|These|Those|Its|Their|He|She|Such)\b"
                              r"(?! (?:recommendations?|statements?|guidelines?)\b)")
"""A sentence opening on a pronoun leans on the one before it, which the answer may not quote ("It had previously
found that ..."); "This recommendation applies to ..." names what it is about (the guideline's own recommendation)."""


@dataclass(frozen=True)
class Candidate:
    """A passage sentence that may be quoted: where it is, how well it answers (its section's role, its wording,
    the question's words it holds), and whether its section only describes (methods, background)."""

    source: Source
    position: int
    text: str
    relevance: float
    describes: bool
    """Its section only describes the study or its background (methods, background): it states no finding."""
    meaning: float = 0.0
    """How well the sentence addresses the question by meaning alone (rag.meaning)."""
    premise: float = 0.0
    """How well it addresses the claim the question takes for granted, when it states one."""
    corrects: bool = False
    """It states a position (a grade, "recommends against", "not approved") contrary to the one the question's
    premise attributes to a guideline or regulator."""
    confirms: bool = False
    """It states the position the question's premise attributes to a guideline or regulator."""
    reverses: bool = False
    """Of the corrections, it states the opposite position (against where the premise claims for, or for where it
    claims against), not only a weaker one (an I statement, a C grade)."""
    on_population: bool = False
    """It speaks of the population the premise names by its numbers (rag.appraisal.applicability ``narrows_to``:
    "patients less than 30 years of age" for a claim about "patients under 30")."""


@dataclass
class _Document:
    """A publication among the sources: how relevant and how direct it is, and its quotable sentences."""

    hit: Hit
    sentences: list[Candidate] = field(default_factory=list)
    score: float = -1.0
    addresses: bool = False
    premise: float | None = None
    """The score of its best sentence against the question's premise, when it addresses the premise."""

    @property
    def design_only(self) -> bool:
        """A study whose passages among the sources only describe it (its design, its background): a record that
        gives no results ("The results of this study were not recorded") is not evidence of an effect."""
        return self.hit.kind == "study" and all(c.describes for c in self.sentences)


class ExtractiveGenerator:
    """Composes the answer from the sources' own sentences."""

    name = "extractive"
    is_model = False

    def __init__(self, relevance: Relevance, settings: GenerationSettings) -> None:
        self._relevance = relevance
        self._settings = settings

    def generate(self, request: GenerationRequest) -> Generation:
        """The whole answer, composed from the sources' sentences."""
        return next(piece for piece in self.stream(request) if isinstance(piece, Generation))

    def stream(self, request: GenerationRequest) -> Iterator[str | Generation]:
        """The answer a section at a time (as Markdown, for display), then the :class:`Generation` with its draft:
        each quoted sentence with the one source it is quoted from, never parsed back from the text."""
        said = _said_before(request)
        documents = self._documents(request.question, request.sources, request.follow_up, said)
        limits: dict[SectionKind, int] = {"guidelines": self._settings.guideline_sentences,
                                          "research": self._settings.research_sentences}
        pieces: list[str] = []
        drafted: dict[SectionKind, list[DraftSentence]] = {}
        chosen_all: list[Candidate] = []
        correction: DraftSentence | None = None
        best = max((d.score for d in documents if d.addresses), default=None)
        guidance = asks_for_guidance(request.question)
        for section, limit in limits.items():
            own = [d for d in documents if d.hit.kind == SECTION_SOURCE_KIND[section]]
            ask = own_ask(request.question) or request.question
            chosen = self._choose(own, limit, asks_for_dose(ask), asks_for_size(ask))
            none = NO_EVIDENCE_STATEMENTS[section]
            if chosen and best is not None and not self._holds_its_own(section, own, best, guidance):
                chosen, none = [], NOT_AS_CLOSE_STATEMENTS[section]
            chosen_all.extend(chosen)
            drafted[section] = [DraftSentence(tidy(strip_citations(c.text)), (c.source.n,)) for c in chosen] or \
                [DraftSentence(none)]
            if chosen and chosen[0].corrects:
                correction = drafted[section][0]
            body = " ".join(cite(c.text, c.source.n) for c in chosen) or none
            pieces.append(f"## {SECTION_TITLES[section]}\n{body}\n\n")
            yield pieces[-1]
        stated = limitations(chosen_all, request.audience == "patient")
        pieces.append(f"## {LIMITATIONS_TITLE}\n{stated}\n")
        yield pieces[-1]
        yield Generation("".join(pieces), draft=Draft(drafted, stated, correction=correction))

    def _documents(self, question: str, sources: Sequence[Source], follow_up: FollowUp | None = None,
                   said: Set[str] = frozenset()) -> list[_Document]:
        """The sources grouped by publication, each scored by meaning: its best sentence against the question
        (rag.meaning; in a follow-up, the publications cited before also against its own ask), with its quotable
        sentences ranked for quoting."""
        if not sources:
            return []
        judged = self._relevance.judge_sources(question, sources, follow_up)
        scored = judged.passages
        ask = own_ask(question)
        numeric = asks_for_number(ask or question)
        graded = asks_for_strength(ask or question) or asks_for_decision(ask or question)
        asked = self._asked(ask, scored)
        kinds = self._asked_kind(ask or question, scored)
        premise = premise_of(ask or question)
        patient = patient_of(question)
        on_premise = self._relevance.judge_sources(premise, sources) if premise else None
        claimed = claimed_stance(premise) if premise else None  # a position only a guideline's sentence states
        documents: dict[str, _Document] = {}
        for index, (source, passage) in enumerate(zip(sources, scored, strict=True)):
            publication = judged.publications[source.hit.doc_id]
            document = documents.setdefault(source.hit.doc_id, _Document(source.hit, score=publication.score,
                                                                          addresses=publication.addresses))
            premised = on_premise.passages[index].sentences if on_premise else ()
            if on_premise is not None and on_premise.publications[source.hit.doc_id].addresses:
                document.premise = on_premise.publications[source.hit.doc_id].score
            role = _role_bonus(source.hit.section)
            for number, sentence in enumerate(passage.sentences):
                ranking = (sentence.score + role + _wording_bonus(sentence.text)
                           + (NUMBER_BONUS if numeric and _NUMBER.search(sentence.text) else 0.0)
                           + (STRENGTH_BONUS if graded and strengths_in(sentence.text) else 0.0)
                           + (POPULATION_BONUS if patient and advises(patient, sentence.text) else 0.0)
                           + ASK_WEIGHT * asked.get(sentence.text, 0.0)
                           + ASK_KIND_WEIGHT * kinds.get(sentence.text, 0.0)
                           - (SAID_BEFORE if sentence.text in said else 0.0))
                on_claim = premised[number].score if premised else 0.0
                stated = position_on(premise, sentence.text) if source.hit.kind == "guideline" and premise and \
                    claimed and on_claim >= self._relevance.settings.addresses else None
                document.sentences.append(Candidate(
                    source, sentence.position, sentence.text, ranking, role < 0, sentence.score, on_claim,
                    contradicts(claimed, stated), stated is not None and stated == claimed,
                    {claimed, stated} == {"for", "against"}, stated is not None and premise is not None
                    and narrows_to(premise, sentence.text)))
        return [_corrections_if_contradicted(d) for d in documents.values() if d.sentences]

    def _asked_kind(self, question: str, scored: Sequence[ScoredPassage]) -> dict[str, float]:
        """When the question asks for a kind of finding (harms, accuracy, a protocol, a duration, who should get
        it), each sentence's cosine with a description of that kind, so that a sentence giving it leads even where
        the topic's words dominate the question's vector."""
        kinds = [description for pattern, description in _ASK_KINDS if pattern.search(question)]
        if not kinds:
            return {}
        texts = list(dict.fromkeys(s.text for passage in scored for s in passage.sentences))
        closeness = [self._relevance.sentences(self._relevance.question_vector(k), texts) for k in kinds]
        return {text: max(values) for text, *values in zip(texts, *closeness, strict=True)}

    def _asked(self, ask: str | None, scored: Sequence[ScoredPassage]) -> dict[str, float]:
        """For a follow-up condensed by rule ('What about side effects? (following the question "...")'), each
        sentence's cosine with its own ask, so that within the earlier topic the sentences answering the new ask
        lead."""
        if ask is None:
            return {}
        texts = list(dict.fromkeys(s.text for passage in scored for s in passage.sentences))
        vector = self._relevance.question_vector(ask)
        return dict(zip(texts, self._relevance.sentences(vector, texts), strict=True))

    def _holds_its_own(self, section: SectionKind, documents: list[_Document], best: float, guidance: bool) -> bool:
        """Whether a section's publications are close enough to the answer's best publication (``best``, whichever
        section holds it) to be quoted: its best addressing one within ``section_floor`` of it (0.05, as
        ``relative_floor`` within a section).
        A guideline 0.15 below the case report that answers the question is padding in front of the answer. A
        section speaking to the question's premise, and the guideline section of a question asking what a guideline,
        regulator or consensus says, are answered whatever the other section holds."""
        if any(d.premise is not None for d in documents) or (section == "guidelines" and guidance):
            return True
        own = max((d.score for d in documents if d.addresses), default=None)
        return own is not None and own >= best - self._relevance.settings.section_floor

    def _choose(self, documents: list[_Document], limit: int, dose: bool = False, size: bool = False
                ) -> list[Candidate]:
        """Sentences of the publications that address the question and score close to the best one, the most
        direct publication first, then stronger evidence, then newer (a study recorded without results only when no
        study with a finding is left): each publication's best sentence, then the best of the rest, at most
        ``MAX_PER_DOCUMENT`` from one publication; none below the sentence floor. For a question asking for a dose
        (``dose``), only sentences stating one: context around a dose is not a dose. For a question asking how large
        the studies are (``size``), each publication's first pick is its best sentence counting the people it studied
        (rag.appraisal.counts), and a study recorded without results adds that sentence beyond the limit."""
        if not documents:
            return []
        meaning = self._relevance.settings
        candidates = documents
        documents = [d for d in documents if d.addresses]
        if not documents and not any(d.premise is not None for d in candidates):
            return []
        best = max((d.score for d in documents), default=1.0)
        relevant = [d for d in documents if d.score >= best - meaning.relative_floor]

        def order(document: _Document) -> tuple[bool, bool, int, int, float]:
            hit = document.hit
            level = hit.evidence_level or LEVEL_BY_DESIGN.get(hit.study_design or "", 9)
            return (document.design_only, document.score < best - DIRECT_MARGIN, level, -(hit.year or 0),
                    -document.score)

        relevant.sort(key=order)
        sentence_floor = meaning.addresses - SENTENCE_MARGIN
        ranked = {d.hit.doc_id: [c for c in _ranked_sentences(d.sentences) if c.meaning >= sentence_floor
                                 and (not dose or _DOSE.search(c.text))] for d in relevant}
        relevant = [d for d in relevant if ranked[d.hit.doc_id]]
        counting = {d.hit.doc_id: found for d in relevant
                    if (found := next((c for c in ranked[d.hit.doc_id] if counts_in(c.text)), None))} if size else {}
        described = [d for d in relevant if d.design_only and d.hit.doc_id in counting]
        relevant = [d for d in relevant if not d.design_only] or relevant
        for doc_id, found in counting.items():  # each publication leads with its count of the people it studied
            ranked[doc_id] = [found, *(c for c in ranked[doc_id] if c is not found)]
        premised = [d for d in candidates if d.premise is not None]
        if premised:  # the source that speaks to what the question takes for granted leads, to confirm or correct
            closest = max(d.premise or 0.0 for d in premised)  # a correction leads if about as close as the closest
            lead = max(premised, key=lambda d: (any(c.corrects for c in d.sentences)
                                                and (d.premise or 0.0) >= closest - CONFIRMING_MARGIN,
                                                any(c.corrects and c.on_population for c in d.sentences),
                                                (d.premise or 0.0) + d.score, d.score))
            lead_sentence = max(lead.sentences, key=lambda c: (  # a correction: the opposite position first, then
                c.corrects, c.corrects and c.reverses,        # the one closest to the premise
                c.corrects and c.on_population,
                c.premise + (0.0 if c.corrects else c.relevance - c.meaning), c.relevance))
            relevant = [lead, *(d for d in relevant if d is not lead)]
            ranked[lead.hit.doc_id] = [lead_sentence, *(c for c in ranked.get(lead.hit.doc_id, [])
                                                        if c is not lead_sentence)]
        picks: dict[str, list[Candidate]] = {d.hit.doc_id: ranked[d.hit.doc_id][:1] for d in relevant}
        chosen = 0
        for document in relevant:  # each publication's best, most direct first, within the limit
            picks[document.hit.doc_id] = picks[document.hit.doc_id][: 1 if chosen < limit else 0]
            chosen += len(picks[document.hit.doc_id])
        cap = limit if len(relevant) == 1 else MAX_PER_DOCUMENT  # one publication answers: it may fill the section
        rest = sorted((c for d in relevant for c in ranked[d.hit.doc_id][1:cap]), key=lambda c: -c.relevance)
        for candidate in rest[: max(0, limit - chosen)]:
            picks[candidate.source.hit.doc_id].append(candidate)
        # "randomised 100 patients" answers "how big are the trials?" though its record gives no results: beyond
        # the limit, so that it displaces no finding
        quoted = {d.hit.doc_id for d in relevant}
        extra = [d for d in described if d.hit.doc_id not in quoted]
        picks.update({d.hit.doc_id: [counting[d.hit.doc_id]] for d in extra})
        return [c for d in [*relevant, *extra] for c in _with_qualifiers(picks[d.hit.doc_id], d.sentences)]


def _corrections_if_contradicted(document: _Document) -> _Document:
    """``document`` with its sentences' ``corrects`` cleared when one of them also states the position the premise
    claims (``confirms``) and addresses it nearly as closely as the contrary ones (rag.appraisal.recommendation
    ``contradicted``): a guideline that holds the claim for some patients does not correct it, and its contrary
    sentence must not lead."""
    addressing = [c for c in document.sentences if c.corrects or c.confirms]
    if any(c.corrects and c.on_population for c in addressing) and not any(c.confirms and c.on_population
                                                                            for c in addressing):
        return document  # it contradicts the claim for the very patients the claim names
    as_stated: list[Stance | None] = ["for" if c.confirms else "against" for c in addressing]  # the claim as "for"
    if any(c.corrects for c in addressing) and not contradicted("for", as_stated, [c.premise for c in addressing]):
        document.sentences = [replace(c, corrects=False) for c in document.sentences]
    return document


def _said_before(request: GenerationRequest) -> frozenset[str]:
    """In a follow-up, the sentences the earlier answers of the conversation quoted, as the composer reads them (one
    line, no emphasis)."""
    if request.follow_up is None or not request.history:
        return frozenset()
    return frozenset(text for turn in request.history for quote in turn.quoted for _, text in quotable_sentences(quote))


def _with_qualifiers(picked: list[Candidate], sentences: list[Candidate]) -> list[Candidate]:
    """A publication's chosen sentences, its best first and the others in reading order, each with what it needs to
    be read right: a sentence of a list item comes with the item's other sentences (a recommendation with the caveat
    its item adds, "No one option is favoured." with the options); a sentence that leans on the one before it ("In
    this group, ...", "It was ...") comes after that one (or not at all); a result comes with the statement of
    its significance when the next sentence gives it ("The difference was not statistically significant."); and a
    publication's findings end with its authors' caution on reading them, when a retrieved sentence states one ("the
    design is observational and open to confounding by indication ...; confirmation is needed")."""
    by_place = {(c.source.n, c.position): c for c in sentences}
    items = {c.source.n: list_items(c.source.text) for c in {c.source.n: c for c in picked}.values()}
    groups: list[list[Candidate]] = []
    for candidate in picked:
        group = _statement(candidate, by_place, items[candidate.source.n])
        if not group:
            continue
        after = by_place.get((candidate.source.n, group[-1].position + 1))
        significance = after is not None and bool(_SIGNIFICANCE.search(after.text)) and not any(
            _SIGNIFICANCE.search(c.text) for c in group)
        announced = after is not None and bool(_ANNOUNCES.search(group[-1].text)) and bool(
            _LEADING_PRONOUN.match(after.text))
        if after is not None and (significance or announced or _CONTINUES.match(after.text)):
            group.append(after)
        groups.append(group)
    ordered = groups[:1] + sorted(groups[1:], key=lambda g: (g[0].source.n, g[0].position))
    seen: set[tuple[int, int]] = set()
    result = []
    for candidate in (c for group in ordered for c in group):
        if (candidate.source.n, candidate.position) not in seen:
            seen.add((candidate.source.n, candidate.position))
            result.append(candidate)
    caution = next((c for c in sentences if states_caution(c.text) and (c.source.n, c.position) not in seen), None)
    if caution is not None and any(not c.describes for c in result):
        result.append(caution)
    return result


def _statement(candidate: Candidate, by_place: dict[tuple[int, int], Candidate],
               items: list[int | None]) -> list[Candidate]:
    """The sentences ``candidate`` is quoted with, in reading order: its list item's, else the one before it when
    it leans on that one (none when that one cannot be quoted), else the recommendation before it that "this
    recommendation" refers to, else itself."""
    n, position = candidate.source.n, candidate.position
    item = items[position] if position < len(items) else None
    if item is not None:
        return [by_place[(n, p)] for p, i in enumerate(items) if i == item and (n, p) in by_place]
    if leans_on_previous(candidate.text):
        before = by_place.get((n, position - 1))
        return [before, candidate] if before is not None else []
    if _THIS_RECOMMENDATION.search(candidate.text) and not strengths_in(candidate.text):
        stating = next((by_place[(n, p)] for p in range(position - 1, -1, -1)  # a grade, or stated advice
                        if (n, p) in by_place and stance_of(by_place[(n, p)].text, advised=True)), None)
        return [stating, candidate] if stating is not None else [candidate]
    return [candidate]


_THIS_RECOMMENDATION = re.compile(r"\b(?:this|these|the above) (?:recommendations?|statements?)\b", re.IGNORECASE)
"""A sentence about "this recommendation" ("Although pregnant women are included, this recommendation is related to
decreasing risky drinking ...") is read after the recommendation it refers to when its passage states one before it:
beside another recommendation (the I statement for adolescents) it reads as about that one. When its passage holds
none (the recommendation is in another passage), it is quoted alone, as before: "This recommendation applies to
asymptomatic adults (18 years and older)" still says whom the guideline's statement covers."""


def asks_for_dose(question: str) -> bool:
    """Whether the question asks for a dose (the amount of a drug or product), which only a sentence stating one
    answers: "what starting dose", "how many doses", "azithromycin 1 g or doxycycline 100 mg?"; not a dose placed in a
    series ("what are the minimum intervals between doses?", "the second dose"): that asks when, not how much; nor the
    end of a compound naming a test or product ("low-dose CT", "low-dose aspirin"): "Should I order a low-dose CT?"
    had been met with "No retrieved source states a dose"."""
    return any(not _PLACED_DOSE.search(question, max(0, word.start() - 40), word.start())
               and question[word.start() - 1:word.start()] != "-" for word in _DOSE_WORD.finditer(question))


def asks_for_size(question: str) -> bool:
    """Whether the question asks how large the studies are ("How big are the randomised trials ...?", "how many
    patients did it enrol?", "what sample size"): a record describing a study's design states its size, even when it
    gives no results."""
    return bool(_SIZE_ASK.search(question))


_SIZE_ASK = re.compile(r"\bhow (?:big|large)\b|\bsample sizes?\b|\bhow many (?:patients|participants|people|subjects|"
                       r"women|men|children|adults|infants|persons|veterans)\b", re.IGNORECASE)


def asks_for_guidance(question: str) -> bool:
    """Whether the question asks what a guideline, regulator or consensus says ("Does the USPSTF recommend ...?",
    "Is it FDA-approved?"): its guideline section answers it even when a study is closer by meaning."""
    return bool(_GUIDANCE_ASK.search(question))


_GUIDANCE_ASK = re.compile(r"\b(?:guidelines?|recommend\w*|uspstf|task force|fda|va/dod|cdc|approv\w*|consensus|"
                           r"grade[ds]?|regulat\w*)\b", re.IGNORECASE)


def asks_for_decision(question: str) -> bool:
    """Whether the question asks what to do ("Should I check a TSH ...?", "Do we need to ...?", "Does the USPSTF
    recommend ...?"), in any of its sentences ("My patient is 78 ... . Should I screen her ...?"): a guideline's
    stated advice (its grade, an I statement) answers it, and ranks with the strength bonus above sentences that
    share more of its words (the TSH thresholds above the I statement on screening)."""
    return any(_DECISION_ASK.match(question[start:end]) for start, end in sentence_spans(question)) \
        or bool(_DECISION_CLAUSE.search(question))


_DECISION_CLAUSE = re.compile(r"(?:[:;,]|\s[-\u2013\u2014])\s(?:so |and |then |but )?should (?:i|we)\b"
                              r"|\bwhat should (?:i|we) (?:be )?(?:do|doing|offer|offering)\b", re.IGNORECASE)
"""An ask for what to do after the case is told ("A 72-year-old with mild depression: should I start an SSRI or
refer?"), or put as "what should I do/offer"."""
_DECISION_ASK = re.compile(r"(?:should (?:i|we|you)|do (?:i|we) (?:need|have) to|is it (?:worth|recommended)|"
                           r"does (?:the )?(?:uspstf|task force|guideline|va/dod) recommend)\b", re.IGNORECASE)


def asks_for_strength(question: str) -> bool:
    """Whether the question asks how strong a recommendation is (or states a grade it takes for granted)."""
    return bool(_STRENGTH_ASK.search(question))


def asks_for_number(question: str) -> bool:
    """Whether the question asks for a number: a count, a dose, a duration, a rate or an accuracy."""
    return bool(_NUMBER_ASK.search(question))


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
