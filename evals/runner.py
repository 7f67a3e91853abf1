"""The eval runner: answer (or load) each case, score it with every evaluator, aggregate, compare with a baseline,
check gates, and write per-case JSONL, a summary JSON and an HTML report."""

from __future__ import annotations

import json
import logging
import statistics
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from evals.cases import EvalCase
from evals.compare import status_of
from evals.context import EvalContext
from evals.metrics.answers import EVALUATORS, LOWER_IS_BETTER, METRICS
from evals.provenance import case_digest
from evals.stats import bootstrap_interval
from rag.answer.models import Answer
from rag.errors import ProviderError, RagError, UserError
from rag.judge.protocol import Judge

logger = logging.getLogger(__name__)

PassageResolver = Callable[[Answer], dict[int, str]]
Retrieval = Callable[[EvalCase, Answer], list[str]]


@dataclass(frozen=True)
class Answered:
    """A case's answer and the (prompt, completion) tokens it cost, earlier turns of its conversation included
    (None when the endpoint reported no usage, or no model was asked)."""

    answer: Answer
    tokens: tuple[int, int] | None = None


AnswerSource = Callable[[EvalCase], Answered]


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
    case_hash: str = ""
    """What the case asked and expected, hashed (a baseline's case is compared only when it is the same)."""
    tokens: tuple[int, int] | None = None
    runs: list[dict[str, float | None]] | None = None
    """With ``--repeat``: each run's scores (``scores`` are then their means)."""

    @property
    def status(self) -> str:
        """``error``, ``fail`` (a check failed) or ``pass``."""
        return status_of({"error": self.error, "failures": self.failures})


class EvalRunner:
    """Answers (or loads) each case, scores it with every evaluator, and keeps each result as it finishes."""

    def __init__(self, answers: AnswerSource, passages: PassageResolver, retrieval: Retrieval, judge: Judge,
                 workers: int = 1, progress: Callable[[int, int], None] | None = None) -> None:
        self._answers = answers
        self._passages = passages
        self._retrieval = retrieval
        self.judge = judge
        self._workers = max(1, workers)
        self._progress = progress
        self.judge_name = judge.name
        self.retrieval_ranking = "live retriever"
        """How retrieval metrics are computed: ``live retriever``, or ``reference order`` (precomputed answers)."""
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
        digest = case_digest(case)
        try:
            answered = self._answers(case)
        except ProviderError:
            raise
        except RagError as exc:
            return CaseResult(case.id, case.question, dict.fromkeys(METRICS), error=str(exc), case_hash=digest)
        answer = answered.answer
        ctx = EvalContext(case, answer, self._passages(answer), self._retrieval(case, answer), self.judge)
        scores: dict[str, float | None] = {}
        for evaluator in EVALUATORS:
            scores.update(evaluator.evaluate(ctx))
        return CaseResult(case.id, case.question, scores, ctx.failures, answer.model_dump(mode="json"),
                          seconds=round(time.perf_counter() - started, 3), case_hash=digest,
                          tokens=answered.tokens)


def merge_runs(runs: Sequence[Sequence[CaseResult]]) -> list[CaseResult]:
    """One result per case from repeated runs (same cases, same order): the mean of each metric over the runs
    that scored it, every run's failures (marked with the run), the first run's answer, time and tokens summed; an
    error only when every run failed. One run is returned as it is."""
    if len(runs) == 1:
        return list(runs[0])
    merged = []
    for attempts in zip(*runs, strict=True):
        answered = [r for r in attempts if not r.error]
        first = answered[0] if answered else attempts[0]
        scores = {name: _mean([r.scores.get(name) for r in answered]) for name in METRICS}
        failures = [{**failure, "run": number} for number, r in enumerate(attempts, 1) for failure in r.failures]
        failures += [{"check": "error", "sentence": f"run {number}: {r.error}", "run": number}
                     for number, r in enumerate(attempts, 1) if r.error and answered]
        merged.append(CaseResult(
            first.id, first.question, scores, failures, first.answer, None if answered else first.error,
            round(sum(r.seconds for r in attempts), 3), first.case_hash, _total_tokens(attempts),
            [dict(r.scores) for r in attempts]))
    return merged


def _mean(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(sum(present) / len(present), 6) if present else None


def _total_tokens(results: Sequence[CaseResult]) -> tuple[int, int] | None:
    reported = [r.tokens for r in results if r.tokens is not None]
    return (sum(t[0] for t in reported), sum(t[1] for t in reported)) if reported else None


def summarize(results: Sequence[CaseResult], meta: dict[str, Any],
              tags: dict[str, Sequence[str]] | None = None) -> dict[str, Any]:
    """Means of each metric over the cases where it applies, with how many cases that was and a 95% bootstrap
    interval; cases passing, failing and in error; time and tokens. With ``tags`` (case id -> its tags), the same
    per tag under ``by_tag`` (a dev/held-out split, a question category)."""
    statuses = [r.status for r in results]
    summary = {**meta, "cases": len(results), "errors": statuses.count("error"),
               "status": {name: statuses.count(name) for name in ("pass", "fail", "error")},
               "metrics": _means(results), "time": _time(results), "tokens": _tokens(results)}
    if any(r.runs for r in results):
        summary["repeat"] = _spread(results)
    if tags:
        names = sorted({tag for case_tags in tags.values() for tag in case_tags})
        summary["by_tag"] = {tag: {"cases": len(chosen), "metrics": _means(chosen)}
                             for tag in names if (chosen := [r for r in results if tag in tags.get(r.id, ())])}
    return summary


def _means(results: Sequence[CaseResult]) -> dict[str, dict[str, Any]]:
    metrics: dict[str, dict[str, Any]] = {}
    for name in METRICS:
        values = [v for r in results if (v := r.scores.get(name)) is not None]
        if not values:
            metrics[name] = {"mean": None, "cases": 0, "ci": None}
            continue
        interval = bootstrap_interval(values)
        metrics[name] = {"mean": round(interval.mean, 6), "cases": len(values), "ci": interval.rounded()}
    return metrics


def _time(results: Sequence[CaseResult]) -> dict[str, float]:
    seconds = sorted(r.seconds for r in results)
    if not seconds:
        return {"total_s": 0.0, "mean_s": 0.0, "p50_s": 0.0, "p95_s": 0.0}
    return {"total_s": round(sum(seconds), 3), "mean_s": round(sum(seconds) / len(seconds), 3),
            "p50_s": seconds[(len(seconds) - 1) // 2], "p95_s": seconds[min(len(seconds) - 1,
                                                                              round(0.95 * (len(seconds) - 1)))]}


def _tokens(results: Sequence[CaseResult]) -> dict[str, int]:
    reported = [r.tokens for r in results if r.tokens is not None]
    return {"prompt": sum(t[0] for t in reported), "completion": sum(t[1] for t in reported),
            "cases_reporting": len(reported)}


def _spread(results: Sequence[CaseResult]) -> dict[str, Any]:
    """Each metric's mean in each repeated run, with their mean, standard deviation and range."""
    runs = max(len(r.runs or ()) for r in results)
    spread: dict[str, Any] = {"runs": runs, "metrics": {}}
    for name in METRICS:
        per_run = [_mean([(r.runs or [])[k].get(name) for r in results if r.runs and len(r.runs) > k])
                   for k in range(runs)]
        present = [m for m in per_run if m is not None]
        if present:
            spread["metrics"][name] = {"per_run": per_run, "mean": round(statistics.fmean(present), 6),
                                       "sd": round(statistics.pstdev(present), 6), "min": min(present),
                                       "max": max(present)}
    return spread


@dataclass(frozen=True)
class Gate:
    """``METRIC=VALUE`` (the mean), or ``METRIC=VALUE@lower`` / ``@upper`` (that end of the 95% interval)."""

    metric: str
    limit: float
    bound: Literal["mean", "lower", "upper"] = "mean"

    def check(self, summary: dict[str, Any]) -> str | None:
        """A message when the run fails this gate (a metric with no value fails), else None."""
        entry = summary["metrics"][self.metric]
        if self.bound == "mean" or entry["mean"] is None:
            value = entry["mean"]
        else:
            value = entry["ci"][0 if self.bound == "lower" else 1]
        lower_is_better = self.metric in LOWER_IS_BETTER
        if value is not None and (value <= self.limit if lower_is_better else value >= self.limit):
            return None
        what = self.metric if self.bound == "mean" else f"{self.metric} ({self.bound} bound of the 95% interval)"
        return f"{what} = {value} is {'above' if lower_is_better else 'below'} the gate {self.limit}"


def parse_gates(specs: Sequence[str]) -> list[Gate]:
    """``METRIC=VALUE[@lower|@upper]`` strings; an unknown metric, bound or a bad number is a :class:`UserError`."""
    gates = []
    for spec in specs:
        name, _, raw = spec.partition("=")
        if name not in METRICS:
            raise UserError(f"unknown metric {name!r} in --fail-under; known metrics: {', '.join(METRICS)}")
        number, _, bound = raw.partition("@")
        if bound not in ("", "lower", "upper"):
            raise UserError(f"--fail-under {spec!r}: the bound after '@' must be 'lower' or 'upper'")
        try:
            limit = float(number)
        except ValueError:
            raise UserError(f"--fail-under {spec!r}: the value must be a number") from None
        gates.append(Gate(name, limit, bound or "mean"))  # type: ignore[arg-type]
    return gates


def check_gates(summary: dict[str, Any], gates: Sequence[Gate]) -> list[str]:
    """One message per gate that fails."""
    return [message for gate in gates if (message := gate.check(summary)) is not None]


def write_outputs(out_dir: Path, results: Sequence[dict[str, Any]], summary: dict[str, Any],
                  gates: Sequence[str] = (), failed: Sequence[str] = ()) -> dict[str, Path]:
    """Write ``cases.jsonl`` (``results`` as JSON: :func:`as_records`, annotated with the baseline when compared),
    ``summary.json`` and ``report.html`` (with the gates asked for and those failed) into ``out_dir``; returns their
    paths by name."""
    from evals.report import render_html

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"cases": out_dir / "cases.jsonl", "summary": out_dir / "summary.json", "report": out_dir / "report.html"}
    with paths["cases"].open("w", encoding="utf-8") as handle:
        for result in results:
            handle.write(json.dumps(result, ensure_ascii=False) + "\n")
    paths["summary"].write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    paths["report"].write_text(render_html(results, summary, gates, failed), encoding="utf-8")
    return paths


def as_records(results: Sequence[CaseResult]) -> list[dict[str, Any]]:
    """Case results as JSON objects, each with its status."""
    return [{**asdict(result), "status": result.status} for result in results]
