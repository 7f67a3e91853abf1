"""``kill -9`` of the API server while POST /v1/documents is ingesting, at each step of the write protocol, then a
restart: every document of the upload is either fully there (all its chunks, vectors and BM25 rows, found by search)
or not there at all, never half. The restarted server repairs the interrupted write at start-up, and the same
upload then completes to exactly the state a clean ingest gives.

The server is ``rag serve`` with the fake embedder (tests/helpers/fake_cli.py), stopped at the chosen step of the
second document's write; the upload holds three documents and each is written on its own.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx
import pytest

from api.security import hash_key
from rag.config import Settings
from rag.factory import Components
from rag.testing import HashEmbedder
from tests.helpers import local_http
from tests.helpers.keys import ADMIN, ADMIN_KEY, READ, READ_KEY
from tests.helpers.paths import ROOT
from tests.helpers.servers import free_port
from tests.test_crash import assert_same_state, snapshot

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]

TOPICS = {"d1": "zeolite", "d2": "obsidian", "d3": "quinoa"}
PRESENT_AFTER = {  # the step the second document's write is killed at: documents there after the restart
    "embed": {"d1"},
    "upsert": {"d1"},
    "vectors": {"d1"},
    "commit": {"d1", "d2"},
}


def upload_file(folder: Path) -> Path:
    path = folder / "batch.jsonl"
    lines = []
    for doc_id, topic in TOPICS.items():
        text = " ".join(f"Sentence {i} of the {topic} study reports result {i} for acne scars." for i in range(50))
        lines.append(json.dumps({"id": doc_id, "kind": "study", "title": f"The {topic} study", "text": text}))
    path.write_text("\n".join(lines) + "\n")
    return path


@contextmanager
def rag_serve(data_dir: Path, pause: str | None = None) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """``rag serve`` on a free port, ready when yielded; killed at the end if still running."""
    port = free_port()
    env = {**os.environ, "RAG_API_KEY_HASHES": f"{hash_key(READ_KEY)}:read,{hash_key(ADMIN_KEY)}:admin",
           "RAG_INGEST__WRITE_BATCH_CHUNKS": "1"}
    if pause:
        env["FAKE_PAUSE"] = pause
    process = subprocess.Popen([sys.executable, "-m", "tests.helpers.fake_cli", "serve", "--port", str(port),
                                "--data-dir", str(data_dir)], cwd=ROOT, env=env, text=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while not ready(url):
            assert process.poll() is None and time.monotonic() < deadline, "rag serve did not start"
            time.sleep(0.1)
        yield url, process
    finally:
        process.kill()
        process.wait(timeout=30)


def ready(url: str) -> bool:
    try:
        return local_http.get(f"{url}/readyz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def upload(url: str, path: Path) -> httpx.Response:
    with path.open("rb") as handle:
        return local_http.post(f"{url}/v1/documents", files={"file": (path.name, handle)}, headers=ADMIN, timeout=30)


class Upload(threading.Thread):
    """The upload whose server will be killed: its outcome should be a broken connection. What it got instead (a
    response, another error) is kept for the message of a test whose server never paused."""

    def __init__(self, url: str, path: Path) -> None:
        super().__init__(daemon=True)
        self.url, self.path = url, path
        self.outcome: str | None = None

    def run(self) -> None:
        try:
            response = upload(self.url, self.path)
            self.outcome = f"HTTP {response.status_code}: {response.text[:300]}"
        except httpx.TransportError as error:
            self.outcome = f"broken connection ({type(error).__name__})"


def wait_for_pause(process: subprocess.Popen[str], step: str, sender: Upload, seconds: float = 40) -> None:
    """Until the server prints ``paused STEP``; fails, naming the upload's outcome and the server's last lines, when
    the server ends or the pause does not come within ``seconds`` (the stream is read on a thread, so a silent server
    cannot hold the test until the suite's timeout)."""
    assert process.stderr is not None
    lines: queue.Queue[str | None] = queue.Queue()

    def read(stream: IO[str]) -> None:
        for line in stream:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, args=(process.stderr,), daemon=True).start()
    seen: list[str] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            continue
        if line is None:
            break
        if line.strip() == f"paused {step}":
            return
        seen.append(line.rstrip())
    raise AssertionError(f"the server did not pause at {step}; the upload: {sender.outcome or 'still waiting'}; "
                         "the server's last lines:\n" + "\n".join(seen[-15:]))


def clean_state(path: Path, data_dir: Path) -> dict[str, object]:
    components = Components(Settings(data_dir=data_dir), embedder=HashEmbedder())
    try:
        assert components.ingestor().run([path], fmt="jsonl").added == len(TOPICS)
    finally:
        components.close()
    return snapshot(data_dir)


def assert_whole_or_absent(url: str, present: set[str], clean: dict[str, object], data_dir: Path) -> None:
    """Through the API: a document is listed with all its chunks and found by search, or unknown and never found.
    In the store: catalog, BM25 and vectors agree, and hold exactly the clean chunks of the present documents."""
    clean_ids: set[str] = clean["chunk_ids"]  # type: ignore[assignment]
    for doc_id, topic in TOPICS.items():
        expected = {c for c in clean_ids if c.startswith(f"{doc_id}#")}
        document = local_http.get(f"{url}/v1/documents/{doc_id}", headers=READ, timeout=10)
        hits = local_http.get(f"{url}/v1/search", params={"q": f"{topic} study"}, headers=READ, timeout=10).json()["hits"]
        if doc_id in present:
            assert document.status_code == 200 and document.json()["chunks"] == len(expected), doc_id
            assert hits and hits[0]["doc_id"] == doc_id
        else:
            assert document.status_code == 404, doc_id
            assert doc_id not in {hit["doc_id"] for hit in hits}
    state = snapshot(data_dir)
    assert state["consistent"] is True, "the restarted server left the interrupted write unrepaired"
    assert state["chunk_ids"] == state["vector_ids"] == {c for c in clean_ids if c.split("#")[0] in present}


@pytest.mark.parametrize("step", list(PRESENT_AFTER))
def test_kill_9_during_an_upload_leaves_each_document_whole_or_absent(step: str, tmp_path: Path) -> None:
    path = upload_file(tmp_path)
    clean = clean_state(path, tmp_path / "clean")
    data_dir = tmp_path / "data"
    with rag_serve(data_dir, pause=f"{step}:2") as (url, server):
        sender = Upload(url, path)
        sender.start()
        wait_for_pause(server, step, sender)
        server.kill()  # SIGKILL: no clean-up of any kind
        server.wait(timeout=30)
        sender.join(timeout=30)
        assert sender.outcome and sender.outcome.startswith("broken connection"), sender.outcome
    with rag_serve(data_dir) as (url, _):
        assert_whole_or_absent(url, PRESENT_AFTER[step], clean, data_dir)
        again = upload(url, path)
        assert again.status_code == 201, again.text
        assert sorted(again.json()["document_ids"]) == sorted(TOPICS)
    assert_same_state(snapshot(data_dir), clean)
