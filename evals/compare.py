"""A run against its baseline, case by case: each case's baseline scores and deltas, the cases newly failing, newly
passing or changed, and each metric's paired delta with its bootstrap interval and a sign-flip test.

A case **passes** when it was answered (no error) and no check failed (the failing sentences of the report:
citations, routing, abstention, appraisal, required facts, forbidden statements, lead, premise). Cases are matched
by id; a case whose content (question, gold, expectations) changed since the baseline is not compared."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from evals.metrics.answers import METRICS
from evals.provenance import differences, not_comparable
from evals.stats import bootstrap_interval, sign_flip_p
from rag.errors import UserError

Status = Literal["pass", "fail", "error"]


def status_of(result: dict[str, Any]) -> Status:
    """``error`` (not answered), ``fail`` (a check failed) or ``pass``."""
    if result.get("error"):
        return "error"
    return "fail" if result.get("failures") else "pass"


@dataclass
class Baseline:
    """A previous run: its summary and its cases by id (read from its output folder)."""

    path: Path
    summary: dict[str, Any]
    cases: dict[str, dict[str, Any]]

    @classmethod
    def read(cls, path: Path) -> Baseline:
        """A baseline from an output folder of ``rag eval``, or its ``summary.json`` with ``cases.jsonl`` beside
        it. A missing file, an old summary without provenance or a bad line is a :class:`UserError` naming it."""
        folder = path if path.is_dir() else path.parent
        summary_path = path / "summary.json" if path.is_dir() else path
        summary = _read_summary(summary_path)
        cases_path = folder / "cases.jsonl"
        try:
            lines = cases_path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise UserError(f"{cases_path}: cannot read the baseline's cases ({exc.strerror}); --baseline takes "
                            "the output folder of a previous rag eval") from None
        cases: dict[str, dict[str, Any]] = {}
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                cases[str(record["id"])] = record
            except (ValueError, KeyError, TypeError):
                raise UserError(f"{cases_path}:{number}: not a case result written by rag eval") from None
        return cls(path, summary, cases)


@dataclass
class Comparison:
    """What changed between a baseline and this run."""

    baseline: str
    differences: dict[str, dict[str, Any]]
    not_comparable: dict[str, str]
    newly_failing: list[str] = field(default_factory=list)
    newly_passing: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    new_cases: list[str] = field(default_factory=list)
    missing_cases: list[str] = field(default_factory=list)
    content_changed: list[str] = field(default_factory=list)
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)

    def deltas(self) -> dict[str, float]:
        """Each comparable metric's paired delta (this run minus the baseline)."""
        return {name: entry["delta"] for name, entry in self.metrics.items()
                if entry["comparable"] and entry["delta"] is not None}

    def to_dict(self) -> dict[str, Any]:
        """The comparison as JSON for ``summary.json``."""
        return {"baseline": self.baseline, "differences": self.differences, "not_comparable": self.not_comparable,
                "newly_failing": self.newly_failing, "newly_passing": self.newly_passing, "changed": self.changed,
                "new_cases": self.new_cases, "missing_cases": self.missing_cases,
                "content_changed": self.content_changed, "metrics": self.metrics}


def compare_runs(results: Sequence[dict[str, Any]], provenance: dict[str, Any], baseline: Baseline) -> Comparison:
    """Compare this run's case results (as JSON, each with ``case_hash``) with ``baseline``; each result gains a
    ``baseline`` entry (status, scores, deltas) in place. No case in common is a :class:`UserError`."""
    changed_fields = differences(provenance, baseline.summary["provenance"])
    skipped = not_comparable(changed_fields)
    comparison = Comparison(str(baseline.path), changed_fields, skipped)
    current_ids = {str(r["id"]) for r in results}
    comparison.missing_cases = sorted(set(baseline.cases) - current_ids)
    pairs: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for result in results:
        before = baseline.cases.get(str(result["id"]))
        if before is None:
            comparison.new_cases.append(result["id"])
        elif before.get("case_hash") != result.get("case_hash"):
            comparison.content_changed.append(result["id"])
        else:
            pairs.append((result, before))
    if not pairs:
        raise UserError(f"{baseline.path}: the baseline has no case in common with this run (same id and content)")
    for result, before in pairs:
        _annotate(result, before, skipped, comparison)
    comparison.metrics = _metric_deltas(pairs, skipped)
    return comparison


def _annotate(result: dict[str, Any], before: dict[str, Any], skipped: dict[str, str],
              comparison: Comparison) -> None:
    was, now = status_of(before), status_of(result)
    deltas = {}
    for name in METRICS:
        old, new = before["scores"].get(name), result["scores"].get(name)
        if name not in skipped and old is not None and new is not None:
            deltas[name] = round(new - old, 6)
    if was == "pass" and now != "pass":
        change, ids = "newly failing", comparison.newly_failing
    elif was != "pass" and now == "pass":
        change, ids = "newly passing", comparison.newly_passing
    elif any(deltas.values()) or was != now or _failure_keys(before) != _failure_keys(result):
        change, ids = "changed", comparison.changed
    else:
        change, ids = "same", []
    ids.append(result["id"])
    result["baseline"] = {"status": was, "change": change, "scores": before["scores"], "deltas": deltas,
                          "failures": before.get("failures", []), "answer": before.get("answer")}


def _failure_keys(result: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted((str(f.get("check")), str(f.get("sentence"))) for f in result.get("failures", []))


def _metric_deltas(pairs: Sequence[tuple[dict[str, Any], dict[str, Any]]],
                   skipped: dict[str, str]) -> dict[str, dict[str, Any]]:
    metrics: dict[str, dict[str, Any]] = {}
    for name in METRICS:
        if name in skipped:
            metrics[name] = {"delta": None, "ci": None, "p_value": None, "significant": False, "cases": 0,
                             "comparable": False, "reason": skipped[name]}
            continue
        diffs = [now["scores"][name] - old["scores"][name] for now, old in pairs
                 if now["scores"].get(name) is not None and old["scores"].get(name) is not None]
        if not diffs:
            metrics[name] = {"delta": None, "ci": None, "p_value": None, "significant": False, "cases": 0,
                             "comparable": True, "reason": None}
            continue
        interval = bootstrap_interval(diffs)
        metrics[name] = {"delta": round(interval.mean, 6), "ci": interval.rounded(),
                         "p_value": round(sign_flip_p(diffs), 6), "significant": interval.excludes_zero(),
                         "cases": len(diffs), "comparable": True, "reason": None}
    return metrics


def _read_summary(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: cannot read the baseline summary ({exc})") from None
    if not isinstance(data, dict) or "metrics" not in data:
        raise UserError(f"{path}: not a summary.json written by rag eval")
    if not isinstance(data.get("provenance"), dict):
        raise UserError(f"{path}: the baseline has no 'provenance' (written by an older rag eval), so whether it "
                        "can be compared is unknown; run the baseline again")
    return data
