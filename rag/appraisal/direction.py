"""Direction of a cited finding relative to the question: supports, no_difference, against, or unclear.

A sentence is split into clauses (at commas, semicolons and "but / whereas / although / however"); the clause that
shares most topic words with the question and carries a cue decides. Cues, in order of precedence:

1. uncertainty ("unclear", "inconclusive", "conflicting") -> unclear;
2. advice against ("recommends against", "should not be used", "do not offer") -> against;
3. a null finding ("no significant difference", "did not improve", "not associated", "failed to", p > 0.05) or
   equivalence ("similar", "comparable", "non-inferior") -> no_difference; but supports when the question asks for
   equivalence ("as effective as"), or asks about safety and the null finding is about harms;
4. an effect ("significantly improved", "associated with", "superior", "reduced", p < 0.05) -> supports, unless the
   question asks for an increase and the clause reports only a decrease (or the reverse), or the clause reports a
   worse result for a question about benefit -> against.

Words that look like cues but describe are not read: a population "at increased risk", "risk factors" in an
intervention's description (unless the question asks about risk factors), "significant" or "the same" naming a thing
("significant relationship distress", "the same threshold"), "recommends" a thing sharing no topic word with the
question. More of a harm ("associated with a doubling of disability") goes against a question asking whether to do
something, and supports one asking whether the two go together ("Is X associated with disability?").

A sentence sharing no topic word with the question is not about it (unclear), nor, for a comparison ("Are SSRIs safer
than tricyclic antidepressants?"), is one that does not name both sides: "treating depression with antidepressants
reduces morbidity" says nothing of which is safer. A negatively phrased question ("Is X unnecessary?", "Does X
not...") swaps the answer: a null finding supports it, an effect goes against it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from rag.appraisal.cues import Cue, cue, word_cue, words_of
from rag.appraisal.models import Direction, DirectionFinding
from rag.appraisal.passages import sentence_texts
from rag.appraisal.question import QuestionFrame, compares, frame_question, moved_outcomes, names_any
from rag.appraisal.recommendation import ADVISED_AGAINST, strengths_in

_GRADE_DIRECTION: dict[str, tuple[Direction, tuple[str, ...]]] = {
    "I": ("unclear", ("insufficient evidence (I statement)",)),
    "C": ("unclear", ("C grade: offered selectively, small net benefit",)),
    "D": ("against", ("D grade: recommends against",)),
}
"""What a recommendation's grade says of its direction, whatever words surround it: an I statement finds the
evidence insufficient, a C grade leaves the choice to the patient's risk and preference (USPSTF: "selectively"),
a D grade advises against. A and B grades, and "strong" or "conditional" ones (for or against), are read from the
sentence."""
_CLAUSE_BREAK = re.compile(r"[;,]\s+|\s(?:but|whereas|while|although|though|however|yet)\s", re.IGNORECASE)
_UNCERTAIN = cue(
    r"\b(?:unclear|inconclusive|controversial|conflicting|equivocal|not clear|uncertain|unknown|"
    r"remains? to be (?:determined|established|clarified|elucidated|proven|seen)|cannot be (?:determined|concluded)|"
    r"(?:may|might|could|do|does|did|cannot|can't) not (?:be )?(?:generali[sz]e|appl(?:y|ies)|extrapolated?|"
    r"transfer|representative)|generali[sz]ability|applicability|"
    r"insufficient evidence|evidence (?:is|was|remains) insufficient|not enough evidence|"
    r"(?:evidence|data)\b[^.;]{0,120}\b(?:is|are|was|were|remains?) (?:limited|sparse|scarce|lacking|inadequate)|"
    r"limited evidence|"
    r"(?:is|are) needed to (?:determine|establish|confirm)|"
    r"depend(?:s|ing|ent)? (?:on|upon)|may or may not|not necessarily|only (?:in|for|when|if)|"
    r"in (?:some|selected|certain) (?:\w+ )?(?:patients|cases|subgroups?|circumstances|situations|settings))\b",
    "unclear inconclusive controversial conflicting equivocal not uncertain unknown remain remains cannot "
    "insufficient needed depend depends depending dependent may only some selected certain limited sparse scarce "
    "lacking inadequate")
_NULL = cue(
    r"\bno (?:statistically |clinically )?(?:significant |significantly |relevant |meaningful |major |measurable |"
    r"apparent |detectable |appreciable |important |substantial |additional |further |independent |added |clear )?"
    r"(?:difference|differences|effect|effects|association|associations|correlation|correlations|relationship|"
    r"change|changes|improvement|benefit|advantage|impact|influence|increase|decrease|reduction|role|link|"
    r"value|superiority|predictive value|prognostic value|diagnostic value|gain|evidence)\b"
    r"|(?<!\bnot only )\bnot (?:statistically |significantly |clinically |independently |substantially |"
    r"necessarily )?(?:significant(?:ly)?|different|differ|associated|correlated|related|affected|influenced|"
    r"improved|changed|altered|predictive|prognostic|superior|effective|beneficial|useful|helpful|reduced|increased|"
    r"linked|better|worse|justified|warranted|recommended|supported|confirmed|found|observed|seen)\b"
    r"|\b(?:(?:did|does|do|could|would|has|have|had|can|will|should|may|might) not|didn't|doesn't|don't|"
    r"couldn't|wouldn't|hasn't|haven't|can't|cannot|won't) (?:\w+ )?\w+"
    r"|\bthere (?:is|was|were|are) no\b|^\s*no\b|\bnot due to\b|\bnor\b"
    r"|\bpoor(?:ly)? (?:\w+ )?(?:agreement|knowledge|awareness|correlation|accuracy|performance|concordance|"
    r"reliability|validity|sensitivity|specificity|predictor|yield)\b"
    r"|\b(?:fail(?:ed|s)? to|unable to)\b|\bneither\b[^.;]{0,80}\bnor\b"
    r"|\b(?:insignificant|nonsignificant|non-significant|unrelated|unaffected|unchanged|ineffective|no longer)\b"
    r"|\bindependent of\b|\bnone of\b|\bno matter\b"
    r"|\b(?:inadequate|insufficient|unnecessary|disappointing|doubtful|questionable|unreliable|inaccurate|"
    r"unjustified|cast(?:s|ing)? doubt|poor(?:ly)? (?:predict\w*|correlat\w*|accura\w*|associated)|"
    r"(?:limited|little|no|minimal) (?:value|role|benefit|utility|usefulness|evidence|effect|need|impact))\b",
    "no not t cannot there nor poor poorly fail failed fails unable neither insignificant nonsignificant non "
    "unrelated unaffected unchanged ineffective independent none inadequate insufficient unnecessary disappointing "
    "doubtful questionable unreliable inaccurate unjustified cast casts casting limited little minimal")
#: A null result between groups, as a study words it: what a claim of an effect on the same outcome contradicts.
_NO_DIFFERENCE = cue(r"\b(?:did|do|does) not (?:significantly |statistically )?differ\b|\bno (?:statistically )?"
                     r"(?:significant )?differences?\b|\bnot (?:statistically )?significant(?:ly different)?\b"
                     r"|\b(?:similar|comparable)\b", "not no similar comparable")
#: Advice for the intervention, as guidelines word it ("clinicians should screen", "should be offered").
_ADVISED_FOR = cue(r"\b(?:should|must) (?:be )?(?:use|used|offer|offered|give|given|screen|screened|consider|"
                   r"considered|perform|performed|prescribe|prescribed|provide|provided|counsel|counseled|counselled|"
                   r"treat|treated)\b", "should must")
#: "No serious complications": read only for questions about safety, where it answers yes.
_NO_HARM = cue(r"\bno (?:\w+ )?(?:complications?|adverse|deaths?|mortality|side[- ]effects?|toxicity|events?|"
               r"bleeding|infections?|recurrences?|harms?)\b", "no")
_EQUIVALENT = cue(
    r"\b(?:similar(?:ly)?|comparable|equivalent|equally|equal|non-?inferior|not inferior|as (?:[\w-]+ ){1,2}as|"
    r"the same)\b", "similar similarly comparable equivalent equally equal non noninferior not as same")
_EFFECT = word_cue(
    "significant significantly associated_with associated_to correlated_with correlated_to linked_with linked_to "
    "improved improves improvement improving superior more_effective effective efficacious beneficial benefit "
    "benefits prevent prevented prevents protective protected protects predicted predicts predictive predictor "
    "predictors risk_factor risk_factors useful valuable feasible safe safely well_tolerated accurate reliable "
    "promising recommended recommend recommends advantage advantageous successful successfully enhanced better "
    "effectively can_be_used supports supported exist exists existed occur occurs occurred ideal powerful "
    "suitable appropriate reasonable sufficient achievable helpful specific sensitive influence influenced "
    "influences affect affects affected correlates correlation differ differs differed different difference "
    "differences justified warranted indicated valid contributes contributed implicated confirm confirms confirmed "
    "plays_a_role play_a_role played_a_role plays_an_important_role play_an_important_role played_an_important_role")
#: Effect words that state a difference between groups. In answer to a comparison, other effect words
#: ("comparable improvement") do not outweigh a statement of equivalence.
_COMPARATIVE = frozenset("significant significantly superior better more effective differ differs differed different "
                         "difference differences".split())
#: A negation shortly before an effect word turns it into a null finding: "not a clinically useful predictor",
#: "did not prove to be beneficial", "could not reliably be predicted".
_NEGATION_BEFORE = re.compile(r"\b(?:not|no|never|cannot|\w+n't|neither|nor|without|lack of|fail(?:ed|s)? to)\b"
                              r"(?:\W+\w+){0,3}?\W+$")
_UP = word_cue("increase increased increases increasing higher greater more elevated raised rise rose excess worse "
               "worsened longer doubled tripled doubling tripling twofold two-fold threefold exacerbated exacerbates")
_DOWN = word_cue("reduce reduced reduces reducing reduction decrease decreased decreases decreasing lower lowered less "
                 "fewer diminished diminishes declined decline shorter prevent prevented prevents protective protected "
                 "protects attenuated attenuates alleviated alleviates relieved relieves")
_WORSE = word_cue("worse worsened worsening inferior harmful detrimental less_effective poorer deleterious")
_HARMS = word_cue("complication complications adverse side_effect side_effects side-effects toxicity toxicities "
                  "morbidity mortality death deaths bleeding haemorrhage hemorrhage infection infections harm harms "
                  "event events injury injuries failure failures disability disabilities")
_AT_RISK = re.compile(r"\bat (?:an? )?(?:increased|high|higher|elevated|greater|average|low|lower|highest) risk\b")
"""Who a sentence is about ("older adults who are at increased risk should also be screened"), not a finding."""
_RISK_FACTOR = re.compile(r"\b(?:risk factors?|risk_factors?)\b")
_SIGNIFICANT_THING = re.compile(
    r"\bsignificant (?!(?:differences?|improvements?|reductions?|increases?|decreases?|effects?|associations?|"
    r"correlations?|benefits?|changes?|predictors?|risks?|relationships? (?:between|with)|gains?|impacts?|"
    r"influences?|rise|fall|declines?|advantages?|interactions?|trends?|results?|findings?|predictive|"
    r"differen\w*|and|or|in|at|for|between|when|after|with|only|to|of|on|by|than|as|from|among|over|across|during|"
    r"because|compared|statistically|but|whereas)\b)(?=[a-z])")
""""Significant" describing a thing ("significant relationship distress", "significant comorbid conditions"), not a
result: a result is a significant difference, change, association or the like, or is "significant in ..."."""
_SAME_THING = re.compile(r"\bthe same (?!(?:as|in|for|between|across|among|with|over|after|at|regardless|"
                         r"whether)\b)(?=[a-z])")
""""The same" naming a thing ("against the same ambulatory threshold"), not a finding of sameness ("the same as",
"the same in both groups")."""
_RECOMMENDING = re.compile(r"\brecommend(?:s|ed)?\b")
_OBJECT_REACH = 80
"""How far after "recommends" (or around "recommended") the recommended thing is looked for."""
_P_VALUE = cue(r"\bp\s?(?:value\s?)?(?P<op>[<>=≤≥])\s?(?P<value>0?\.\d{1,4})\b", "p")


@dataclass(frozen=True, slots=True)
class _Reading:
    direction: Direction
    words: tuple[str, ...]
    overlap: int


def direction_of(question: str, sentences: Sequence[str]) -> DirectionFinding:
    """The direction of a finding quoted in ``sentences`` (one or more passages), relative to ``question``.

    Each sentence gets a direction; sentences without a cue, or not about the question, abstain. The most frequent
    direction wins (an explicit "unclear" - uncertain or mixed wording - is a vote too), ties going to the earlier
    sentence. The quote is the first sentence with the winning direction; the words are the cue words that decided
    it.
    """
    frame = frame_question(question)
    readings = [(sentence, sentence_direction(frame, sentence)) for sentence in sentence_texts(sentences)]
    decided = [(sentence, reading) for sentence, reading in readings if reading.direction != "unclear" or reading.words]
    if not decided:
        return DirectionFinding()
    votes = Counter(reading.direction for _, reading in decided)
    best = max(votes.values())
    sentence, reading = next(pair for pair in decided if votes[pair[1].direction] == best)
    return DirectionFinding(direction=reading.direction, quote=sentence, words=reading.words)


def states_result(sentence: str) -> bool:
    """Whether a sentence reports a result (an effect, a null finding, advice for or against), read with no question
    in mind: "both groups improved" does, "100 patients were randomised to PRP or saline" does not."""
    return sentence_direction(frame_question(""), sentence).direction != "unclear"


def finds_no_difference_in(claim: str, passages: Sequence[str]) -> bool:
    """Whether a claim says an outcome moved ("fewer severe erythema and edema than microneedling alone") where the
    passages it rests on name one such outcome only in sentences that found no difference between groups ("Severe
    erythema (odds ratio 1.59, P=0.24) ... did not differ"): a model's summary that turned a null result into an
    effect. False when the claim compares nothing ("lower calyceal lithiasis" is a place), reads as no difference or
    names no moved outcome, or when any sentence naming the outcome states no such null result (a negation of
    something else, "no adverse events", is not one) or a significant difference."""
    outcomes = moved_outcomes(claim) if compares(claim) else []
    if not outcomes or sentence_direction(frame_question(""), claim).direction == "no_difference":
        return False
    sentences = sentence_texts(passages)
    for outcome in outcomes:
        naming = [sentence for sentence in sentences if names_any(outcome, sentence)]
        if naming and all(_no_difference_between_groups(sentence) for sentence in naming):
            return True
    return False


def _no_difference_between_groups(sentence: str) -> bool:
    lowered = sentence.lower()
    words = words_of(lowered)
    _, asserted = _effects(lowered, words)  # "significantly higher", not "no significant difference"
    significant = _p_values(lowered, words, significant=True) or {"significant", "significantly"} & set(asserted)
    return not significant and bool(_found(_NO_DIFFERENCE, lowered, words)
                                    or _p_values(lowered, words, significant=False))


def sentence_direction(frame: QuestionFrame, sentence: str) -> DirectionFinding:
    """The direction one sentence gives: a graded recommendation's by its grade where the grade says it (an I
    statement or a C grade is unclear, a D grade against), else judged on its most relevant clause that carries a
    cue."""
    if not frame.is_about(sentence) or not frame.names_both_arms(sentence) or not frame.names_outcome(sentence):
        return DirectionFinding()
    graded = [_GRADE_DIRECTION[strength] for strength in strengths_in(sentence) if strength in _GRADE_DIRECTION]
    if graded:
        direction, words = graded[0]
        return DirectionFinding(direction=_relative(frame, direction), quote=sentence, words=words)
    readings = [reading for clause in _CLAUSE_BREAK.split(sentence) if (reading := _clause_reading(frame, clause))]
    if not readings:
        return DirectionFinding()
    best = max(readings, key=lambda reading: reading.overlap)
    relevant = {reading.direction for reading in readings if reading.overlap > 0} - {"unclear"}
    if "supports" in relevant and len(relevant) > 1:
        words = tuple(word for reading in readings for word in reading.words)
        return DirectionFinding(direction="unclear", quote=sentence, words=("mixed:", *words))
    return DirectionFinding(direction=_relative(frame, best.direction), quote=sentence, words=best.words)


def _clause_reading(frame: QuestionFrame, clause: str) -> _Reading | None:
    lowered = _descriptions_blanked(frame, clause.lower())
    words = words_of(lowered)
    overlap = frame.overlap(clause, lowered, words)
    if uncertain := _found(_UNCERTAIN, lowered, words):
        return _Reading("unclear", uncertain, overlap)
    if advised_against := _found(ADVISED_AGAINST, lowered, words):
        return _Reading("against", advised_against, overlap)
    negated, effect = _effects(lowered, words)
    null = _found(_NULL, lowered, words) + negated + _p_values(lowered, words, significant=False)
    if frame.safety:
        null += _found(_NO_HARM, lowered, words)
    equivalent = _found(_EQUIVALENT, lowered, words)
    effect += _p_values(lowered, words, significant=True) + _found(_ADVISED_FOR, lowered, words)
    if null:
        return _Reading(_null_direction(frame, lowered, words), null, overlap)
    if equivalent and not _outweighs_equivalence(frame, effect):
        return _Reading("supports" if frame.equivalence else "no_difference", equivalent, overlap)
    up, down = _found(_UP, lowered, words), _found(_DOWN, lowered, words)
    if effect or up or down:
        return _effect_reading(frame, (lowered, words), effect, (up, down), overlap)
    return None


def _descriptions_blanked(frame: QuestionFrame, lowered: str) -> str:
    """A clause with the words that look like cues but describe rather than find blanked out: a population "at
    increased risk"; "risk factors" where the question asks of none ("coronary risk factors" in an intervention's
    description); "significant" or "the same" naming a thing; and "recommends" whose recommended thing shares no
    topic word with the question ("strongly recommends isotretinoin for acne that ..." in answer to whether scar
    scales capture colour)."""
    blanked = _AT_RISK.sub(_blank, lowered)
    if not _RISK_FACTOR.search(frame.text.lower()):
        blanked = _RISK_FACTOR.sub(_blank, blanked)
    blanked = _SIGNIFICANT_THING.sub(_blank, _SAME_THING.sub(_blank, blanked))
    if frame.topic:
        for match in _RECOMMENDING.finditer(blanked):
            after = blanked[match.end(): match.end() + _OBJECT_REACH]
            before = blanked[max(0, match.start() - _OBJECT_REACH): match.start()] if match.group(0).endswith(
                "ed") else ""
            if not frame.overlap(after) and not frame.overlap(before):
                blanked = blanked[: match.start()] + _blank(match) + blanked[match.end():]
    return blanked


def _blank(match: re.Match[str]) -> str:
    return " " * len(match.group(0))


def _outweighs_equivalence(frame: QuestionFrame, effect: tuple[str, ...]) -> bool:
    """In answer to a comparison only a stated difference ("significantly", "superior", a p-value below 0.05)
    outweighs "similar"; otherwise any effect word does ("similar patients improved")."""
    if frame.equivalence or frame.arms is not None:
        return any(_states_difference(word) for word in effect)
    return bool(effect)


def _states_difference(word: str) -> bool:
    return word in _COMPARATIVE or word.startswith("p")


def _effects(lowered: str, words: frozenset[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Effect words of a clause split into negated ones ("not ... useful") and asserted ones."""
    negated, asserted = [], []
    for match in _EFFECT.findall(lowered, words):
        before = lowered[max(0, match.start() - 40): match.start()]
        if negation := _NEGATION_BEFORE.search(before):
            negated.append(f"{negation.group(0).strip()} {match.group(0)}")
        else:
            asserted.append(match.group(0))
    return tuple(negated), tuple(asserted)


def _null_direction(frame: QuestionFrame, lowered: str, words: frozenset[str]) -> Direction:
    """A null finding answers an equivalence question yes, and a safety question yes when it is about harms."""
    if frame.equivalence or (frame.safety and _HARMS.possible(words) and _HARMS.search(lowered, words)):
        return "supports"
    return "no_difference"


def _effect_reading(frame: QuestionFrame, clause: tuple[str, frozenset[str]], effect: tuple[str, ...],
                    movement: tuple[tuple[str, ...], tuple[str, ...]], overlap: int) -> _Reading | None:
    lowered, words = clause
    up, down = movement
    if frame.equivalence and any(_states_difference(word) for word in effect):
        return _Reading("against", effect, overlap)  # a difference found, where the question asks for sameness
    if frame.movement is not None and (up or down):
        same, opposite = (up, down) if frame.movement == "up" else (down, up)
        if opposite and not same:
            return _Reading("against", opposite, overlap)
        return _Reading("supports", same + effect, overlap)
    worse = _found(_WORSE, lowered, words)
    if worse and frame.movement is None and not frame.safety:
        return _Reading("against", worse, overlap)
    if up and frame.movement is None and not frame.safety and not frame.associative and (
            harms := _found(_HARMS, lowered, words)):
        return _Reading("against", up + harms, overlap)  # "... associated with a doubling of disability"
    if frame.safety and _HARMS.search(lowered, words) and (up or effect):
        return _Reading("against", up + effect, overlap)
    if not effect and not (up or down):
        return None
    return _Reading("supports", effect or up + down, overlap)


def _relative(frame: QuestionFrame, direction: Direction) -> Direction:
    """Answers to a negatively phrased question swap: a null finding supports it, an effect contradicts it."""
    if not frame.negated or direction == "unclear":
        return direction
    return "against" if direction == "supports" else "supports"


def _found(pattern: Cue, lowered: str, words: frozenset[str]) -> tuple[str, ...]:
    return tuple(match.group(0) for match in pattern.findall(lowered, words))


def _p_values(lowered: str, words: frozenset[str], significant: bool) -> tuple[str, ...]:
    """P-values below 0.05 count as an effect, others as a null finding."""
    found = []
    for match in _P_VALUE.findall(lowered, words):
        value, op = float(match.group("value")), match.group("op")
        is_significant = (op in "<≤" and value <= 0.05) or (op == "=" and value < 0.05)
        if is_significant == significant and not (op in ">≥" and value < 0.05):
            found.append(match.group(0))
    return tuple(found)
