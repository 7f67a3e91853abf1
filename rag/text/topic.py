"""What a question is about: its content words, stemmed, each weighted by its rarity in the index (IDF). The words
that frame a clinical question ("effect", "safe", "patients", "studies") are set apart from its topic words, and the
rarest half of the topic words is distinctive: a publication holding none of them does not address the question,
however much of its framing it shares. The offline composer chooses what to quote by this, and grounding removes a
model's sentence resting only on such a publication, so both answer the same question.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from rag.text.terms import content_terms

TermWeights = Callable[[Sequence[str]], dict[str, float]]
"""Inverse document frequency of words in the index (rarer words weigh more)."""

_UNSEEN_WEIGHT = 1.0
"""The weight of a word when no index weights are given (every word alike)."""
_MIN_WEIGHT = 0.05
_FEW_TOPIC_WORDS = 4
"""A question with fewer topic words than this needs only one of them in a publication; a longer one, two."""


def stem(word: str) -> str:
    """A crude stem for matching question and passage words: no hyphen, at most six letters ("improvement" and
    "improved" -> "improv", "micro-needling" and "microneedling" -> "micron")."""
    return word.replace("-", "")[:6]


def topic_words(text: str) -> set[str]:
    """A text's content words, a hyphenated one also read as its parts ("FDA-approved" is "fda" and "approved",
    "full-body" is "full" and "body"), so that a compound matches the same words written apart."""
    words = content_terms(text)
    return words | {part for word in words if "-" in word for part in content_terms(word.replace("-", " "))}


def stems(text: str) -> frozenset[str]:
    """The stems of a text's content words (and of a hyphenated word's parts)."""
    return frozenset(stem(word) for word in topic_words(text))


FRAMING_WORDS = frozenset("""effect effects effective effectiveness efficacy efficacious comparative compare compared
    comparison improve improves improved improvement outcome outcomes benefit benefits beneficial role use used useful
    treatment treatments therapy patient patients people person adult adults evidence data result results analysis
    risk risks associated association associations associate relationship related relation difference differences
    differ different impact influence influences affect affects change changes predict predictor predictive factor
    factors increase increases increased decrease decreases decreased reduce reduces reduced reduction higher lower
    high low better worse good bad best safe safer safest safety recommend recommended recommendation should screen
    screening need needed necessary value valuable follow clinical clinician study studies trial trials reliable
    reliability accurate accuracy side adverse harm harms harmful complication complications cause causes caused
    dose doses dosage session sessions interval protocol sensitivity specificity duration level levels rate rates
    versus there does really actually indeed still any all new routine routinely possible important significant
    significantly""".split())
"""Words that frame a clinical question or name what it asks for (an effect, harms, a dose, accuracy) rather than
what it is about. The one list for every question analysis: the composer's topic (:func:`question_topic`, as stems)
and the appraisal's (rag.appraisal.question, as normalised words) are both read from it."""
FRAMING = frozenset(stem(w) for w in FRAMING_WORDS)
"""The framing words as stems: the kind of finding asked for is matched by meaning (the composer's ask kinds), not
required as a topic word."""


@dataclass(frozen=True)
class Topic:
    """A question's stems with their weights; ``topical``: those that are not framing words (all of them when every
    one is); ``distinctive``: the rarest half of the topical ones (at least one)."""

    weights: Mapping[str, float]
    topical: frozenset[str]
    distinctive: frozenset[str]

    @property
    def minimum(self) -> int:
        """How many topic words a publication must share with the question."""
        return 2 if len(self.topical) >= _FEW_TOPIC_WORDS else 1

    def addresses(self, found: Iterable[str]) -> bool:
        """Whether a publication whose passages hold these stems addresses the question: enough of its topic
        words, one of them distinctive. A question without content words is addressed by anything."""
        if not self.weights:
            return True
        held = frozenset(found)
        return len(held & self.topical) >= self.minimum and bool(held & self.distinctive)


def question_topic(question: str, term_weights: TermWeights | None = None) -> Topic:
    """The topic of ``question``, weighted by ``term_weights`` (a word the index lacks weighs most: a passage that
    lacks the question's rarest words does not answer it)."""
    words = {word: stem(word) for word in topic_words(question) if "-" not in word}  # a compound as its parts
    found = term_weights(sorted(words)) if term_weights is not None and words else {}
    weights: dict[str, float] = {}
    for word, word_stem in words.items():
        weights[word_stem] = max(weights.get(word_stem, 0.0), max(found.get(word, _UNSEEN_WEIGHT), _MIN_WEIGHT))
    topical = frozenset(weights.keys() - FRAMING) or frozenset(weights)
    ranked = sorted(topical, key=lambda t: (-weights[t], t))
    return Topic(weights, topical, frozenset(ranked[: max(1, math.ceil(len(ranked) / 2))]))
