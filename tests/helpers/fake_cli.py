"""The ``rag`` command line (``ingest``, ``stats``, ``serve``...) with the fake embedder, so a test can run it as a
subprocess without loading the model, and stop it at a chosen step of a write to fill the disk or ``kill -9`` it.
``serve --workers N`` starts workers that use the fake embedder too (they import :func:`create_app`).

Usage: python -m tests.helpers.fake_cli ARGS...    (the arguments of ``rag``)

``FAKE_PAUSE=STEP[:N]`` stops the N-th time (default the first) a write reaches STEP, prints ``paused STEP`` on stderr
and waits until the file named by ``FAKE_RESUME`` exists (without it: until killed):

- ``embed``: a batch is being embedded, nothing of it is written yet;
- ``upsert``: the batch is marked pending, its vectors are not added yet;
- ``vectors``: its vectors are added, the catalog has not committed it;
- ``commit``: the catalog committed it, stale vectors are not deleted and pending is not cleared yet.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import rag.factory
from rag.cli import main
from rag.config import Settings
from rag.store.chroma import ChromaVectorStore
from rag.testing import HashEmbedder

STEPS: dict[str, tuple[type, str, bool]] = {  # step: (class, method, pause after the call rather than before)
    "embed": (HashEmbedder, "embed_documents", False),
    "upsert": (ChromaVectorStore, "upsert", False),
    "vectors": (ChromaVectorStore, "upsert", True),
    "commit": (ChromaVectorStore, "delete", False),
}


def wait(step: str) -> None:
    # One write straight to the descriptor: ``print`` writes the text and its newline apart, and a log record written
    # by another thread between the two joined the next line ("paused embedINFO api: ..."), so the test never saw it.
    sys.stderr.flush()
    os.write(2, f"paused {step}\n".encode())
    resume = os.environ.get("FAKE_RESUME")
    while resume is None or not Path(resume).exists():
        time.sleep(0.02)


def pause_at(step: str, nth: int) -> None:
    owner, name, after = STEPS[step]
    original: Callable[..., Any] = getattr(owner, name)
    calls = 0

    def paused(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == nth and not after:
            wait(step)
        result = original(*args, **kwargs)
        if calls == nth and after:
            wait(step)
        return result

    setattr(owner, name, paused)


def fake_embedder(settings: Settings) -> HashEmbedder:
    return HashEmbedder()


def create_app() -> Any:
    """The app factory the workers of ``serve --workers N`` import (each a new process): the API with the fake
    embedder."""
    rag.factory.make_embedder = fake_embedder  # type: ignore[attr-defined]
    from api.app import create_app as create

    return create()


if __name__ == "__main__":
    import api.cli

    api.cli.APP = "tests.helpers.fake_cli:create_app"
    rag.factory.make_embedder = fake_embedder  # type: ignore[attr-defined]
    if os.environ.get("FAKE_PAUSE"):
        step, _, nth = os.environ["FAKE_PAUSE"].partition(":")
        pause_at(step, int(nth or 1))
    main(sys.argv[1:], prog_name="rag")
