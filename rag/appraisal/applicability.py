"""Whether a recommendation's stated population includes the patient a question describes.

A question about one patient ("A 62-year-old woman ... quit 18 years ago. Should I order a low-dose CT?") is answered
by a recommendation for a population ("adults aged 55 to 80 years who ... have quit within the past 15 years"). When
the patient's stated age, years since quitting smoking, pack-years, body mass index or life expectancy falls outside
every range the recommendation gives for that measure, the recommendation does not speak for this patient: its
direction must not be read as the answer ("yes, screen her"), and the reader is told which criterion the patient
misses. When a range holds the patient, that advice is the patient's (the composer leads with it).

Only numbers are compared, and only measures both sides state; a sentence that also names an unnumbered age group
("females aged 24 years or younger and ... older women who are at increased risk") gives no age range, since the
patient may belong to that group.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from rag.appraisal.recommendation import stance_of
from rag.text.sentences import sentence_spans

Measure = Literal["age", "quit", "pack_years", "bmi", "life_expectancy"]
Patient = dict[Measure, tuple[float, float, str]]
"""What a question states of one patient: per measure, the values it may take (years, pack-years, kg/m2; low and
high, equal for a number: "62-year-old", apart for a bound: "life expectancy is under 5 years") and the words."""
_I = re.IGNORECASE
_INF = math.inf
_WORDS = {"a": 1.0, "an": 1.0, "one": 1.0, "half a": 0.5, "two": 2.0, "three": 3.0}


@dataclass(frozen=True)
class Mismatch:
    """A criterion of a recommendation the patient misses: the measure, the sentence's words stating the criterion
    (verbatim) and the patient's value as the question gives it."""

    measure: Measure
    stated: str
    patient: str


def patient_of(question: str) -> Patient:
    """The measures a question states of its patient, each with its words ("62-year-old"): an age, years since
    quitting smoking, pack-years, a body mass index, a life expectancy. A measure stated with two different values is
    the patient's as the question's asked sentence (the last ending on "?") states it ("VA/DoD suggests ... for life
    expectancy over 10-15 years. What range do they suggest when life expectancy is under 5 years?"), and is left out
    when that sentence does not settle it (two patients); so is an age beside a person named by an age group ("a
    teenager ... What about a 40-year-old?")."""
    found: dict[Measure, dict[tuple[float, float], tuple[str, int]]] = {}
    for measure, pattern, read in _PATIENT:
        for match in pattern.finditer(question):
            low, high = read(match)
            found.setdefault(measure, {}).setdefault((low, high), (match.group(0), match.start()))
    if "age" in found and _AGE_GROUP.search(_AGE_PATIENT_AND_NOUN.sub(" ", question)):
        del found["age"]  # "a fair-skinned teenager ... What about a fair-skinned 40-year-old?": two patients
    asked = _asked_start(question)
    patient: Patient = {}
    for measure, stated in found.items():
        if len(stated) > 1:
            stated = {bounds: words for bounds, words in stated.items() if words[1] >= asked}
        if len(stated) == 1:
            (low, high), (words, _) = next(iter(stated.items()))
            patient[measure] = (low, high, words)
    return patient


def narrows_to(claim: str, sentence: str) -> bool:
    """Whether a sentence speaks of the population a claim names by its numbers: for a measure both state, every
    range of the sentence lies within one of the claim's ("patients less than 30 years of age" for "chronic pain
    patients under 30"; not "adults 18 years or older")."""
    claimed = population_of(claim)
    stated = population_of(sentence) if claimed else {}
    shared = [measure for measure in claimed if measure in stated]
    return bool(shared) and all(any(low <= s_low and s_high <= high for low, high, _ in claimed[measure])
                                for measure in shared for s_low, s_high, _ in stated[measure])


def _asked_start(question: str) -> int:
    """Where the question's asked sentence (the last ending on "?") starts; 0 when none ends on "?"."""
    asked = [start for start, end in sentence_spans(question) if question[start:end].rstrip().endswith("?")]
    return asked[-1] if asked else 0


def includes(patient: Patient, sentence: str) -> bool:
    """Whether a sentence's population includes the patient: it states a range for one of the patient's measures
    that holds the patient's value ("life expectancy <5 years" for "maybe 3 years to live"), and no range the
    patient misses."""
    ranges = population_of(sentence) if patient else {}
    stated = [(bounds, ranges[measure]) for measure, bounds in patient.items() if measure in ranges]
    return bool(stated) and all(any(low <= value_low and value_high <= high for low, high, _ in given)
                                for (value_low, value_high, _), given in stated)


def mismatches(patient: Patient, sentence: str) -> list[Mismatch]:
    """The criteria of a sentence that the patient (:func:`patient_of`) misses: for each measure both state, when
    the patient's value lies outside every range the sentence gives for it. Advice ("recommends screening adults aged
    55 to 80 years") and findings ("a program that screens adults aged 55 to 80 years ... is projected to have a
    reasonable balance") alike: neither speaks for a patient outside its population."""
    if not patient:
        return []
    ranges = population_of(sentence)
    missed = []
    for measure, (value_low, value_high, words) in patient.items():
        stated = ranges.get(measure)
        if stated and not any(value_low <= high and low <= value_high for low, high, _ in stated):
            missed.append(Mismatch(measure, "; ".join(dict.fromkeys(text for _, _, text in stated)), words))
    return missed


def advises(patient: Patient, sentence: str) -> bool:
    """Whether a sentence gives advice whose stated population holds the patient (:func:`includes`)."""
    return includes(patient, sentence) and gives_advice(sentence)


def gives_advice(sentence: str) -> bool:
    """Whether a sentence advises: states a recommendation or position (rag.appraisal.recommendation), or opens on
    an instruction ("Consider screening earlier (younger age or lower body mass index) in people with ...")."""
    return stance_of(sentence) is not None or bool(_INSTRUCTION.match(sentence.lstrip()))


_INSTRUCTION = re.compile(r"(?:consider|offer|screen|avoid|refer|use|start|stop|give|do not|don't|test|treat|counsel|"
                          r"discuss|provide|assess|evaluate|prescribe|recommend|repeat)\b", _I)


def population_of(sentence: str) -> dict[Measure, list[tuple[float, float, str]]]:
    """The ranges a sentence states for each measure, as (low, high, its words); a person in any range of a measure
    is in the population for it. Strict bounds ("older than 65") are read as inclusive of the next whole year. Where
    two readings overlap ("younger than 15 years and older than 65"), the earlier pattern of ``_POPULATION`` wins."""
    taken: list[tuple[int, int]] = []
    found: dict[Measure, list[tuple[float, float, str]]] = {}
    for measure, pattern, bounds in _POPULATION:
        for match in pattern.finditer(sentence):
            start, end = match.span()
            if any(start < other_end and other_start < end for other_start, other_end in taken):
                continue
            taken.append((start, end))
            low, high = bounds(match)
            if low <= high:
                found.setdefault(measure, []).append((low, high, match.group(0).strip()))
    rest = "".join(char for index, char in enumerate(sentence)
                   if not any(start <= index < end for start, end in taken))
    if "age" in found and _UNNUMBERED_AGE.search(rest):
        del found["age"]  # "... and older women who are at increased risk": a group with no bound
    return found


def _years(number: str, unit: str | None) -> float:
    return float(number) / 12 if unit and unit.lower().startswith("month") else float(number)


def _packs(match: re.Match[str]) -> float:
    packs = match.group("packs").lower()
    per_day = _WORDS.get(packs) or float(packs)
    return per_day * float(match.group("years"))


_AGE_PATIENT = re.compile(r"\b(?P<n>\d{1,3})[- ](?P<unit>years?|yrs?|months?)[- ]old\b|\b(?P<yo>\d{1,3}) ?(?:yo|y/o)\b"
                          r"|\b(?:patient|man|woman|he|she|mother|father|wife|husband)(?: is|'s)(?: now)? "
                          r"(?P<is>\d{1,3})\b(?! ?(?:%|percent|kg|lb|mg|cm|pack|cigarettes|weeks|months))"
                          r"(?!\.\d)", _I)
_AGE_PATIENT_AND_NOUN = re.compile(f"(?:{_AGE_PATIENT.pattern})" + r"(?:[ -]\w+){0,2}", _I)
"""A patient's age with the words after it ("2-year-old child"), which name the same patient."""
_AGE_GROUP = re.compile(r"\b(?:teens?|teenagers?|adolescents?|child|children|kids?|infants?|bab(?:y|ies)|toddlers?|"
                        r"newborns?|neonates?|preschoolers?|elderly)\b", _I)
"""A person named by an age group rather than a number: beside a numbered age, a second patient."""
_QUIT_PATIENT = re.compile(r"\b(?:quit|stopped|gave up)(?: smoking)? (?P<n>\d{1,2}) years? ago\b"
                           r"|\bha(?:s|ve)(?: not|n't) smoked (?:in|for) (?P<m>\d{1,2}) years\b", _I)
_PACK_PATIENT = re.compile(r"\b(?P<n>\d{1,3})[- ]pack[- ]years?\b"
                           r"|\b(?P<packs>an?|one|half a|two|three|\d(?:\.\d)?) packs? (?:a|per) day for "
                           r"(?P<years>\d{1,2}) years\b", _I)
_BMI_PATIENT = re.compile(r"\b(?:BMI|body mass index)(?: is| of|:|=)? ?(?P<n>\d{2}(?:\.\d)?)\b(?! ?(?:kg/m\S*)? ?(?:or|"
                          r"and) (?:greater|higher|more|above|over|less|lower|below))", _I)


def _age_value(match: re.Match[str]) -> float:
    if match.group("yo") or match.group("is"):
        return float(match.group("yo") or match.group("is"))
    return _years(match.group("n"), match.group("unit"))


_BELOW = r"under|less than|fewer than|below|shorter than|<"
_ABOVE = r"over|more than|greater than|longer than|above|at least|>|≥"
_ABOUT = r"about|around|roughly|approximately|maybe|perhaps|probably|likely|only|estimated at"
_LIFE_PATIENT = re.compile(rf"\b(?:(?P<q1>{_BELOW}|{_ABOVE}|{_ABOUT}) )?(?P<n>\d{{1,2}}) (?:more )?years? (?:left )?"
                           r"to live\b"
                           rf"|\blife expectancy (?:is |of )?(?:(?P<q2>{_BELOW}|{_ABOVE}|{_ABOUT}) ?)?(?P<a>\d{{1,2}})"
                           r"(?: ?(?:to|-|–) ?(?P<b>\d{1,2}))? years\b"
                           rf"|\bexpected to live (?:for )?(?:(?P<q3>{_BELOW}|{_ABOVE}|{_ABOUT}) )?(?P<c>\d{{1,2}}) "
                           r"(?:more )?years\b", _I)
"""A patient's life expectancy: "maybe 3 years to live", "life expectancy is under 5 years", "expected to live
about 2 years"."""
_ABOUT_WORD = re.compile(rf"(?:{_ABOUT})\Z", _I)
_BELOW_WORD = re.compile(rf"(?:{_BELOW})\Z", _I)
_JUST_BELOW = 1e-6
""""Under 5 years" ends just below 5: outside "5 to 10 years", inside "<5 years"."""


def _point(match: re.Match[str]) -> tuple[float, float]:
    return float(match.group("n")), float(match.group("n"))


def _life_values(match: re.Match[str]) -> tuple[float, float]:
    """A stated life expectancy as the values it may take: a number, a range, or a bound ("under 5 years")."""
    number = float(match.group("n") or match.group("a") or match.group("c"))
    if match.group("b"):
        return number, float(match.group("b"))
    qualifier = (match.group("q1") or match.group("q2") or match.group("q3") or "").lower()
    if _BELOW_WORD.match(qualifier):
        return 0.0, number - _JUST_BELOW
    if qualifier in {"at least", "≥"}:
        return number, _INF
    return (number + _JUST_BELOW, _INF) if qualifier and not _ABOUT_WORD.match(qualifier) else (number, number)


_PATIENT: tuple[tuple[Measure, re.Pattern[str], Callable[[re.Match[str]], tuple[float, float]]], ...] = (
    ("age", _AGE_PATIENT, lambda m: (_age_value(m), _age_value(m))),
    ("quit", _QUIT_PATIENT, lambda m: (float(m.group("n") or m.group("m")),) * 2),
    ("pack_years", _PACK_PATIENT, lambda m: (float(m.group("n")) if m.group("n") else _packs(m),) * 2),
    ("bmi", _BMI_PATIENT, _point),
    ("life_expectancy", _LIFE_PATIENT, _life_values),
)

_UNIT = r"(?: (?P<unit>years?|months?))?"
_AGE_RANGE = re.compile(r"\b(?:aged?|ages)(?: from)? (?P<a>\d{1,3})(?: (?P<unit_a>years?|months?))? ?"
                        r"(?:to|through|-|–) ?(?P<b>\d{1,3})" + _UNIT + r"\b"
                        r"|\bbetween (?:the )?ages? (?:of )?(?P<c>\d{1,3}) and (?P<d>\d{1,3})"
                        r"(?: (?P<unit_c>years?|months?))?\b", _I)
_AGE_OPEN = re.compile(r"\b(?:aged? )?(?P<n>\d{1,3}) (?P<unit>years?|months?)(?: of age)? (?:or|and) "
                       r"(?P<side>older|over|above|younger|under|less)\b", _I)
_AGE_FROM_UNTIL = re.compile(r"\b(?:starting|beginning|begin|start) at age (?P<a>\d{1,3})(?: years)? and (?:continuing|"
                             r"continue|ending|end|stopping|stop) (?:until|through|to|at) age (?P<b>\d{1,3})"
                             r"(?: years)?\b", _I)
"""A start and an end stated apart ("starting at age 50 years and continuing until age 75 years"): one range."""
_AGE_THAN = re.compile(r"\b(?P<side>older|younger) than (?:age )?(?P<n>\d{1,3})" + _UNIT + r"\b", _I)
_PEOPLE = r"(?:patients|adults|persons|people|individuals|children|adolescents|women|men|veterans|those)"
"""Words naming the people a sentence's advice is for."""
_AGE_OF_PEOPLE = re.compile(rf"\b{_PEOPLE}"
                            r"(?: aged)? (?P<side>under|below|less than|younger than|over|above|more than|older than) "
                            r"(?:age )?(?P<n>\d{1,3})(?: (?P<unit>years?|months?))?(?: of age)?\b", _I)
"""People named by an age bound without "age" ("chronic pain patients under 30", "patients less than 30 years of
age"): a strict bound, as "younger than"."""
_AGE_FROM = re.compile(r"\b(?:(?:starting|beginning|begin|begins|start|starts|initiated|initiate) at|after|from) "
                       r"age (?P<n>\d{1,3})" + _UNIT + r"\b", _I)
_AGE_UNTIL = re.compile(r"\b(?P<side>until|through|before|prior to|up to) age (?P<n>\d{1,3})" + _UNIT + r"\b", _I)
_UNNUMBERED_AGE = re.compile(r"\b(?:older|younger|elderly)\b", _I)
_QUIT_WITHIN = re.compile(r"\bquit (?:smoking )?within the (?:past|last|previous|preceding) (?P<n>\d{1,2}) years\b"
                          r"|\b(?:discontinued|stopped) once (?:a person|the person|they|patients?|persons?) "
                          r"ha(?:s|ve) not smoked for (?P<m>\d{1,2}) years\b", _I)
_PACKS_AT_LEAST = re.compile(r"\b(?:at least )?(?:an? )?(?P<n>\d{1,3})[- ]pack[- ]years?\b(?! or (?:less|fewer))", _I)
_BMI_AT_LEAST = re.compile(r"\b(?:BMI|body mass index)(?: \(BMI\))?(?: of)? (?P<n>\d{2}(?:\.\d)?)(?: ?kg/m(?:2|²))? or "
                           r"(?:greater|higher|more|above)\b"
                           r"|\b(?:BMI|body mass index) ?(?:≥|>=) ?(?P<m>\d{2}(?:\.\d)?)", _I)

_LIFE_RANGE = re.compile(r"\b(?P<a>\d{1,2}) ?(?:to|-|–) ?(?P<b>\d{1,2}) years(?:'|’)? (?:of )?life expectancy\b"
                         r"|\blife expectancy (?:of )?(?P<c>\d{1,2}) ?(?:to|-|–) ?(?P<d>\d{1,2}) years\b", _I)
_LIFE_BOUND = re.compile(rf"\blife expectancy (?:of )?(?P<side>{_BELOW}|{_ABOVE}) ?(?P<n>\d{{1,2}})"
                         r"(?: ?(?:to|-|–) ?\d{1,2})? years\b", _I)
"""A bound on life expectancy ("life expectancy <5 years"; "greater than 10 to 15 years" from its lower end)."""


def _life_bound(match: re.Match[str]) -> tuple[float, float]:
    number = float(match.group("n"))
    if _BELOW_WORD.match(match.group("side")):
        return 0.0, number - _JUST_BELOW
    return number, _INF

_BMI_CLASS = re.compile(rf"\b(?P<class>obese|overweight)(?: or (?P<other>obese|overweight))? {_PEOPLE}\b"
                        rf"|\b{_PEOPLE} (?:who are |with )(?P<class2>obesity|obese|overweight)(?: or "
                        r"(?P<other2>obesity|obese|overweight))?\b", _I)
"""People named by a weight class ("obese patients", "adults who are overweight or obese"): overweight is a body mass
index of 25 to 29.9 kg/m2, obesity 30 or more (the WHO and NIH classes)."""
_BMI_OF_CLASS = {"overweight": (25.0, 29.9), "obese": (30.0, _INF), "obesity": (30.0, _INF)}


def _bmi_class_bounds(match: re.Match[str]) -> tuple[float, float]:
    named = [_BMI_OF_CLASS[word.lower()] for word in (match["class"] or match["class2"], match["other"] or
                                                        match["other2"]) if word]
    return min(low for low, _ in named), max(high for _, high in named)


def _range_bounds(match: re.Match[str]) -> tuple[float, float]:
    if match.group("a") is not None:
        unit = match.group("unit") or match.group("unit_a")
        return _years(match.group("a"), match.group("unit_a") or unit), _years(match.group("b"), unit)
    return _years(match.group("c"), match.group("unit_c")), _years(match.group("d"), match.group("unit_c"))


def _open_bounds(match: re.Match[str]) -> tuple[float, float]:
    age = _years(match.group("n"), match.group("unit"))
    return (age, _INF) if match.group("side").lower() in {"older", "over", "above"} else (0.0, age)


def _than_bounds(match: re.Match[str]) -> tuple[float, float]:
    age = _years(match.group("n"), match.group("unit"))
    return (age + 1, _INF) if match.group("side").lower() == "older" else (0.0, age - 1)


def _people_bounds(match: re.Match[str]) -> tuple[float, float]:
    age = _years(match.group("n"), match.group("unit"))
    return (age + 1, _INF) if match.group("side").lower() in {"over", "above", "more than", "older than"} else \
        (0.0, age - 1)


def _until_bounds(match: re.Match[str]) -> tuple[float, float]:
    age = _years(match.group("n"), match.group("unit"))
    return (0.0, age - 1) if match.group("side").lower() in {"before", "prior to"} else (0.0, age)


_POPULATION: tuple[tuple[Measure, re.Pattern[str], Callable[[re.Match[str]], tuple[float, float]]], ...] = (
    ("age", _AGE_RANGE, _range_bounds),
    ("age", _AGE_FROM_UNTIL, lambda m: (float(m.group("a")), float(m.group("b")))),
    ("age", _AGE_THAN, _than_bounds),
    ("age", _AGE_OF_PEOPLE, _people_bounds),
    ("age", _AGE_FROM, lambda m: (_years(m.group("n"), m.group("unit")), _INF)),
    ("age", _AGE_UNTIL, _until_bounds),
    ("age", _AGE_OPEN, _open_bounds),
    ("quit", _QUIT_WITHIN, lambda m: (0.0, float(m.group("n") or m.group("m")) - (0 if m.group("n") else 1))),
    ("pack_years", _PACKS_AT_LEAST, lambda m: (float(m.group("n")), _INF)),
    ("bmi", _BMI_AT_LEAST, lambda m: (float(m.group("n") or m.group("m")), _INF)),
    ("bmi", _BMI_CLASS, _bmi_class_bounds),
    ("life_expectancy", _LIFE_RANGE, lambda m: (float(m.group("a") or m.group("c")),
                                                 float(m.group("b") or m.group("d")))),
    ("life_expectancy", _LIFE_BOUND, _life_bound),
)


def describe(found: Sequence[Mismatch]) -> str:
    """The bounds a patient misses, for a reader, grouped by what the question says of the patient: '"aged 55 to 80
    years" while the question's patient is "85-year-old"'."""
    by_patient: dict[str, list[str]] = {}
    for mismatch in found:
        by_patient.setdefault(mismatch.patient, [])
        if mismatch.stated not in by_patient[mismatch.patient]:
            by_patient[mismatch.patient].append(mismatch.stated)
    return "; ".join(" and ".join(f'"{stated}"' for stated in bounds) + f' while the question\'s patient is "{patient}"'
                     for patient, bounds in by_patient.items())
