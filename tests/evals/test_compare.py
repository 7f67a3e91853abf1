"""A run against its baseline without a model: statuses, per-case deltas, what is and is not comparable, and bad
baselines named clearly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evals.compare import Baseline, compare_runs, status_of
from evals.metrics.answers import METRICS
from evals.provenance import differences, not_comparable
from rag.errors import UserError

PROVENANCE: dict[str, Any] = {
    "judge": {"name": "offline", "fingerprint": "abc", "agreement": None}, "retrieval_ranking": "live retriever",
    "corpus": {"content_sha256": "c1", "embedding_model": "m", "documents": 3}, "backend": "extractive",
    "model": None, "prompts": {"answer.j2": "p1"}, "settings": {"retrieval": {"default_k": 8}},
    "git_commit": "g1", "packages": {"rag": "0.1.0"}, "timestamp": "2026-12-06T00:00:00+00:00",
}


def result(case_id: str, recall: float | None, failures: int = 0, case_hash: str = "h",
           error: str | None = None) -> dict[str, Any]:
    scores = dict.fromkeys(METRICS)
    scores["citation_recall"] = recall
    scores["retrieval_mrr"] = 1.0
    return {"id": case_id, "question": "q", "scores": scores, "case_hash": case_hash, "error": error,
            "failures": [{"check": "citation_recall", "sentence": f"s{i}"} for i in range(failures)],
            "answer": {"sections": [{"title": "From the Research", "text": f"{case_id} answer [1]."}]}}


def baseline(tmp_path: Path, records: list[dict[str, Any]], provenance: dict[str, Any] | None = None) -> Baseline:
    folder = tmp_path / "base"
    folder.mkdir()
    (folder / "summary.json").write_text(json.dumps({"metrics": {}, "provenance": provenance or PROVENANCE}))
    (folder / "cases.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    return Baseline.read(folder)


def test_status_of_a_case() -> None:
    assert status_of(result("a", 1.0)) == "pass"
    assert status_of(result("a", 0.5, failures=1)) == "fail"
    assert status_of(result("a", None, error="timed out")) == "error"


def test_cases_newly_failing_newly_passing_and_changed(tmp_path: Path) -> None:
    before = baseline(tmp_path, [result("a", 1.0), result("b", 0.5, failures=1), result("c", 1.0),
                                 result("d", 0.5, failures=1), result("e", 1.0), result("gone", 1.0)])
    now = [result("a", 0.5, failures=1), result("b", 1.0), result("c", 1.0), result("d", 0.0, failures=2),
           result("e", 1.0, case_hash="edited"), result("new", 1.0)]
    comparison = compare_runs(now, PROVENANCE, before)
    assert comparison.newly_failing == ["a"] and comparison.newly_passing == ["b"] and comparison.changed == ["d"]
    assert comparison.new_cases == ["new"] and comparison.missing_cases == ["gone"]
    assert comparison.content_changed == ["e"], "an edited case is not compared"
    assert now[0]["baseline"]["status"] == "pass" and now[0]["baseline"]["change"] == "newly failing"
    assert now[0]["baseline"]["deltas"]["citation_recall"] == -0.5
    assert now[2]["baseline"]["change"] == "same" and "baseline" not in now[4]
    recall = comparison.metrics["citation_recall"]
    assert recall["cases"] == 4 and recall["delta"] == pytest.approx((-0.5 + 0.5 + 0 - 0.5) / 4)
    assert recall["ci"][0] <= recall["delta"] <= recall["ci"][1] and 0 <= recall["p_value"] <= 1
    assert comparison.differences == {}


def test_a_run_compared_with_itself_has_no_change(tmp_path: Path) -> None:
    records = [result(c, 1.0) for c in "abcdef"] + [result("g", 0.5, failures=1)]
    comparison = compare_runs([dict(r) for r in records], PROVENANCE, baseline(tmp_path, records))
    assert comparison.newly_failing == comparison.newly_passing == comparison.changed == []
    for entry in comparison.metrics.values():
        if entry["delta"] is not None:
            assert entry["delta"] == 0 and entry["ci"] == [0.0, 0.0] and entry["p_value"] == 1.0
            assert not entry["significant"]


def test_a_different_yardstick_makes_its_metrics_not_comparable(tmp_path: Path) -> None:
    precomputed = {**PROVENANCE, "retrieval_ranking": "reference order", "backend": "precomputed",
                   "judge": {"name": "offline", "fingerprint": "recalibrated", "agreement": {"kappa": 0.5}}}
    comparison = compare_runs([result("a", 0.5)], precomputed, baseline(tmp_path, [result("a", 1.0)]))
    assert set(comparison.differences) == {"judge", "retrieval_ranking", "backend"}
    for metric in ("retrieval_mrr", "citation_recall", "citation_precision"):
        entry = comparison.metrics[metric]
        assert not entry["comparable"] and entry["delta"] is None and entry["reason"].endswith("differs")
    assert "retrieval_mrr" not in comparison.deltas() and "citation_recall" not in comparison.deltas()
    assert comparison.to_dict()["metrics"]["citation_recall"]["comparable"] is False


def test_system_changes_are_listed_not_refused() -> None:
    changed = differences({**PROVENANCE, "model": "qwen", "git_commit": "g2", "timestamp": "later"}, PROVENANCE)
    assert set(changed) == {"model", "git_commit"}, "the time of a run is not a difference"
    assert changed["model"] == {"baseline": None, "current": "qwen"}
    assert not_comparable(changed) == {}
    same_judge = {**PROVENANCE, "judge": {**PROVENANCE["judge"], "agreement": {"kappa": 0.6}}}
    assert differences(same_judge, PROVENANCE) == {}, "a new agreement measurement does not change the judge"


def test_bad_baselines_are_named(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="cannot read the baseline summary"):
        Baseline.read(tmp_path / "missing")
    old = tmp_path / "old"
    old.mkdir()
    (old / "summary.json").write_text(json.dumps({"metrics": {}}))
    with pytest.raises(UserError, match="no 'provenance'"):
        Baseline.read(old / "summary.json")
    (old / "summary.json").write_text(json.dumps({"metrics": {}, "provenance": PROVENANCE}))
    with pytest.raises(UserError, match=r"cases.jsonl: cannot read the baseline's cases"):
        Baseline.read(old)
    (old / "cases.jsonl").write_text(json.dumps(result("a", 1.0)) + "\n{not json\n")
    with pytest.raises(UserError, match=r"cases.jsonl:2: not a case result"):
        Baseline.read(old)
    (old / "cases.jsonl").write_text(json.dumps(result("a", 1.0)) + "\n")
    with pytest.raises(UserError, match="no case in common"):
        compare_runs([result("b", 1.0)], PROVENANCE, Baseline.read(old))
