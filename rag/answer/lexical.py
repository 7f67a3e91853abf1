"""Lexical reading of answers and passages: the sentences of an answer section, "no evidence" statements, and the
passage sentence that best supports a claim (its quote) with the share of the claim's words and numbers it holds."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from rag.contract import CITATION, NO_EVIDENCE_PREFIXES
from rag.text.sentences import BULLET, sentence_spans, statement_spans
from rag.text.terms import content_terms, designated, numbers


@dataclass(frozen=True)
class Support:
    """How well a passage sentence supports an answer sentence: share of content words found, numbers all found."""

    recall: float
    numbers_ok: bool
    start: int
    end: int

    def passes(self, threshold: float) -> bool:
        """All numbers found and at least ``threshold`` of the content words."""
        return self.numbers_ok and self.recall >= threshold


def support(claim: str, passage: str) -> Support:
    """The best supporting sentence of ``passage`` for ``claim``, and whether the passage as a whole covers the
    claim's content words and numbers."""
    claim_text = CITATION.sub("", claim)
    wanted, wanted_numbers = content_terms(claim_text), numbers(claim_text)
    whole, whole_numbers, sentences = _profile(passage)
    recall = len(wanted & whole) / len(wanted) if wanted else 1.0
    numbers_ok = wanted_numbers <= whole_numbers
    best, best_span = -1.0, (0, len(passage))
    for start, end, terms, sentence_numbers in sentences:
        overlap = len(wanted & terms) / (len(wanted | terms) or 1) + len(wanted_numbers & sentence_numbers)
        if overlap > best:
            best, best_span = overlap, (start, end)
    return Support(recall, numbers_ok, *best_span)


def supporting_sentence(claim: str, passage: str) -> str:
    """The sentence of ``passage`` that best supports ``claim`` (:func:`support`)."""
    found = support(claim, passage)
    return passage[found.start:found.end]


def swaps_a_letter(claim: str, sentence: str) -> bool:
    """Whether ``sentence`` (the passage sentence that best supports ``claim``: :func:`supporting_sentence`) names
    another member of a lettered family than the claim does ("vitamin D" where the claim says "vitamin E", "hepatitis
    C" for "hepatitis B"): a one-letter change a judge of overlapping words cannot see (the local model wrote "The
    USPSTF recommends vitamin E supplements for older persons at risk for falling" from "The USPSTF also recommends
    vitamin D supplements ...")."""
    claimed = designated(CITATION.sub("", claim))
    if not claimed:
        return False
    stated = designated(sentence)
    families = {family for family, _ in stated}
    return any(family in families and (family, letter) not in stated for family, letter in claimed)


_Profile = tuple[frozenset[str], frozenset[str], tuple[tuple[int, int, frozenset[str], frozenset[str]], ...]]


@lru_cache(maxsize=1024)
def _profile(passage: str) -> _Profile:
    """A passage's content words and numbers, and each sentence's span (after any bullet), words and numbers:
    computed once per passage text, not once per answer sentence that cites it."""
    sentences = []
    for start, end, _ in statement_spans(passage):  # a list's opening reaches its items
        sentence = passage[start:end]
        bullet = BULLET.match(sentence)
        sentences.append((start + (bullet.end() if bullet else 0), end, frozenset(content_terms(sentence)),
                          frozenset(numbers(sentence))))
    return frozenset(content_terms(passage)), frozenset(numbers(passage)), tuple(sentences)


_LEADING_CITATIONS = re.compile(r"^\s*((?:\[\d+\]\s*)+)")


def answer_sentences(text: str) -> list[str]:
    """Sentences of an answer section; citations written after the full stop ("... advice. [1] Next") belong to
    the sentence before them."""
    sentences: list[str] = []
    for start, end in sentence_spans(text):
        sentence = text[start:end]
        leading = _LEADING_CITATIONS.match(sentence)
        if leading and sentences:
            sentences[-1] = f"{sentences[-1]} {leading.group(1).strip()}"
            sentence = sentence[leading.end():]
        if sentence.strip(" \t\n.!?;:,"):  # "[1]." leaves its full stop, not a sentence
            sentences.append(sentence)
    return sentences


def is_no_evidence(text: str) -> bool:
    """Whether ``text`` says the sources hold no evidence ("No guideline ...", "There are no direct studies ...")."""
    plain = CITATION.sub("", text).strip().lower()
    return not plain or plain.startswith(NO_EVIDENCE_PREFIXES)
