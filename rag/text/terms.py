"""Content words and numbers of a text, for lexical relevance and support checks."""

from __future__ import annotations

import re

from rag.text.stopwords import STOPWORDS

#: A word (letters, digits, hyphens) or a number, as content analysis reads them.
WORD = re.compile(r"[A-Za-z][A-Za-z0-9-]*|\d+(?:[.,]\d+)?")
_THOUSANDS = re.compile(r"-?\d{1,3}(?:,\d{3})++")
_NUMBER = re.compile(r"(?<![\w.])[-−]?\d+(?:[.,]\d+)?")
_EXTRA_STOPWORDS = frozenset({"versus", "vs", "also", "may", "might", "however", "whether", "using", "used", "use"})
_SKIPPED = STOPWORDS | _EXTRA_STOPWORDS


def normalise(word: str) -> str:
    """Lowercase with a light English suffix strip, so 'scars' matches 'scar' and 'studies' matches 'study'."""
    return _strip_suffix(word.lower())


def _strip_suffix(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def content_terms(text: str) -> set[str]:
    """Normalised words that carry meaning (no stopwords, no one-letter words)."""
    terms = set()
    for word in WORD.findall(text):
        if len(word) > 1:
            lowered = word.lower()
            if lowered not in _SKIPPED:
                terms.add(_strip_suffix(lowered))
    return terms


def numbers(text: str) -> set[str]:
    """The numbers written in a text, normalised ('1,000' -> '1000', '0,5' -> '0.5', '−3' -> '-3')."""
    found = set()
    for raw in _NUMBER.findall(text):
        value = raw.replace("−", "-")
        value = value.replace(",", "") if _THOUSANDS.fullmatch(value) else value.replace(",", ".")
        found.add(value)
    return found


_DESIGNATED = re.compile(r"\b(?P<noun>(?i:vitamin|hepatitis))(?i:s?)\s+(?P<letters>[A-K]\d{0,2}+"
                         r"(?:(?:\s*,\s*|\s+(?:and|or)\s+)[A-K]\d{0,2}+)*+)\b")
_LETTER = re.compile(r"[A-K]\d{0,2}+")


def designated(text: str) -> frozenset[tuple[str, str]]:
    """The lettered members of a family a text names, as (family, letter): "vitamin D" ("vitamin", "D"), "vitamins A
    and D" both, "hepatitis B". One letter for another changes the claim entirely ("recommends vitamin E" against the
    source's "recommends vitamin D"), yet leaves every other word of the sentence in place."""
    return frozenset((match["noun"].lower(), letter) for match in _DESIGNATED.finditer(text)
                     for letter in _LETTER.findall(match["letters"]))

