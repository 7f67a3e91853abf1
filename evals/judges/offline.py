"""The offline judge: lexical and embedding evidence, numbers and negations, combined by a logistic model whose
weights were fitted on SciFact train claims (``python bench/judge.py --fit``; the figures are in docs/DECISIONS.md).

Features of (claim, passage):
- ``contained``: the claim (citations removed, case and spacing ignored) appears verbatim in the passage;
- ``window_recall``: share of the claim's content words found in the best window of 1-2 consecutive sentences;
- ``passage_recall``: the same over the whole passage;
- ``max_cosine``: highest cosine between the claim and a passage sentence or 2-sentence window (all-MiniLM-L6-v2);
- ``number_mismatch``: the claim states a number the passage does not contain;
- ``negation_mismatch``: the claim and its best-matching window disagree on negation ("not", "no", "without", ...).
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from evals.judges.protocol import Judgment
from rag.embedding.protocol import Embedder, Vectors
from rag.text.sentences import sentence_spans
from rag.text.terms import content_terms, numbers

_CITATION = re.compile(r"\s*\[\d+\]")
_NEGATION = re.compile(r"\b(?:not|no|never|without|neither|nor|none|cannot|can't|doesn't|don't|didn't|isn't|"
                       r"aren't|wasn't|weren't|fail(?:s|ed)?\s+to|lack(?:s|ed|ing)?|absence|unrelated)\b", re.I)
FEATURES = ("window_recall", "passage_recall", "max_cosine", "number_mismatch", "negation_mismatch")


@dataclass(frozen=True)
class Calibration:
    """Logistic weights: score = sigmoid(bias + sum(weight * feature)); supported when score >= threshold."""

    bias: float
    weights: tuple[float, ...]
    threshold: float = 0.5


#: Fitted by ``python bench/judge.py --fit`` on the even-numbered SciFact train claims (see docs/DECISIONS.md).
DEFAULT_CALIBRATION = Calibration(bias=-9.0, weights=(4.0, 2.0, 9.0, -3.0, -1.0), threshold=0.5)


class OfflineJudge:
    """Deterministic; embeddings of sentences are cached, so repeated passages cost nothing the second time."""

    name = "offline"

    def __init__(self, embedder: Embedder, calibration: Calibration = DEFAULT_CALIBRATION) -> None:
        self._embedder = embedder
        self._calibration = calibration
        self._cache: dict[str, Vectors] = {}

    def judge_many(self, pairs: Sequence[tuple[str, str]]) -> list[Judgment]:
        prepared = [(_clean(claim), passage) for claim, passage in pairs]
        self._embed([text for claim, passage in prepared if not _contained(claim, passage)
                     for text in [claim, *_windows(passage)]])
        return [self._judge(claim, passage) for claim, passage in prepared]

    def features(self, claim: str, passage: str) -> tuple[float, ...]:
        """The feature vector of a pair (used by the judge and by the calibration script)."""
        claim = _clean(claim)
        self._embed([claim, *_windows(passage)])
        return self._features(claim, passage)

    def _judge(self, claim: str, passage: str) -> Judgment:
        if _contained(claim, passage):
            return Judgment(True, 1.0)
        values = self._features(claim, passage)
        calibration = self._calibration
        logit = calibration.bias + sum(w * v for w, v in zip(calibration.weights, values, strict=True))
        score = 1.0 / (1.0 + math.exp(-logit))
        return Judgment(score >= calibration.threshold, round(score, 6))

    def _features(self, claim: str, passage: str) -> tuple[float, ...]:
        wanted = content_terms(claim)
        windows = _windows(passage)
        best_window, window_recall = "", 0.0
        for window in windows:
            recall = len(wanted & content_terms(window)) / len(wanted) if wanted else 1.0
            if recall > window_recall or not best_window:
                best_window, window_recall = window, recall
        passage_recall = len(wanted & content_terms(passage)) / len(wanted) if wanted else 1.0
        claim_vector = self._cache[claim]
        max_cosine = max((float(np.dot(claim_vector, self._cache[w])) for w in windows), default=0.0)
        number_mismatch = float(bool(numbers(claim) - numbers(passage)))
        negation_mismatch = float(bool(_NEGATION.search(claim)) != bool(_NEGATION.search(best_window)))
        return window_recall, passage_recall, max_cosine, number_mismatch, negation_mismatch

    def _embed(self, texts: list[str]) -> None:
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            for text, vector in zip(missing, self._embedder.embed_documents(missing), strict=True):
                self._cache[text] = vector


def _clean(claim: str) -> str:
    return " ".join(_CITATION.sub("", claim).split())


def _normalised(text: str) -> str:
    return " ".join(re.sub(r"[^\w%.]+", " ", text.lower()).split()).rstrip(".")


def _contained(claim: str, passage: str) -> bool:
    plain = _normalised(claim)
    return len(plain) >= 20 and plain in _normalised(passage)


def _windows(passage: str) -> list[str]:
    sentences = [" ".join(passage[s:e].split()) for s, e in sentence_spans(passage)]
    pairs = [f"{a} {b}" for a, b in itertools.pairwise(sentences)]
    return [*sentences, *pairs] or [" ".join(passage.split())]
