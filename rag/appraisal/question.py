"""What a question asks, as far as the direction of a finding depends on it: its topic words, the two arms of a
comparison, whether it asks for an increase or a decrease, for equivalence, about safety, or is phrased negatively,
and whether it is a yes/no question at all."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from rag.appraisal.cues import words_of
from rag.appraisal.passages import text_sentences
from rag.text.sentences import sentence_spans
from rag.text.terms import content_terms, normalise
from rag.text.topic import FRAMING_WORDS, stem

Movement = Literal["up", "down"]
MAX_QUESTION_CHARS = 2000

#: Words that say what kind of answer is wanted but not what it is about (one list with the composer's topic,
#: rag.text.topic); a sentence sharing only these with the question is not about the question.
_GENERIC = frozenset(normalise(word) for word in FRAMING_WORDS)
_AUXILIARY = re.compile(r"(?:is|are|was|were|do|does|did|can|could|should|would|will|has|have|had|may|might|must|"
                        r"shall)\b", re.IGNORECASE)
_WH = re.compile(r"(?:what|which|how|why|when|where|who|whom|whose|to what extent|in what)\b", re.IGNORECASE)
_LEADING_FILLER = re.compile(r"(?:and|so|but|then|also|or)\s+", re.IGNORECASE)
_CLAUSE = re.compile(r"[:;,]\s*|\s-\s")
#: A choice ("X or Y: which is better?"): "or", then within 80 characters (no "?" between) a word of preference that
#: "than" does not follow within 40. Found from the preference words (:func:`_offers_choice`): one pattern trying
#: every gap length after every "or" cost 80 alternations per "or".
_OR = re.compile(r"\bor\b", re.IGNORECASE)
_PREFERENCE = re.compile(r"\b(?:better|best|preferable|preferred|superior|first|bigger|biggest|larger|largest|greater|"
                         r"greatest|more|most|higher|highest|lower|lowest|smaller|smallest|stronger|longer|shorter|"
                         r"faster|safer|safest)\b", re.IGNORECASE)
"""Words that ask which of two options wins: "Is A or B better?", "did A or B show the bigger reduction?" (a reader
found "1 found the opposite" and "the cited findings disagree" under such a choice, read as a yes/no question)."""
_THAN = re.compile(r"\bthan\b", re.IGNORECASE)
_CHOICE_GAP, _THAN_GAP = 80, 40
_UP = re.compile(r"\b(?:increase[sd]?|increasing|higher|raises?|raised|elevates?|elevated|more|greater|worsens?|"
                 r"exacerbates?|risk factors?|promotes?|induces?|causes?)\b", re.IGNORECASE)
_DOWN = re.compile(r"\b(?:reduce[sd]?|reducing|reduction|decrease[sd]?|decreasing|lower|lowers|lowered|less|fewer|"
                   r"prevents?|preventing|protects?|protective|attenuates?|mitigates?|diminish(?:es)?|shortens?|"
                   r"alleviates?|relieves?)\b", re.IGNORECASE)
_EQUIVALENCE = re.compile(r"\bas (?:[\w-]+ ){1,2}as\b|\b(?:equally|equivalent|non-?inferior|comparable|similar|"
                          r"same|interchangeable|alternative to|substitute for|replace)\b", re.IGNORECASE)
_ASSOCIATIVE = re.compile(r"\b(?:associat\w*|affects?|affected|predict\w*|risk factors?|influenc\w*|impact\w*|"
                          r"related|relationship|correlat\w*|linked|link|causes?|caused|leads? to|risk of|"
                          r"determinants?|markers?)\b", re.IGNORECASE)
"""A question asking whether something goes with an outcome ("Is obesity associated with mortality?"), which a
finding of more of a harm answers yes; asked whether to do something, that finding answers no."""
_PERSON_CLAUSE = re.compile(r"\b(?:who|whom|whose)\b[^,;?]{0,80}+", re.IGNORECASE)
"""A clause describing people ("women who didn't exercise before pregnancy"), whose negation is not the question's."""
_NEGATED = re.compile(r"\bnot\b|n't\b|\bunnecessary\b|\bobsolete\b|\bfutile\b|\bno (?:longer|need|benefit|"
                      r"difference|effect|role|advantage|value|association)\b"
                      r"|\btoo (?:young|old|early|late|soon)\b", re.IGNORECASE)
"""A question asking whether something should not be done: "Is she too young for glucose screening?" is answered no
by a recommendation to screen her (the ninth reading found a "yes" consensus there)."""
_MOVED_OUTCOME = re.compile(r"\b(?:more|less|higher|lower|greater|fewer|worse)\s+(?=(?P<outcome>[A-Za-z][\w-]*"
                            r"(?:\s+[A-Za-z][\w-]*){0,2}))", re.IGNORECASE)
"""The words a question's movement qualifies ("more painful", "higher mortality", "greater NIH funding success"):
what must move; read up to the first word that is not a topic word, and looked ahead of, so that "higher
satisfaction and fewer severe erythema" holds two."""
_NOT_OUTCOMES = frozenset("""likely unlikely often frequently common commonly among amongst across within without
    relative following per toward towards around beyond despite via""".split())
"""Words after "more" or "lower" that say how often ("more likely", "more often") or begin a phrase of place or
relation ("lower among the Sami"), not what moved; the stopwords end the phrase already."""
_MIN_ROOT = 4
_SAFETY = re.compile(r"\bsafe(?:ly|ty|r|st)?\b|\bwell tolerated\b|\btolerab\w+", re.IGNORECASE)
_ACRONYM = re.compile(r"\b[A-Z][A-Za-z]?[A-Z]{1,5}s?\b")
_WORDS = re.compile(r"[A-Za-z][A-Za-z]*")
_ARMS = re.compile(r"\b(?:versus|vs\.?|compared (?:with|to)|(?:rather )?than)(?:\s|$)|\bbetween\b", re.IGNORECASE)
_LEFT_START = re.compile(r"\b(?:of|is|are|does|do|did|can|should|was|were|with|using|between|wants?|prefers?|"
                         r"(?:evidence|data|support) for)\s", re.IGNORECASE)
_CLAUSE_END = re.compile(r"[.:;?!]\s|[,;:?!]")
"""Where a side of a comparison ends at the latest: a sentence or a clause break ("meds. Any guideline ...")."""
_COMPARING = re.compile(rf"{_ARMS.pattern}|\bas (?:[\w-]+ ){{1,2}}as\b|\bcompar(?:ed|ing|isons?)\b", re.IGNORECASE)
"""A sentence setting one thing against another: a comparator, "as effective as", "the trials that compared them"."""
_LEADING_WITH = re.compile(r"^\s*(?:with|to)\s")
_COMPARATIVE_END = re.compile(r"\s(?:(?:better|worse|superior|inferior|preferable|(?:more|less) \w+|\w{3,}er)"
                              r"(?: results?| outcomes?)?|been|being|be)\s*$", re.IGNORECASE)
_CHANGE_END = re.compile(r"\s(?:go(?:es)? (?:up|down)|rises?|falls?|drops?|changes?|increases?|decreases?)\s*$",
                         re.IGNORECASE)
_RIGHT_END = re.compile(r"\s(?:for|in|among|on|at|during|after|before|when|regarding|to (?!\w+ing)\w+|\?)",
                        re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class QuestionFrame:
    """The parts of a question that decide how a finding answers it."""

    text: str
    topic: frozenset[str]
    arms: tuple[frozenset[str], frozenset[str]] | None
    movement: Movement | None
    equivalence: bool
    negated: bool
    safety: bool
    yes_no: bool
    acronyms: frozenset[str] = frozenset()
    forms: tuple[tuple[str, frozenset[str]], ...] = ()
    arm_acronyms: tuple[frozenset[str], frozenset[str]] = (frozenset(), frozenset())
    sides: tuple[str, str] = ("", "")
    """The two sides of a comparison as the question writes them ("adding bedtime NPH", "switching"), for saying
    which comparison no passage makes; empty without one."""
    associative: bool = False
    """Whether the question asks if something goes with an outcome (``_ASSOCIATIVE``)."""
    outcomes: frozenset[str] = frozenset()
    """The words the question's movement qualifies ("painful" in "Is X more painful than Y?"), as crude stems: a
    finding that names none of them says nothing of which way that outcome went."""

    def overlap(self, text: str, lowered: str | None = None, words: frozenset[str] | None = None) -> int:
        """How many topic words of the question a text mentions (in any of their plural/singular forms); when it
        mentions none, 1 if it uses an acronym of question words ("ROP" for "retinopathy of prematurity")."""
        lowered = text.lower() if lowered is None else lowered
        words = words_of(lowered) if words is None else words
        found = sum(1 for term, forms in self.forms
                    if (term in lowered if "-" in term else not forms.isdisjoint(words)))
        if not found and self.acronyms and any(token.lower() in self.acronyms for token in _ACRONYM.findall(text)):
            return 1
        return found

    def is_about(self, text: str) -> bool:
        """True when a text mentions a topic word or acronym of the question; a question without topic words is
        about anything."""
        return not self.topic or self.overlap(text) > 0

    def names_outcome(self, text: str) -> bool:
        """Whether a text names the outcome the question asks to move (any word sharing its crude stem: "pain" for
        "painful"); True when the question names none."""
        return not self.outcomes or names_any(self.outcomes, text)

    def compares_a_side(self, text: str) -> bool:
        """Whether a sentence of ``text`` sets one of the comparison's sides against something ("nonwhite patients had
        thicker melanomas than white patients" for "darker skin compared with white patients"): a passage may name the
        other side in words the question does not use, so only a passage with no such sentence shows that no
        comparison was made. False when the question compares nothing."""
        if self.arms is None:
            return False
        sides = list(zip(self.arms, self.arm_acronyms, strict=True))
        return any(_COMPARING.search(sentence) and any(_names(arm, known, sentence) for arm, known in sides)
                   for sentence in text_sentences(text))

    def names_both_arms(self, text: str) -> bool:
        """For a comparison question, whether a text names both of its sides (a word of each in any plural/singular
        form, or an acronym of its words: "SBK" for "sub-Bowman's keratomileusis"): only such a text can say which
        side is better; True when the question compares nothing."""
        if self.arms is None:
            return True
        return all(_names(arm, known, text) for arm, known in zip(self.arms, self.arm_acronyms, strict=True))


def _names(arm: frozenset[str], acronyms: frozenset[str], text: str) -> bool:
    """Whether a text names a side of a comparison: a word of it in any plural/singular form, or one of its
    acronyms."""
    lowered = text.lower()
    words = frozenset(normalise(word) for word in words_of(lowered))
    found = {token.lower().removesuffix("s") for token in _ACRONYM.findall(text)}
    return any(term in lowered if "-" in term else term in words for term in arm) or bool(found & acronyms)


@lru_cache(maxsize=256)
def frame_question(question: str) -> QuestionFrame:
    """The frame of a question (cached: every reference of an answer asks about the same question). Only its first
    ``MAX_QUESTION_CHARS`` characters are read."""
    question = question[:MAX_QUESTION_CHARS]
    up, down = bool(_UP.search(question)), bool(_DOWN.search(question))
    phrases = _arm_phrases(question)
    arms = _arms(phrases)
    return QuestionFrame(
        text=question,
        topic=topic_terms(question),
        arms=arms,
        arm_acronyms=_arm_acronyms(phrases),
        sides=phrases[:2] if phrases is not None and phrases[2] and arms is not None else ("", ""),
        movement="up" if up and not down else "down" if down and not up else None,
        equivalence=bool(_EQUIVALENCE.search(question)),
        negated=bool(_NEGATED.search(_PERSON_CLAUSE.sub(" ", question))),
        associative=bool(_ASSOCIATIVE.search(question)),
        safety=bool(_SAFETY.search(question)),
        yes_no=is_yes_no_question(question),
        acronyms=_acronyms(question),
        forms=tuple((term, _forms(term)) for term in sorted(topic_terms(question))),
        outcomes=frozenset().union(*moved_outcomes(question)),
    )


def moved_outcomes(text: str) -> list[frozenset[str]]:
    """Each outcome a text says moved, as the crude stems of its words ("higher satisfaction and fewer severe
    erythema" -> {satisf}, {severe, erythe})."""
    return [words for match in _MOVED_OUTCOME.finditer(text)
            if (words := frozenset(_outcome_words(match.group("outcome"))))]


def compares(text: str) -> bool:
    """Whether a text sets one thing against another ("than", "compared with", "versus", "between")."""
    return _ARMS.search(text) is not None


def names_any(outcome: frozenset[str], text: str) -> bool:
    """Whether a text names a word of ``outcome`` (crude stems): the same root, "pain" for "painful"."""
    stems = {stem(word) for word in content_terms(text)}
    return any(_same_root(wanted, found) for wanted in outcome for found in stems)


def _outcome_words(phrase: str) -> list[str]:
    """The crude stems of the topic words that open ``phrase``, up to the first other word ("painful than
    microneedling" -> painfu)."""
    found: list[str] = []
    for word in phrase.split():
        terms = topic_terms(word)
        if not terms or word.lower() in _NOT_OUTCOMES:
            break
        found.extend(stem(term) for term in terms)
    return found


def _same_root(one: str, other: str) -> bool:
    """Crude stems of one root: the same, or one begins the other and the shorter has at least four letters ("pain"
    and "painfu", "fall" and "falls")."""
    short, long = sorted((one, other), key=len)
    return short == long or (len(short) >= _MIN_ROOT and long.startswith(short))


def topic_terms(text: str) -> frozenset[str]:
    """Content words that say what a question is about (population, intervention, outcome), not what it asks."""
    return frozenset(term for term in content_terms(text) if term not in _GENERIC and not term.isdigit())


def is_yes_no_question(question: str) -> bool:
    """True for questions a yes, a no or a maybe answers: "Does X reduce Y?", "In adults, is X safe?", "X: a risk
    factor for Y?". False for open questions ("What is...", "How effective...") and choices ("Is X or Y better?").
    A told case before an open question does not make it yes/no ("84-year-old with ... maybe 3 years to live. What
    HbA1c range does the VA/DoD suggest?"): of several sentences, when every one ending on "?" opens on "what",
    "how" and the like, the question is open."""
    question = question[:MAX_QUESTION_CHARS]
    sentences = [question[start:end].strip() for start, end in sentence_spans(question)]
    asked = [sentence for sentence in sentences if sentence.endswith("?")]
    if len(sentences) > 1 and asked and all(_WH.match(_LEADING_FILLER.sub("", s, count=1)) for s in asked):
        return False  # the case told, then an open question
    clauses = [_LEADING_FILLER.sub("", clause.strip(), count=1) for clause in _CLAUSE.split(question.strip())]
    clauses = [clause for clause in clauses if clause]
    if not clauses or any(_WH.match(clause) for clause in clauses):
        return False
    if _offers_choice(question):
        return False
    return any(_AUXILIARY.match(clause) for clause in clauses) or question.rstrip().endswith("?")


def _offers_choice(question: str) -> bool:
    """Whether "or" stands at most 80 characters (no "?" between) before a preference word that "than" does not
    follow within 40 characters ("Is A or B better?", but not "Is A or B better than C?")."""
    for word in _PREFERENCE.finditer(question):
        if _than_follows(question, word.end()):
            continue
        floor = max(question.rfind("?", 0, word.start()) + 1, word.start() - _CHOICE_GAP - 2)
        if any(found.end() >= word.start() - _CHOICE_GAP for found in _OR.finditer(question, floor, word.start())):
            return True
    return False


def _than_follows(question: str, end: int) -> bool:
    """Whether "than" starts at most 40 characters after ``end`` with no "?" between."""
    limit = end + _THAN_GAP + len("than") + 1  # the character after "than" decides its word boundary
    than = _THAN.search(question, end, limit)
    return than is not None and than.start() - end <= _THAN_GAP and "?" not in question[end:than.start()]


def _forms(term: str) -> frozenset[str]:
    """Surface forms whose normalised form is ``term`` ('scar' -> scar, scars; 'study' -> study, studies)."""
    forms = {term, term + "s", term + "es"}
    if term.endswith("y"):
        forms.add(term[:-1] + "ies")
    return frozenset(forms)


def _acronyms(question: str) -> frozenset[str]:
    """Initialisms of every run of 2-6 consecutive question words, with and without the stopwords."""
    words = _WORDS.findall(question)
    meaningful = [bool(content_terms(word)) for word in words]
    found = set()
    for start in range(len(words)):
        for end in range(start + 2, min(start + 7, len(words) + 1)):
            found.add("".join(word[0] for word in words[start:end]).lower())
            initials = [word[0] for word, keep in zip(words[start:end], meaningful[start:end], strict=True) if keep]
            if len(initials) >= 2:
                found.add("".join(initials).lower())
    return frozenset(found)


def _arms(phrases: tuple[str, str, bool] | None) -> tuple[frozenset[str], frozenset[str]] | None:
    """The words naming each side of a comparison (its ``phrases``, see :func:`_arm_phrases`), each side without the
    words both share."""
    if phrases is None:
        return None
    left, right = topic_terms(phrases[0]), topic_terms(phrases[1])
    left, right = left - right, right - left
    return (left, right) if left and right else None


def _arm_acronyms(phrases: tuple[str, str, bool] | None) -> tuple[frozenset[str], frozenset[str]]:
    """The acronyms each side of a comparison may go by (see :func:`_acronyms`); empty sets without one."""
    if phrases is None:
        return frozenset(), frozenset()
    return _acronyms(phrases[0]), _acronyms(phrases[1])


def _arm_phrases(question: str) -> tuple[str, str, bool] | None:
    """The two sides of a comparison as written, and whether they are named plainly enough to be quoted back: the
    phrase just before the comparator and just after it, each within its clause ("white patients", not "white
    patients: where, and"), the left without the comparative that calls for "than" ("injecting PRP intradermally",
    not "... better"). A left side that states an outcome ("will patients get more severe redness or swelling than
    with needling alone") names its treatment elsewhere: the whole sentence before the comparator is read, and not
    quoted. None when the left side ends on a change ("her risk of low sodium go up compared with periods off
    antidepressants"), or for a bare "than" before a number ("more than 50%", "older than 65")."""
    for match in _ARMS.finditer(question):
        before, after = question[: match.start()], question[match.end():]
        comparator = match.group(0).strip().lower()
        if comparator == "between":
            before, _, after = after.partition(" and ")
        after = _CLAUSE_END.split(after)[0]
        end = _RIGHT_END.search(after)
        if end and end.group(0).lower().startswith(" to") and after[: end.start()].rstrip().endswith("ing"):
            end = _RIGHT_END.search(after, end.end())  # "switching to insulin alone": what the switch is to
        if end:
            after = after[: end.start()]
        after = _LEADING_WITH.sub("", after).strip()
        if comparator == "than" and after[:1].isdigit():
            continue
        if comparator == "between":
            return before.strip(), after, True
        clause = _CLAUSE_END.split(before)[-1]
        if _CHANGE_END.search(clause):
            return None
        plain = not moved_outcomes(clause)
        left = _COMPARATIVE_END.sub("", clause) if plain else before
        if starts := list(_LEFT_START.finditer(left)):
            left = left[starts[-1].end():]
        return left.strip(), after, plain
    return None
