"""The specialist terms of a question: the words it writes in lower case that general English seldom uses, fewer
than one in a million words (outside wordfreq's small English list): drug names, procedures, uncommon conditions
("latanoprost", "hyaluronidase", "mastitis", "nonoccupational"). The packaged encoder reads such a word as a few
word pieces, so its cosine carries the topic around the word ("open-angle glaucoma") and not the word itself; a
passage on glaucoma screening then scores as if it answered "is latanoprost or timolol the better first drop?".
rag.meaning asks a publication to name one of them, or one of the question's acronyms and identifiers
(:func:`acronyms`), which the encoder reads no better but which say what a study was about only when written out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from wordfreq import zipf_frequency

from rag.text.terms import content_terms
from rag.text.topic import FRAMING_WORDS

COMMON_ZIPF = 3.0
"""A word at least this frequent in general English (log10 of its frequency per billion words: 3.0 is once in a
million) is common, whatever a corpus makes of it. wordfreq's small English list holds exactly the words at or above
it, so nothing larger is loaded."""
UNCOMMON_ZIPF = 4.0
"""Below this (once in a hundred thousand words) a word is uncommon: "ultrasound", "pelvic", "smoked"."""
_WORD = re.compile(r"(?<![%A-Za-z0-9])[A-Za-z][A-Za-z0-9]*+(?:['’][A-Za-z]++)?+")
"""A word, with what follows an apostrophe in it ("shouldn't", "Alzheimer's"); not the end of a symbol's reading
("%ile", percentile, had been the specialist term "ile" that no source names, and the question went unanswered)."""
_ACRONYM = re.compile(r"[A-Za-z][A-Za-z0-9]*+")
_CAPITALS = 2
"""A word with at least this many capitals is an acronym ("PrEP", "tTG", "USPSTF"), not a specialist word."""
_NOT_TOPIC = frozenset(FRAMING_WORDS) | {"randomised", "randomized", "nonrandomised", "nonrandomized", "blinded",
                                         "contraindicated", "contraindication", "contraindications"}
"""Framing words, the design words general English seldom uses (what kind of study, not what it studied), and words
asking whether something may be given ("contraindicated"), which say what is asked, not about what."""
_CONTRACTIONS = ("n't", "n’t")
"""The ending of a negative contraction ("shouldn't", "aren't"), whose stem general English seldom writes apart."""
_MIN_BASE = 3

def specialist_terms(text: str) -> frozenset[str]:
    """The content words of ``text`` (a hyphenated word as its parts) that are written in lower case, hold no digit,
    are not framing or design words ("efficacy", "dose", "randomised") and are rare in general English, lowercased
    and normalised like rag.text.terms ("hypos" -> "hypo"); a word rare only as a plural ("serums") or as an
    inflection ("ramped") is not."""
    found = set()
    for written in _WORD.findall(text):
        if written.endswith(_CONTRACTIONS):
            continue
        word = written.replace("’", "'").split("'", 1)[0]
        if sum(c.isupper() for c in word) >= _CAPITALS or any(c.isdigit() for c in word):
            continue
        for term in content_terms(word):
            if term not in _NOT_TOPIC and _rare(word.lower()) and _rare(term) and all(map(_rare, _bases(term))):
                found.add(term)
    return frozenset(found)


def acronyms(text: str) -> frozenset[str]:
    """The acronyms and identifiers of ``text`` (words with two capitals or a digit among letters: "TDF", "PrEP",
    "HbA1c", "SGLT2"), lowercased."""
    return frozenset(word.lower() for word in _ACRONYM.findall(text)
                     if len(word) > 1 and (sum(c.isupper() for c in word) >= _CAPITALS
                                           or any(c.isdigit() for c in word)))


def most_specific(words: Iterable[str]) -> frozenset[str]:
    """The words of ``words`` general English seldom uses (below ``COMMON_ZIPF``); when none is, those below
    ``UNCOMMON_ZIPF``; when none is either, the one it uses least: what a phrase is most specifically about
    ("chlamydia" in "screen all sexually active young men for chlamydia"; "serology" and "hsv-2" in "type-specific
    HSV-2 serology for all pregnant women"; "aaa", "ultrasound" and "smoked" in "one-time AAA ultrasound screening
    for women who have ever smoked")."""
    words = sorted(set(words))
    rare = frozenset(word for word in words if _rare(word))
    if rare or not words:
        return rare
    uncommon = frozenset(word for word in words if _zipf(word) < UNCOMMON_ZIPF)
    return uncommon or frozenset({min(words, key=_zipf)})


def _bases(word: str) -> set[str]:
    """The forms a word may be inflected from ("ramped" -> ramp, "stopped" -> stop, "applied" -> apply, "titrating"
    -> titrate, "sicker" -> sick, "healthier" -> healthy), or made from with a particle ("checkup" -> check): a word
    rare only as an inflection or such a compound of a common one is an ordinary word."""
    found = set()
    for ending in ("ed", "ing", "er", "est"):
        if word.endswith(ending) and len(word) - len(ending) >= _MIN_BASE:
            base = word[: -len(ending)]
            found |= {base, base + "e"}
            if len(base) > _MIN_BASE and base[-1] == base[-2]:
                found.add(base[:-1])
    for ending in ("ied", "ier", "iest"):
        if word.endswith(ending):
            found.add(word[: -len(ending)] + "y")
    for particle in _PARTICLES:  # a noun of a verb and its particle ("checkup", "workup", "handout")
        if word.endswith(particle) and len(word) - len(particle) >= _MIN_BASE:
            found.add(word[: -len(particle)])
    return found


_PARTICLES = ("up", "out", "down", "off", "over", "back")
"""The particles that close a noun made of a verb ("checkup", "workup", "handout"): general English writes it
apart or hyphenated ("check-up") more often than closed, so wordfreq finds the closed form rare (2.88 for
"checkup"), and a question saying "at his checkup" had every guideline vetoed for not naming it."""


def _rare(word: str) -> bool:
    return _zipf(word) < COMMON_ZIPF


@lru_cache(maxsize=4096)
def _zipf(word: str) -> float:
    return float(zipf_frequency(word, "en", wordlist="small"))
