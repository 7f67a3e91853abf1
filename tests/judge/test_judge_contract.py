"""The Judge contract against every judge: the lexical fake, the offline judge (the packaged model, and the hash
embedder), the LLM judge (against a stand-in model on 127.0.0.1) and the NLI judge (tiny random models built here:
the shape of its answers, not their sense)."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rag.config import GenerationSettings
from rag.embedding import SentenceTransformerEmbedder
from rag.judge import Judge
from rag.judge.llm import LlmJudge
from rag.judge.nli import NliJudge
from rag.judge.offline import Calibration, OfflineJudge
from rag.testing import HashEmbedder, LexicalJudge, StubChatServer
from rag.testing.contracts import JudgeContract
from tests.helpers.models import tiny_cross_encoder


class TestLexical(JudgeContract):
    threshold = 0.6
    score_decides = False  # a number of the claim missing from the passage refuses support

    def make_judge(self, tmp_path: Path) -> Judge:
        return LexicalJudge(0.6)


class TestOfflineWithTheHashEmbedder(JudgeContract):
    threshold = Calibration.load().threshold

    def make_judge(self, tmp_path: Path) -> Judge:
        return OfflineJudge(HashEmbedder())


@pytest.mark.slow
class TestOffline(JudgeContract):
    threshold = Calibration.load().threshold

    @pytest.fixture(autouse=True)
    def encoder(self, packaged_encoder: SentenceTransformerEmbedder) -> None:
        self.packaged = packaged_encoder

    def make_judge(self, tmp_path: Path) -> Judge:
        return OfflineJudge(self.packaged)


_JUDGE_PROMPT = re.compile(r"<(?P<tag>[^>]+)>\n(?P<passage>.*)\n</(?P=tag)>\n\nClaim: <(?P<claim_tag>[^>]+)>"
                           r"(?P<claim>.*)</(?P=claim_tag)>", re.DOTALL)


def stand_in_model(body: dict[str, Any]) -> dict[str, Any]:
    """Reads the judge's prompt as a model would: SUPPORTED when the passage holds every word of the claim."""
    found = _JUDGE_PROMPT.search(body["messages"][-1]["content"])
    assert found is not None, "the judge prompt fences the passage and the claim"
    words = set(re.findall(r"\w+", found["claim"].lower()))
    held = words <= set(re.findall(r"\w+", found["passage"].lower()))
    return {"content": "SUPPORTED" if held else "UNSUPPORTED"}


class TestLlm(JudgeContract):
    threshold = 0.5

    @pytest.fixture(autouse=True)
    def endpoint(self) -> Iterator[None]:
        with StubChatServer(stand_in_model) as self.server:
            yield

    def make_judge(self, tmp_path: Path) -> Judge:
        settings = GenerationSettings(base_url=self.server.base_url, model="stub-judge", max_retries=0)
        return LlmJudge(settings, tmp_path / "judgments.sqlite3")


@functools.cache
def nli_judge(folder: Path, threshold: float) -> NliJudge:
    """One judge per model folder: loading the model is what takes time."""
    return NliJudge(folder, threshold=threshold)


@pytest.mark.slow
class TestNli(JudgeContract):
    """A three-way NLI head (entailment is one of three labels)."""

    threshold = 0.5
    labels = 3

    @pytest.fixture(scope="class")
    def model(self, tmp_path_factory: pytest.TempPathFactory) -> Path:
        return tiny_cross_encoder(tmp_path_factory.mktemp("nli"), self.labels)

    @pytest.fixture(autouse=True)
    def use_model(self, model: Path) -> None:
        self.folder = model

    def make_judge(self, tmp_path: Path) -> Judge:
        return nli_judge(self.folder, self.threshold)

    def test_clear_cases_are_judged_right(self, judge: Judge) -> None:
        pytest.skip("random weights: the shape of the judgments is tested, not their sense")


class TestNliSingleOutput(TestNli):
    """A cross-encoder with one output (a relevance logit)."""

    labels = 1
