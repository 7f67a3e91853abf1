"""What every command shares: the common options, settings, components, error reporting, JSON output, progress
bars and the report of skipped input lines.

Exit codes: 0 success; 1 when some inputs failed (the rest were processed) or a runtime failure; 2 on usage errors.
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

from rag.config import Settings
from rag.errors import RagError, UserError, validation_problems
from rag.models import KINDS, Kind

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
        details = "; ".join(f"{field}: {message}" for field, message in validation_problems(exc.errors()))
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
        if answering and built.index.is_empty():
            raise UserError(f"the index in {settings.data_dir} holds no documents: run `rag ingest PATH` first")
        yield built
    finally:
        built.close()


class LinesSkipped(RagError):
    """Some input lines were reported and skipped; the others were processed (exit 1)."""

    def __init__(self, path: Path, count: int) -> None:
        super().__init__(f"{path}: {count} line{'s' if count > 1 else ''} skipped (see above); the others ran")


def skip_line(path: Path, number: int, error: RagError) -> int:
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



@contextmanager
def progress_bar(enabled: bool, label: str = "embedding") -> Iterator[Callable[[int, int], None] | None]:
    if not enabled:
        yield None
        return
    bar = Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(),
                   TimeRemainingColumn(), console=Console(stderr=True), transient=True)
    task = bar.add_task("ingest", total=None)
    with bar:
        yield lambda done, total: bar.update(task, completed=done, total=total)
