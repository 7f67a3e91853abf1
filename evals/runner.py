"""The eval runner: answer (or load) each case, score it with every evaluator, aggregate, compare with a baseline,
check gates, and write per-case JSONL, a summary JSON and an HTML report."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from evals.cases import EvalCase
from evals.context import EvalContext
from evals.metrics.answers import EVALUATORS, LOWER_IS_BETTER, METRICS
from rag.answer.models import Answer
from rag.errors import ProviderError, RagError, UserError
from rag.judge.protocol import Judge

logger = logging.getLogger(__name__)

AnswerSource = Callable[[EvalCase], Answer]
PassageResolver = Callable[[Answer], dict[int, str]]
Retrieval = Callable[[EvalCase, Answer], list[str]]


@dataclass
class CaseResult:
    """One case's outcome: metric scores (None where a metric does not apply), failing sentences and the
    answer as JSON, or the error that stopped the case."""

    id: str
    question: str
    scores: dict[str, float | None]
    failures: list[dict[str, Any]] = field(default_factory=list)
    answer: dict[str, Any] | None = None
    error: str | None = None
    seconds: float = 0.0


class EvalRunner:
    """Answers (or loads) each case, scores it with every evaluator, and keeps each result as it finishes."""

    def __init__(self, answers: AnswerSource, passages: PassageResolver, retrieval: Retrieval, judge: Judge,
                 workers: int = 1, progress: Callable[[int, int], None] | None = None) -> None:
        self._answers = answers
        self._passages = passages
        self._retrieval = retrieval
        self._judge = judge
        self._workers = max(1, workers)
        self._progress = progress
        self.judge_name = judge.name
        self.input_errors: list[RagError] = []
        """Input lines that could not be read (a precomputed answers file's bad lines), reported by the caller."""

    def run(self, cases: Sequence[EvalCase], partial: Path | None = None) -> list[CaseResult]:
        """Results in case order. Each finished case is appended to ``partial`` at once, so an aborted run (e.g. an
        unreachable judge endpoint) keeps what it did."""
        results: list[CaseResult | None] = [None] * len(cases)
        done = 0
        with ThreadPoolExecutor(max_workers=self._workers) as pool:
            futures = {pool.submit(self._one, case): i for i, case in enumerate(cases)}
            for future in futures:
                result = future.result()  # ProviderError from the judge propagates: the run stops here
                results[futures[future]] = result
                done += 1
                if partial is not None:
                    with partial.open("a", encoding="utf-8") as handle:
                        handle.write(json.dumps(asdict(result), ensure_ascii=False) + "\n")
                if self._progress is not None:
                    self._progress(done, len(cases))
        return [r for r in results if r is not None]

    def _one(self, case: EvalCase) -> CaseResult:
        started = time.perf_counter()
        try:
            answer = self._answers(case)
        except ProviderError:
            raise
        except RagError as exc:
            return CaseResult(case.id, case.question, dict.fromkeys(METRICS), error=str(exc))
        ctx = EvalContext(case, answer, self._passages(answer), self._retrieval(case, answer), self._judge)
        scores: dict[str, float | None] = {}
        for evaluator in EVALUATORS:
            scores.update(evaluator.evaluate(ctx))
        return CaseResult(case.id, case.question, scores, ctx.failures, answer.model_dump(mode="json"),
                          seconds=round(time.perf_counter() - started, 3))


def summarize(results: Sequence[CaseResult], meta: dict[str, Any],
              tags: dict[str, Sequence[str]] | None = None) -> dict[str, Any]:
    """Means of each metric over the cases where it applies, with how many cases that was; with ``tags`` (case id
    -> its tags), the same per tag under ``by_tag`` (a dev/held-out split, a question category)."""
    summary = {**meta, "cases": len(results), "errors": sum(1 for r in results if r.error),
               "metrics": _means(results)}
    if tags:
        names = sorted({tag for case_tags in tags.values() for tag in case_tags})
        summary["by_tag"] = {tag: {"cases": len(chosen), "metrics": _means(chosen)}
                             for tag in names if (chosen := [r for r in results if tag in tags.get(r.id, ())])}
    return summary


def _means(results: Sequence[CaseResult]) -> dict[str, dict[str, float | int | None]]:
    metrics: dict[str, dict[str, float | int | None]] = {}
    for name in METRICS:
        values = [r.scores[name] for r in results if r.scores.get(name) is not None]
        metrics[name] = {"mean": round(sum(values) / len(values), 6) if values else None,  # type: ignore[arg-type]
                         "cases": len(values)}
    return metrics


def compare(summary: dict[str, Any], baseline: dict[str, Any]) -> dict[str, float]:
    """Metric deltas (this run minus the baseline) where both have a value."""
    deltas = {}
    for name, value in summary["metrics"].items():
        before = baseline.get("metrics", {}).get(name, {}).get("mean")
        if value["mean"] is not None and before is not None:
            deltas[name] = round(value["mean"] - before, 6)
    return deltas


def parse_gates(specs: Sequence[str]) -> dict[str, float]:
    """``METRIC=VALUE`` strings; an unknown metric or a bad number is a :class:`UserError`."""
    gates = {}
    for spec in specs:
        name, _, raw = spec.partition("=")
        if name not in METRICS:
            raise UserError(f"unknown metric {name!r} in --fail-under; known metrics: {', '.join(METRICS)}")
        try:
            gates[name] = float(raw)
        except ValueError:
            raise UserError(f"--fail-under {spec!r}: the value must be a number") from None
    return gates


def check_gates(summary: dict[str, Any], gates: dict[str, float]) -> list[str]:
    """One message per gate that fails (a metric with no value fails its gate)."""
    failed = []
    for name, limit in gates.items():
        value = summary["metrics"][name]["mean"]
        bad = value is None or (value > limit if name in LOWER_IS_BETTER else value < limit)
        if bad:
            relation = "above" if name in LOWER_IS_BETTER else "below"
            failed.append(f"{name} = {value} is {relation} the gate {limit}")
    return failed


def write_outputs(out_dir: Path, results: Sequence[CaseResult], summary: dict[str, Any],
                  deltas: dict[str, float] | None) -> dict[str, Path]:
    """Write ``cases.jsonl``, ``summary.json`` (with the deltas) and ``report.html`` into ``out_dir``; returns
    their paths by name."""
    from evals.report import render_html

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"cases": out_dir / "cases.jsonl", "summary": out_dir / "summary.json", "report": out_dir / "report.html"}
    with paths["cases"].open("w", encoding="utf-8") as handle:
        for result in results:
            handle.write(json.dumps(asdict(result), ensure_ascii=False) + "\n")
    paths["summary"].write_text(json.dumps({**summary, "deltas": deltas or {}}, indent=2, ensure_ascii=False) + "\n")
    paths["report"].write_text(render_html(results, summary, deltas), encoding="utf-8")
    return paths
