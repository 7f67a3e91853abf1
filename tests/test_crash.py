"""kill -9 at any moment of an ingest, then a re-run, gives exactly the state a clean ingest gives.

Also: searches in another process during an ingest never fail.
"""

from __future__ import annotations

import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rag.config import Settings
from rag.factory import Components
from rag.testing import HashEmbedder
from tests.helpers.paths import ROOT

pytestmark = pytest.mark.slow


def write_corpus(root: Path, n: int, version: int) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        body = "\n\n".join(
            f"## Part {p}\n" + " ".join(f"Doc {i} part {p} sentence {s} version {version if i % 2 else 0}."
                                        for s in range(25))
            for p in range(3)
        )
        kind = "guideline" if i % 4 == 0 else "study"
        (root / f"doc{i:02d}.md").write_text(f"---\nid: doc{i:02d}\nkind: {kind}\ntitle: Document {i}\n---\n{body}\n")


def snapshot(data_dir: Path) -> dict[str, object]:
    components = Components(Settings(data_dir=data_dir), embedder=HashEmbedder())
    try:
        verify = components.index.verify()
        documents, chunks, by_kind = components.index.catalog.counts()
        return {
            "consistent": verify["consistent"], "documents": documents, "chunks": chunks, "by_kind": by_kind,
            "chunk_ids": components.index.catalog.all_chunk_ids(), "vector_ids": components.index.vectors.all_ids(),
            "lexical": verify["lexical_rows"],
        }
    finally:
        components.close()


def clean_ingest(source: Path, data_dir: Path) -> dict[str, object]:
    components = Components(Settings(data_dir=data_dir), embedder=HashEmbedder())
    components.ingestor().run([source], prune=True)
    components.close()
    return snapshot(data_dir)


def start_worker(data_dir: Path, source: Path, delay: float) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.helpers.ingest_worker", str(data_dir), str(source), str(delay)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready", process.stderr.read() if process.stderr else ""
    return process


def kill_at_random_moments(data_dir: Path, source: Path, rng: random.Random, times: int) -> int:
    """Kill workers mid-ingest; returns how many were killed before finishing."""
    killed = 0
    for _ in range(times):
        process = start_worker(data_dir, source, delay=0.02)
        time.sleep(rng.uniform(0.05, 0.8))
        if process.poll() is None:
            process.kill()
            killed += 1
        process.wait(timeout=60)
    return killed


def run_to_completion(data_dir: Path, source: Path) -> None:
    process = start_worker(data_dir, source, delay=0.0)
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    assert out.startswith("done"), out


def assert_same_state(actual: dict[str, object], expected: dict[str, object]) -> None:
    assert actual["consistent"] is True
    for key in ("documents", "chunks", "by_kind", "chunk_ids", "vector_ids", "lexical"):
        assert actual[key] == expected[key], key


def test_kill_during_first_ingest_and_during_updates_converges(tmp_path: Path) -> None:
    rng = random.Random(7)
    source = tmp_path / "src"
    write_corpus(source, 24, version=1)
    expected_v1 = clean_ingest(source, tmp_path / "clean-v1")

    data_dir = tmp_path / "crashy"
    killed = kill_at_random_moments(data_dir, source, rng, times=4)
    assert killed >= 2, "the workers finished too fast to be interrupted"
    run_to_completion(data_dir, source)
    assert_same_state(snapshot(data_dir), expected_v1)

    write_corpus(source, 20, version=2)  # odd documents change, four files disappear
    for stale in (source / f"doc{i:02d}.md" for i in range(20, 24)):
        stale.unlink()
    expected_v2 = clean_ingest(source, tmp_path / "clean-v2")
    killed = kill_at_random_moments(data_dir, source, rng, times=4)
    run_to_completion(data_dir, source)
    assert_same_state(snapshot(data_dir), expected_v2)


def test_search_in_another_process_never_fails_during_ingest(tmp_path: Path) -> None:
    source = tmp_path / "src"
    write_corpus(source, 24, version=1)
    data_dir = tmp_path / "data"
    searcher_settings = Settings(data_dir=data_dir)
    process = start_worker(data_dir, source, delay=0.02)
    searches = 0
    try:
        while process.poll() is None:
            components = Components(searcher_settings, embedder=HashEmbedder())
            hits = components.retriever().search("Doc 3 part 1 sentence", k=5)
            assert all(hit.text for hit in hits)
            components.close()
            searches += 1
    finally:
        _, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    assert searches >= 3
    components = Components(searcher_settings, embedder=HashEmbedder())
    assert components.retriever().search("Doc 3 part 1 sentence", k=5)[0].doc_id == "doc03"
    components.close()
