"""The HTML report from hand-built summaries: tags, repeated runs, deltas that cannot be compared, escaping."""

from __future__ import annotations

from evals.metrics.answers import METRICS
from evals.report import render_html


def summary(**extra: object) -> dict[str, object]:
    metrics = {name: {"mean": None, "cases": 0, "ci": None} for name in METRICS}
    metrics["citation_recall"] = {"mean": 0.8, "cases": 2, "ci": [0.6, 1.0]}
    return {"dataset": "d.jsonl", "cases": 2, "errors": 0, "status": {"pass": 1, "fail": 1, "error": 0},
            "metrics": metrics, **extra}


def test_tags_repeat_and_incomparable_deltas_are_shown() -> None:
    by_tag = {"heldout": {"cases": 1, "metrics": {name: {"mean": 0.5 if name == "citation_recall" else None}
                                                   for name in METRICS}}}
    repeat = {"runs": 3, "metrics": {"citation_recall": {"mean": 0.8, "sd": 0.05, "min": 0.75, "max": 0.85}}}
    comparison = {"baseline": "runs/base", "differences": {"judge": {"baseline": "a", "current": "b"}},
                  "metrics": {name: {"delta": None, "ci": None, "p_value": None, "significant": False, "cases": 0,
                                     "comparable": name != "citation_recall", "reason": "judge differs"}
                              for name in METRICS}}
    page = render_html([], summary(by_tag=by_tag, repeat=repeat, comparison=comparison), ["citation_recall=0.9"],
                       ["citation_recall = 0.8 is below the gate 0.9"])
    assert "<h2>By tag</h2>" in page and "<td>heldout</td>" in page and "0.5000" in page
    assert "3 runs of every case" in page and "0.0500" in page
    assert "not comparable: judge differs" in page and "<b>Failed:</b>" in page
    assert "[0.600, 1.000]" in page, "the mean's interval"


def test_case_text_is_escaped() -> None:
    record = {"id": "x<1>", "question": "<script>alert(1)</script>", "status": "fail", "seconds": 0.5,
              "scores": dict.fromkeys(METRICS), "failures": [{"check": "citation_recall", "sentence": "<b>s</b>"}],
              "answer": None, "error": None}
    page = render_html([record], summary())
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "x&lt;1&gt;" in page and "No gate was set" in page
