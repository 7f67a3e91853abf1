"""A self-contained HTML report: the gates and their result, what changed since the baseline, metric bars and a
table with 95% intervals and paired deltas, the cases (regressions first; click a header to sort), each changed
case's answer before and after side by side, and each failing sentence next to the quotes it cites. No external
assets; the one inline script only sorts tables, and the page reads the same without it."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from evals.metrics.answers import LOWER_IS_BETTER, METRICS

_STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:76rem;color:#1b1f24;padding:0 1rem}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #d0d7de;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}table.sortable th{cursor:pointer}.num{text-align:right;font-variant-numeric:tabular-nums}
.bad{color:#b42318}.ok{color:#067647}.muted{color:#57606a}details{margin:.3rem 0}
blockquote{margin:.2rem 0 .2rem 1rem;color:#57606a}.meta{color:#57606a}svg text{font:12px system-ui,sans-serif}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:1rem}.pair>div{border:1px solid #d0d7de;padding:.5rem}
"""
_SORT = """
document.querySelectorAll('table.sortable th').forEach(function(th, col){th.addEventListener('click', function(){
var body=th.closest('table').tBodies[0], rows=Array.from(body.rows), up=th.dataset.dir!=='up';
th.dataset.dir=up?'up':'down';rows.sort(function(a,b){var x=a.cells[col].dataset.v||a.cells[col].textContent,
y=b.cells[col].dataset.v||b.cells[col].textContent,nx=parseFloat(x),ny=parseFloat(y);
var c=(!isNaN(nx)&&!isNaN(ny))?nx-ny:x.localeCompare(y);return up?c:-c;});
rows.forEach(function(r){body.appendChild(r);});
});});
"""
#: Order of cases in the report: what needs a look first.
_RANK = {"newly failing": 0, "error": 1, "changed": 2, "fail": 3, "newly passing": 4, "pass": 5}
_SHOWN = ("citation_recall", "citation_precision", "section_routing", "abstention_correct", "required_facts",
          "answer_correctness")


def render_html(results: Sequence[dict[str, Any]], summary: dict[str, Any], gates: Sequence[str] = (),
                failed: Sequence[str] = ()) -> str:
    """The report as one HTML page; ``results`` are case results as JSON (annotated with ``baseline`` when the run
    was compared), ``gates`` the gates asked for and ``failed`` the messages of those that failed."""
    e = html.escape
    comparison = summary.get("comparison")
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>rag eval — {e(str(summary.get('dataset', '')))}</title><style>{_STYLE}</style></head><body>",
        f"<h1>Evaluation: {e(str(summary.get('dataset', '')))}</h1>", _header(summary),
        "<h2>Gates</h2>", _gates(gates, failed),
    ]
    if comparison:
        parts += ["<h2>Against the baseline</h2>", _comparison(comparison)]
    parts += ["<h2>Metrics</h2>", _bars(summary), _metric_table(summary)]
    if summary.get("by_tag"):
        parts += ["<h2>By tag</h2>", _by_tag(summary["by_tag"])]
    if summary.get("repeat"):
        parts += ["<h2>Across repeated runs</h2>", _spread(summary["repeat"])]
    parts += ["<h2>Cases</h2>", _case_table(results)]
    if comparison:
        parts += ["<h2>Answers before and after</h2>", _before_after(results)]
    parts += ["<h2>Failing sentences</h2>", _failures(results), f"<script>{_SORT}</script></body></html>"]
    return "\n".join(parts)


def _header(summary: dict[str, Any]) -> str:
    e = html.escape
    status = summary.get("status", {})
    time, tokens = summary.get("time", {}), summary.get("tokens", {})
    provenance = summary.get("provenance", {})
    line = (f"<p class='meta'>{summary['cases']} cases · {status.get('pass', 0)} pass · {status.get('fail', 0)} fail · "
            f"{summary['errors']} errors · backend {e(str(summary.get('backend', '')))} · judge "
            f"{e(str(summary.get('judge', '')))} · {time.get('total_s', 0)} s answering and scoring (p50 "
            f"{time.get('p50_s', 0)} s) · tokens {tokens.get('prompt', 0)} in, {tokens.get('completion', 0)} out</p>")
    rows = "".join(f"<tr><th>{e(key)}</th><td>{e(_short(value))}</td></tr>" for key, value in provenance.items())
    return line + f"<details><summary>Provenance</summary><table>{rows}</table></details>"


def _gates(gates: Sequence[str], failed: Sequence[str]) -> str:
    e = html.escape
    if not gates and not failed:
        return "<p class='muted'>No gate was set (--fail-under, --fail-on-regression).</p>"
    asked = "".join(f"<li><code>{e(g)}</code></li>" for g in gates)
    verdict = ("<p class='bad'><b>Failed:</b></p><ul>" + "".join(f"<li class='bad'>{e(m)}</li>" for m in failed)
               + "</ul>") if failed else "<p class='ok'><b>All gates passed.</b></p>"
    return f"<ul>{asked}</ul>{verdict}"


def _comparison(comparison: dict[str, Any]) -> str:
    e = html.escape
    lists = []
    for key in ("newly_failing", "newly_passing", "changed", "new_cases", "missing_cases", "content_changed"):
        ids = comparison.get(key) or []
        style = " class='bad'" if key == "newly_failing" and ids else ""
        lists.append(f"<tr><th>{e(key.replace('_', ' '))}</th><td{style}>{len(ids)}: {e(', '.join(ids))}</td></tr>")
    changed = "".join(f"<tr><th>{e(name)}</th><td>{e(_short(v['baseline']))}</td><td>{e(_short(v['current']))}</td>"
                      "</tr>" for name, v in comparison.get("differences", {}).items())
    what = (f"<p>What differs from the baseline ({e(comparison['baseline'])}):</p><table><tr><th>field</th>"
            f"<th>baseline</th><th>this run</th></tr>{changed}</table>") if changed else (
        f"<p class='muted'>Same provenance as the baseline ({e(comparison['baseline'])}), commit and time apart.</p>")
    return f"<table>{''.join(lists)}</table>{what}"


def _bars(summary: dict[str, Any]) -> str:
    comparison = summary.get("comparison") or {}
    rows = [(m, summary["metrics"][m]["mean"]) for m in METRICS if summary["metrics"][m]["mean"] is not None]
    height = 26 * len(rows) + 10
    svg = [f"<svg role='img' aria-label='metric means' width='720' height='{height}' viewBox='0 0 720 {height}'>"]
    for i, (name, value) in enumerate(rows):
        y = 8 + i * 26
        good = (1 - value) if name in LOWER_IS_BETTER else value
        colour = "#067647" if good >= 0.95 else "#b54708" if good >= 0.8 else "#b42318"
        svg.append(f"<text x='0' y='{y + 14}'>{html.escape(name)}</text>")
        svg.append(f"<rect x='200' y='{y}' width='400' height='18' fill='#eaeef2'/>")
        svg.append(f"<rect x='200' y='{y}' width='{400 * _clip(value):.1f}' height='18' fill='{colour}'/>")
        delta = comparison.get("metrics", {}).get(name, {}).get("delta")
        if delta is not None:
            x = 200 + 400 * _clip(value - delta)
            svg.append(f"<line x1='{x:.1f}' x2='{x:.1f}' y1='{y - 2}' y2='{y + 20}' stroke='#1b1f24' "
                       "stroke-width='2'><title>baseline</title></line>")
        svg.append(f"<text x='610' y='{y + 14}'>{value:.3f}</text>")
    svg.append("</svg>")
    return "".join(svg)


def _metric_table(summary: dict[str, Any]) -> str:
    comparison = summary.get("comparison")
    head = "<th class='num'>Δ vs baseline</th><th class='num'>Δ 95% interval</th><th class='num'>p</th>" \
        if comparison else ""
    rows = [f"<table><tr><th>metric</th><th class='num'>mean</th><th class='num'>95% interval</th>"
            f"<th class='num'>cases</th>{head}</tr>"]
    for name in METRICS:
        entry = summary["metrics"][name]
        cells = (f"<td>{html.escape(name)}</td><td class='num'>{_fmt(entry['mean'])}</td>"
                 f"<td class='num'>{_bounds(entry.get('ci'))}</td><td class='num'>{entry['cases']}</td>")
        if comparison:
            cells += _delta_cells(comparison["metrics"].get(name))
        rows.append(f"<tr>{cells}</tr>")
    return "".join(rows) + "</table>"


def _delta_cells(change: dict[str, Any] | None) -> str:
    if change is None:
        return "<td></td><td></td><td></td>"
    if not change["comparable"]:
        return f"<td class='num muted' colspan='3'>not comparable: {html.escape(str(change['reason']))}</td>"
    mark = " class='num bad'" if change["significant"] else " class='num'"
    flag = " (interval excludes 0)" if change["significant"] else ""
    return (f"<td{mark}>{_fmt(change['delta'], '+')}</td><td{mark}>{_bounds(change['ci'])}{flag}</td>"
            f"<td class='num'>{_fmt(change['p_value'])}</td>")


def _by_tag(by_tag: dict[str, Any]) -> str:
    shown = [m for m in METRICS if any(t["metrics"][m]["mean"] is not None for t in by_tag.values())]
    head = "".join(f"<th class='num'>{html.escape(m)}</th>" for m in shown)
    rows = [f"<table class='sortable'><thead><tr><th>tag</th><th class='num'>cases</th>{head}</tr></thead><tbody>"]
    for tag, entry in by_tag.items():
        cells = "".join(f"<td class='num'>{_fmt(entry['metrics'][m]['mean'])}</td>" for m in shown)
        rows.append(f"<tr><td>{html.escape(tag)}</td><td class='num'>{entry['cases']}</td>{cells}</tr>")
    return "".join(rows) + "</tbody></table>"


def _spread(repeat: dict[str, Any]) -> str:
    rows = [f"<p>{repeat['runs']} runs of every case.</p><table><tr><th>metric</th><th class='num'>mean of runs</th>"
            "<th class='num'>sd</th><th class='num'>min</th><th class='num'>max</th></tr>"]
    for name, entry in repeat["metrics"].items():
        rows.append(f"<tr><td>{html.escape(name)}</td><td class='num'>{_fmt(entry['mean'])}</td><td class='num'>"
                    f"{_fmt(entry['sd'])}</td><td class='num'>{_fmt(entry['min'])}</td><td class='num'>"
                    f"{_fmt(entry['max'])}</td></tr>")
    return "".join(rows) + "</table>"


def _change(result: dict[str, Any]) -> str:
    """``newly failing``, ``newly passing``, ``changed`` against the baseline, else the case's own status."""
    change = (result.get("baseline") or {}).get("change", "same")
    return str(result.get("status", "pass")) if change == "same" else str(change)


def _case_table(results: Sequence[dict[str, Any]]) -> str:
    head = "".join(f"<th class='num'>{html.escape(m)}</th>" for m in _SHOWN)
    rows = [f"<table class='sortable'><thead><tr><th>case</th><th>status</th><th>question</th>{head}"
            "<th class='num'>s</th></tr></thead><tbody>"]
    ordered = sorted(results, key=lambda r: _RANK.get(_change(r), 9))
    for result in ordered:
        change = _change(result)
        deltas = (result.get("baseline") or {}).get("deltas", {})
        cells = "".join(_score_cell(result["scores"].get(m), deltas.get(m)) for m in _SHOWN)
        style = "bad" if change in ("newly failing", "error", "fail") else "ok" if "pass" in change else ""
        detail = f": {html.escape(str(result['error']))}" if result.get("error") else (
            f" ({len(result['failures'])} failing)" if result.get("failures") else "")
        rows.append(f"<tr><td>{html.escape(str(result['id']))}</td><td data-v='{_RANK.get(change, 9)}' "
                    f"class='{style}'>{html.escape(change)}{detail}</td><td>{html.escape(str(result['question']))}"
                    f"</td>{cells}<td class='num'>{result.get('seconds', 0):.2f}</td></tr>")
    return "".join(rows) + "</tbody></table>"


def _score_cell(value: float | None, delta: float | None) -> str:
    if value is None:
        return "<td class='num' data-v='-1'>—</td>"
    shown = f"{value:.2f}" + (f" <span class='{'bad' if delta < 0 else 'ok'}'>({delta:+.2f})</span>" if delta else "")
    return f"<td class='num' data-v='{value}'>{shown}</td>"


def _before_after(results: Sequence[dict[str, Any]]) -> str:
    blocks = []
    for result in sorted(results, key=lambda r: _RANK.get(_change(r), 9)):
        change = _change(result)
        if change not in ("newly failing", "newly passing", "changed"):
            continue
        before = result["baseline"]
        blocks.append(f"<details{' open' if change == 'newly failing' else ''}><summary><b>"
                      f"{html.escape(str(result['id']))}</b> · {html.escape(change)}</summary><div class='pair'>"
                      f"<div><p class='muted'>baseline: {html.escape(before['status'])}</p>"
                      f"{_answer_text(before.get('answer'))}{_failure_list(before.get('failures', []))}</div>"
                      f"<div><p class='muted'>this run: {html.escape(str(result.get('status')))}</p>"
                      f"{_answer_text(result.get('answer'))}{_failure_list(result.get('failures', []))}</div>"
                      "</div></details>")
    return "".join(blocks) or "<p class='ok'>No case changed.</p>"


def _answer_text(answer: dict[str, Any] | None) -> str:
    if not answer:
        return "<p class='muted'>(no answer)</p>"
    sections = "".join(f"<p><b>{html.escape(str(s.get('title', s.get('kind', ''))))}</b><br>"
                       f"{html.escape(str(s.get('text', '')))}</p>" for s in answer.get("sections", []))
    references = "".join(f"<li>[{r.get('n')}] {html.escape(str(r.get('doc_id', '')))}</li>"
                         for r in answer.get("references", []))
    return sections + (f"<ul class='muted'>{references}</ul>" if references else "")


def _failure_list(failures: Sequence[dict[str, Any]]) -> str:
    if not failures:
        return ""
    items = "".join(f"<li>{html.escape(str(f.get('check')))}: {html.escape(str(f.get('sentence')))}</li>"
                    for f in failures)
    return f"<ul class='bad'>{items}</ul>"


def _failures(results: Sequence[dict[str, Any]]) -> str:
    blocks = []
    for result in results:
        for failure in result.get("failures", []):
            quotes = "".join(f"<blockquote>{html.escape(str(q))}</blockquote>" for q in failure.get("quotes", []))
            blocks.append(f"<details><summary><b>{html.escape(str(result['id']))}</b> · "
                          f"{html.escape(str(failure['check']))}: {html.escape(str(failure['sentence']))}</summary>"
                          f"{quotes or '<p>(no quote)</p>'}</details>")
    return "".join(blocks) or "<p class='ok'>None.</p>"


def _fmt(value: float | None, sign: str = "") -> str:
    return "—" if value is None else f"{value:{sign}.4f}"


def _bounds(bounds: Sequence[float] | None) -> str:
    return "" if not bounds else f"[{bounds[0]:.3f}, {bounds[1]:.3f}]"


def _clip(value: float) -> float:
    return max(0.0, min(1.0, value))


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 400 else text[:400] + " …"
