"""``rag serve`` and ``rag keys``: the HTTP API's commands, added to the ``rag`` command line through the
``rag.commands`` entry points (the library never imports the API)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from rag.cli.common import load_settings, reported_errors
from rag.errors import UserError

APP = "api.app:create_app"
"""The app factory every worker imports."""
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
WORKER_HEALTHCHECK_S = 30
"""With several workers, how long uvicorn's supervisor waits for a worker to answer its health check before it kills
it as hung and starts another. uvicorn's default, 5 s, is shorter than a new worker's start (it imports the command
line and the app) on a loaded machine: the supervisor then killed each new worker before it could serve, again and
again."""


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8000, show_default=True)
@click.option("--workers", type=int, default=1, show_default=True)
@click.option("--data-dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Index location (env RAG_DATA_DIR, default ./.rag).")
def serve(host: str, port: int, workers: int, data_dir: Path | None) -> None:
    """Run the HTTP API (and its OpenAPI docs at /docs). Without API keys it only binds to loopback. With several
    workers, /metrics aggregates them all and rate limits hold across them."""
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
    with metrics_directory(workers) as directory:
        if directory is not None:  # before any worker imports prometheus_client: it picks its mode at import
            os.environ[MULTIPROC_ENV] = str(directory)
        uvicorn.run(APP, factory=True, host=host, port=port, workers=workers, log_level="warning",
                    timeout_worker_healthcheck=WORKER_HEALTHCHECK_S)


@contextmanager
def metrics_directory(workers: int) -> Iterator[Path | None]:
    """Where the workers of this run write their metrics (prometheus_client's multiprocess mode), emptied first: the
    directory named by ``PROMETHEUS_MULTIPROC_DIR`` when the operator set one (its ``*.db`` files are deleted, as
    prometheus_client requires between runs), else with several workers a new temporary directory, removed when
    the server stops. One worker without the variable keeps its metrics in memory (None)."""
    import os
    import shutil
    import tempfile

    given = os.environ.get(MULTIPROC_ENV)
    if given:
        directory = Path(given)
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):
            stale.unlink()
        yield directory
        return
    if workers <= 1:
        yield None
        return
    created = Path(tempfile.mkdtemp(prefix="rag-metrics-"))
    try:
        yield created
    finally:
        os.environ.pop(MULTIPROC_ENV, None)
        shutil.rmtree(created, ignore_errors=True)


@click.group()
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
