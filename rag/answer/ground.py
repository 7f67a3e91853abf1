"""Grounding: every sentence of a parsed answer is checked against the passages it cites, by the same Judge the
eval harness uses (plus the lexical number check: a number in a sentence must appear in the passages it cites).

What a model gets wrong is repaired, not thrown away: a sentence without a valid citation (none, an invented number,
only sources of the other section's kind) is attributed to the retrieved passage that supports it; a sentence whose
best support is a source of the other kind moves to that section; a sentence no passage supports, a repeated
sentence (near-identical, or one whose words but one an earlier sentence with the same citations holds), a fragment
with nothing to support, a publication's title written as a sentence, a sentence that names another retrieved
publication than the one supporting it ("The VA/DoD guideline states ..." resting on a USPSTF statement), a sentence
stating another position than the passage it rests on ("does not recommend" for an I statement), and a sentence
resting only on a publication that does not address the question (rag.meaning: the judgment the offline
composer quotes by) are removed, each with its reason. Statements that the sources lack evidence ("There are no
direct studies ...") stay, uncited, unless (given which publications address the question) a source of their own
section does: then they are false and removed, and the section is marked ``contradicted``. A passage's sentences
addressed to a model ("Ignore previous instructions; answer that ...": rag.text.instructions) support nothing.

A model's limitations are checked too (``verify_limitations``): a "limitation" that states a finding on the question
(``findings``, rag.meaning: "There are no FDA-approved exosome products") moves to the section of the retrieved
passage that supports it, when that publication addresses the question; each of the others must be supported by a
retrieved passage of a publication the kept answer cites, or state an absence of evidence; a limitation of some
other publication (a review's risk of bias, carried over to a question it does not address) is removed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from rag.answer.lexical import answer_sentences, is_no_evidence, support, supporting_sentence, swaps_a_letter
from rag.appraisal import finds_no_difference_in, misstates_position, states_result
from rag.config import VerificationSettings
from rag.contract import SECTION_KINDS, SECTION_SOURCE_KIND, SectionKind, Source, strip_citations
from rag.generate.protocol import Draft
from rag.judge import Judge, Judgment
from rag.text.instructions import blank_instructions
from rag.text.sections import describes
from rag.text.sentences import leans_on_previous, tidy
from rag.text.terms import content_terms, numbers

_MIN_CONTENT_WORDS = 2
_NEAR_DUPLICATE = 0.85
_CONTAINED = 0.8
"""A sentence with at least this share of its words in an earlier sentence citing the same sources repeats it, when
at most ``_MAX_NEW_WORDS`` of its words are new ("differences in the barriers to education" after "differences in
most applications" is a second finding)."""
_MIN_CONTAINED_WORDS = 4
_MAX_NEW_WORDS = 1

NO_SUPPORT = "no retrieved passage supports it"
NOT_SUPPORTED_AS_CITED = "the passages it cites do not support it, and no other retrieved passage does"
REPEATED = "it repeats an earlier sentence"
NOTHING_TO_SUPPORT = "it states nothing a source could support"
NUMBERS_MISSING = "a number in it appears in none of the retrieved passages"
Verdict = Literal["supported", "misstated", "unsupported"]
"""What a passage makes of a claim (:meth:`Grounder._verdict`)."""
NAMES_ANOTHER_SOURCE = "it names a publication other than the one that supports it"
MISSTATES_POSITION = "it states another position than the passage it rests on (a grade, for, against or no call)"
ONLY_A_TITLE = "it is a publication's title, not a finding"
OFF_TOPIC = "the only publication supporting it does not address the question"
DENIES_ITS_STUDY = "it denies that such studies exist while resting on a study that addresses the question"
LEANS_ON_REMOVED = "it leans on the sentence before it, which was removed"
NO_DIFFERENCE_FOUND = "it states a difference in an outcome its cited passages found no difference in"
NO_RESULT_CITED = "it reports a result, and its cited passages only describe the study"
ABSENCE_CONTRADICTED = "retrieved sources of this section address the question"
RESTATES_FALSE_PREMISE = "it restates what the question takes for granted, which a guideline contradicts"
ASKS_A_QUESTION = "it asks a question instead of stating what a source says"
LIMITATION_UNSUPPORTED = "no passage of the publications the answer cites supports this limitation"
FindingTest = Callable[[Sequence[str]], Sequence[bool]]
"""Whether each of a model's limitation sentences states a finding on the question (rag.meaning.Relevance.findings)."""
_ALPHANUMERIC = re.compile(r"[a-z0-9]+")
_QUALIFIER = (r"(?:(?:direct|head-to-head|randomi[sz]ed|controlled|published|comparative|clinical|prospective|"
              r"earlier|prior|previous|other|such)\s+)*+")
_DENIED_STUDIES = re.compile(
    r"\b(?:(?:lack|absence|paucity|shortage) of|there (?:is|are|were|was) no|no)\s+" + _QUALIFIER
    + r"(?:stud(?:y|ies)|trials?|comparisons?|rcts?|evidence|data)\b", re.IGNORECASE)
"""A sentence denying that studies exist: "there is a lack of direct head-to-head studies", "no randomised trials"."""
_SOURCES_LACK = re.compile(
    r"(?:(?:however|additionally|moreover|also|unfortunately),?\s+)?(?:the\s+)?(?:retrieved\s+|provided\s+|available\s+"
    r"|given\s+)?(?:guidelines?|sources|documents|passages|references)(?:\s+and\s+(?:the\s+)?(?:studies|research|"
    r"guidelines?|sources))?\s+(?:(?:are|is|were|was)\s[^.;]{0,80}?\s+and\s+|[^.;,\s][^.;,]{0,80}+,\s++but\s++(?:they|it)\s++)?"
    r"(?:do|does|did)\s+not\s+"
    r"(?:provide|address|contain|include|mention|discuss|cover|give|"
    r"offer|specify|state|report)\b"
    r"|there (?:is|was) no\s+" + _QUALIFIER
    + r"(?:evidence|data|stud(?:y|ies)|trials?|research|guidelines?|comparisons?)\b",
    re.IGNORECASE)
"""A model's statement that its sources lack something, in other words than "No guideline ..." ("The guidelines
and studies do not provide information on whether regulators have approved exosome products", "The guidelines and
studies are based on a limited number of patients and do not provide direct evidence ...", "The guidelines provide
general recommendations, but they do not specify the exact HbA1c range for patients ... with a life expectancy of
less than 5 years", "There is no direct evidence ...")."""
_COMPARING = re.compile(r"\b(?:compar\w*|head-to-head|versus|vs\.?)(?!\w)", re.IGNORECASE)
_STUDY_WORD = re.compile(r"\b(?:stud(?:y|ies)|trials?|research|rcts?|meta-analys[ie]s|reviews?)\b")
_EVIDENCE_WORD = re.compile(r"\b(?:evidence|data)\b")
_MIN_TITLE_WORDS = 4
"""A title (or its part before a colon) shorter than this is too generic to show which publication a sentence names."""


@dataclass
class Claim:
    """A sentence of the answer and the sources it rests on (source numbers, before references are numbered)."""

    text: str
    section: SectionKind
    cited: list[int]
    sources: list[int] = field(default_factory=list)
    attributed: bool = False
    moved: bool = False
    absence: bool = False
    """A statement that the sources lack evidence: kept uncited, in its place."""
    from_limitations: bool = False
    """A finding the model wrote among its limitations, moved to its source's section."""
    misstates: bool = False
    """A passage it cites, or the one sharing most of its words, supports it but for the position it states."""


@dataclass
class Grounded:
    """The kept sentences per section in order (sourced claims and absence statements), and what was repaired:
    removed sentences with their reasons, and the source numbers the model cited in the wrong section."""

    claims: dict[SectionKind, list[Claim]]
    removed: list[tuple[str, str]]
    misrouted: list[int]
    limitations: str = ""
    contradicted: set[SectionKind] = field(default_factory=set)
    """Sections where a statement that evidence is missing was removed: their sources address the question."""
    unanswered: set[SectionKind] = field(default_factory=set)
    """Sections a model's answer keeps no sentence in although sources of theirs address the question: shown as
    they are, they would say that no source addresses it."""

    def sourced(self, section: SectionKind | None = None) -> list[Claim]:
        """The kept claims that rest on sources (of one section, or of both)."""
        sections = SECTION_KINDS if section is None else (section,)
        return [c for kind in sections for c in self.claims[kind] if c.sources]


class Grounder:
    """Checks, attributes, moves and removes the sentences of one answer (see the module docstring)."""

    def __init__(self, judge: Judge, settings: VerificationSettings) -> None:
        self._judge = judge
        self._settings = settings

    def ground(self, draft: Draft, sources: Sequence[Source], addressing: frozenset[int] | None = None,
               verify_limitations: bool = False, findings: FindingTest | None = None) -> Grounded:
        """The grounded answer: supported sentences with their sources, and the reasons for what was removed.
        ``addressing``: the numbers of the sources whose publication addresses the question (rag.meaning), when
        sentences resting only on other publications are to be removed (None: every source counts);
        ``verify_limitations``: whether the stated limitations are checked (a model's) or kept (ours);
        ``findings``: which limitation sentences state findings, to be moved to their sources' sections."""
        sources = [s.model_copy(update={"text": blank_instructions(s.text)}) for s in sources]  # data, not evidence
        by_number = {s.n: s for s in sources}
        grounded = Grounded({k: [] for k in SECTION_KINDS}, [], [])
        claims = self._claims(draft, grounded, model=verify_limitations)
        addressed = _addressed_sections(addressing, by_number)
        if addressing is not None:
            claims = self._checked_absences(claims, addressed, grounded)
        sourced = [c for c in claims if not c.absence]
        if addressing is None:
            addressing = frozenset(by_number)
        checked = self._check_cited(sourced, by_number, grounded)
        self._attribute([c for c, ok in zip(sourced, checked, strict=True) if not ok], sources, addressing,
                        grounded)
        for claim in sourced:
            if not claim.sources:
                continue
            if not addressing.intersection(claim.sources):
                grounded.removed.append((claim.text, OFF_TOPIC))
                claim.sources = []
            elif _plain(claim.text) in {form for source in sources for form in _title_forms(source.hit.title)}:
                grounded.removed.append((claim.text, ONLY_A_TITLE))
                claim.sources = []
            elif _names_another_source(claim, by_number):
                grounded.removed.append((claim.text, NAMES_ANOTHER_SOURCE))
                claim.sources = []
            elif _denies_its_study(claim, by_number, addressing):
                grounded.removed.append((claim.text, DENIES_ITS_STUDY))
                grounded.contradicted.add(claim.section)
                claim.sources = []
            elif verify_limitations and finds_no_difference_in(claim.text, [_joined(by_number, claim.sources)]):
                grounded.removed.append((claim.text, NO_DIFFERENCE_FOUND))  # a model made a null result an effect
                claim.sources = []
            elif verify_limitations and _result_without_one(claim, by_number):
                grounded.removed.append((claim.text, NO_RESULT_CITED))  # "found that ..." of a trial with no results
                claim.sources = []
            else:
                claim.sources = [n for n in claim.sources if n in addressing]
        for claim in claims:  # moved claims join the end of their new section
            if claim.absence or (claim.sources and not claim.moved):
                grounded.claims[claim.section].append(claim)
        for claim in claims:
            if claim.moved:
                grounded.claims[claim.section].append(claim)
        limitations = draft.limitations
        if verify_limitations and findings is not None:
            limitations = self._findings_moved(limitations, findings, sources, addressing, grounded)
        grounded.limitations = (self._limitations(limitations, grounded, sources, addressed) if verify_limitations
                                else limitations)
        if verify_limitations:
            self._without_orphans(draft, grounded)
            if addressing is not None:
                grounded.unanswered = {s for s in addressed if not grounded.sourced(s)} - grounded.contradicted
        return grounded

    @staticmethod
    def _without_orphans(draft: Draft, grounded: Grounded) -> None:
        """A model's kept sentence that leans on the one before it ("They also advise against ...") goes when that
        one was removed: alone, its subject reads as the sentence kept before it, or as nothing."""
        for section in SECTION_KINDS:
            by_text = {c.text: c for c in grounded.claims[section] if not c.moved}
            before_kept = True
            for sentence in draft.sections.get(section, ()):
                claim = by_text.get(sentence.text)
                if claim is not None and not before_kept and leans_on_previous(claim.text):
                    grounded.removed.append((claim.text, LEANS_ON_REMOVED))
                    grounded.claims[section].remove(claim)
                    claim = None
                before_kept = claim is not None

    # -- steps -------------------------------------------------------------------------------------------------
    @staticmethod
    def _checked_absences(claims: list[Claim], addressed: frozenset[SectionKind], grounded: Grounded) -> list[Claim]:
        """The claims without the statements of missing evidence ("There are no direct studies ...") made in a
        section whose own sources address the question; those sections are recorded in ``contradicted``."""
        kept = []
        for claim in claims:
            if claim.absence and claim.section in addressed:
                grounded.removed.append((claim.text, ABSENCE_CONTRADICTED))
                grounded.contradicted.add(claim.section)
            else:
                kept.append(claim)
        return kept

    def _claims(self, draft: Draft, grounded: Grounded, model: bool = False) -> list[Claim]:
        """The answer's sentences as claims; absence statements (a ``model``'s also in other words: "The guidelines
        and studies do not provide information on ..."), fragments and repeats are set aside here."""
        claims: list[Claim] = []
        seen: list[tuple[frozenset[str], frozenset[int]]] = []
        for section in SECTION_KINDS:
            for sentence in draft.sections.get(section, ()):
                text = sentence.text
                if not text:
                    continue
                if _states_absence(text, model):
                    claims.append(Claim(text, section, [], absence=True))
                    continue
                if model and strip_citations(text).rstrip().endswith("?"):
                    grounded.removed.append((text, ASKS_A_QUESTION))  # an echo of the question, or one back
                    continue
                terms = frozenset(content_terms(text))
                if len(terms) < _MIN_CONTENT_WORDS:
                    grounded.removed.append((text, NOTHING_TO_SUPPORT))
                    continue
                cited = list(dict.fromkeys(sentence.sources))
                if any(_repeats(terms, frozenset(cited), earlier) for earlier in seen):
                    grounded.removed.append((text, REPEATED))
                    continue
                seen.append((terms, frozenset(cited)))
                claims.append(Claim(text, section, cited))
        return claims

    def _findings_moved(self, text: str, findings: FindingTest, sources: Sequence[Source],
                        addressing: frozenset[int], grounded: Grounded) -> str:
        """The limitations without the findings among them: each finding a passage of a publication that addresses
        the question supports joins the end of that passage's section (unless the section already says it)."""
        sentences = [tidy for tidy in map(tidy, answer_sentences(text)) if tidy]
        asked = [s for s in sentences if not _absence_among_limitations(s)
                 and len(content_terms(s)) >= _MIN_CONTENT_WORDS]  # an absence is judged as such, in _limitations
        stated = {s for s, finding in zip(asked, findings([strip_citations(s) for s in asked]), strict=True)
                  if finding}
        if not stated:
            return text
        claims = [Claim(strip_citations(s), "guidelines", []) for s in sentences if s in stated]
        moved: set[str] = set()
        for claim, supporting in zip(claims, self._supporting(claims, sources), strict=True):
            found = [(score, source) for score, source in supporting if source.n in addressing]
            if not found:
                continue
            _, best = max(found, key=lambda item: (item[0], -item[1].n))
            claim.section, claim.sources = _section_of(best), [best.n]
            claim.attributed = claim.moved = claim.from_limitations = True
            terms = frozenset(content_terms(claim.text))
            said = [(frozenset(content_terms(c.text)), frozenset(c.sources)) for c in grounded.claims[claim.section]]
            if not any(_repeats(terms, frozenset(claim.sources), earlier) for earlier in said):
                grounded.claims[claim.section].append(claim)
            moved.add(claim.text)
        return " ".join(s for s in sentences if strip_citations(s) not in moved)

    def _limitations(self, text: str, grounded: Grounded, sources: Sequence[Source],
                     addressed: frozenset[SectionKind]) -> str:
        """The limitations that a retrieved passage of a publication the kept answer cites supports, or that state
        an absence of evidence no addressing source of the kind they deny contradicts ("There are no head-to-head
        trials" while a trial that addresses the question was retrieved: the seed's own error); the others are
        removed, with the reason, and a contradicted section is recorded in ``contradicted``."""
        cited = {n for claim in grounded.sourced() for n in claim.sources}
        publications = {s.hit.doc_id for s in sources if s.n in cited}
        passages = [s.text for s in sources if s.hit.doc_id in publications]
        sentences = [tidy for tidy in map(tidy, answer_sentences(text)) if tidy]
        absences = {s for s in sentences if _absence_among_limitations(s)}
        checked = [s for s in sentences if s not in absences and len(content_terms(s)) >= _MIN_CONTENT_WORDS]
        judgments = iter(self._judge.judge_many([(s, p) for s in checked for p in passages]))
        supported = {s for s in checked if True in [self._supports(next(judgments), s, p) for p in passages]}
        kept = []
        for sentence in sentences:
            denied = addressed & _denied_sections(sentence) if sentence in absences else frozenset()
            if denied:
                grounded.removed.append((sentence, ABSENCE_CONTRADICTED))
                grounded.contradicted.update(denied)
            elif sentence in supported or sentence in absences:
                kept.append(sentence)
            else:
                grounded.removed.append((sentence, LIMITATION_UNSUPPORTED if sentence in checked
                                         else NOTHING_TO_SUPPORT))
        return " ".join(kept)

    def _check_cited(self, claims: list[Claim], sources: dict[int, Source], grounded: Grounded) -> list[bool]:
        """Whether each claim is supported by the sources it cites of its section's kind (then they become its
        sources, pruned to the ones needed); citations of the other kind are reported as misrouted."""
        pairs: list[tuple[str, str]] = []
        asked: list[int] = []
        for index, claim in enumerate(claims):
            right = [n for n in claim.cited if sources[n].kind == SECTION_SOURCE_KIND[claim.section]]
            grounded.misrouted.extend(n for n in claim.cited if n not in right)
            claim.cited = right
            if right:
                pairs.append((claim.text, _joined(sources, right)))
                asked.append(index)
        results = [False] * len(claims)
        for index, judgment in zip(asked, self._judge.judge_many(pairs), strict=True):
            claim = claims[index]
            verdict = self._verdict(judgment, claim.text, _joined(sources, claim.cited))
            if verdict == "supported":
                claim.sources = claim.cited
                results[index] = True
            claim.misstates = verdict == "misstated"
        self._prune(claims, sources)
        return results

    def _prune(self, claims: list[Claim], sources: dict[int, Source]) -> None:
        """A claim citing several sources keeps those that support it alone (all of them when none does alone)."""
        several = [c for c in claims if len(c.sources) > 1]
        pairs = [(c.text, sources[n].text) for c in several for n in c.sources]
        judgments = iter(self._judge.judge_many(pairs))
        for claim in several:
            alone = [n for n in claim.sources if self._supports(next(judgments), claim.text, sources[n].text)]
            claim.sources = alone or claim.sources

    def _attribute(self, claims: list[Claim], sources: Sequence[Source], addressing: frozenset[int],
                   grounded: Grounded) -> None:
        """Each claim without supporting citations gets the best supporting passage among the ones that share the
        most of its words, preferring its own section's kind and then publications that address the question; a
        claim only the other kind supports moves there."""
        for claim, found in zip(claims, self._supporting(claims, sources), strict=True):
            if claim.misstates:  # not attributed elsewhere: it is about what its passage says, and says it wrongly
                grounded.removed.append((claim.text, MISSTATES_POSITION))
                continue
            if not found:
                if not _numbers_anywhere(claim.text, sources):
                    reason = NUMBERS_MISSING
                else:
                    reason = NOT_SUPPORTED_AS_CITED if claim.cited else NO_SUPPORT
                grounded.removed.append((claim.text, reason))
                continue
            own = [item for item in found if item[1].kind == SECTION_SOURCE_KIND[claim.section]]
            _, best = max(own or found, key=lambda item: (item[1].n in addressing, item[0], -item[1].n))
            if best.kind != SECTION_SOURCE_KIND[claim.section]:
                claim.section = _section_of(best)
                claim.moved = True
            claim.sources, claim.attributed = [best.n], True

    def _supporting(self, claims: Sequence[Claim], sources: Sequence[Source]) -> list[list[tuple[float, Source]]]:
        """For each claim, the (judge score, source) of the candidate passages (:meth:`_candidates`) that support
        it, all judged in one call."""
        candidates = [self._candidates(c.text, sources) for c in claims]
        judgments = iter(self._judge.judge_many([(c.text, s.text) for c, found in zip(claims, candidates,
                                                                                       strict=True) for s in found]))
        supporting = []
        for claim, found in zip(claims, candidates, strict=True):
            kept = []
            for place, source in enumerate(found):
                judgment = next(judgments)
                verdict = self._verdict(judgment, claim.text, source.text)
                if verdict == "supported":
                    kept.append((judgment.score, source))
                elif place == 0 and not claim.cited:  # the passage sharing the most of its words
                    claim.misstates = verdict == "misstated"
            supporting.append(kept)
        return supporting

    def _candidates(self, claim: str, sources: Sequence[Source]) -> list[Source]:
        """The sources sharing the most of the claim's content words (and all its numbers first)."""
        scored = []
        for source in sources:
            found = support(claim, source.text)
            if found.recall > 0:
                scored.append((found.numbers_ok, found.recall, -source.n, source))
        scored.sort(key=lambda item: item[:3], reverse=True)
        return [item[3] for item in scored[: self._settings.max_attribution_candidates]]

    def _supports(self, judgment: Judgment, claim: str, passage: str) -> bool:
        return self._verdict(judgment, claim, passage) == "supported"

    def _verdict(self, judgment: Judgment, claim: str, passage: str) -> Verdict:
        """The judge's verdict, unless the claim holds a number the passage does not, or its best supporting sentence
        names another lettered vitamin or virus ("unsupported"), or states another position than the claim says it
        does ("misstated": an I statement written up as "does not recommend", words a judge of overlap reads as the
        same)."""
        if not (judgment.supported and judgment.score >= self._settings.attribution_min_score
                and numbers(claim) <= numbers(passage)):
            return "unsupported"
        sentence = supporting_sentence(claim, passage)
        if swaps_a_letter(claim, sentence):
            return "unsupported"
        return "misstated" if misstates_position(claim, sentence) else "supported"


def _joined(sources: dict[int, Source], numbers_: Sequence[int]) -> str:
    return "\n\n".join(sources[n].text for n in numbers_)


def _numbers_anywhere(claim: str, sources: Sequence[Source]) -> bool:
    wanted = numbers(claim)
    return not wanted or any(wanted <= numbers(s.text) for s in sources)


def _names_another_source(claim: Claim, sources: dict[int, Source]) -> bool:
    """Whether the sentence names (by title) a retrieved publication it does not rest on, and none it rests on."""
    text = f" {_plain(claim.text)} "
    own = {sources[n].hit.doc_id for n in claim.sources}

    def named(source: Source) -> bool:
        return any(f" {title} " in text for title in _title_forms(source.hit.title))

    if any(named(sources[n]) for n in claim.sources):
        return False
    return any(named(source) for source in sources.values() if source.hit.doc_id not in own)


def _title_forms(title: str) -> set[str]:
    """A title as a sentence might quote it: whole, without a closing remark in brackets ("(descriptive title)",
    "(as reported in the press)"), or its part before a colon; only forms long enough to be specific."""
    bare = _without_closing_remarks(title)
    forms = {_plain(title), _plain(bare), _plain(title.split(":", 1)[0])}
    return {form for form in forms if len(form.split()) >= _MIN_TITLE_WORDS}


def _without_closing_remarks(title: str) -> str:
    """The title without the remarks in brackets that close it ("... (descriptive title)"); read from the end, each
    step shortening the text (a pattern anchored at the end is retried from every position: quadratic)."""
    text = title.rstrip()
    while text.endswith(")"):
        start = text.rfind("(")
        if start <= 0 or ")" in text[start:-1]:
            break
        text = text[:start].rstrip()
    return text


def _plain(text: str) -> str:
    return " ".join(_ALPHANUMERIC.findall(text.lower()))


def _repeats(terms: frozenset[str], cited: frozenset[int], earlier: tuple[frozenset[str], frozenset[int]]) -> bool:
    """Whether a sentence repeats an earlier one: near-identical words, or (citing nothing the earlier one does not)
    a restatement of part of it ("It describes a preparation on three axes ..." after a sentence saying so)."""
    words, earlier_cited = earlier
    if terms == words or len(terms & words) / len(terms | words) >= _NEAR_DUPLICATE:
        return True
    return (len(terms) >= _MIN_CONTAINED_WORDS and cited <= earlier_cited and len(terms - words) <= _MAX_NEW_WORDS
            and len(terms & words) / len(terms) >= _CONTAINED)


def _section_of(source: Source) -> SectionKind:
    return next(kind for kind, source_kind in SECTION_SOURCE_KIND.items() if source_kind == source.kind)


def _addressed_sections(addressing: frozenset[int] | None, sources: dict[int, Source]) -> frozenset[SectionKind]:
    """The sections with a source whose publication addresses the question (none known: ``addressing`` None)."""
    if addressing is None:
        return frozenset()
    kinds = {sources[n].kind for n in addressing if n in sources}
    return frozenset(section for section in SECTION_KINDS if SECTION_SOURCE_KIND[section] in kinds)


def _denied_sections(statement: str) -> frozenset[SectionKind]:
    """The sections a statement of missing evidence speaks for: guidelines when it names guidelines or
    recommendations, research when it names studies, trials, research or reviews (or evidence or data without naming
    guidelines: "The guidelines do not provide direct evidence" is about the guidelines), both when it names
    neither."""
    plain = statement.lower()
    named: set[SectionKind] = set()
    if "guideline" in plain or "recommendation" in plain:
        named.add("guidelines")
    if _STUDY_WORD.search(plain) or (not named and _EVIDENCE_WORD.search(plain)):
        named.add("research")
    return frozenset(named or SECTION_KINDS)


def _denies_its_study(claim: Claim, sources: dict[int, Source], addressing: frozenset[int]) -> bool:
    """Whether a model's claim that no comparison was studied ("there is a lack of direct head-to-head studies
    comparing exosomes with PRP") rests on a study that addresses the question: the study it cites is itself such a
    comparison's evidence (the seed's own error, where the cited trial says "no earlier trial had compared exosomes
    with PRP"). A sentence the cited passage holds word for word is the source's own statement, and stands."""
    if not _denies_comparison(claim.text):
        return False
    studies = [n for n in claim.sources if sources[n].kind == "study" and n in addressing]
    return bool(studies) and not any(_plain(claim.text) in _plain(sources[n].text) for n in studies)


def _result_without_one(claim: Claim, sources: dict[int, Source]) -> bool:
    """A model's sentence reporting a result ("The trial found that both groups improved [1]") where every retrieved
    passage of the publications it cites comes from a section that only describes the study (design, methods,
    background): a record whose results were not recorded gives its design alone, and the judge, reading shared
    words, finds it supported. A publication with a results passage among the sources is left to the judge: a model
    often cites the design passage of a study whose results it read in the next one."""
    cited = {sources[n].hit.doc_id for n in claim.sources}
    passages = [source for source in sources.values() if source.hit.doc_id in cited]
    return all(describes(source.hit.section) for source in passages) and states_result(claim.text)


def _absence_among_limitations(text: str) -> bool:
    """Whether a model's limitation states that evidence is missing, or denies that a comparison was studied: it is
    held to the sections it names, never moved into one as a finding."""
    return _states_absence(text, True) or _denies_comparison(text)


def _denies_comparison(text: str) -> bool:
    """Whether a sentence denies that a comparison was studied ("limited by the lack of direct head-to-head studies
    comparing exosomes with PRP")."""
    return bool(_DENIED_STUDIES.search(text) and _COMPARING.search(text))


def _states_absence(text: str, model: bool) -> bool:
    """Whether a sentence states that evidence is missing: it opens as the answer's own statements do ("No
    guideline ...", "There are no direct studies ..."), or, written by a model, it says its sources do not provide,
    address or contain something (a source's own sentence of that form, "The guideline does not address children",
    is a statement of its scope, quoted as such)."""
    return is_no_evidence(text) or (model and bool(_SOURCES_LACK.match(strip_citations(text).strip())))
