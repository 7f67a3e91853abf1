"""Uncertainty of eval figures: a percentile bootstrap interval for a mean over cases, and for a paired difference of
means a bootstrap interval with a sign-flip permutation test. Cases are the resampling unit (a case's sentences are
not independent of each other). Seeds are fixed, so a run's report is reproducible."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

RESAMPLES = 2000
LEVEL = 0.95
_SEED = 20261206


@dataclass(frozen=True)
class Interval:
    """A mean and its 95% percentile-bootstrap interval (both ends equal the mean for one case or identical values)."""

    mean: float
    low: float
    high: float

    def excludes_zero(self) -> bool:
        """Whether 0 lies outside the interval (a change the cases show beyond resampling noise)."""
        return self.low > 0 or self.high < 0

    def rounded(self) -> list[float]:
        """``[low, high]`` rounded for JSON."""
        return [round(self.low, 6), round(self.high, 6)]


def bootstrap_interval(values: Sequence[float], resamples: int = RESAMPLES, seed: int = _SEED) -> Interval:
    """The mean of ``values`` with a percentile bootstrap interval over them; an empty sequence is an error."""
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        raise ValueError("no values to resample")
    mean = float(data.mean())
    if data.size == 1 or np.all(data == data[0]):
        return Interval(mean, mean, mean)
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, data.size, size=(resamples, data.size))].mean(axis=1)
    tail = (1 - LEVEL) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return Interval(mean, float(low), float(high))


def sign_flip_p(differences: Sequence[float], resamples: int = 10_000, seed: int = _SEED) -> float:
    """Two-sided p-value of a paired permutation test: under "no change" each case's difference is as likely to
    have either sign, so flip signs at random and count means at least as far from 0 as the observed one. Exact
    (every sign pattern) up to 12 cases; all differences 0 gives 1.0."""
    data = np.asarray(differences, dtype=float)
    observed = abs(float(data.mean())) if data.size else 0.0
    if data.size == 0 or observed == 0.0:
        return 1.0
    if data.size <= 12:
        patterns = ((np.arange(2 ** data.size)[:, None] >> np.arange(data.size)) & 1) * 2 - 1
    else:
        patterns = np.random.default_rng(seed).choice((-1.0, 1.0), size=(resamples, data.size))
    means = np.abs((patterns * data).mean(axis=1))
    return float(np.mean(means >= observed - 1e-12))
