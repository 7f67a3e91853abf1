"""Direction of a cited finding relative to the question: supports, no_difference, against, or unclear.

A sentence is split into clauses (at commas, semicolons and "but / whereas / although / however"); the clause that
shares most topic words with the question and carries a cue decides. Cues, in order of precedence:

1. uncertainty ("unclear", "inconclusive", "conflicting") -> unclear;
2. a null finding ("no significant difference", "did not improve", "not associated", "failed to", p > 0.05) or
   equivalence ("similar", "comparable", "non-inferior") -> no_difference; but supports when the question asks for
   equivalence ("as effective as"), or asks about safety and the null finding is about harms;
3. an effect ("significantly improved", "associated with", "superior", "reduced", p < 0.05) -> supports, unless the
   question asks for an increase and the clause reports only a decrease (or the reverse), or the clause reports a
   worse result for a question about benefit -> against.

A sentence sharing no topic word with the question is not about it (unclear). A negatively phrased question ("Is X
unnecessary?", "Does X not...") swaps the answer: a null finding supports it, an effect goes against it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from rag.appraisal.models import Direction, DirectionFinding
from rag.appraisal.passages import sentence_texts
from rag.appraisal.question import QuestionFrame, frame_question
from rag.text.terms import content_terms

_I = re.IGNORECASE
_CLAUSE_BREAK = re.compile(r"[;,]\s+|\s+(?:but|whereas|while|although|though|however|yet)\s+", _I)
_UNCERTAIN = re.compile(
    r"\b(?:unclear|inconclusive|controversial|conflicting|equivocal|not clear|uncertain|unknown|"
    r"remains? to be (?:determined|established|clarified|elucidated|proven|seen)|cannot be (?:determined|concluded)|"
    r"insufficient evidence|not enough evidence|(?:is|are) needed to (?:determine|establish|confirm)|"
    r"depend(?:s|ing|ent)? (?:on|upon)|may or may not|not necessarily|only (?:in|for|when|if)|"
    r"in (?:some|selected|certain) (?:\w+ )?(?:patients|cases|subgroups?|circumstances|situations|settings))\b",
    _I)
_NULL = re.compile(
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
    _I)
_EQUIVALENT = re.compile(
    r"\b(?:similar(?:ly)?|comparable|equivalent|equally|equal|non-?inferior|not inferior|as (?:[\w-]+ ){1,2}as|"
    r"the same)\b", _I)
_EFFECT = re.compile(
    r"\bsignificant(?:ly)?\b"
    r"|\b(?:independently |strongly |positively |negatively |inversely |directly )?(?:associated|correlated|linked) "
    r"(?:with|to)\b"
    r"|\b(?:improv(?:ed|es|ement|ing)|superior|more effective|effective|efficacious|beneficial|benefits?|"
    r"prevent(?:ed|s)?|protect(?:ive|ed|s)|predict(?:ed|s|ive|or|ors)|risk factors?|useful|valuable|feasible|safe|"
    r"safely|well tolerated|accurate|reliable|promising|recommended|recommends?|advantage(?:ous)?|successful(?:ly)?|"
    r"enhanced|better|effectively|can be used|(?:plays?|played) (?:a|an) (?:\w+ )?role|supports?|supported|"
    r"exists?|existed|occurs?|occurred|ideal|powerful|suitable|appropriate|reasonable|sufficient|achievable|helpful|"
    r"specific|sensitive|influenced?|influences|affect(?:s|ed)?|correlat(?:es|ed|ion)|differ(?:s|ed)?|different|"
    r"differences?|justified|warranted|indicated|valid|contribut(?:es|ed)|implicated|confirm(?:s|ed))\b",
    _I)
#: A negation shortly before an effect word turns it into a null finding: "not a clinically useful predictor",
#: "did not prove to be beneficial", "could not reliably be predicted".
_NEGATION_BEFORE = re.compile(r"\b(?:not|no|never|cannot|\w+n't|neither|nor|without|lack of|fail(?:ed|s)? to)\b"
                              r"(?:\W+\w+){0,3}?\W+$", _I)
_UP = re.compile(r"\b(?:increas(?:e|ed|es|ing)|higher|greater|more|elevated|raised|rise|rose|excess|worse|worsened|"
                 r"longer|doubled|tripled|exacerbat\w+)\b", _I)
_DOWN = re.compile(r"\b(?:reduc(?:e|ed|es|ing|tion)|decreas(?:e|ed|es|ing)|lower(?:ed)?|less|fewer|diminish\w*|"
                   r"declin(?:e|ed)|shorter|prevent(?:ed|s)?|protect(?:ive|ed|s)|attenuat\w+|alleviat\w+|reliev\w+)\b",
                   _I)
_WORSE = re.compile(r"\b(?:worse|worsened|worsening|inferior|harmful|detrimental|less effective|poorer|deleterious)\b",
                    _I)
_HARMS = re.compile(r"\b(?:complications?|adverse|side[- ]effects?|toxicit\w+|morbidity|mortality|deaths?|"
                    r"bleeding|haemorrhage|hemorrhage|infections?|harms?|events?|injur\w+|failures?)\b", _I)
_P_VALUE = re.compile(r"\bp\s?(?:value\s?)?(?P<op>[<>=≤≥])\s?(?P<value>0?\.\d{1,4})\b", _I)


@dataclass(frozen=True, slots=True)
class _Reading:
    direction: Direction
    words: tuple[str, ...]
    overlap: int


def direction_of(question: str, sentences: Sequence[str]) -> DirectionFinding:
    """The direction of a finding quoted in ``sentences`` (one or more passages), relative to ``question``.

    Each sentence gets a direction; sentences without a cue, or not about the question, abstain. The most frequent
    direction wins (an explicit "unclear" - uncertain or mixed wording - is a vote too), ties going to the earlier
    sentence. The
    quote is the first sentence with the winning direction; the words are the cue words that decided it.
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


def sentence_direction(frame: QuestionFrame, sentence: str) -> DirectionFinding:
    """The direction one sentence gives, judged on its most relevant clause that carries a cue."""
    if not frame.is_about(sentence):
        return DirectionFinding()
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
    overlap = len(frame.topic & content_terms(clause)) + (1 if frame.acronyms and frame.is_about(clause) else 0)
    if uncertain := _words(_UNCERTAIN, clause):
        return _Reading("unclear", uncertain, overlap)
    negated, effect = _effects(clause)
    null = _words(_NULL, clause) + negated + _p_values(clause, significant=False)
    equivalent = _words(_EQUIVALENT, clause)
    effect += _p_values(clause, significant=True)
    if null:
        return _Reading(_null_direction(frame, clause), null, overlap)
    if equivalent and not effect:
        return _Reading("supports" if frame.equivalence else "no_difference", equivalent, overlap)
    if effect or _UP.search(clause) or _DOWN.search(clause):
        return _effect_reading(frame, clause, effect, overlap)
    return None


def _effects(clause: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Effect words of a clause split into negated ones ("not ... useful") and asserted ones."""
    negated, asserted = [], []
    for match in _EFFECT.finditer(clause):
        before = clause[max(0, match.start() - 40): match.start()]
        if negation := _NEGATION_BEFORE.search(before):
            negated.append(f"{negation.group(0).strip()} {match.group(0)}".lower())
        else:
            asserted.append(match.group(0).lower())
    return tuple(negated), tuple(asserted)


def _null_direction(frame: QuestionFrame, clause: str) -> Direction:
    """A null finding answers an equivalence question yes, and a safety question yes when it is about harms."""
    if frame.equivalence or (frame.safety and _HARMS.search(clause)):
        return "supports"
    return "no_difference"


def _effect_reading(frame: QuestionFrame, clause: str, effect: tuple[str, ...], overlap: int) -> _Reading | None:
    up, down = _words(_UP, clause), _words(_DOWN, clause)
    worse = _words(_WORSE, clause)
    if frame.equivalence and effect:
        return _Reading("against", effect, overlap)  # a difference found, where the question asks for sameness
    if frame.movement is not None and (up or down):
        same, opposite = (up, down) if frame.movement == "up" else (down, up)
        if opposite and not same:
            return _Reading("against", opposite, overlap)
        return _Reading("supports", same + effect, overlap)
    if worse and frame.movement is None and not frame.safety:
        return _Reading("against", worse, overlap)
    if frame.safety and _HARMS.search(clause) and (up or effect):
        return _Reading("against", up + effect, overlap)
    if not effect:
        return None
    return _Reading("supports", effect, overlap)


def _relative(frame: QuestionFrame, direction: Direction) -> Direction:
    """Answers to a negatively phrased question swap: a null finding supports it, an effect contradicts it."""
    if not frame.negated or direction == "unclear":
        return direction
    return "against" if direction == "supports" else "supports"


def _words(pattern: re.Pattern[str], clause: str) -> tuple[str, ...]:
    return tuple(match.group(0).lower() for match in pattern.finditer(clause))


def _p_values(clause: str, significant: bool) -> tuple[str, ...]:
    """P-values below 0.05 count as an effect, others as a null finding."""
    found = []
    for match in _P_VALUE.finditer(clause):
        value, op = float(match.group("value")), match.group("op")
        is_significant = (op in "<≤" and value <= 0.05) or (op == "=" and value < 0.05)
        if is_significant == significant and not (op in ">≥" and value < 0.05):
            found.append(match.group(0))
    return tuple(found)
