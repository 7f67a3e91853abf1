"""The offline judge: lexical and embedding evidence, numbers, combined by a logistic model fitted on SciFact train
claims (``python bench/judge.py --fit`` writes ``offline_calibration.json``; figures in docs/DECISIONS.md).

A claim found verbatim in the passage (citations, case and spacing ignored) is supported outright. Otherwise the
features of (claim, passage) are:

- cosines between the claim and the passage's sentences (best, mean of the best two, the first sentence), its
  two-sentence windows (best) and the whole passage (mean of sentence vectors);
- BERTScore-style token alignment: the mean, over the claim's tokens, of their best cosine with a token of the
  window, for the best window (contextual token vectors of the same model);
- lexical coverage of the claim's content words: in the passage, weighted by word-piece count (rarer words weigh
  more), in the best window, and of its word bigrams;
- numbers: share of the claim's numbers the passage states, and whether it misses any.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from rag.contract import strip_citations
from rag.embedding.protocol import Vectors
from rag.judge.protocol import Judgment
from rag.text.sentences import sentence_spans
from rag.text.stopwords import STOPWORDS
from rag.text.terms import WORD, content_terms, normalise, numbers

_NOT_CLAIM_CHARS = re.compile(r"[^\w%.]+")
CALIBRATION_FILE = Path(__file__).with_name("offline_calibration.json")
FEATURES = (
    "max_sentence_cosine", "max_window_cosine", "top2_sentence_cosine", "passage_cosine", "first_sentence_cosine",
    "token_alignment", "recall", "weighted_recall", "window_recall", "bigram_recall", "number_match",
    "number_mismatch",
)


class TokenEncoder(Protocol):
    """What the offline judge needs of an embedder: its model's name, token vectors and word-piece counts."""

    @property
    def name(self) -> str:
        """Identifies the model (the judge's fingerprint includes it)."""
        ...

    def encode_tokens(self, texts: Sequence[str]) -> list[tuple[Vectors, Vectors]]:
        """For each text, its sentence vector and its L2-normalised token vectors."""
        ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Word pieces of each text."""
        ...


@dataclass(frozen=True)
class Calibration:
    """Standardise each feature, then score = sigmoid(bias + weights . z); supported when score >= threshold."""

    mean: tuple[float, ...]
    scale: tuple[float, ...]
    bias: float
    weights: tuple[float, ...]
    threshold: float

    @classmethod
    def load(cls, path: Path = CALIBRATION_FILE) -> Calibration:
        """The calibration stored in ``path``; one fitted for other features is refused."""
        data = json.loads(path.read_text())
        if tuple(data["features"]) != FEATURES:
            raise ValueError(f"{path} was fitted for other features; rerun python bench/judge.py --fit")
        return cls(tuple(data["mean"]), tuple(data["scale"]), data["bias"], tuple(data["weights"]), data["threshold"])

    def save(self, path: Path, note: str) -> None:
        """Write the calibration with a note on how it was fitted."""
        path.write_text(json.dumps({"features": FEATURES, "mean": self.mean, "scale": self.scale, "bias": self.bias,
                                    "weights": self.weights, "threshold": self.threshold, "fitted": note},
                                   indent=2) + "\n")

    @property
    def digest(self) -> str:
        """sha256 of the feature names and fitted numbers, threshold included (not of the file's "fitted" note), the
        same whether the calibration was read from a file or fitted in memory."""
        numbers = [*self.mean, *self.scale, self.bias, *self.weights, self.threshold]
        fitted = [FEATURES, [float(x) for x in numbers]]  # 1 and 1.0 decide alike
        return hashlib.sha256(json.dumps(fitted).encode()).hexdigest()

    def score(self, values: Sequence[float]) -> float:
        """The probability that the claim is supported, from its feature values."""
        z = [(v - m) / s for v, m, s in zip(values, self.mean, self.scale, strict=True)]
        logit = self.bias + sum(w * x for w, x in zip(self.weights, z, strict=True))
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, logit))))


class OfflineJudge:
    """Deterministic and thread-safe. The vectors of the last ``cache_texts`` texts are kept (a passage judged
    again costs nothing; ~50 KB a sentence with its token vectors, so the default holds ~50 MB at most)."""

    name = "offline"

    def __init__(self, encoder: TokenEncoder, calibration: Calibration | None = None,
                 cache_texts: int = 1024) -> None:
        self._encoder = encoder
        self._calibration = calibration or Calibration.load()
        self._cache: OrderedDict[str, tuple[Vectors, Vectors]] = OrderedDict()
        self._cache_texts = cache_texts
        self._pieces: dict[str, int] = {}
        self._lock = threading.Lock()

    @property
    def fingerprint(self) -> str:
        """The embedder's model name and the first 12 hex digits of the calibration's digest."""
        return f"{self._encoder.name}:{self._calibration.digest[:12]}"

    def with_calibration(self, calibration: Calibration) -> OfflineJudge:
        """The same judge (and cache) with other weights."""
        judge = OfflineJudge(self._encoder, calibration, self._cache_texts)
        judge._cache, judge._pieces, judge._lock = self._cache, self._pieces, self._lock
        return judge

    def judge_many(self, pairs: Sequence[tuple[str, str]]) -> list[Judgment]:
        """One judgment per (claim, passage) pair; every text is encoded once, in one batch."""
        prepared = [(_clean(claim), passage) for claim, passage in pairs]
        vectors = self._encode([t for claim, passage in prepared if passage.strip() and not _contained(claim, passage)
                                for t in [claim, *_windows(passage)]])
        results = []
        for claim, passage in prepared:
            if not passage.strip():  # an empty passage supports nothing
                results.append(Judgment(False, 0.0))
                continue
            if _contained(claim, passage):
                results.append(Judgment(True, 1.0))
                continue
            score = self._calibration.score(self._features(claim, passage, vectors))
            results.append(Judgment(score >= self._calibration.threshold, round(score, 6)))
        return results

    def features_many(self, pairs: Sequence[tuple[str, str]]) -> list[tuple[float, ...]]:
        """Feature vectors (for calibration), encoding every text they need in one batch."""
        prepared = [(_clean(claim), passage) for claim, passage in pairs]
        vectors = self._encode([t for claim, passage in prepared for t in [claim, *_windows(passage)]])
        return [self._features(claim, passage, vectors) for claim, passage in prepared]

    def _features(self, claim: str, passage: str, vectors: dict[str, tuple[Vectors, Vectors]]) -> tuple[float, ...]:
        sentences = _units(passage)
        windows = sentences + _pairs(passage)
        claim_vector, claim_tokens = vectors[claim]
        sentence_cos = sorted((float(np.dot(claim_vector, vectors[s][0])) for s in sentences), reverse=True)
        window_cos = max(float(np.dot(claim_vector, vectors[w][0])) for w in windows)
        mean_vector = np.mean([vectors[s][0] for s in sentences], axis=0)
        passage_cos = float(np.dot(claim_vector, mean_vector / (np.linalg.norm(mean_vector) or 1.0)))
        alignment = max((_alignment(claim_tokens, vectors[w][1]) for w in windows), default=0.0)
        wanted = content_terms(claim)
        found = content_terms(passage)
        weights = {t: self._word_pieces(t) for t in wanted}
        recall = len(wanted & found) / len(wanted) if wanted else 1.0
        weighted = sum(weights[t] for t in wanted & found) / (sum(weights.values()) or 1)
        window_recall = max((len(wanted & content_terms(w)) / len(wanted) for w in windows), default=0.0) \
            if wanted else 1.0
        claim_bigrams, passage_bigrams = _bigrams(claim), _bigrams(passage)
        bigram_recall = len(claim_bigrams & passage_bigrams) / len(claim_bigrams) if claim_bigrams else recall
        claim_numbers = numbers(claim)
        number_match = len(claim_numbers & numbers(passage)) / len(claim_numbers) if claim_numbers else 0.5
        return (sentence_cos[0], window_cos, float(np.mean(sentence_cos[:2])), passage_cos,
                float(np.dot(claim_vector, vectors[sentences[0]][0])), alignment, recall, weighted,
                window_recall, bigram_recall, number_match, float(bool(claim_numbers - numbers(passage))))

    def _encode(self, texts: list[str]) -> dict[str, tuple[Vectors, Vectors]]:
        """The vectors of ``texts`` (from the cache, the others encoded in one batch), all held for this call."""
        wanted = list(dict.fromkeys(texts))
        with self._lock:
            found = {t: self._cache[t] for t in wanted if t in self._cache}
            for text in found:
                self._cache.move_to_end(text)
        missing = [t for t in wanted if t not in found]
        if missing:
            found.update(zip(missing, self._encoder.encode_tokens(missing), strict=True))
            with self._lock:
                for text in missing:
                    self._cache[text] = found[text]
                while len(self._cache) > self._cache_texts:
                    self._cache.popitem(last=False)
        return found

    def _word_pieces(self, word: str) -> int:
        if word not in self._pieces:
            self._pieces[word] = max(1, self._encoder.count_tokens([word])[0])
        return self._pieces[word]


def _alignment(claim_tokens: Vectors, window_tokens: Vectors) -> float:
    if len(claim_tokens) == 0 or len(window_tokens) == 0:
        return 0.0
    return float((claim_tokens @ window_tokens.T).max(axis=1).mean())


def _bigrams(text: str) -> set[tuple[str, str]]:
    words = [normalise(w) for w in WORD.findall(text) if len(w) > 1 and w.lower() not in STOPWORDS]
    return set(itertools.pairwise(words))


def _clean(claim: str) -> str:
    return " ".join(strip_citations(claim).split())


def _normalised(text: str) -> str:
    return " ".join(_NOT_CLAIM_CHARS.sub(" ", text.lower()).split()).rstrip(".")


def _contained(claim: str, passage: str) -> bool:
    plain = _normalised(claim)
    return len(plain) >= 20 and plain in _normalised(passage)


def _sentences(passage: str) -> list[str]:
    return [" ".join(passage[s:e].split()) for s, e in sentence_spans(passage)]


def _units(passage: str) -> list[str]:
    """The passage's sentences, or the whole passage when it has none."""
    return _sentences(passage) or [" ".join(passage.split())]


def _windows(passage: str) -> list[str]:
    """Every text a judgment compares the claim with: the units, then the two-sentence windows."""
    return _units(passage) + _pairs(passage)


def _pairs(passage: str) -> list[str]:
    sentences = _sentences(passage)
    return [f"{a} {b}" for a, b in itertools.pairwise(sentences)]
