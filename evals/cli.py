"""``rag eval`` and ``rag judge``: the eval harness's commands, added to the ``rag`` command line through the
``rag.commands`` entry points (the library never imports the harness)."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import click
from rich.console import Console
from rich.table import Table

from rag.cli.common import (
    LinesSkipped,
    common_options,
    components,
    emit,
    load_settings,
    progress_bar,
    reported_errors,
    skip_line,
)
from rag.contract import BACKENDS, check_backend
from rag.errors import RagError, UserError

if TYPE_CHECKING:
    from evals.agreement import Agreement
    from rag.judge.protocol import Judge, Judgment


@click.command("eval")
@click.argument("dataset", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--answers", "answers_file", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Score these precomputed answers (one Answer JSON a line) instead of answering.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), default=Path("eval-out"),
              show_default=True, help="Where cases.jsonl, summary.json and report.html are written.")
@click.option("--baseline", type=click.Path(path_type=Path), default=None,
              help="A previous run's output folder (or its summary.json, with cases.jsonl beside it): per-case and "
                   "per-metric deltas.")
@click.option("--fail-under", "gates", multiple=True, metavar="METRIC=VALUE[@lower]",
              help="Exit 1 when METRIC's mean is below VALUE (above, for uncited_rate); @lower / @upper gates that "
                   "end of its 95% interval. Repeatable.")
@click.option("--fail-on-regression", is_flag=True,
              help="With --baseline: exit 1 when a case that passed in the baseline does not pass now.")
@click.option("--repeat", type=click.IntRange(1, 100), default=1, show_default=True,
              help="Answer each case N times (model backends vary) and report each metric's spread across runs.")
@click.option("--llm", "backend", type=click.Choice(BACKENDS), default=None)
@click.option("--judge", "judge_spec", default="offline", show_default=True,
              help="offline, llm, or a local NLI / cross-encoder model folder.")
@click.option("--workers", type=int, default=2, show_default=True)
@common_options
def eval_command(dataset: Path, answers_file: Path | None, out_dir: Path, baseline: Path | None,
                 gates: tuple[str, ...], fail_on_regression: bool, repeat: int, backend: str | None,
                 judge_spec: str, workers: int, data_dir: Path | None, as_json: bool) -> None:
    """Score answers to an eval DATASET: citation grounding, routing, abstention, retrieval, correctness; compare
    with a baseline case by case; write a report."""
    from evals.agreement import last_agreement
    from evals.cases import load_cases
    from evals.compare import Baseline, compare_runs
    from evals.provenance import collect
    from evals.runner import as_records, check_gates, merge_runs, parse_gates, summarize, write_outputs
    from evals.wiring import eval_runner

    settings = load_settings(data_dir)
    with reported_errors():
        parsed_gates = parse_gates(gates)
        if repeat > 1 and answers_file is not None:
            raise UserError("--repeat answers each case again; precomputed answers (--answers) are the same each time")
        if fail_on_regression and baseline is None:
            raise UserError("--fail-on-regression needs --baseline")
        cases, errors = load_cases(dataset)
        for error in errors:
            click.echo(f"skipped {error.source}: {error.reason}", err=True)
        before = Baseline.read(baseline) if baseline else None  # a bad baseline fails before any answering
        with components(settings, answering=answers_file is None) as built:
            out_dir.mkdir(parents=True, exist_ok=True)
            partial = out_dir / "cases.partial.jsonl"
            partial.unlink(missing_ok=True)
            runs = []
            for run in range(repeat):
                label = "answering" if repeat == 1 else f"run {run + 1} of {repeat}"
                with progress_bar(not as_json and sys.stderr.isatty(), label) as progress:
                    runner = eval_runner(built, cases, answers_file=answers_file, backend=check_backend(backend),
                                         judge=judge_spec, workers=workers, progress=progress)
                    runs.append(runner.run(cases, partial=partial))
            for problem in runner.input_errors:
                click.echo(f"skipped {problem}", err=True)
            results = merge_runs(runs)
            used = "precomputed" if answers_file else (backend or settings.generation.backend)
            provenance = collect(built, dataset=dataset, judge=runner.judge, backend=used,
                                 retrieval_ranking=runner.retrieval_ranking,
                                 judge_agreement=last_agreement(settings.data_dir, runner.judge))
            meta = {"dataset": str(dataset), "backend": used, "judge": runner.judge_name,
                    "skipped_lines": len(errors) + len(runner.input_errors), "provenance": provenance}
            summary = summarize(results, meta, {case.id: case.tags for case in cases})
            records = as_records(results)
            comparison = compare_runs(records, provenance, before) if before else None
            summary["deltas"] = comparison.deltas() if comparison else {}
            if comparison:
                summary["comparison"] = comparison.to_dict()
            failed = check_gates(summary, parsed_gates)
            if comparison and fail_on_regression and comparison.newly_failing:
                failed.append(f"{len(comparison.newly_failing)} case(s) passed in the baseline and fail now: "
                              f"{', '.join(comparison.newly_failing)}")
            summary["gates"] = {"asked": list(gates), "failed": failed}
            paths = write_outputs(out_dir, records, summary, gates, failed)
            partial.unlink(missing_ok=True)
    if as_json:
        emit({**summary, "gates_failed": failed, "outputs": {k: str(v) for k, v in paths.items()}})
    else:
        _print_summary(summary, failed, paths)
    sys.exit(1 if failed else 0)


@click.command()
@click.option("--pairs", "pairs_file", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help='JSONL of {"id", "claim", "passage"} lines.')
@click.option("--judge", "judge_spec", default="offline", show_default=True)
@click.option("--labels", "labelled", is_flag=True,
              help='Every line also carries a "label" (true/false, "supported"/"unsupported" or 1/0): report the '
                   "judge's agreement with the labels, and record it in judge-agreement.json in the data dir.")
@common_options
def judge(pairs_file: Path, judge_spec: str, labelled: bool, data_dir: Path | None, as_json: bool) -> None:
    """Does each passage support its claim? Writes {"id", "supported", "score"} lines; with --labels, the judge's
    agreement with the labels instead."""
    settings = load_settings(data_dir)
    with reported_errors():
        try:
            raw = pairs_file.read_bytes()
        except OSError as exc:
            raise UserError(f"{pairs_file}: cannot read ({exc.strerror})") from None
        pairs, skipped = _read_pairs(pairs_file, raw, labelled)
        with components(settings) as built:
            chosen = built.judge(judge_spec)
            judgments = chosen.judge_many([(pair.claim, pair.passage) for pair in pairs])
        if labelled:
            _report_agreement(settings.data_dir, chosen, pairs_file, raw, pairs, judgments, as_json)
        else:
            for pair, judgment in zip(pairs, judgments, strict=True):
                emit({"id": pair.id, "supported": judgment.supported, "score": judgment.score})
        if skipped:
            raise LinesSkipped(pairs_file, skipped)


class _Pair(NamedTuple):
    id: object
    claim: str
    passage: str
    label: bool | None


def _read_pairs(path: Path, raw: bytes, labelled: bool) -> tuple[list[_Pair], int]:
    """The pairs of a pairs file, and how many bad lines were reported (each named by file and line)."""
    from rag.loaders.jsonl import iter_json_lines

    records = list(iter_json_lines(path, raw))
    if labelled and not any(isinstance(r, dict) and "label" in r for _, r in records):
        raise UserError(f"{path}: no line carries a 'label' field, which --labels needs on every line")
    pairs: list[_Pair] = []
    first_line: dict[str, int] = {}  # an id (as JSON) -> the line that used it first
    skipped = 0
    for number, record in records:
        try:
            pair = _pair(number, record, labelled)
            key = json.dumps(pair.id)
            if key in first_line:  # its judgment could not be told from the first one's
                raise UserError(f"id {key} was already used on line {first_line[key]}")
        except RagError as error:
            skipped += skip_line(path, number, error)
            continue
        first_line[key] = number
        pairs.append(pair)
    return pairs, skipped


def _pair(number: int, record: dict[str, Any] | RagError, labelled: bool) -> _Pair:
    """One line's pair; a RagError when the line is not one."""
    from evals.agreement import parse_label

    if isinstance(record, RagError):
        raise record
    if not isinstance(record.get("claim"), str) or not isinstance(record.get("passage"), str):
        raise UserError("fields 'claim' and 'passage' (strings) are required")
    if labelled and "label" not in record:
        raise UserError("field 'label' is required with --labels")
    label = parse_label(record["label"]) if labelled else None
    return _Pair(record.get("id", number), record["claim"], record["passage"], label)


def _report_agreement(data_dir: Path, chosen: Judge, pairs_file: Path, raw: bytes, pairs: list[_Pair],
                      judgments: list[Judgment], as_json: bool) -> None:
    """Measure the judge against the labels, record it (when there was a pair) and print it."""
    from evals.agreement import measure, record_agreement

    agreement = measure([bool(pair.label) for pair in pairs], judgments)
    digest = hashlib.sha256(raw).hexdigest()
    recorded = record_agreement(data_dir, chosen, pairs_file, digest, agreement) if pairs else None
    if as_json:
        emit({"judge": chosen.name, "fingerprint": chosen.fingerprint, "pairs_file": str(pairs_file),
              "pairs_sha256": digest, **agreement.to_dict(), "recorded": str(recorded) if recorded else None})
    else:
        _print_agreement(f"{chosen.name}@{chosen.fingerprint}", pairs_file, agreement, recorded)


def _print_agreement(judge_key: str, pairs_file: Path, agreement: Agreement, recorded: Path | None) -> None:
    own = agreement.decisions
    console = Console()
    console.print(f"{pairs_file}: {judge_key}, {own.n} pairs ({own.tp + own.fn} supported, {own.fp + own.tn} "
                  "unsupported)", highlight=False)
    matrix = Table(title="labels against the judge's decisions")
    for column in ("label", "judged supported", "judged unsupported"):
        matrix.add_column(column, justify="left" if column == "label" else "right")
    matrix.add_row("supported", f"{own.tp} (TP)", f"{own.fn} (FN)")
    matrix.add_row("unsupported", f"{own.fp} (FP)", f"{own.tn} (TN)")
    console.print(matrix)
    metrics = Table(title="the judge's decisions")
    metrics.add_column("metric")
    metrics.add_column("value", justify="right")
    for name in ("balanced_accuracy", "kappa", "accuracy", "precision", "recall"):
        metrics.add_row(name, _figure(getattr(own, name)))
    console.print(metrics)
    console.print(_sweep_table(agreement))
    best = agreement.best_threshold
    console.print(f"best threshold (highest balanced accuracy): {'—' if best is None else f'{best:.2f}'}",
                  highlight=False)
    if recorded is not None:
        console.print(f"recorded in {recorded}", highlight=False)


def _sweep_table(agreement: Agreement) -> Table:
    table = Table(title='"supported" when score >= threshold (* best)')
    for column in ("threshold", "TP", "FP", "FN", "TN", "balanced_accuracy", "kappa"):
        table.add_column(column, justify="right")
    best = agreement.best_threshold
    rows = [("judge", agreement.decisions)]
    rows += [(f"{t:.2f}" + (" *" if t == best else ""), c) for t, c in agreement.sweep]
    for label, counts in rows:
        table.add_row(label, str(counts.tp), str(counts.fp), str(counts.fn), str(counts.tn),
                      _figure(counts.balanced_accuracy), _figure(counts.kappa))
    return table


def _figure(value: float | None) -> str:
    return "—" if value is None else f"{value:.4f}"


def _print_summary(summary: dict[str, Any], failed: list[str], paths: dict[str, Path]) -> None:
    table = Table(title=f"{summary['dataset']}: {summary['cases']} cases, {summary['status']['pass']} pass, "
                        f"{summary['status']['fail']} fail, {summary['errors']} errors")
    comparison = summary.get("comparison")
    columns = ["metric", "mean", "95% CI", "n"] + (["Δ", "Δ 95% CI", "p"] if comparison else [])
    for column in columns:
        table.add_column(column, justify="left" if column == "metric" else "right", no_wrap=True)
    reasons: set[str] = set()
    for name, entry in summary["metrics"].items():
        row = [name, _number(entry["mean"]), _interval(entry["ci"]), str(entry["cases"])]
        if comparison:
            change = comparison["metrics"][name]
            if not change["comparable"]:
                reasons.add(change["reason"])
            row += ([_number(change["delta"], "+"), _interval(change["ci"]), _number(change["p_value"], digits=3)]
                    if change["comparable"] else ["n/c", "", ""])
        table.add_row(*row)
    console = Console()
    if not console.is_terminal:  # a log or a pipe: no need to fold the table into 80 columns
        console = Console(width=120)
    console.print(table)
    if reasons:
        console.print(f"n/c: not comparable ({'; '.join(sorted(reasons))})", highlight=False)
    if comparison:
        for key in ("newly_failing", "newly_passing", "changed"):
            if comparison[key]:
                console.print(f"{key.replace('_', ' ')}: {', '.join(comparison[key])}", highlight=False)
        if comparison["differences"]:
            console.print(f"differs from the baseline: {', '.join(comparison['differences'])}", highlight=False)
    for message in failed:
        console.print(f"[red]gate failed:[/red] {message}", highlight=False)
    console.print(f"report: {paths['report']}", highlight=False)


def _number(value: float | None, sign: str = "", digits: int = 4) -> str:
    return "—" if value is None else f"{value:{sign}.{digits}f}"


def _interval(bounds: list[float] | None) -> str:
    return "" if not bounds else f"[{bounds[0]:.3f}, {bounds[1]:.3f}]"
