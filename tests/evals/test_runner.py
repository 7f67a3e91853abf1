"""The eval runner on a small live index: outputs, reproducibility, baselines, gates, precomputed answers, and a
judge that fails mid-run."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from evals.cases import EvalCase, Expect, Gold
from evals.runner import EvalRunner, as_records, check_gates, parse_gates, summarize, write_outputs
from evals.wiring import LiveAnswers, PrecomputedAnswers, eval_runner, passage_resolver, retrieval_ranking
from rag.errors import ProviderError, UserError
from rag.factory import Components
from rag.judge.offline import OfflineJudge
from rag.judge.protocol import Judgment

CASES = [
    EvalCase(id="fda", question="Is any exosome product approved by the FDA?",
             gold=Gold(guideline_doc_ids=("fda",)), expect=Expect(guidelines="evidence")),
    EvalCase(id="prp", question="Does PRP with microneedling improve acne scars in patients?",
             gold=Gold(study_doc_ids=("prp",)), expect=Expect(research="evidence")),
    EvalCase(id="follow", question="What about exosome gel after laser for acne scars?",
             conversation=("Does PRP with microneedling improve acne scars in patients?",)),
    EvalCase(id="none", question="Which vaccine schedule is recommended for infant rotavirus immunisation?",
             expect=Expect(guidelines="none", research="none")),
]


def runner(components: Components, judge: object | None = None, answers: object | None = None) -> EvalRunner:
    if answers is None:
        return eval_runner(components, CASES, judge=judge or "offline", workers=2)  # type: ignore[arg-type]
    return EvalRunner(answers, passage_resolver(components),  # type: ignore[arg-type]
                      retrieval_ranking(components.retriever()), judge or OfflineJudge(components.embedder),  # type: ignore[arg-type]
                      workers=2)


def test_live_run_outputs_and_reproducibility(answer_corpus: Components, tmp_path: Path) -> None:
    first = runner(answer_corpus).run(CASES)
    second = runner(answer_corpus).run(CASES)
    assert [r.scores for r in first] == [r.scores for r in second], "offline runs give identical numbers"
    assert [r.id for r in first] == [c.id for c in CASES]
    summary = summarize(first, {"dataset": "unit", "backend": "extractive", "judge": "offline"})
    metrics = summary["metrics"]
    assert metrics["citation_validity"]["mean"] == 1.0 and metrics["section_routing"]["mean"] == 1.0
    assert metrics["citation_recall"]["mean"] == 1.0 and metrics["abstention_correct"]["mean"] == 1.0
    assert metrics["retrieval_recall@10"]["cases"] == 2
    paths = write_outputs(tmp_path / "out", as_records(first), summary, ["citation_recall=0.9"])
    lines = [json.loads(line) for line in paths["cases"].read_text().splitlines()]
    assert [line["id"] for line in lines] == ["fda", "prp", "follow", "none"]
    assert lines[2]["answer"]["standalone_question"], "the follow-up was asked inside its conversation"
    assert all(line["case_hash"] and line["status"] in ("pass", "fail") for line in lines)
    saved = json.loads(paths["summary"].read_text())
    assert saved["metrics"] == metrics and saved["time"]["total_s"] > 0
    html = paths["report"].read_text()
    assert html.startswith("<!doctype html>") and "<svg" in html and "citation_recall" in html
    assert "All gates passed" in html and "<script src" not in html and "http" not in html.split("<script>")[1]


def test_summary_by_tag() -> None:
    from evals.runner import CaseResult

    results = [CaseResult("a", "q", {"required_facts": 1.0}), CaseResult("b", "q", {"required_facts": 0.0}),
               CaseResult("c", "q", {"required_facts": None})]
    summary = summarize(results, {}, {"a": ("dev", "numbers"), "b": ("heldout", "numbers"), "c": ("dev",)})
    assert summary["metrics"]["required_facts"] == {"mean": 0.5, "cases": 2, "ci": [0.0, 1.0]}
    by_tag = summary["by_tag"]
    assert by_tag["dev"]["cases"] == 2
    assert by_tag["dev"]["metrics"]["required_facts"] == {"mean": 1.0, "cases": 1, "ci": [1.0, 1.0]}
    assert by_tag["heldout"]["metrics"]["required_facts"]["mean"] == 0.0
    assert by_tag["numbers"]["metrics"]["required_facts"]["mean"] == 0.5
    assert "by_tag" not in summarize(results, {})


def test_gates_on_means_and_interval_bounds() -> None:
    summary = {"metrics": {"citation_recall": {"mean": 0.9, "cases": 3, "ci": [0.8, 1.0]},
                           "uncited_rate": {"mean": 0.2, "cases": 3, "ci": [0.1, 0.3]},
                           "citation_validity": {"mean": None, "cases": 0, "ci": None}}}
    gates = parse_gates(["citation_recall=0.95", "uncited_rate=0.1", "citation_validity=1"])
    failed = check_gates(summary, gates)
    assert len(failed) == 3 and "below the gate 0.95" in failed[0] and "above the gate 0.1" in failed[1]
    assert check_gates(summary, parse_gates(["citation_recall=0.8"])) == []
    assert check_gates(summary, parse_gates(["citation_recall=0.8@lower"])) == []
    lower = check_gates(summary, parse_gates(["citation_recall=0.85@lower"]))
    assert lower == ["citation_recall (lower bound of the 95% interval) = 0.8 is below the gate 0.85"]
    assert check_gates(summary, parse_gates(["uncited_rate=0.25"])) == []
    assert check_gates(summary, parse_gates(["uncited_rate=0.25@upper"])) != []
    with pytest.raises(UserError, match="must be 'lower' or 'upper'"):
        parse_gates(["citation_recall=0.9@median"])
    with pytest.raises(UserError, match="unknown metric 'recall'"):
        parse_gates(["recall=0.9"])
    with pytest.raises(UserError, match="must be a number"):
        parse_gates(["citation_recall=high"])


def test_precomputed_answers_and_missing_references(answer_corpus: Components, tmp_path: Path) -> None:
    live = runner(answer_corpus).run(CASES[:2])
    file = tmp_path / "answers.jsonl"
    first = dict(live[0].answer or {}, id="fda")
    broken = {k: v for k, v in (live[1].answer or {}).items() if k != "references"}
    file.write_text(json.dumps(first) + "\n" + json.dumps(dict(broken, id="prp")) + "\n")
    results = runner(answer_corpus, answers=PrecomputedAnswers(file, CASES[:2])).run(CASES[:2])
    assert results[0].scores == live[0].scores and results[0].error is None
    assert results[1].error and "no 'references' list" in results[1].error
    assert summarize(results, {})["errors"] == 1


class FailingJudge:
    """Works for the first case (about the FDA), then its endpoint "goes down" (any claim about acne)."""

    name = "failing"
    fingerprint = "failing"

    def judge_many(self, pairs: Sequence[tuple[str, str]]) -> list[Judgment]:
        if any("acne" in claim.lower() for claim, _ in pairs):
            raise ProviderError("the judge endpoint could not be reached")
        return [Judgment(True, 1.0) for _ in pairs]


def test_unreachable_judge_stops_the_run_and_keeps_partial_results(answer_corpus: Components,
                                                                   tmp_path: Path) -> None:
    partial = tmp_path / "cases.partial.jsonl"
    eval_runner = EvalRunner(LiveAnswers(answer_corpus.answers(), None), passage_resolver(answer_corpus),
                             retrieval_ranking(None), FailingJudge(), workers=1)
    with pytest.raises(ProviderError, match="could not be reached"):
        eval_runner.run(CASES, partial=partial)
    kept = [json.loads(line) for line in partial.read_text().splitlines()]
    assert [k["id"] for k in kept] == ["fda"]


def test_repeated_runs_are_merged_per_case_with_their_spread() -> None:
    from evals.runner import CaseResult, merge_runs

    first = [CaseResult("a", "q", {"citation_recall": 1.0}, seconds=1.0, tokens=(10, 5)),
             CaseResult("b", "q", {"citation_recall": 0.5}, [{"check": "citation_recall", "sentence": "s"}])]
    second = [CaseResult("a", "q", {"citation_recall": 0.5}, [{"check": "citation_recall", "sentence": "t"}],
                         seconds=2.0, tokens=(20, 7)),
              CaseResult("b", "q", {}, error="timed out")]
    merged = merge_runs([first, second])
    assert merged[0].scores["citation_recall"] == 0.75 and merged[0].seconds == 3.0 and merged[0].tokens == (30, 12)
    assert merged[0].failures == [{"check": "citation_recall", "sentence": "t", "run": 2}]
    assert merged[0].status == "fail", "a case fails when any run fails"
    assert merged[1].scores["citation_recall"] == 0.5 and merged[1].error is None
    assert {f["check"] for f in merged[1].failures} == {"citation_recall", "error"}
    summary = summarize(merged, {})
    spread = summary["repeat"]["metrics"]["citation_recall"]
    assert summary["repeat"]["runs"] == 2 and spread["per_run"] == [0.75, 0.5]
    assert spread["mean"] == 0.625 and spread["sd"] == 0.125 and (spread["min"], spread["max"]) == (0.5, 0.75)
    assert summary["tokens"] == {"prompt": 30, "completion": 12, "cases_reporting": 1}
    assert merge_runs([first]) == first


def test_token_tally_counts_each_threads_turns() -> None:
    from evals.wiring import TokenTally
    from rag.answer.models import Outcome

    tally = TokenTally()
    tally(None, Outcome("openai", tokens=(100, 20)))  # type: ignore[arg-type]
    tally(None, Outcome("openai", tokens=(50, 10)))  # type: ignore[arg-type]
    tally(None, Outcome("extractive"))  # type: ignore[arg-type]
    assert tally.take() == (150, 30) and tally.take() is None


def test_precomputed_answers_carry_their_usage(answer_corpus: Components, tmp_path: Path) -> None:
    live = runner(answer_corpus).run(CASES[:1])
    file = tmp_path / "answers.jsonl"
    file.write_text(json.dumps(dict(live[0].answer or {}, id="fda", usage={"prompt_tokens": 900,
                                                                          "completion_tokens": 120})) + "\n")
    answered = PrecomputedAnswers(file, CASES[:1])(CASES[0])
    assert answered.tokens == (900, 120) and answered.answer.references
