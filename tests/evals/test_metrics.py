"""Metrics on hand-built answers with a deterministic keyword judge."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from evals.cases import EvalCase, Expect, Gold
from evals.context import EvalContext
from evals.metrics.answers import (
    Abstention,
    CitationRecallPrecision,
    CitationValidity,
    RetrievalQuality,
    SectionRouting,
    UncitedRate,
)
from rag.answer.models import Answer, AnswerSection, Grounding, Reference
from rag.judge.protocol import Judgment


class WordJudge:
    """Supported when every word of the claim (lowercased, punctuation dropped) is in the passage."""

    name = "words"
    fingerprint = "words"

    def judge_many(self, pairs: Sequence[tuple[str, str]]) -> list[Judgment]:
        def words(text: str) -> set[str]:
            return {w.strip(".,;:()").lower() for w in text.split()} - {""}

        return [Judgment(words(c) <= words(p), 1.0) for c, p in pairs]


def reference(n: int, kind: str) -> Reference:
    return Reference(n=n, kind=kind, doc_id=f"d{n}", chunk_id=f"c{n}", title="t", quote="q", span=(0, 1))  # type: ignore[arg-type]


def answer(guidelines: str, research: str, kinds: dict[int, str]) -> Answer:
    return Answer(
        question="q", sections=[
            AnswerSection(kind="guidelines", title="From the Guidelines", text=guidelines,
                          evidence_found=not guidelines.startswith("No guideline")),
            AnswerSection(kind="research", title="From the Research", text=research,
                          evidence_found=not research.startswith("There are no")),
        ], limitations="", references=[reference(n, k) for n, k in kinds.items()], grounding=Grounding(),
        backend="test", disclaimer="",
    )


PASSAGES = {1: "alpha beta gamma", 2: "delta epsilon", 3: "zeta eta theta", 4: "alpha beta"}


def context(a: Answer, case: EvalCase | None = None, passages: dict[int, str] | None = None,
            retrieved: list[str] | None = None) -> EvalContext:
    return EvalContext(case or EvalCase(id="c", question="q"), a, PASSAGES if passages is None else passages,
                       retrieved or [], WordJudge())


def test_alce_recall_and_precision() -> None:
    a = answer("Alpha beta [1][4].", "Delta epsilon [2]. Zeta eta [3][2]. Unsupported words [3]. Uncited claim here.",
               {1: "guideline", 2: "study", 3: "study", 4: "guideline"})
    scores = CitationRecallPrecision().evaluate(context(a))
    # sentences: supported, supported, supported, unsupported, uncited -> recall 3/5
    assert scores["citation_recall"] == pytest.approx(3 / 5)
    # citations: [1] alone supports, [4] alone supports -> both precise; [2] precise; [3] supports alone, [2] in
    # "Zeta eta [3][2]" is irrelevant (alone no, the rest yes); [3] of the unsupported sentence is not precise
    assert scores["citation_precision"] == pytest.approx(4 / 6)


def test_validity_routing_and_uncited() -> None:
    a = answer("Alpha beta [1]. Delta epsilon [2].", "Zeta eta [3]. Alpha [9]. No citation at all here.",
               {1: "guideline", 2: "study", 3: "study"})
    ctx = context(a)
    assert CitationValidity().evaluate(ctx)["citation_validity"] == pytest.approx(3 / 4)
    assert SectionRouting().evaluate(ctx)["section_routing"] == pytest.approx(2 / 3)
    assert UncitedRate().evaluate(ctx)["uncited_rate"] == pytest.approx(1 / 5)
    assert {f["check"] for f in ctx.failures} == {"citation_validity", "section_routing"}


def test_abstention_and_not_applicable() -> None:
    empty = answer("No guideline in the sources addresses this question.",
                   "There are no direct studies in the sources that address this question.", {})
    case = EvalCase(id="n", question="q", expect=Expect(guidelines="none", research="evidence"))
    assert Abstention().evaluate(context(empty, case))["abstention_correct"] == 0.5
    assert Abstention().evaluate(context(empty))["abstention_correct"] is None
    assert CitationRecallPrecision().evaluate(context(empty)) == {"citation_recall": None, "citation_precision": None}
    assert CitationValidity().evaluate(context(empty))["citation_validity"] is None


def test_retrieval_quality_against_gold() -> None:
    case = EvalCase(id="r", question="q", gold=Gold(study_doc_ids=("d2",), guideline_doc_ids=("d9",)))
    scores = RetrievalQuality().evaluate(context(answer("x", "y", {}), case, retrieved=["d1", "d2", "d2", "d3"]))
    assert scores["retrieval_recall@10"] == 0.5 and scores["retrieval_mrr"] == 0.5


def test_answer_correctness_is_claim_recall_against_the_reference() -> None:
    from evals.metrics.correctness import AnswerCorrectness

    a = answer("No guideline addresses this.", "Alpha beta gamma [1]. Delta epsilon [2].", {1: "study", 2: "study"})
    with_reference = EvalCase(id="c", question="q", reference_answer="Alpha beta. Zeta eta. Delta.",
                              gold=Gold(snippets=("zeta",)))
    ctx = context(a, with_reference)
    assert AnswerCorrectness().evaluate(ctx)["answer_correctness"] == pytest.approx(2 / 3)
    assert [f["sentence"] for f in ctx.failures] == ["not stated: Zeta eta."]
    snippets_only = EvalCase(id="c", question="q", gold=Gold(snippets=("delta epsilon", "theta")))
    assert AnswerCorrectness().evaluate(context(a, snippets_only))["answer_correctness"] == pytest.approx(1 / 2)
    assert AnswerCorrectness().evaluate(context(a))["answer_correctness"] is None, "nothing to compare with"
    abstained = answer("No guideline addresses this.", "There are no studies.", {})
    assert AnswerCorrectness().evaluate(context(abstained, with_reference))["answer_correctness"] == 0.0
