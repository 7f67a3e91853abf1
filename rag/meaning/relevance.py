"""Whether passages and sentences address a question, by meaning: the packaged encoder's cosine between the
question and each quotable sentence, blended with the cosine of the passage it sits in (which gives a sentence such
as "The treated side improved more" its subject). A publication addresses the question when its best sentence
scores at least ``MeaningSettings.addresses``; the composer quotes by this, abstains by it, and grounding holds a
model's sentences to the same publications.

No word list vetoes a passage here: "doctor" and "physician", "blood sugar" and "glucose" are close in the encoder's
space, and a passage sharing only a framing word ("effective", "patients") with the question is not.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from rag.config import MeaningSettings
from rag.meaning.vectors import SentenceVectors, Vectors
from rag.text.sentences import quotable_sentences

QueryEncoder = Callable[[str], Vectors]
"""The question's unit vector (the embedder's ``embed_query``)."""


@dataclass(frozen=True)
class ScoredSentence:
    """A quotable sentence of a passage: its position among the passage's units, its text, its cosine with the
    question and its score (blended with the passage's cosine)."""

    position: int
    text: str
    cosine: float
    score: float


@dataclass(frozen=True)
class ScoredPassage:
    """A passage's cosine with the question and its quotable sentences, scored."""

    cosine: float
    sentences: tuple[ScoredSentence, ...]

    @property
    def best(self) -> float:
        """The score of its best sentence (its own cosine when it has no quotable sentence)."""
        return max((s.score for s in self.sentences), default=self.cosine)


class Relevance:
    """Scores passages and sentences against a question (see the module docstring); thread-safe."""

    def __init__(self, vectors: SentenceVectors, query: QueryEncoder, settings: MeaningSettings) -> None:
        self._vectors = vectors
        self._query = query
        self._settings = settings

    @property
    def settings(self) -> MeaningSettings:
        """The thresholds and weights in use."""
        return self._settings

    def question_vector(self, question: str) -> Vectors:
        """The question's unit vector."""
        return self._query(question)

    def passages(self, question: Vectors, passages: Sequence[tuple[str, Vectors | None]]) -> list[ScoredPassage]:
        """Each (text, stored vector) passage scored: its cosine with the question (0 without a vector) and its
        sentences', all sentence vectors fetched in one call."""
        units = [quotable_sentences(text) for text, _ in passages]
        texts = [text for found in units for _, text in found]
        matrix = self._vectors.get(texts) if texts else np.zeros((0, len(question)), dtype=np.float32)
        cosines = matrix @ question
        weight = self._settings.sentence_weight
        scored: list[ScoredPassage] = []
        offset = 0
        for (_, vector), found in zip(passages, units, strict=True):
            passage_cosine = float(np.dot(vector, question)) if vector is not None else 0.0
            sentences = []
            for position, text in found:
                cosine = float(cosines[offset])
                sentences.append(ScoredSentence(position, text, cosine,
                                                weight * cosine + (1 - weight) * passage_cosine))
                offset += 1
            scored.append(ScoredPassage(passage_cosine, tuple(sentences)))
        return scored

    def sentences(self, question: Vectors, texts: Sequence[str]) -> list[float]:
        """The cosine of each text (e.g. a model's sentences) with the question."""
        if not texts:
            return []
        return [float(c) for c in self._vectors.get(list(texts)) @ question]

    def addresses(self, score: float) -> bool:
        """Whether a publication whose best sentence scores ``score`` addresses the question."""
        return score >= self._settings.addresses
