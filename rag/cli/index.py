"""``rag ingest``, ``rag stats`` and ``rag search``: build the index and look into it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from rag.cli.app import main
from rag.cli.common import (
    LinesSkipped,
    UsageExit,
    check_kind,
    common_options,
    components,
    emit,
    load_settings,
    progress_bar,
    reported_errors,
    skip_line,
)
from rag.errors import RagError, UserError
from rag.filters import Filters
from rag.ingest import IngestReport
from rag.loaders import FORMAT_NAMES, check_format
from rag.models import KINDS, Hit
from rag.retrieve import MODES, Retriever, check_mode


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
    with reported_errors(), components(settings) as built, progress_bar(show_progress) as progress:
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
        documents, chunks, by_kind = built.index.counts()
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
            skipped += skip_line(batch, number, exc)
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
