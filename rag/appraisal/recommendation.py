"""Guideline recommendation strength as the text states it: GRADE-style "strong" / "conditional" (or "weak"),
USPSTF-style grades A-D and the I statement ("insufficient evidence"), the Community Guide's "Recommended (strong
evidence ...)" as strong, and a stated level or quality of evidence.

Only the cited quotes are read: a strength is reported for the recommendation quoted, never for the document as a
whole; quotes stating several strengths give none and the flag ``several_recommendations``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Literal

from rag.appraisal.cues import cue, words_of
from rag.appraisal.models import RecommendationFinding, RecommendationStrength
from rag.appraisal.passages import DEFAULT_BUDGET, sentence_texts, text_sentences
from rag.appraisal.question import QuestionFrame, frame_question, names_any
from rag.text.specialist import most_specific
from rag.text.topic import stem

_I = re.IGNORECASE
_STRENGTH_CUES: tuple[tuple[re.Pattern[str], RecommendationStrength], ...] = (
    (re.compile(r"\bstrong(?:ly)? recommend(?:s|ed|ation|ations)?\b|\brecommendation(?: strength)?\s?[:=]\s?strong\b"
                r"|\bstrong (?:for|against)\b|\bRecommended \(strong evidence\b", _I), "strong"),
    (re.compile(r"\b(?:conditional|weak)(?:ly)? recommend(?:s|ed|ation|ations)?\b"
                r"|\brecommendation(?: strength)?\s?[:=]\s?(?:conditional|weak)\b"
                r"|\b(?:weak|conditional) (?:for|against)\b",
                _I), "conditional"),
    (re.compile(r"\bI statement\b|\binsufficient evidence\b|\bevidence (?:is|was|remains) insufficient\b"
                r"|(?<![\w-])[Gg]rade:? I\b(?![-/])"), "I"),
)
#: Letter grades are read case-sensitively: "A recommendation," is a grade, "a recommendation" is not.
_LETTER = re.compile(
    r"(?<![\w-])(?:[Gg]rade|GRADE):? ([ABCD])\b(?![-/])"
    r"|\(([ABCD]) [Rr]ecommendation\)"
    r"|(?<![\w-])([ABCD]) [Rr]ecommendation(?=[,:;.)*]|\s*$)"
    r"|\b(?:[Ss]trength of [Rr]ecommendation|SOR|[Rr]ecommendation [Gg]rade):? ([ABCD])\b"
    r"|\b(?:an?|the) ([ABCD]) grade\b"
)
_TRIGGERS = frozenset("strong strongly conditional conditionally weak weakly recommendation recommendations statement "
                      "insufficient grade sor".split())
_GRADES: dict[str, RecommendationStrength] = {"A": "A", "B": "B", "C": "C", "D": "D"}
_EVIDENCE = re.compile(
    r"\b(?:level|quality|strength|certainty) of (?:the )?evidence\s?[:=(]\s?(?P<stated>[A-Za-z0-9+-]{1,12}"
    r"(?: quality| certainty)?)"
    r"|\b(?P<quality>high|moderate|low|very low)[- ](?:quality|certainty) (?:of )?evidence\b",
    _I,
)


def strengths_in(sentence: str) -> list[RecommendationStrength]:
    """Every recommendation strength one sentence states, in the order of the cues above."""
    if _TRIGGERS.isdisjoint(words_of(sentence.lower())):
        return []
    found: list[RecommendationStrength] = [strength for pattern, strength in _STRENGTH_CUES if pattern.search(sentence)]
    for match in _LETTER.finditer(sentence):
        grade = _GRADES[next(group for group in match.groups() if group)]
        if grade not in found:
            found.append(grade)
    return found


Stance = Literal["for", "selective", "against", "insufficient"]
"""Which way a recommendation, or a claim about one, goes: for the service, for some patients only (a C grade: offer
it selectively), against it, or no call (an I statement)."""
#: Advice against the intervention, as guidelines word it (the direction of a finding reads it too).
ADVISED_AGAINST = cue(r"\b(?:recommends?|recommended|recommendation|advises?|advised|cautions?) against\b"
                      r"|\b(?:should|must) not be (?:used|offered|given|performed|prescribed|done|routinely)\b"
                      r"|\bdo not (?:use|offer|give|perform|prescribe|routinely)\b", "against not")
_AGAINST = re.compile(r"\b(?:suggests?|suggested|argues?) against\b|\b(?:strong|weak|conditional)(?:ly)? against\b"
                      r"|\b(?:should|must) not be\b"
                      r"|\bnot (?:\w+[- ])?(?:recommended|approved|endorsed|advised|cleared|needed|required)\b"
                      r"|\bno (?:\w+[- ]){0,4}(?:approved|cleared|licensed)\b"
                      r"|\b(?:does|do|did)(?: not|n't) (?:\w+ )?(?:recommend|endorse|advise)\b(?! for or against)"
                      r"|\bunapproved\b|\boff-label\b", _I)
"""Positions against that a finding's direction does not read as advice: the VA/DoD's "suggests against", a
regulator's "not FDA-approved"."""
_ADVISED = re.compile(r"\b(?:recommends?|recommended|suggests?|endorses?|endorsed|advises?|approved|cleared|requires?|"
                      r"required)\b", _I)
"""Words stating that a guideline or regulator took a position for something."""
_FOR = re.compile(rf"{_ADVISED.pattern}|\b(?:should|must) (?:be )?\w+", _I)
"""A position for something, as advice ("recommends") or as a modal ("should be screened")."""
_TOO_LITTLE = re.compile(r"\b(?:too (?:limited|weak|sparse|few)|insufficient|not (?:enough|sufficient))\b[^.;]{0,60}"
                         r"\bto (?:recommend|support|make a recommendation)\b"
                         r"|\b(?:not|no) (?:\w+ )?recommend\w* for or against\b", _I)
_SEX_WORDS = {"male": frozenset("men man male males boys boy".split()),
              "female": frozenset("women woman female females girls girl".split())}
"""Words naming one sex: a position on one says nothing of the other."""
_POLARITY = re.compile(r"\b(?P<signs>(?:(?:never|ever|without|with)\s+(?:or|and)\s+)?(?:never|ever|without|with))"
                       r"\s+(?:a\s+|an\s+|any\s+)?(?P<word>[a-z]{4,})\b", _I)
"""Populations told apart by having or not having something ("women who have ever smoked" and "women who have never
smoked"): the encoder reads them as one, 0.79 apart from a claim about the other."""
_MAYBE_NON = re.compile(r"(?<![\w-])(?P<non>non-?)?(?P<word>[a-z]++)", _I)
"""A word, with the "non" it may open on ("nonsmokers", "non-smokers")."""
_MIN_NEGATED = 4
_SAYS = re.compile(r"\b(?:says?|said|wants?|gives?|per|according to)\b", _I)
_NEGATED_CLAIM = re.compile(r"\bnot\b|n't\b|\bnever\b|\bno\b|\bagainst\b|\btoo late\b", _I)


def stance_of(sentence: str, advised: bool = False) -> Stance | None:
    """The way a sentence stating a recommendation or a regulator's position goes: a D grade or "recommends
    against" is against, an I statement insufficient, a C grade selective, any other grade or "recommends" for; None
    when it states no position. A bare modal ("should be screened") is for, unless ``advised`` asks for the advice
    itself (a grade, "recommends", "approved")."""
    strengths = strengths_in(sentence)
    lowered = sentence.lower()
    if "D" in strengths or ADVISED_AGAINST.search(lowered, words_of(lowered)) or _AGAINST.search(sentence):
        return "against"
    if "I" in strengths or _TOO_LITTLE.search(sentence):
        return "insufficient"
    if "C" in strengths:
        return "selective"
    if strengths or (_ADVISED if advised else _FOR).search(sentence):
        return "for"
    return None


_PREMISE_OPENING = re.compile(r"^(?:since|given(?: that)?|as|because|now that|considering(?: that)?|seeing that) "
                              r"(?P<premise>[^\s,;?][^,;?]{11,}),", _I)
_CLAUSE_BREAK = re.compile(r",[ \t]?(?:so|correct|right|true|isn't it|is that right)\b| [-–—] |;", _I)
_ASSERTING = re.compile(
    r"\b(?:is|are|was|were|has|have|had|says?|said|states?|stated|recommends?|recommended|endorses?|approved|"
    r"allows?|allowed|gives?|gave|got|gets|received|shows?|showed|found|requires?|prohibits?|bans?|cleared|"
    r"licensed|proves?|proved|"
    r"doesn't|don't|does not|do not|isn't|aren't|never|always|(?:it|that|there|this)'s)\b", _I)
_INTERROGATIVE = re.compile(r"^\s*(?:what|which|who|whom|whose|when|where|why|how|is|are|was|were|do|does|did|can|"
                            r"could|should|would|will|has|have|may|might|must)\b", _I)
_SCENARIO = re.compile(r"^(?:an?|my|our|this) (?:[\w-]+ ){0,3}?(?:patient|woman|man|girl|boy|child|infant|baby|"
                       r"toddler|teen|teenager|adolescent|adult|veteran|person|mother|father|smoker)s?\b", _I)
"""A clause introducing the patient ("A woman shows up in active labor ...", "My patient with moderate OSA ..."):
it sets the scene; it is not a claim a source could confirm or correct."""


def _asserted(claim: str) -> str:
    """A premise without the patient's scene that opens it: what it claims a source said."""
    if _SCENARIO.match(claim) and len(parts := _CLAUSE_BREAK.split(claim)) > 1:
        return parts[-1].strip()
    return claim


def claimed_stance(claim: str) -> Stance | None:
    """The position a claim attributes to a guideline or regulator ("the VA/DoD guideline now recommends ketamine"
    is for, "USPSTF says not to screen pregnant women" against); None when it attributes none."""
    claim = _asserted(claim)
    if strengths_in(claim):  # "got a B grade", "gives ... a D grade": the grade says which way
        return stance_of(claim)
    if not _FOR.search(claim) and not _SAYS.search(claim):
        return None
    return "against" if _NEGATED_CLAIM.search(claim) else "for"


def claimed_object(claim: str) -> str:
    """What a claim says a guideline or regulator took a position on: its words after the first word stating the
    position ("carotid ultrasound screening for asymptomatic adults over 65" in "USPSTF endorses carotid ultrasound
    screening for asymptomatic adults over 65"); the whole claim when no such word is found. A sentence states a
    position on the claim only when it holds one of these words: "the USPSTF recommends the use of aspirin" states
    none on carotid screening. An approval is of what comes before it as well: "exosome serums" in "exosome serums
    are now FDA-approved for skin rejuvenation" (the FDA's "there are no FDA-approved exosome products" speaks to it,
    though it says nothing of rejuvenation)."""
    claim = _asserted(claim)
    first = _position_word(claim)
    if first is None:
        return claim
    if _APPROVAL.fullmatch(first.group(0)):
        return f"{claim[:first.start()]} {claim[first.end():]}"
    return claim[first.end():]


def _position_word(claim: str) -> re.Match[str] | None:
    """The first word of a claim stating a position ("recommends", "says", "approved", "not"), if any."""
    found = [match for pattern in (_FOR, _SAYS, _NEGATED_CLAIM) if (match := pattern.search(claim))]
    return min(found, key=lambda match: match.end()) if found else None


_APPROVAL = re.compile(r"approved|cleared|licensed", _I)
"""Position words that say what a regulator allowed: the thing allowed is named before them."""


def premise_of(question: str) -> str | None:
    """The claim a question takes for granted, when it states one before asking ("Since the FDA approved exosome
    serums, what concentration ...?", "USPSTF says one high reading is enough, correct?"): a source that addresses
    the claim (to confirm or to correct it) should lead the answer. Of the clauses before the ask, the first that
    attributes a position (:func:`claimed_stance`: "... too late for HIV screening to matter per USPSTF") is the
    premise, after the patient's scene it refers to when there is one; else the first that asserts anything other
    than the patient's scene. None for a question that assumes nothing."""
    opening = _PREMISE_OPENING.match(question.strip())
    if opening:
        return opening.group("premise").strip()
    clauses = [part.strip() for part in _CLAUSE_BREAK.split(question)[:-1]]
    claims = [clause for clause in clauses
              if len(clause.split()) >= 4 and not _INTERROGATIVE.match(clause) and _ASSERTING.search(clause)]
    attributed = next((i for i, claim in enumerate(claims) if claimed_stance(claim) is not None), None)
    if attributed is not None:  # with the scene it follows: "at that point" is "in active labor"
        scene = [clause for clause in claims[:attributed] if _SCENARIO.match(clause)][:1]
        return " - ".join([*scene, claims[attributed]])
    return next((claim for claim in claims if not _SCENARIO.match(claim)), None)


def speaks_to(claim: str, sentence: str) -> bool:
    """Whether a sentence can state a position on what a claim is about: it holds a word of the claim's object
    (:func:`claimed_object`) and one of its most specific words, it does not name only the other sex than the claim
    does (the B recommendation for "sexually active women" says nothing of "screen all sexually active young men"),
    and it does not name only the other side of a qualifier ("women who have never smoked" says nothing of "women
    who have ever smoked"; "nonsmokers" of "smokers")."""
    framed, specific = _about(claim)
    if not framed.is_about(sentence) or (specific and not names_any(specific, sentence)):
        return False
    claimed, stated = _sexes(claim), _sexes(sentence)
    if claimed and stated and claimed.isdisjoint(stated):
        return False
    return not _opposed(claim, sentence)


@lru_cache(maxsize=64)
def _about(claim: str) -> tuple[QuestionFrame, frozenset[str]]:
    """What a claim takes a position on (:func:`claimed_object`, framed), and the crude stems of its most specific
    words: read once per claim, not once per sentence weighed against it."""
    framed = frame_question(claimed_object(claim))
    return framed, frozenset(stem(term) for term in most_specific(term for term, _ in framed.forms))


def _opposed(claim: str, sentence: str) -> bool:
    """Whether a sentence names only the other side of a qualifier the claim names (:func:`_polarities`; a word the
    other text negates counts as had where it stands bare: "smokers" against "nonsmokers")."""
    claimed, stated = _polarities(claim), _polarities(sentence)
    claimed |= {(word, True) for word, sign in stated if not sign and _bare(word, claim)}
    stated |= {(word, True) for word, sign in claimed if not sign and _bare(word, sentence)}
    return any((word, not sign) in stated and (word, sign) not in stated for word, sign in claimed)


def _bare(word: str, text: str) -> bool:
    """Whether ``text`` writes ``word`` without "non" before it."""
    return any(not match["non"] and match["word"].lower() == word for match in _MAYBE_NON.finditer(text))


def position_on(claim: str, sentence: str) -> Stance | None:
    """The position a guideline sentence states on what a claim is about (None when it cannot speak to it,
    :func:`speaks_to`). Against a claimed recommendation, only stated advice confirms it: "clinicians considering
    ultrasonography ... should consider the harms" does not bear out "USPSTF endorses carotid ultrasound screening"
    beside a D grade, while "should be screened" still answers a claim that a guideline advised against."""
    if not speaks_to(claim, sentence) or (_approves(claim) and not _REGULATORY.search(sentence)):
        return None
    stance = stance_of(sentence, advised=claimed_stance(claim) == "for")
    if stance != "for":
        return stance
    if _PRESUPPOSING.search(sentence.split(",", 1)[0]):
        return None  # "If prescribing opioid therapy, ... recommends a short duration": advice once it is given
    framed, _ = _about(claim)
    if any(framed.is_about(match.group("thing")) for match in _PREFERRED_TO.finditer(sentence)):
        return "against"  # "recommends alternatives to opioid therapy", "non-opioids over opioids"
    return stance


@lru_cache(maxsize=64)
def _approves(claim: str) -> bool:
    """Whether a claim is that a regulator approved something ("PRP kits are FDA-approved for facial injection"): only
    a sentence on approval speaks to it, not the authors' advice on the same product."""
    first = _position_word(_asserted(claim))
    return first is not None and bool(_APPROVAL.fullmatch(first.group(0)))


_PRESUPPOSING = re.compile(r"\b(?:if|when|once|while|whenever)\b|\b(?:currently|already) (?:on|taking|prescribed|"
                           r"receiving|using)\b|\b(?:before|upon) (?:initiating|starting|prescribing)\b", _I)
"""An opening clause taking the thing as given ("If prescribing opioid therapy", "For patients less than 30 years of
age currently on long-term opioid therapy"): what follows advises how, not whether."""
_PREFERRED_TO = re.compile(r"\b(?:alternatives? to|rather than|instead of|in place of|over|non-?)\s*"
                           r"(?P<thing>[\w-]++(?: [\w-]++)?)", _I)
"""What a recommendation puts after another ("alternatives to opioid therapy", "non-opioids over opioids"): a
recommendation of something in its place is a position against it."""
_REGULATORY = re.compile(r"\b(?:approv\w*|unapproved|clear(?:ed|ance)|licen[sc]\w*|authori[sz]\w*|off-label|"
                         r"regulat\w*|exempt\w*)\b", _I)
"""Words a sentence on a regulator's allowing something uses."""


def _polarities(text: str) -> frozenset[tuple[str, bool]]:
    """The words a text qualifies as had or not had, each with True or False: "ever smoked" (smoked, True), "never
    smoked" (smoked, False), "ever or never smoked" both, "with diabetes" / "without diabetes", "smokers" /
    "nonsmokers"."""
    found = {(match["word"].lower(), sign in ("ever", "with")) for match in _POLARITY.finditer(text)
             for sign in match["signs"].lower().split() if sign not in ("or", "and")}
    found |= {(match["word"].lower(), False) for match in _MAYBE_NON.finditer(text)
              if match["non"] and len(match["word"]) >= _MIN_NEGATED}
    return frozenset(found)


def _sexes(text: str) -> frozenset[str]:
    words = words_of(text.lower())
    return frozenset(sex for sex, names in _SEX_WORDS.items() if not names.isdisjoint(words))


def contradicts(claim: Stance | None, stated: Stance | None) -> bool:
    """Whether a stated position contradicts a claimed one: a claimed "for" by "against", an I statement or a C
    grade's "selectively" (the claim is a recommendation to offer it), a claimed "against" by "for"."""
    if claim is None or stated is None:
        return False
    return (claim == "for" and stated in ("against", "insufficient", "selective")) or (claim == "against"
                                                                                      and stated == "for")


_OFFERED: dict[Stance, str] = {"for": "offer", "selective": "offer", "against": "against",
                               "insufficient": "insufficient"}
"""What a position tells a clinician to do: offer it (to all or to some), do not, or no call."""


def misstates_position(claim: str, sentence: str) -> bool:
    """Whether a claim that states a guideline's or regulator's position (a grade, "recommends", "does not
    recommend") says another thing to do than the source sentence it rests on: "The USPSTF does not recommend screening
    for thyroid dysfunction" written from the I statement that the evidence is insufficient (the local model wrote
    it; the support judge, reading shared words, kept it). A C grade's "selectively offer" and a "recommends" both
    offer, so they are not told apart; a claim or a sentence stating no position is never a misstatement."""
    claimed, stated = stance_of(claim, advised=True), stance_of(sentence, advised=True)
    return claimed is not None and stated is not None and _OFFERED[claimed] != _OFFERED[stated]


CONFIRMING_MARGIN = 0.1
"""A sentence stating the claimed position keeps a contrary one from correcting a claim only when it addresses the
claim nearly as closely (its cosine with the claim at most this much lower): "the Dietary Guidelines suggest that
nutrients come primarily from foods" (0.50 from "Vitamin E supplements got a B grade for heart disease prevention")
does not outweigh the D recommendation against vitamin E (0.66). On the 26 dev premises, where both kinds of sentence
addressed one, confirming minus contrary was -0.16 for the two false premises and +0.005 to +0.20 for the four true
ones."""


def contradicted(claim: Stance | None, stated: Sequence[Stance | None],
                 closeness: Sequence[float] | None = None) -> bool:
    """Whether the sentences addressing a claim contradict it: one states a position contrary to it
    (:func:`contradicts`) and none states the position it claims. One that does means the sources hold the claim
    for some patients ("counsel young fair-skinned people" has a B grade for ages 6 months to 24 years beside the C
    grade for older adults), so the contrary one is not a correction; given each sentence's ``closeness`` to the
    claim, only when it is within ``CONFIRMING_MARGIN`` of the closest contrary one."""
    if claim is None:
        return False
    near = list(closeness) if closeness is not None else [0.0] * len(stated)
    contrary = [score for stance, score in zip(stated, near, strict=True) if contradicts(claim, stance)]
    if not contrary:
        return False
    return not any(stance == claim and score >= max(contrary) - CONFIRMING_MARGIN
                   for stance, score in zip(stated, near, strict=True))


def direction_of_recommendation(strength: RecommendationStrength | None, sentence: str | None
                                ) -> Literal["for", "against"] | None:
    """Which way a quoted recommendation of a GRADE-style strength goes ("Strong against ketamine ...": against);
    None for a letter grade or an I statement, whose grade says it, and when the sentence states no position."""
    if strength not in ("strong", "conditional") or sentence is None:
        return None
    stance = stance_of(sentence)
    return stance if stance in ("for", "against") else None


def recommendation_of(quotes: Sequence[str]) -> RecommendationFinding:
    """The strength the cited quotes state, with its sentence: a strength is shown for the recommendation quoted,
    never borrowed from elsewhere in the document (the USPSTF's "A" is not the grade of its advice on how to measure
    blood pressure). Quotes that state several strengths, or one strength in opposite directions ("Strong for" and
    "Strong against"), give none, flagged ``several``."""
    stated = [(strength, sentence) for sentence in sentence_texts(quotes) for strength in strengths_in(sentence)]
    # "Strong for" CBT beside "Strong against" ketamine are two recommendations, not one strong one
    distinct = {(strength, direction_of_recommendation(strength, sentence)) for strength, sentence in stated}
    if len(distinct) == 1:
        return RecommendationFinding(strength=stated[0][0], quote=stated[0][1])
    if len(distinct) > 1:
        return RecommendationFinding(several=True)
    return RecommendationFinding()


def evidence_grade_of(quotes: Sequence[str], text: str, budget: int = DEFAULT_BUDGET) -> tuple[str | None, str | None]:
    """A stated level or quality of evidence ("Level of evidence: II-2", "moderate-quality evidence") and its
    sentence, from the quotes first, then the text; ``(None, None)`` when none or several differ."""
    text = text[:budget]
    for sentences in (sentence_texts(quotes), text_sentences(text)):
        stated = [(grade, sentence) for sentence in sentences if (grade := _grade(sentence))]
        if len({grade for grade, _ in stated}) == 1:
            return stated[0]
        if stated:
            return None, None
    return None, None


def _grade(sentence: str) -> str | None:
    match = _EVIDENCE.search(sentence)
    if match is None:
        return None
    return (match.group("stated") or match.group("quality")).strip().lower()
