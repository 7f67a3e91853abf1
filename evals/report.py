"""A self-contained HTML report: metric bars (with the baseline when given), a per-case table, and each failing
sentence next to the quotes it cites. No scripts, no external assets: it opens from disk anywhere."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from evals.metrics.answers import LOWER_IS_BETTER, METRICS

_STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:70rem;color:#1b1f24;padding:0 1rem}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #d0d7de;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}.num{text-align:right;font-variant-numeric:tabular-nums}.bad{color:#b42318}
.ok{color:#067647}details{margin:.3rem 0}blockquote{margin:.2rem 0 .2rem 1rem;color:#57606a}
.meta{color:#57606a}svg text{font:12px system-ui,sans-serif}
"""


def render_html(results: Sequence[Any], summary: dict[str, Any], deltas: dict[str, float] | None) -> str:
    """The report as one HTML page; ``results`` are :class:`evals.runner.CaseResult` objects and ``deltas``
    the change of each metric against a baseline."""
    e = html.escape
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>rag eval — {e(str(summary.get('dataset', '')))}</title><style>{_STYLE}</style></head><body>",
        f"<h1>Evaluation: {e(str(summary.get('dataset', '')))}</h1>",
        f"<p class='meta'>{summary['cases']} cases · {summary['errors']} errors · backend "
        f"{e(str(summary.get('backend', '')))} · judge {e(str(summary.get('judge', '')))}</p>",
        "<h2>Metrics</h2>", _bars(summary, deltas), _metric_table(summary, deltas),
        "<h2>Cases</h2>", _case_table(results), "<h2>Failing sentences</h2>", _failures(results),
        "</body></html>",
    ]
    return "\n".join(parts)


def _bars(summary: dict[str, Any], deltas: dict[str, float] | None) -> str:
    rows = [(m, summary["metrics"][m]["mean"]) for m in METRICS if summary["metrics"][m]["mean"] is not None]
    height = 26 * len(rows) + 10
    svg = [f"<svg role='img' aria-label='metric means' width='720' height='{height}' viewBox='0 0 720 {height}'>"]
    for i, (name, value) in enumerate(rows):
        y = 8 + i * 26
        good = (1 - value) if name in LOWER_IS_BETTER else value
        colour = "#067647" if good >= 0.95 else "#b54708" if good >= 0.8 else "#b42318"
        svg.append(f"<text x='0' y='{y + 14}'>{html.escape(name)}</text>")
        svg.append(f"<rect x='200' y='{y}' width='400' height='18' fill='#eaeef2'/>")
        svg.append(f"<rect x='200' y='{y}' width='{400 * max(0.0, min(1.0, value)):.1f}' height='18' "
                   f"fill='{colour}'/>")
        if deltas and name in deltas:
            before = value - deltas[name]
            svg.append(f"<line x1='{200 + 400 * max(0.0, min(1.0, before)):.1f}' x2='"
                       f"{200 + 400 * max(0.0, min(1.0, before)):.1f}' y1='{y - 2}' y2='{y + 20}' stroke='#1b1f24' "
                       "stroke-width='2'><title>baseline</title></line>")
        svg.append(f"<text x='610' y='{y + 14}'>{value:.3f}</text>")
    svg.append("</svg>")
    return "".join(svg)


def _metric_table(summary: dict[str, Any], deltas: dict[str, float] | None) -> str:
    rows = ["<table><tr><th>metric</th><th class='num'>mean</th><th class='num'>cases</th>"
            "<th class='num'>Δ vs baseline</th></tr>"]
    for name in METRICS:
        entry = summary["metrics"][name]
        mean = "—" if entry["mean"] is None else f"{entry['mean']:.4f}"
        delta = "" if not deltas or name not in deltas else f"{deltas[name]:+.4f}"
        rows.append(f"<tr><td>{html.escape(name)}</td><td class='num'>{mean}</td><td class='num'>{entry['cases']}"
                    f"</td><td class='num'>{delta}</td></tr>")
    return "".join(rows) + "</table>"


def _case_table(results: Sequence[Any]) -> str:
    shown = ("citation_recall", "citation_precision", "section_routing", "abstention_correct", "retrieval_ndcg@10")
    head = "".join(f"<th class='num'>{html.escape(m)}</th>" for m in shown)
    rows = [f"<table><tr><th>case</th><th>question</th>{head}<th>status</th></tr>"]
    for result in results:
        cells = "".join(
            f"<td class='num'>{'—' if result.scores.get(m) is None else f'{result.scores[m]:.2f}'}</td>" for m in shown
        )
        status = (f"<span class='bad'>error: {html.escape(result.error)}</span>" if result.error else
                  f"<span class='bad'>{len(result.failures)} failing</span>" if result.failures else
                  "<span class='ok'>ok</span>")
        rows.append(f"<tr><td>{html.escape(result.id)}</td><td>{html.escape(result.question)}</td>{cells}"
                    f"<td>{status}</td></tr>")
    return "".join(rows) + "</table>"


def _failures(results: Sequence[Any]) -> str:
    blocks = []
    for result in results:
        for failure in result.failures:
            quotes = "".join(f"<blockquote>{html.escape(str(q))}</blockquote>" for q in failure.get("quotes", []))
            blocks.append(f"<details><summary><b>{html.escape(result.id)}</b> · {html.escape(str(failure['check']))}"
                          f": {html.escape(str(failure['sentence']))}</summary>{quotes or '<p>(no quote)</p>'}"
                          "</details>")
    return "".join(blocks) or "<p class='ok'>None.</p>"
