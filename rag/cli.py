"""The ``rag`` command line: ingest, stats, search. JSON contracts are in DESIGN.md; ``--json`` prints them.

Exit codes: 0 success; 1 when some sources failed (the rest were ingested) or a runtime failure; 2 on usage errors.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from rag.answer.contract import AUDIENCES
from rag.answer.render import render_markdown
from rag.config import Settings
from rag.errors import RagError, UserError
from rag.filters import Filters
from rag.ingest import IngestReport
from rag.loaders import FORMAT_NAMES, check_format
from rag.models import KINDS, Hit, Kind
from rag.retrieve import MODES, Retriever, check_mode

F = TypeVar("F", bound=Callable[..., Any])
logger = logging.getLogger(__name__)


class UsageExit(click.UsageError):
    """A usage error that click prints and exits with code 2."""


def common_options(func: F) -> F:
    """``--data-dir`` and ``--json`` on every command."""
    func = click.option("--json", "as_json", is_flag=True, help="Print the JSON result instead of a table.")(func)
    func = click.option(
        "--data-dir", type=click.Path(path_type=Path, file_okay=False), default=None,
        help="Index location (env RAG_DATA_DIR, default ./.rag).",
    )(func)
    return func


def load_settings(data_dir: Path | None) -> Settings:
    try:
        return Settings(data_dir=data_dir) if data_dir is not None else Settings()
    except ValidationError as exc:
        details = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise UsageExit(f"invalid settings (RAG_* environment variables): {details}") from None


@contextmanager
def components(settings: Settings, *, answering: bool = False) -> Iterator[Any]:
    """The components for one command. ``answering``: the command answers from the index, so a missing or empty
    index is an error rather than "no evidence" (a mistyped --data-dir must not look like a corpus without any), and
    a missing one is not created."""
    from rag.factory import Components  # deferred: importing Chroma and the model stack takes seconds
    from rag.store.index import catalog_file

    # Server mode keeps its catalog replica in the data dir and builds it on first open: count after opening.
    if answering and not settings.chroma_url and not (settings.data_dir / catalog_file(settings)).is_file():
        raise UserError(f"no index in {settings.data_dir}: run `rag ingest PATH` first, or point --data-dir "
                        "(env RAG_DATA_DIR) at an existing index")
    built = Components(settings)
    try:
        if answering and built.index.catalog.is_empty():
            raise UserError(f"the index in {settings.data_dir} holds no documents: run `rag ingest PATH` first")
        yield built
    finally:
        built.close()


class LinesSkipped(RagError):
    """Some input lines were reported and skipped; the others were processed (exit 1)."""

    def __init__(self, path: Path, count: int) -> None:
        super().__init__(f"{path}: {count} line{'s' if count > 1 else ''} skipped (see above); the others ran")


def _skip_line(path: Path, number: int, error: RagError) -> int:
    """Reports a bad input line on stderr, named by file and line number; counts it."""
    message = str(error)
    prefix = f"{path}:{number}"
    click.echo(f"skipped {message if message.startswith(prefix) else f'{prefix}: {message}'}", err=True)
    return 1


@contextmanager
def reported_errors() -> Iterator[None]:
    """Our errors become one clear line on stderr and an exit code, never a stack trace."""
    try:
        yield
    except UserError as exc:
        raise UsageExit(str(exc)) from None
    except RagError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except Exception as exc:
        logger.debug("unexpected error", exc_info=True)
        click.echo(f"error: unexpected {type(exc).__name__}: {exc} (run with -vv for details)", err=True)
        sys.exit(1)


def check_kind(value: object) -> Kind | None:
    """A kind from user input: None, 'guideline' or 'study'."""
    if value is None:
        return None
    if value not in KINDS:
        raise UserError(f"kind must be 'guideline' or 'study', got {value!r}")
    return value


def emit(payload: object) -> None:
    click.echo(json.dumps(payload, ensure_ascii=False))


@click.group()
@click.version_option(package_name="rag")
@click.option("-v", "--verbose", count=True, help="More log output on stderr (-vv for debug).")
def main(verbose: int) -> None:
    """Cited, guideline-first answers from a local corpus of guidelines and studies."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--kind", type=click.Choice(KINDS), default=None, help="Kind for sources that do not state one.")
@click.option("--format", "fmt", type=click.Choice(FORMAT_NAMES), default="auto", show_default=True)
@click.option("--prune", is_flag=True, help="Remove documents under PATHS whose source is gone.")
@common_options
def ingest(paths: tuple[Path, ...], kind: str | None, fmt: str, prune: bool, data_dir: Path | None,
           as_json: bool) -> None:
    """Add, update (and with --prune remove) documents from files and folders, incrementally."""
    settings = load_settings(data_dir)
    show_progress = not as_json and sys.stderr.isatty()
    with reported_errors(), components(settings) as built, _progress(show_progress) as progress:
        report = built.ingestor().run(
            list(paths), fmt=check_format(fmt), kind=check_kind(kind), prune=prune, progress=progress
        )
        if report.chunks:
            # the first query of a new index prepares the query encoder (an ONNX export, ~10 s); do it now, while the
            # model is loaded for embedding anyway, so that the first `rag ask` answers at once
            built.embedder.embed_query("warm-up")
    if as_json:
        emit(report.as_dict())
    else:
        _print_report(report)
    sys.exit(1 if report.failed else 0)


@main.command()
@click.option("--verify", is_flag=True, help="Also check that the catalog, BM25 table and vectors agree.")
@common_options
def stats(verify: bool, data_dir: Path | None, as_json: bool) -> None:
    """Documents and chunks in the index, by kind."""
    settings = load_settings(data_dir)
    with reported_errors(), components(settings) as built:
        documents, chunks, by_kind = built.index.catalog.counts()
        payload: dict[str, Any] = {
            "documents": documents, "chunks": chunks, "by_kind": {kind: by_kind.get(kind, 0) for kind in KINDS},
        }
        if verify:
            payload["verify"] = built.index.verify()
    if as_json:
        emit(payload)
        return
    table = Table(title=f"Index at {settings.data_dir}")
    for column in ("documents", "chunks", *KINDS):
        table.add_column(column, justify="right")
    table.add_row(str(documents), str(chunks), *(str(payload["by_kind"][k]) for k in KINDS))
    Console().print(table)
    if verify:
        Console().print(payload["verify"])
    if verify and not payload["verify"]["consistent"]:
        sys.exit(1)


@main.command()
@click.argument("query", required=False)
@click.option("-k", "k", type=int, default=None, help="Number of passages (default 8).")
@click.option("--kind", type=click.Choice(KINDS), default=None, help="Only guidelines or only studies.")
@click.option("--sections", is_flag=True, help="Guidelines and studies retrieved separately (their own k).")
@click.option("--mode", type=click.Choice(MODES), default="hybrid", show_default=True,
              help="hybrid (dense + BM25), dense only, or BM25 only.")
@click.option("--year-from", type=int, default=None, help="Published in or after this year.")
@click.option("--year-to", type=int, default=None, help="Published in or before this year.")
@click.option("--design", "designs", multiple=True, help="Only this study design (repeatable).")
@click.option("--doc-id", "doc_ids", multiple=True, help="Only this document (repeatable).")
@click.option("--batch", "batch", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="JSONL of {id, query, kind, k, filters, mode} lines; writes one {id, hits} line per query.")
@common_options
def search(query: str | None, k: int | None, kind: str | None, sections: bool, mode: str, year_from: int | None,
           year_to: int | None, designs: tuple[str, ...], doc_ids: tuple[str, ...], batch: Path | None,
           data_dir: Path | None, as_json: bool) -> None:
    """Find the passages that best match QUERY (hybrid: dense + BM25, fused)."""
    if (query is None) == (batch is None):
        raise UsageExit("give either a QUERY or --batch FILE")
    settings = load_settings(data_dir)
    with reported_errors():
        raw_filters: dict[str, Any] = {"kinds": [kind] if kind else None, "year_from": year_from,
                                       "year_to": year_to, "study_designs": list(designs) or None,
                                       "doc_ids": list(doc_ids) or None}
        filters = Filters.parse({key: value for key, value in raw_filters.items() if value is not None})
        with components(settings, answering=True) as built:
            retriever = built.retriever()
            if batch is not None:
                _search_batch(retriever, batch)
                return
            assert query is not None
            if sections:
                found = retriever.search_sections(query, k, k, filters, check_mode(mode))
                payload: dict[str, Any] = {"sections": {
                    "guidelines": [h.model_dump(mode="json") for h in found.guidelines],
                    "studies": [h.model_dump(mode="json") for h in found.studies]}}
                hits = [*found.guidelines, *found.studies]
            else:
                hits = retriever.search(query, k, filters, check_mode(mode))
                payload = {"hits": [h.model_dump(mode="json") for h in hits]}
    if as_json:
        emit(payload)
    else:
        _print_hits(hits)


def _search_batch(retriever: Retriever, batch: Path) -> None:
    """One query a line: {"id", "query", "kind", "k", "filters", "mode"}; one {"id", "hits"} line out per query."""
    from rag.loaders.jsonl import iter_json_lines

    try:
        raw = batch.read_bytes()
    except OSError as exc:
        raise UserError(f"{batch}: cannot read ({exc.strerror})") from None
    skipped = 0
    for number, record in iter_json_lines(batch, raw):
        try:
            if isinstance(record, RagError):
                raise record
            unknown = set(record) - {"id", "query", "kind", "k", "filters", "mode"}
            if unknown:
                raise UserError(f"unknown field(s) {', '.join(sorted(unknown))}")
            filters = Filters.parse(record.get("filters"))
            kind = check_kind(record.get("kind"))
            if kind is not None:
                filters = filters.with_kind(kind)
            hits = retriever.search(_batch_query(record), _batch_k(record), filters, check_mode(record.get("mode",
                                                                                                         "hybrid")))
        except UserError as exc:  # (an InputError too) this line is reported, the others still run
            skipped += _skip_line(batch, number, exc)
            continue
        emit({"id": record.get("id", number), "hits": [h.model_dump(mode="json") for h in hits]})
    if skipped:
        raise LinesSkipped(batch, skipped)


def _batch_query(record: dict[str, Any]) -> str:
    if not isinstance(record.get("query"), str):
        raise UserError("field 'query' (a string) is required")
    return str(record["query"])


def _batch_k(record: dict[str, Any]) -> int | None:
    k = record.get("k")
    if k is not None and (not isinstance(k, int) or isinstance(k, bool)):
        raise UserError("field 'k' must be an integer")
    return k


@main.command()
@click.argument("question")
@click.option("--audience", type=click.Choice(AUDIENCES), default="clinician", show_default=True,
              help="clinician: clinical language; patient: plain language.")
@click.option("--conversation", "conversation_id", default=None, help="Continue this conversation (a follow-up).")
@click.option("--llm", "backend", type=click.Choice(["extractive", "openai"]), default=None,
              help="Generator (default from RAG_GENERATION__BACKEND: extractive).")
@common_options
def ask(question: str, audience: str, conversation_id: str | None, backend: str | None, data_dir: Path | None,
        as_json: bool) -> None:
    """Answer QUESTION in two cited sections: From the Guidelines, From the Research."""
    settings = load_settings(data_dir)
    with reported_errors(), components(settings, answering=True) as built:
        answer = built.answers().answer(question, audience=audience, conversation_id=conversation_id,
                                        backend=backend)
    if as_json:
        emit(answer.model_dump(mode="json"))
    else:
        from rich.markdown import Markdown

        Console().print(Markdown(render_markdown(answer)))


@main.command("eval")
@click.argument("dataset", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--answers", "answers_file", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Score these precomputed answers (one Answer JSON a line) instead of answering.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), default=Path("eval-out"),
              show_default=True, help="Where cases.jsonl, summary.json and report.html are written.")
@click.option("--baseline", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="A previous summary.json: print the deltas.")
@click.option("--fail-under", "gates", multiple=True, metavar="METRIC=VALUE",
              help="Exit 1 when METRIC's mean is below VALUE (above, for uncited_rate). Repeatable.")
@click.option("--llm", "backend", type=click.Choice(["extractive", "openai"]), default=None)
@click.option("--judge", "judge_spec", default="offline", show_default=True,
              help="offline, llm, or a local NLI / cross-encoder model folder.")
@click.option("--workers", type=int, default=2, show_default=True)
@common_options
def eval_command(dataset: Path, answers_file: Path | None, out_dir: Path, baseline: Path | None,
                 gates: tuple[str, ...], backend: str | None, judge_spec: str, workers: int, data_dir: Path | None,
                 as_json: bool) -> None:
    """Score answers to an eval DATASET: citation grounding, routing, abstention, retrieval; write a report."""
    from evals.cases import load_cases
    from evals.runner import EvalRunner, check_gates, compare, parse_gates, summarize, write_outputs
    from evals.wiring import LiveAnswers, PrecomputedAnswers, make_judge, passage_resolver, retrieval_ranking

    settings = load_settings(data_dir)
    with reported_errors():
        parsed_gates = parse_gates(gates)
        cases, errors = load_cases(dataset)
        for error in errors:
            click.echo(f"skipped {error.source}: {error.reason}", err=True)
        baseline_summary = _read_json(baseline) if baseline else None
        with components(settings, answering=answers_file is None) as built:
            judge = make_judge(judge_spec, built)
            source = (PrecomputedAnswers(answers_file, cases) if answers_file
                      else LiveAnswers(built.answers(), backend))
            retriever = None if answers_file else built.retriever()
            out_dir.mkdir(parents=True, exist_ok=True)
            partial = out_dir / "cases.partial.jsonl"
            partial.unlink(missing_ok=True)
            with _progress(not as_json and sys.stderr.isatty(), "answering") as progress:
                runner = EvalRunner(source, passage_resolver(built), retrieval_ranking(retriever), judge,
                                    workers=workers, progress=progress)
                results = runner.run(cases, partial=partial)
            meta = {"dataset": str(dataset), "backend": "precomputed" if answers_file else (
                backend or settings.generation.backend), "judge": judge.name, "skipped_lines": len(errors)}
            summary = summarize(results, meta)
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


@main.command()
@click.option("--pairs", "pairs_file", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help='JSONL of {"id", "claim", "passage"} lines.')
@click.option("--judge", "judge_spec", default="offline", show_default=True)
@common_options
def judge(pairs_file: Path, judge_spec: str, data_dir: Path | None, as_json: bool) -> None:
    """Does each passage support its claim? Writes {"id", "supported", "score"} lines."""
    from evals.wiring import make_judge
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
                skipped += _skip_line(pairs_file, number, record)
                continue
            if not isinstance(record.get("claim"), str) or not isinstance(record.get("passage"), str):
                skipped += _skip_line(pairs_file, number, UserError("fields 'claim' and 'passage' (strings) are "
                                                                    "required"))
                continue
            pair_id = record.get("id", number)
            key = json.dumps(pair_id)
            if key in first_line:  # its judgment could not be told from the first one's
                skipped += _skip_line(pairs_file, number, UserError(f"id {key} was already used on line "
                                                                    f"{first_line[key]}"))
                continue
            first_line[key] = number
            pairs.append((pair_id, record["claim"], record["passage"]))
        with components(settings) as built:
            judgments = make_judge(judge_spec, built).judge_many([(c, p) for _, c, p in pairs])
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


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8000, show_default=True)
@click.option("--workers", type=int, default=1, show_default=True)
@click.option("--data-dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Index location (env RAG_DATA_DIR, default ./.rag).")
def serve(host: str, port: int, workers: int, data_dir: Path | None) -> None:
    """Run the HTTP API (and its OpenAPI docs at /docs). Without API keys it only binds to loopback."""
    import os

    import uvicorn

    from api.security import is_loopback, load_key_hashes

    settings = load_settings(data_dir)
    with reported_errors():
        keys = load_key_hashes(settings)
        if not keys and not is_loopback(host):
            raise UserError(f"refusing to bind {host} without API keys: create one with 'rag keys create' and set "
                            "RAG_API_KEY_HASHES or RAG_API_KEY_FILE (anonymous access is loopback only)")
    if data_dir is not None:
        os.environ["RAG_DATA_DIR"] = str(data_dir)  # the workers build their own settings from the environment
    click.echo(f"rag API on http://{host}:{port} (docs at /docs), {len(keys)} API key(s), data dir "
               f"{settings.data_dir}", err=True)
    uvicorn.run("api.app:create_app", factory=True, host=host, port=port, workers=workers, log_level="warning")


@main.group()
def keys() -> None:
    """API keys: only their SHA-256 hashes are stored."""


@keys.command("create")
@click.option("--scope", type=click.Choice(["read", "admin"]), default="read", show_default=True)
def keys_create(scope: str) -> None:
    """Print a new key (once) and the line that configures it."""
    from api.security import generate_key, key_file_line

    key = generate_key()
    line = key_file_line(key, "admin" if scope == "admin" else "read")
    click.echo(f"key (shown once, store it safely): {key}")
    click.echo(f"configure the server with:  export RAG_API_KEY_HASHES={line}")
    click.echo(f"or add this line to the file named by RAG_API_KEY_FILE:  {line}")


@contextmanager
def _progress(enabled: bool, label: str = "embedding") -> Iterator[Callable[[int, int], None] | None]:
    if not enabled:
        yield None
        return
    bar = Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(),
                   TimeRemainingColumn(), console=Console(stderr=True), transient=True)
    task = bar.add_task("ingest", total=None)
    with bar:
        yield lambda done, total: bar.update(task, completed=done, total=total)


def _print_report(report: IngestReport) -> None:
    console = Console()
    table = Table(title="Ingest")
    for column in ("added", "updated", "unchanged", "removed", "chunks", "failed", "seconds"):
        table.add_column(column, justify="right")
    table.add_row(*(str(v) for v in (report.added, report.updated, report.unchanged, report.removed, report.chunks,
                                     len(report.failed), f"{report.seconds:.1f}")))
    console.print(table)
    for failure in report.failed:
        console.print(f"[red]failed[/red] {failure['path']}: {failure['error']}", markup=True, highlight=False)


def _print_hits(hits: list[Hit]) -> None:
    console = Console()
    if not hits:
        console.print("No passages found.")
    for n, hit in enumerate(hits, start=1):
        ids = " ".join(f"{label} {value}" for label, value in (("PMID", hit.pmid), ("DOI", hit.doi)) if value)
        console.print(f"[bold]{n}. {hit.title}[/bold] ({hit.kind}, {hit.year or 'n.d.'}) {ids}", highlight=False)
        console.print(f"   [dim]{hit.section} · score {hit.score:.3f} · {hit.chunk_id}[/dim]", highlight=False)
        text = " ".join(hit.text.split())
        console.print(f"   {text[:400]}{'…' if len(text) > 400 else ''}", highlight=False, markup=False)
