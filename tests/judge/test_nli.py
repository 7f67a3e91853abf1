"""The NLI judge reads its model's logits once: entailment by softmax over three labels, or a sigmoid of one
output (tiny models built here, with every logit set)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.errors import ConfigError
from rag.judge.nli import NliJudge
from tests.helpers.models import tiny_cross_encoder

pytestmark = pytest.mark.slow
PAIR = ("Platelet-rich plasma improved acne scars.", "In a trial, platelet-rich plasma improved acne scars.")


@pytest.mark.parametrize(("logit", "supported"), [(-4.0, False), (4.0, True)])
def test_a_single_output_is_read_through_one_sigmoid(tmp_path: Path, logit: float, supported: bool) -> None:
    judge = NliJudge(tiny_cross_encoder(tmp_path, labels=1, bias=logit))
    [judgment] = judge.judge_many([PAIR])
    assert judgment.supported is supported
    assert judgment.score == pytest.approx(1 / (1 + 2.718281828 ** -logit), abs=1e-4)


def test_three_labels_give_the_entailment_probability(tmp_path: Path) -> None:
    [judgment] = NliJudge(tiny_cross_encoder(tmp_path, labels=3, bias=0.0)).judge_many([PAIR])
    assert judgment.score == pytest.approx(1 / 3, abs=1e-4) and not judgment.supported


def test_a_folder_without_a_model_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a local model folder"):
        NliJudge(tmp_path)
