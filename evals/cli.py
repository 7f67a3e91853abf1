"""``rag eval`` and ``rag judge``: the eval harness's commands, added to the ``rag`` command line through the
``rag.commands`` entry points (the library never imports the harness)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

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


@click.command("eval")
@click.argument("dataset", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--answers", "answers_file", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Score these precomputed answers (one Answer JSON a line) instead of answering.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), default=Path("eval-out"),
              show_default=True, help="Where cases.jsonl, summary.json and report.html are written.")
@click.option("--baseline", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="A previous summary.json: print the deltas.")
@click.option("--fail-under", "gates", multiple=True, metavar="METRIC=VALUE",
              help="Exit 1 when METRIC's mean is below VALUE (above, for uncited_rate). Repeatable.")
@click.option("--llm", "backend", type=click.Choice(BACKENDS), default=None)
@click.option("--judge", "judge_spec", default="offline", show_default=True,
              help="offline, llm, or a local NLI / cross-encoder model folder.")
@click.option("--workers", type=int, default=2, show_default=True)
@common_options
def eval_command(dataset: Path, answers_file: Path | None, out_dir: Path, baseline: Path | None,
                 gates: tuple[str, ...], backend: str | None, judge_spec: str, workers: int, data_dir: Path | None,
                 as_json: bool) -> None:
    """Score answers to an eval DATASET: citation grounding, routing, abstention, retrieval; write a report."""
    from evals.cases import load_cases
    from evals.runner import check_gates, compare, parse_gates, summarize, write_outputs
    from evals.wiring import eval_runner

    settings = load_settings(data_dir)
    with reported_errors():
        parsed_gates = parse_gates(gates)
        cases, errors = load_cases(dataset)
        for error in errors:
            click.echo(f"skipped {error.source}: {error.reason}", err=True)
        baseline_summary = _read_json(baseline) if baseline else None
        with components(settings, answering=answers_file is None) as built:
            out_dir.mkdir(parents=True, exist_ok=True)
            partial = out_dir / "cases.partial.jsonl"
            partial.unlink(missing_ok=True)
            with progress_bar(not as_json and sys.stderr.isatty(), "answering") as progress:
                runner = eval_runner(built, cases, answers_file=answers_file, backend=check_backend(backend),
                                     judge=judge_spec, workers=workers, progress=progress)
                for problem in runner.input_errors:
                    click.echo(f"skipped {problem}", err=True)
                results = runner.run(cases, partial=partial)
            skipped = len(errors) + len(runner.input_errors)
            meta = {"dataset": str(dataset), "backend": "precomputed" if answers_file else (
                backend or settings.generation.backend), "judge": runner.judge_name, "skipped_lines": skipped}
            summary = summarize(results, meta, {case.id: case.tags for case in cases})
            deltas = compare(summary, baseline_summary) if baseline_summary else None
            paths = write_outputs(out_dir, results, summary, deltas)
            partial.unlink(missing_ok=True)
    failed = check_gates(summary, parsed_gates)
    if as_json:
        emit({**summary, "deltas": deltas or {}, "gates_failed": failed, "outputs": {k: str(v) for k, v in
                                                                                  paths.items()}})
    else:
        _print_summary(summary, deltas, failed, paths)
    sys.exit(1 if failed else 0)


@click.command()
@click.option("--pairs", "pairs_file", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help='JSONL of {"id", "claim", "passage"} lines.')
@click.option("--judge", "judge_spec", default="offline", show_default=True)
@common_options
def judge(pairs_file: Path, judge_spec: str, data_dir: Path | None, as_json: bool) -> None:
    """Does each passage support its claim? Writes {"id", "supported", "score"} lines."""
    from rag.loaders.jsonl import iter_json_lines

    settings = load_settings(data_dir)
    with reported_errors():
        try:
            raw = pairs_file.read_bytes()
        except OSError as exc:
            raise UserError(f"{pairs_file}: cannot read ({exc.strerror})") from None
        pairs: list[tuple[object, str, str]] = []
        first_line: dict[str, int] = {}  # an id (as JSON) -> the line that used it first
        skipped = 0
        for number, record in iter_json_lines(pairs_file, raw):
            if isinstance(record, RagError):
                skipped += skip_line(pairs_file, number, record)
                continue
            if not isinstance(record.get("claim"), str) or not isinstance(record.get("passage"), str):
                skipped += skip_line(pairs_file, number, UserError("fields 'claim' and 'passage' (strings) are "
                                                                    "required"))
                continue
            pair_id = record.get("id", number)
            key = json.dumps(pair_id)
            if key in first_line:  # its judgment could not be told from the first one's
                skipped += skip_line(pairs_file, number, UserError(f"id {key} was already used on line "
                                                                    f"{first_line[key]}"))
                continue
            first_line[key] = number
            pairs.append((pair_id, record["claim"], record["passage"]))
        with components(settings) as built:
            judgments = built.judge(judge_spec).judge_many([(c, p) for _, c, p in pairs])
        for (pair_id, _, _), judgment in zip(pairs, judgments, strict=True):
            emit({"id": pair_id, "supported": judgment.supported, "score": judgment.score})
        if skipped:
            raise LinesSkipped(pairs_file, skipped)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: cannot read the baseline summary ({exc})") from None
    if not isinstance(data, dict) or "metrics" not in data:
        raise UserError(f"{path}: not a summary.json written by rag eval")
    return data


def _print_summary(summary: dict[str, Any], deltas: dict[str, float] | None, failed: list[str],
                   paths: dict[str, Path]) -> None:
    table = Table(title=f"{summary['dataset']}: {summary['cases']} cases, {summary['errors']} errors")
    for column in ("metric", "mean", "cases", "delta"):
        table.add_column(column, justify="left" if column == "metric" else "right")
    for name, entry in summary["metrics"].items():
        mean = "—" if entry["mean"] is None else f"{entry['mean']:.4f}"
        delta = f"{deltas[name]:+.4f}" if deltas and name in deltas else ""
        table.add_row(name, mean, str(entry["cases"]), delta)
    console = Console()
    console.print(table)
    for message in failed:
        console.print(f"[red]gate failed:[/red] {message}", highlight=False)
    console.print(f"report: {paths['report']}", highlight=False)
