"""Bootstrap intervals and the sign-flip test: the figures an evaluator reads beside every mean and delta."""

from __future__ import annotations

import pytest

from evals.stats import bootstrap_interval, sign_flip_p


def test_interval_brackets_the_mean_and_narrows_with_more_cases() -> None:
    few = bootstrap_interval([0.0, 1.0, 1.0, 0.0, 1.0])
    many = bootstrap_interval([0.0, 1.0, 1.0, 0.0, 1.0] * 40)
    assert few.mean == pytest.approx(0.6) and many.mean == pytest.approx(0.6)
    assert few.low < 0.6 < few.high and many.low < 0.6 < many.high
    assert many.high - many.low < (few.high - few.low) / 3, "the interval shrinks about as 1/sqrt(n)"
    assert bootstrap_interval([0.0, 1.0] * 3) == bootstrap_interval([0.0, 1.0] * 3), "seeded: reproducible"


def test_identical_values_and_one_case_give_a_point_interval() -> None:
    assert bootstrap_interval([0.7, 0.7, 0.7]).rounded() == [0.7, 0.7]
    assert bootstrap_interval([0.25]).rounded() == [0.25, 0.25]
    with pytest.raises(ValueError):
        bootstrap_interval([])


def test_interval_excludes_zero_only_for_a_consistent_change() -> None:
    assert bootstrap_interval([-1.0] * 6 + [0.0] * 4).excludes_zero()
    assert not bootstrap_interval([-1.0, 1.0, 0.0, -1.0, 1.0, 0.0]).excludes_zero()
    assert not bootstrap_interval([0.0] * 10).excludes_zero()


def test_sign_flip_p_value() -> None:
    assert sign_flip_p([0.0, 0.0, 0.0]) == 1.0 and sign_flip_p([]) == 1.0
    # Exact: 6 differences all -1: only the all-negative and all-positive sign patterns reach |mean| = 1, 2 of 64.
    assert sign_flip_p([-1.0] * 6) == pytest.approx(2 / 64)
    assert sign_flip_p([-1.0, 1.0] * 5) == 1.0
    assert sign_flip_p([-1.0] * 30) < 0.001, "Monte Carlo above 12 cases"
