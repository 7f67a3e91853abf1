"""Study design and evidence level: front matter first, then PubMed publication types, then the text itself.

From the text, each design cue ("randomised", "cohort study", "case report", ...) scores by its strength times the
role of its sentence (see :mod:`rag.appraisal.passages`): a cue in a sentence about this study counts three times,
in a neutral sentence once, in a sentence about other work not at all. In one sentence a review's cue silences the
primary designs it reviews ("a meta-analysis of randomised trials"). The best score wins when it is clear; a tie
between unrelated designs, or only weak or background mentions, is unknown.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

from rag.appraisal.cues import Cue, cue, words_of
from rag.appraisal.models import DesignFinding, DesignSource
from rag.appraisal.passages import DEFAULT_BUDGET, Role, Sentence, sentences_of, text_sentences
from rag.evidence import LEVEL_BY_DESIGN, design_from_publication_types
from rag.models import DocumentMeta, Section, StudyDesign

_ROLE_WEIGHT: dict[Role, int] = {"self": 3, "neutral": 1, "background": 0}
_MIN_SCORE = 2
_REVIEWS: tuple[StudyDesign, ...] = ("meta-analysis", "systematic-review", "narrative-review")
_NOT_RANDOM = r"(?<!non-)(?<!non )(?<!not )(?<!quasi-)(?<!pseudo-)"
_RANDOM = "randomized randomised randomly randomization randomisation"

#: Stretches of a sentence whose designs are denied or unknown: "rather than a randomised trial", "does not say
#: whether the sides were randomised". They end at the next comma, semicolon or full stop.
_DENIED = cue(
    r"\b(?:rather than|instead of|unlike|as opposed to|than an?|not an?)\b[^,;.]*"
    r"|\b(?:(?:not|never) (?:say|said|state|stated|describe|described|report|reported|clear|known|confirmed)|unclear|"
    r"unknown|uncertain) (?:\w+ ){0,4}?(?:whether|if|how)\b[^,;.]*",
    "rather instead unlike opposed than not never unclear unknown uncertain",
)


@dataclass(frozen=True, slots=True)
class _Cue:
    pattern: Cue
    design: StudyDesign
    weight: int


def _cue(pattern: str, triggers: str, design: StudyDesign, weight: int) -> _Cue:
    return _Cue(cue(pattern, triggers), design, weight)


_CUES: tuple[_Cue, ...] = (
    _cue(r"\bmeta-?\s?analy[sz](?:is|es)\b", "meta metaanalysis metaanalyses", "meta-analysis", 3),
    _cue(r"\bmeta-?regression\b", "meta metaregression", "meta-analysis", 2),
    _cue(r"\bpooled (?:analysis|estimates?|odds|relative|risk|data|effect)\b", "pooled", "meta-analysis", 1),
    _cue(r"\bsystematic(?:ally)? (?:literature )?(?:review|search|searched|reviewed)\b", "systematic systematically",
         "systematic-review", 3),
    _cue(r"\bumbrella review\b", "umbrella", "systematic-review", 3),
    _cue(r"\bprisma\b", "prisma", "systematic-review", 2),
    _cue(r"\b(?:searched|search of|searches of) (?:the )?(?:medline|pubmed|embase|cochrane|web of science|scopus|"
         r"cinahl)", "searched search searches", "systematic-review", 2),
    _cue(r"\b(?:trials|studies|articles|rcts|publications) (?:were|met) (?:included|identified|eligible|selected)",
         "trials studies articles rcts publications", "systematic-review", 2),
    _cue(r"\b(?:narrative|literature|comprehensive|critical|scoping|clinical) review\b", "review",
         "narrative-review", 2),
    _cue(r"\breview of (?:the )?(?:literature|current|recent|available|published)\b", "review", "narrative-review", 2),
    _cue(r"\b(?:this|the present|the current) review\b|\bwe review\b", "review", "narrative-review", 2),
    _cue(_NOT_RANDOM + r"\brandomi[sz]ed,? (?:[\w-]+,? ){0,3}?(?:trial|study|comparison|design)\b", _RANDOM, "rct", 3),
    _cue(r"\brct\b", "rct", "rct", 3),
    _cue(_NOT_RANDOM + r"\brandomi[sz]ed\b", _RANDOM, "rct", 2),
    _cue(_NOT_RANDOM + r"\brandomly (?:assigned|allocated|divided)\b", _RANDOM, "rct", 2),
    _cue(_NOT_RANDOM + r"\brandomi[sz]ation\b", _RANDOM, "rct", 1),
    _cue(r"\b(?:double|single|triple)[- ](?:blind|blinded|masked)\b", "double single triple", "rct", 1),
    _cue(r"\bplacebo[- ]controlled\b", "placebo", "rct", 1),
    _cue(r"\b(?:non-?|not |quasi-|pseudo-)randomi[sz]ed\b|\bwithout randomi[sz]ation\b",
         "nonrandomized nonrandomised " + _RANDOM, "non-randomized-trial", 3),
    _cue(r"\bnot (?:randomly )?(?:chosen|assigned|allocated) (?:at random|randomly)\b", "not", "non-randomized-trial",
         3),
    _cue(r"\bsingle[- ]arm\b|\buncontrolled (?:study|trial)\b", "single uncontrolled", "non-randomized-trial", 2),
    _cue(r"\bsplit[- ](?:face|scalp|body|mouth|side)\b", "split", "non-randomized-trial", 1),
    _cue(r"\bopen[- ]label\b|\b(?:pilot|before[- ]and[- ]after|pre-post) (?:study|trial)\b", "open pilot before pre",
         "non-randomized-trial", 1),
    _cue(r"\bclinical trial\b|\bcontrolled trial\b", "trial", "non-randomized-trial", 1),
    _cue(r"\bcohort\b", "cohort", "cohort", 3),
    _cue(r"\b(?:prospective|retrospective)(?:ly)? (?:\w+ )?(?:study|analysis|review|follow-up|evaluation|collected)\b",
         "prospective prospectively retrospective retrospectively", "cohort", 2),
    _cue(r"\bobservational (?:study|analysis|cohort|data)\b", "observational", "cohort", 2),
    _cue(r"\blongitudinal (?:study|analysis|follow-up)\b|\bregistry\b|\bfollow-up study\b", "longitudinal registry up",
         "cohort", 1),
    _cue(r"\bcase[- ]control(?:led)?\b", "case", "case-control", 3),
    _cue(r"\bmatched controls\b", "matched", "case-control", 1),
    _cue(r"\bcross[- ]sectional\b", "cross", "cross-sectional", 3),
    _cue(r"\bprevalence (?:study|survey)\b", "prevalence", "cross-sectional", 2),
    _cue(r"\bsurvey\b|\bquestionnaire-based\b", "survey questionnaire", "cross-sectional", 1),
    _cue(r"\bcase series\b", "case", "case-series", 3),
    _cue(r"\bwe (?:report|describe|present) (?:\w+ ){0,2}?(?:patients|cases)\b", "we", "case-series", 2),
    _cue(r"\bconsecutive (?:\w+ )?(?:patients|cases)\b", "consecutive", "case-series", 1),
    _cue(r"\bcase report\b", "case", "case-report", 3),
    _cue(r"\bwe (?:report|describe|present) (?:a|an|the) (?:[\w-]+ ){0,3}?(?:case|patient|man|woman|boy|girl|child|"
         r"infant)\b(?! series| control)", "we", "case-report", 3),
    _cue(r"\ban? \d{1,3}-year-old (?:man|woman|male|female|boy|girl|patient|child)\b", "year", "case-report", 2),
    _cue(r"\bin vitro\b|\b(?:mice|rats|murine|rodents?|porcine|animal model)\b",
         "vitro mice rats murine rodent rodents porcine animal", "other", 2),
    _cue(r"\bcadavers?\b|\bcadaveric\b|\bcell (?:lines?|cultures?)\b", "cadaver cadavers cadaveric cell", "other", 1),
    _cue(r"\bdelphi\b|\bconsensus (?:statement|conference|panel)\b", "delphi consensus", "consensus", 2),
    _cue(r"\bposition (?:statement|paper)\b", "position", "position-statement", 2),
)
_CUES_BY_TRIGGER: dict[str, tuple[int, ...]] = {
    word: tuple(i for i, design_cue in enumerate(_CUES) if word in design_cue.pattern.triggers)
    for word in frozenset().union(*(design_cue.pattern.triggers for design_cue in _CUES))
}
_ALL_TRIGGERS = frozenset(_CUES_BY_TRIGGER)


def design_from_text(text: str, title: str | None = None, sections: tuple[Section, ...] = (),
                     budget: int = DEFAULT_BUDGET) -> DesignFinding:
    """The design the text states about its own study, with the sentence that states it; unknown when the text
    only mentions designs of other work, names none, or names two unrelated designs equally."""
    sentences = list(sentences_of(text, sections, budget))
    if title:
        sentences.insert(0, Sentence.of(title, -1, "title"))
    scores: dict[StudyDesign, int] = defaultdict(int)
    quotes: dict[StudyDesign, tuple[int, str]] = {}
    for sentence in sentences:
        cues = _sentence_cues(sentence.text, sentence.words)
        if not cues:
            continue
        role = sentence.role if sentence.heading != "title" or sentence.role == "background" else "self"
        for design, weight in cues.items():
            points = weight * _ROLE_WEIGHT[role]
            scores[design] += points
            if points > quotes.get(design, (0, ""))[0]:
                quotes[design] = (points, sentence.text)
    winner = _winner(scores)
    if winner is None:
        return DesignFinding()
    return DesignFinding(design=winner, level=LEVEL_BY_DESIGN.get(winner), source="text", quote=quotes[winner][1])


def _sentence_cues(sentence: str, words: frozenset[str] | None = None) -> dict[StudyDesign, int]:
    """The strongest weight of each design cued in one sentence; a review's cue silences primary designs."""
    lowered = sentence.lower()
    words = words_of(lowered) if words is None else words
    triggered = words & _ALL_TRIGGERS
    if not triggered:
        return {}
    candidates = sorted({index for word in triggered for index in _CUES_BY_TRIGGER[word]})
    found: dict[StudyDesign, int] = {}
    denied = [match.span() for match in _DENIED.findall(lowered, words)]
    for design_cue in (_CUES[index] for index in candidates):
        if design_cue.weight > found.get(design_cue.design, 0) and \
                _asserted(design_cue.pattern.pattern, lowered, denied):
            found[design_cue.design] = design_cue.weight
    reviews = [design for design in _REVIEWS if design in found]
    if reviews:
        return {reviews[0]: found[reviews[0]]}
    return found


def _asserted(pattern: re.Pattern[str], sentence: str, denied: list[tuple[int, int]]) -> bool:
    """True when the pattern occurs outside every denied stretch of the sentence."""
    return any(not any(start <= match.start() < end for start, end in denied) for match in pattern.finditer(sentence))


def _winner(scores: dict[StudyDesign, int]) -> StudyDesign | None:
    ranked = sorted(scores.items(), key=lambda item: -item[1])
    if not ranked or ranked[0][1] < _MIN_SCORE:
        return None
    if ranked[0][0] == "systematic-review" and scores.get("meta-analysis", 0) >= _MIN_SCORE:
        return "meta-analysis"  # every meta-analysis searches systematically; the pooling makes it one
    if len(ranked) > 1 and ranked[1][1] == ranked[0][1]:
        pair = {ranked[0][0], ranked[1][0]}
        if pair == {"meta-analysis", "systematic-review"}:
            return "meta-analysis"
        return None
    return ranked[0][0]


def design_of(meta: DocumentMeta, text: str, sections: tuple[Section, ...] = (),
              budget: int = DEFAULT_BUDGET) -> tuple[DesignFinding, str | None]:
    """The design of a publication and, when front matter and publication types disagree, a sentence naming both
    (the front matter's design is kept). Falls back to the text only when neither states a design."""
    typed = design_from_publication_types(meta.publication_types)
    stated = meta.study_design
    conflict = None
    if stated is not None and typed is not None and stated != typed:
        conflict = f"front matter says {stated}; PubMed publication types say {typed} " \
                   f"({', '.join(meta.publication_types)})"
    if stated is not None:
        source: DesignSource = "publication_types" if typed == stated else "metadata"
        level = meta.evidence_level if meta.evidence_level is not None else LEVEL_BY_DESIGN.get(stated)
        return DesignFinding(design=stated, level=level, source=source), conflict
    if typed is not None:
        return DesignFinding(design=typed, level=LEVEL_BY_DESIGN.get(typed), source="publication_types"), None
    found = design_from_text(text, meta.title, sections, budget)
    if found.design is None and meta.evidence_level is not None:
        return DesignFinding(level=meta.evidence_level, source="metadata"), None
    return found, None


_INCLUDED = re.compile(
    r"\b(?:pooled|included|includes|analy[sz]ed|identified|reviewed|examined|collected) (?P<n>\d{1,4}) (?:studies|"
    r"trials|articles|papers|reports)\b[^.;:]{0,40}?[,(]\s?(?:of which |including |with )?(?P<m>\d{1,4}) "
    r"(?:of them |were |are )?(?:randomi[sz]ed|RCTs?\b)", re.IGNORECASE)
"""How many of the studies a review pooled were randomised, as a record states it ("pooled 14 studies, 4 of them
randomised", "included 12 trials (5 RCTs)")."""


def included_randomised(text: str, budget: int = DEFAULT_BUDGET) -> tuple[int, int, str] | None:
    """How many of the studies a review says it pooled were randomised: (randomised, pooled, the sentence), read from
    the first ``budget`` characters; None when the text does not say, or says nonsense (more randomised than
    pooled)."""
    for sentence in text_sentences(text[:budget]):
        if (found := _INCLUDED.search(sentence)) and 0 <= int(found["m"]) <= int(found["n"]):
            return int(found["m"]), int(found["n"]), sentence.strip()
    return None

