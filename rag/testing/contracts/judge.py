"""The Judge contract: one judgment per (claim, passage) pair, in order, with a score in [0, 1]; a name and a
fingerprint that identify the judge."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest

from rag.judge import Judge, Judgment

TRIAL = ("In a split-face trial of 50 patients, platelet-rich plasma with microneedling improved acne scars by 62% "
         "against 45% with microneedling alone. Few side effects were seen.")
STATED = ("Platelet-rich plasma with microneedling improved acne scars by 62% against 45% with microneedling alone.",
          TRIAL)
"""A claim the passage states word for word: every judge supports it."""
UNRELATED = ("Influenza vaccination halves hospital admissions of older adults in winter.", TRIAL)
"""A claim the passage has nothing to do with: no judge supports it."""
EMPTY = ("Exosome gel reduced acne scar scores by 32.5% against 19.9% with control gel.", "")
"""An empty passage supports nothing."""
PAIRS = [STATED, UNRELATED, EMPTY, ("Few side effects were seen with microneedling.", TRIAL), STATED]


class JudgeContract:
    """Implement :meth:`make_judge`. ``threshold``: the score from which the judge supports a claim, when it has one;
    ``score_decides``: False when something besides the score can refuse support (e.g. a missing number)."""

    threshold: ClassVar[float | None] = None
    score_decides: ClassVar[bool] = True

    def make_judge(self, tmp_path: Path) -> Judge:
        """A judge; two made the same way decide alike."""
        raise NotImplementedError

    @pytest.fixture
    def judge(self, tmp_path: Path) -> Judge:
        return self.make_judge(tmp_path)

    def test_it_is_a_judge_with_a_name_and_a_fingerprint(self, judge: Judge, tmp_path: Path) -> None:
        assert isinstance(judge, Judge)
        assert isinstance(judge.name, str) and judge.name.strip()
        assert isinstance(judge.fingerprint, str) and judge.fingerprint.strip()
        (tmp_path / "again").mkdir()
        again = self.make_judge(tmp_path / "again")
        assert (again.name, again.fingerprint) == (judge.name, judge.fingerprint), "the same judge, the same labels"

    def test_no_pairs_no_judgments(self, judge: Judge) -> None:
        assert judge.judge_many([]) == []

    def test_one_judgment_per_pair_with_a_score_in_0_1(self, judge: Judge) -> None:
        judgments = judge.judge_many(PAIRS)
        assert len(judgments) == len(PAIRS)
        for judgment in judgments:
            assert isinstance(judgment, Judgment) and isinstance(judgment.supported, bool)
            assert isinstance(judgment.score, float) and 0.0 <= judgment.score <= 1.0
        assert same(judgments[0], judgments[-1]), "a pair judged twice in one call is judged alike"

    def test_judgments_follow_the_order_of_the_pairs(self, judge: Judge) -> None:
        forward = judge.judge_many(PAIRS)
        backward = judge.judge_many(PAIRS[::-1])
        one_by_one = [judge.judge_many([pair])[0] for pair in PAIRS]
        assert all(same(a, b) for a, b in zip(forward, backward[::-1], strict=True))
        assert all(same(a, b) for a, b in zip(forward, one_by_one, strict=True))

    def test_clear_cases_are_judged_right(self, judge: Judge) -> None:
        stated, unrelated, empty = judge.judge_many([STATED, UNRELATED, EMPTY])
        assert stated.supported and not unrelated.supported and not empty.supported
        assert stated.score > unrelated.score

    def test_support_agrees_with_the_threshold(self, judge: Judge) -> None:
        if self.threshold is None:
            pytest.skip("this judge has no score threshold")
        for judgment in judge.judge_many(PAIRS):
            if judgment.supported:
                assert judgment.score >= self.threshold
            elif self.score_decides:
                assert judgment.score < self.threshold


def same(a: Judgment, b: Judgment) -> bool:
    """The same decision and score (to 1e-4: a batch may encode texts with other rounding than one pair alone)."""
    return a.supported == b.supported and abs(a.score - b.score) <= 1e-4
