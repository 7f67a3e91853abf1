"""Counts of people written in a sentence ("120 patients", "a total of 1,203 participants", "n = 45", "One
thousand ninety-nine women"), each with the context that says whether it is the whole sample or a part of it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from rag.appraisal.cues import words_of

Tier = Literal["total", "n", "plain"]

MAX_COUNT = 10_000_000

_UNITS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
    "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}
_SCALES = {"hundred": 100, "thousand": 1000}
_WORD = r"(?:" + "|".join(sorted([*_UNITS, *_SCALES], key=len, reverse=True)) + r")"
#: A number in digits ("1,203") or in words ("One thousand ninety-nine"). Patterns start with the number so the
#: engine skips quickly to a digit; what may not stand before a digit is checked in code (``_clean_start``). A
#: number does not start inside another (``(?<![\d,])``) and its thousands are taken whole: a long "1,111,111,..."
#: was otherwise read again from every digit, and its groups handed back one at a time (quadratic).
_DIGITS = r"(?<![\d,])(?P<digits>\d{1,3}(?:,\d{3})++|\d{1,8})(?![\w/^%-]|[.,]\d)"
_WORDS = r"\b(?P<words>" + _WORD + r"(?:[- ](?:and )?" + _WORD + r"){0,5})\b"
_NUMBER_WORDS = frozenset([*_UNITS, *_SCALES])
_NOT_BEFORE_DIGITS = frozenset(".,/^=±+-_")
_PEOPLE = (
    r"patients|participants|subjects|women|men|children|adults|individuals|people|persons|volunteers|infants|"
    r"neonates|newborns|babies|adolescents|boys|girls|students|residents|respondents|mothers|veterans|workers|nurses|"
    r"physicians|doctors|employees|smokers|survivors|recipients|donors|users|athletes|"
    r"outpatients|inpatients|elderly|youths|caregivers|carers|clinicians|surgeons|pharmacists|dentists|midwives|"
    r"practitioners|stakeholders|parents|fathers|twins|pupils|teachers|trainees|soldiers|prisoners|drinkers"
)
#: A count of people: the number, at most three describing words, then a people noun. The pattern takes the number
#: and the next four words; the noun is looked up in code (a 70-way alternation tried after every word is slow).
_COUNT_TAIL = r"(?P<tail>(?: [A-Za-z][\w'-]{0,30}){1,4})"
_TAIL_WORD = re.compile(r"[A-Za-z][\w'-]*")
_PEOPLE_WORDS = frozenset(_PEOPLE.split("|"))
_COUNTS = (re.compile(_DIGITS + _COUNT_TAIL, re.IGNORECASE), re.compile(_WORDS + _COUNT_TAIL, re.IGNORECASE))
_N_EQUALS = re.compile(r"[nN] ?[=:] ?(?P<digits>\d{1,3}(?:,\d{3})++|\d{1,8})(?![\w^%/]|[.,]\d| ?[x×] ?\d)")
_TOTAL_TAIL = (r" (?:of (?:them|these|those|whom) (?:\([^()]{0,20}\) )?)?(?:were|was) "
               r"(?:randomi[sz]ed|enrolled|included|recruited)\b")
_NUMBER_OF = re.compile(r"\b(?:total )?number of (?:" + _PEOPLE + r") (?:was|were|is|totall?ed)\s+" + _DIGITS,
                        re.IGNORECASE)
_BARE_TOTALS = (re.compile(_DIGITS + _TOTAL_TAIL, re.IGNORECASE), re.compile(_WORDS + _TOTAL_TAIL, re.IGNORECASE))
_TRIGGERS = frozenset(_PEOPLE.split("|")) | {"n", "randomized", "randomised", "enrolled", "included", "recruited"}
_NOT_DESCRIBING = frozenset(
    """of and or in with to at for from by per than were was had have who that which the a an mg kg g ml l mmol cm mm
    years year months month weeks week days day hours hour minutes times sessions groups group arms arm centers centres
    hospitals sites studies trials visits cycles doses units hz more less fewer only other""".split()) | frozenset(
    [*_UNITS, *_SCALES])


class _Endings:
    """Phrases a text may end with ('a total of', 'of whom'), matched at a word boundary, case-insensitively,
    without a regex: ``str.endswith`` over a tuple is linear whatever the text."""

    def __init__(self, phrases: str, symbols: str = "") -> None:
        self._tails = tuple(f" {phrase}" for phrase in phrases.split("|")) + tuple(symbols)

    def end(self, text: str) -> bool:
        return f" {' '.join(text.lower().split())}".endswith(self._tails)


def _variants(phrases: str) -> str:
    """Spell out the -ise/-ize pairs: 'randomized' -> 'randomized|randomised'."""
    return "|".join(f"{p}|{p.replace('iz', 'is').replace('yz', 'ys')}" if "z" in p else p for p in phrases.split("|"))


_TOTAL_BEFORE = _Endings(_variants(
    "a total of|in total|total of|overall|altogether|enrolled|enrolling|randomized|randomizing|included|including all|"
    "recruited|recruiting|studied|comprised|comprising|involved|involving|consisted of|sample of|cohort of|"
    "population of|series of|data from|data of|records of|charts of|analyzed|evaluated|examined|investigated|"
    "surveyed|interviewed|followed|reviewed|there were|there was|"
    + "|".join(f"{verb} {preposition}" for verb in ("studied", "conducted", "performed", "carried out", "undertaken",
                                                     "done") for preposition in ("in", "on", "among"))
    + "|" + "|".join(f"{verb} from" for verb in ("obtained", "collected", "drawn", "sampled", "taken"))
    + "|" + "|".join(f"{noun} {preposition}" for noun in ("trial", "study", "survey", "audit", "series")
                     for preposition in ("of", "in", "among", "involving", "including"))))
_PART_BEFORE = _Endings(
    "of whom|of these|of them|among them|among these|among whom|including|excluding|except|remaining|another|by|"
    "additional|further|only|the other|whereas|while|and|in|compared with|compared to|versus|vs|vs.|than|age|aged|"
    "ages|those of|that of|older|younger|over|under|above|below|at least|up to|more|less|fewer|approximately|about|"
    "nearly|almost|around|roughly|some|to|between|from|table|figure|fig|fig.|day|week|month|year|grade|stage|type|"
    "phase|group|arm|visit|session|cohort|study", symbols="<>≤≥~")
_MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december"
_YEAR_BEFORE = _Endings(
    "in|since|from|during|until|between|by|and|to|before|after|through|" + _MONTHS + "|"
    + "|".join(f"{month[:3]}|{month[:3]}." for month in _MONTHS.split("|")) + "|sept|sept.")
_PEOPLE_BEFORE = _Endings(_PEOPLE)
_FIRST_VERB = re.compile(
    r"\b(?:(?P<total>enrolled|randomi[sz]ed|included|recruited|studied|participated|analy[sz]ed|evaluated|examined|"
    r"investigated|surveyed|interviewed|followed|reviewed|comprised|took part)"
    r"|(?P<part>screened|excluded|eligible|lost|withdr[ae]wn?|withdrew|dropped|died|declined|refused|"
    r"completed|had|has|have|developed|experienced|showed|presented|reported|required|achieved|served as|acted as|"
    r"responded|remained|were not|was not|went on|develop|progressed|needed|suffered|tested positive)"
    r"|(?P<relative>(?:who|that|which) (?:had |have |has |were |was )?\w+|with \w+))\b",
    re.IGNORECASE,
)
#: Another group counted next to this one: "and 49 controls", "compared with those of 49 patients", "versus 36".
_ANOTHER_ARM = re.compile(
    r"\b(?:and|or|versus|vs\.?|compared (?:with|to)|than)\s++(?:those of\s++|the\s++)?"
    r"(?P<number>\d[\d,]*+|" + _WORD + r"(?:-" + _WORD + r")?)\s++(?P<next>[A-Za-z(][\w-]{0,30})", re.IGNORECASE)
#: After a count that is only a noun phrase, a bracket or a comma may stand before the other group:
#: "300 elderly (>60 years) and 300 young persons", "18 adults with X (study group) and 36 patients".
_SKIPPABLE = re.compile(r"\s*(?:\([^()]{0,60}\)\s*)?,?\s*")
_NOT_A_GROUP = frozenset("""years year months month weeks week days day hours hour minutes min mg kg g ml mmol cm mm
    times sessions cycles doses visits percent""".split())
_SENTENCE_END = re.compile(r"[;.:]\s")
_CLAUSE_SPLIT = re.compile(r"[,(]")
_ASIDE_WORDS = r"(?:who|whom|which|that|aged?|including|mean|median|not|all|both|with|without)\b"
_ASIDE = re.compile(_ASIDE_WORDS, re.IGNORECASE)
_ASIDE_NEXT = re.compile(r"[,(]\s{0,3}" + _ASIDE_WORDS, re.IGNORECASE)
_CLAUSE_END = re.compile(r"[;:,.(]")
_RANGE_AFTER = re.compile(r"\s{0,3}(?:[-–]|to |and |or )\s{0,3}\d", re.IGNORECASE)
_PERCENT_AFTER = re.compile(r"\s{0,3}\(\s{0,3}\d{1,3}(?:\.\d{1,3})?\s{0,3}%")
_WORD_SEPARATOR = re.compile(r"[- ]+")
_NUMBER_BEFORE = re.compile(r"(?:(?<![\d.,])\d{1,3} |(?<=\d)[/:] ?)$")
_CONTEXT = 40  # characters of context read around a count: enough for the phrases above, and linear time


@dataclass(frozen=True, slots=True)
class Count:
    """One count of people in a sentence; ``tier`` says how sure it is the whole sample."""

    value: int
    tier: Tier
    start: int


def counts_in(sentence: str, words: frozenset[str] | None = None) -> list[Count]:
    """Counts of people in one sentence, without those that are parts of a sample (subgroups, drop-outs, the
    screened, outcome counts), ages, years, ranges, approximations, doses and durations."""
    words = words_of(sentence.lower()) if words is None else words
    if _TRIGGERS.isdisjoint(words):
        return []
    spelled = not _NUMBER_WORDS.isdisjoint(words)  # only then run the patterns for numbers in words
    found = [count for pattern in _COUNTS[: 2 if spelled else 1] for match in pattern.finditer(sentence)
             if _clean_start(sentence, match) and (count := _people_count(sentence, match))]
    found.extend(count for pattern in _BARE_TOTALS[: 2 if spelled else 1] for match in pattern.finditer(sentence)
                 if _clean_start(sentence, match) and (count := _bare_total(sentence, match)))
    found.extend(count for match in _NUMBER_OF.finditer(sentence) if (count := _stated_total(match)))
    found.extend(count for match in _N_EQUALS.finditer(sentence)
                 if _clean_start(sentence, match) and (count := _n_equals(sentence, match)))
    return found


def _clean_start(sentence: str, match: re.Match[str]) -> bool:
    """A number or 'n =' must not continue a word or another number ('COVID-19', '3.5', '1/20', 'Ln=2')."""
    if match.start() == 0:
        return True
    previous = sentence[match.start() - 1]
    return not (previous.isalnum() or previous in _NOT_BEFORE_DIGITS)


def _people_count(sentence: str, match: re.Match[str]) -> Count | None:
    value = _value(match)
    noun_end = _noun_end(match)
    if value is None or noun_end is None or _is_year(sentence, match, value):
        return None
    before, after = _before(sentence, match), sentence[noun_end: noun_end + 5 * _CONTEXT]
    if _PART_BEFORE.end(before) and not _TOTAL_BEFORE.end(before):
        return None
    number_end = match.end(1)
    if _RANGE_AFTER.match(sentence, number_end, number_end + _CONTEXT):
        return None
    digits = bool(match.groupdict().get("digits"))
    if _PERCENT_AFTER.match(after) or _preceded_by_number(before, digits) or _inside_parentheses(before):
        return None
    verb = _first_verb(after)
    if verb == "part" or _another_arm(after, verb is None):
        return None
    total = verb == "total" or bool(_TOTAL_BEFORE.end(before))
    return Count(value, "total" if total else "plain", match.start())


def _noun_end(match: re.Match[str]) -> int | None:
    """Where the people noun after the number ends, if the words before it only describe it ('45 healthy female
    volunteers'); None when no people noun follows, or a unit or another word stands before it ('5 years, ...')."""
    tail, offset = match.group("tail"), match.start("tail")
    for word in _TAIL_WORD.finditer(tail):
        lowered = word.group(0).lower().rstrip("'")
        if lowered in _PEOPLE_WORDS:
            return offset + word.end()
        if lowered in _NOT_DESCRIBING:
            return None
    return None


def _bare_total(sentence: str, match: re.Match[str]) -> Count | None:
    value = _value(match)
    before = _before(sentence, match)
    if value is None or _is_year(sentence, match, value) or _preceded_by_number(before):
        return None
    subset_of_previous = " of " in match.group(0)  # "116 were identified, and 77 of them were included"
    if (_PART_BEFORE.end(before) and not subset_of_previous) or \
            _another_arm(sentence[match.end(): match.end() + 5 * _CONTEXT], False):
        return None
    return Count(value, "total", match.start())


def _stated_total(match: re.Match[str]) -> Count | None:
    """'The total number of subjects was 24,349'."""
    value = int(match.group("digits").replace(",", ""))
    return Count(value, "total", match.start("digits")) if 1 <= value <= MAX_COUNT else None


def _n_equals(sentence: str, match: re.Match[str]) -> Count | None:
    """``n = N`` right after a people noun ("patients (n = 45)"); after anything else it counts samples or tests."""
    value = int(match.group("digits").replace(",", ""))
    if not 1 <= value <= MAX_COUNT or not _PEOPLE_BEFORE.end(_before(sentence, match).rstrip(" \t\n([,;")):
        return None
    return Count(value, "n", match.start())


def _value(match: re.Match[str]) -> int | None:
    groups = match.groupdict()
    digits = groups.get("digits")
    value = int(digits.replace(",", "")) if digits else words_to_number(groups.get("words") or "")
    return value if value is not None and 1 <= value <= MAX_COUNT else None


def _before(sentence: str, match: re.Match[str]) -> str:
    return sentence[max(0, match.start() - _CONTEXT): match.start()]


def _is_year(sentence: str, match: re.Match[str], value: int) -> bool:
    return 1900 <= value <= 2100 and _YEAR_BEFORE.end(_before(sentence, match))


def _preceded_by_number(before: str, digits: bool = True) -> bool:
    """'12 537 people' (a thousands space) or '20/66 patients' would be misread; such counts are skipped."""
    return digits and bool(_NUMBER_BEFORE.search(before))


def _another_arm(after: str, noun_phrase_only: bool) -> bool:
    """'43 patients and 49 controls', '43 patients, and 49 controls': the count is one arm of several. A count
    followed by its own verb ('734 women participated..., and 579 women completed...') is not."""
    end = m.start() if (m := _CLAUSE_END.search(after, 0, 5 * _CONTEXT)) else len(after)
    if any(_is_group(after, arm) for arm in _ANOTHER_ARM.finditer(after, 0, end)):
        return True
    if not noun_phrase_only:
        return False
    skipped = _SKIPPABLE.match(after, end)
    arm = _ANOTHER_ARM.match(after, skipped.end() if skipped else end)
    return arm is not None and _is_group(after, arm)


def _is_group(text: str, arm: re.Match[str]) -> bool:
    """An 'and N word' that counts another group: not a year ('between 2002 and 2006'), nor a unit ('and 6 months'),
    nor the end of a range ('between 18 and 65 years')."""
    number, following = arm.group("number"), arm.group("next").lower()
    if following in _NOT_A_GROUP or following.startswith("%"):
        return False
    if number[0].isdigit() and 1900 <= int(number.replace(",", "")) <= 2100:
        return False
    words = text[max(0, arm.start() - 30): arm.start()].lower().split()
    return not (len(words) >= 2 and words[-2] == "between")


def _inside_parentheses(before: str) -> bool:
    """'44 patients (20 women, 24 men)': counts inside brackets break a count down into parts."""
    return before.rfind("(") > before.rfind(")")


def _first_verb(after: str) -> str | None:
    """Whether the verb of the count's clause makes it the whole sample ("were enrolled") or a part ("died",
    "served as controls"). A clause without a verb hands over to the next one, unless that is a relative or
    descriptive aside ("Six patients, who underwent X, served as controls")."""
    sentence = after[: m.start()] if (m := _SENTENCE_END.search(after)) else after
    for number, clause in enumerate(_CLAUSE_SPLIT.split(sentence)):
        if number > 0 and _ASIDE.match(clause.lstrip()):
            continue
        for verb in _FIRST_VERB.finditer(clause):
            if verb.group("total"):
                return "total"
            if verb.group("part"):
                return "part"
        if number == 0 and not _ASIDE_NEXT.match(sentence, len(clause)):
            return None
    return None


def words_to_number(words: str) -> int | None:
    """'One thousand ninety-nine' -> 1099, 'twenty-two' -> 22, 'three hundred and five' -> 305."""
    total, current = 0, 0
    for word in _WORD_SEPARATOR.split(words.lower()):
        if word == "and":
            continue
        if word in _UNITS:
            current += _UNITS[word]
        elif word == "hundred":
            current = max(current, 1) * 100
        elif word == "thousand":
            total += max(current, 1) * 1000
            current = 0
        else:
            return None
    return total + current or None
