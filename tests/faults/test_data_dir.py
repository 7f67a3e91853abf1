"""A full or read-only data dir: ``rag ingest`` and POST /v1/documents fail with one clear error naming the data dir
and the problem, nothing stored is harmed, and once space is freed (or the file system is writable again) the next
run converges to the state a clean ingest gives.

The faults are real: the data dir lives on a small tmpfs that is filled up (ENOSPC) or remounted read-only, or is
bind-mounted read-only over itself. The CLI runs as a subprocess with the fake embedder (tests/helpers/fake_cli.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from rag.config import Settings
from rag.factory import Components
from rag.testing import HashEmbedder
from tests.helpers.documents import WriteDoc
from tests.helpers.keys import ADMIN, READ, keyed
from tests.helpers.mounts import fill, read_only_bind, remount, tmpfs
from tests.helpers.paths import ROOT
from tests.test_crash import assert_same_state, clean_ingest, snapshot

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]

RESERVE_MB = 4  # RAG_STORE__MIN_FREE_MB for these tests: the tmpfs holds 24 MB, the default reserve is 100 MB
FINDINGS = " ".join(f"Sentence {i} reports finding number {i} on acne scars after microneedling." for i in range(60))
NEW_DOC = {"id": "c", "kind": "study", "title": "Rosacea trial", "text": FINDINGS.replace("acne", "rosacea")}


@pytest.fixture
def corpus(write_doc: WriteDoc, tmp_path: Path) -> Path:
    write_doc("a.md", body=f"## Results\n{FINDINGS}")
    write_doc("b.md", kind="guideline", organization="Org", body="## Advice\nNo exosome product is approved.")
    return tmp_path / "src"


@pytest.fixture
def mount(tmp_path: Path) -> Iterator[Path]:
    """A 24 MB tmpfs; the data dir is its ``data`` folder, so a filler file beside it fills the data dir's disk."""
    with tmpfs(tmp_path / "mnt", 24) as path:
        yield path


def add_third_document(write_doc: WriteDoc) -> None:
    write_doc("c.md", body=f"## Results\n{NEW_DOC['text']}")


def rag_command(*args: str, data_dir: Path) -> list[str]:
    return [sys.executable, "-m", "tests.helpers.fake_cli", *args, "--data-dir", str(data_dir), "--json"]


def rag_env(**env: str) -> dict[str, str]:
    return {**os.environ, "RAG_STORE__MIN_FREE_MB": str(RESERVE_MB), **env}


def rag(*args: str, data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``rag ARGS --data-dir DATA_DIR --json`` in a subprocess."""
    return subprocess.run(rag_command(*args, data_dir=data_dir), cwd=ROOT, env=rag_env(**env), capture_output=True,
                          text=True, timeout=40)


def assert_one_clear_line(stderr: str, *phrases: str) -> None:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    for phrase in phrases:
        assert phrase in lines[0], (phrase, lines[0])


def assert_verified(data_dir: Path, documents: int) -> None:
    stats = rag("stats", "--verify", data_dir=data_dir)
    assert stats.returncode == 0, stats.stderr
    payload = json.loads(stats.stdout)
    assert payload["documents"] == documents and payload["verify"]["consistent"] is True, payload


def test_cli_ingest_into_a_full_data_dir_changes_nothing_and_the_next_run_converges(
        corpus: Path, mount: Path, write_doc: WriteDoc, tmp_path: Path) -> None:
    data = mount / "data"
    assert rag("ingest", str(corpus), data_dir=data).returncode == 0
    add_third_document(write_doc)
    filler = fill(mount, leave_bytes=1_000_000)

    failed = rag("ingest", str(corpus), data_dir=data)
    assert failed.returncode == 1
    assert_one_clear_line(failed.stderr, f"the data dir {data} is full", "MB free", "nothing was changed")
    assert_verified(data, documents=2)  # still on the full disk: the two documents stored before are intact

    filler.unlink()
    again = rag("ingest", str(corpus), data_dir=data)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["added"] == 1
    assert_same_state(snapshot(data), clean_ingest(corpus, tmp_path / "clean"))


@pytest.mark.parametrize("step", ["upsert", "vectors", "commit"])
def test_cli_ingest_when_the_disk_fills_up_in_the_middle_of_a_write(
        step: str, corpus: Path, mount: Path, write_doc: WriteDoc, tmp_path: Path) -> None:
    """a and b are stored, then, while c is written, another process takes the last free byte at ``step`` of the
    write protocol: the write meets a real ENOSPC (upsert: in Chroma; vectors: the catalog commit; commit: clearing
    pending), fails with a clear error, and the next run finishes or undoes it."""
    data = mount / "data"
    add_third_document(write_doc)
    resume = tmp_path / "resume"
    env = rag_env(FAKE_PAUSE=f"{step}:3", FAKE_RESUME=str(resume), RAG_STORE__MIN_FREE_MB="0",
                  RAG_INGEST__WRITE_BATCH_CHUNKS="1")  # one write per document, so the third write is c's
    process = subprocess.Popen(rag_command("ingest", str(corpus), data_dir=data), cwd=ROOT, text=True, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stderr is not None
    assert process.stderr.readline().strip() == f"paused {step}"
    filler = fill(mount, leave_bytes=0)
    resume.touch()
    _, stderr = process.communicate(timeout=40)
    assert process.returncode == 1
    assert_one_clear_line(stderr, f"the file system of the data dir {data} is full",
                          "the interrupted write is finished or undone by the next one")

    filler.unlink()
    assert rag("ingest", str(corpus), data_dir=data).returncode == 0
    assert_same_state(snapshot(data), clean_ingest(corpus, tmp_path / "clean"))


def test_cli_on_a_read_only_data_dir(corpus: Path, mount: Path, write_doc: WriteDoc, tmp_path: Path) -> None:
    data = mount / "data"
    assert rag("ingest", str(corpus), data_dir=data).returncode == 0
    add_third_document(write_doc)
    remount(mount, read_only=True)
    try:
        failed = rag("ingest", str(corpus), data_dir=data)
        assert failed.returncode == 1
        assert_one_clear_line(failed.stderr, f"the data dir {data} is on a read-only file system")
        stats = rag("stats", data_dir=data)  # SQLite in WAL mode and Chroma cannot open a read-only index at all
        assert stats.returncode == 1
        assert_one_clear_line(stats.stderr, f"the data dir {data} is on a read-only file system")
    finally:
        remount(mount, read_only=False)

    assert_verified(data, documents=2)
    again = rag("ingest", str(corpus), data_dir=data)
    assert again.returncode == 0 and json.loads(again.stdout)["added"] == 1, again.stderr
    assert_same_state(snapshot(data), clean_ingest(corpus, tmp_path / "clean"))


@pytest.fixture
def served(corpus: Path, mount: Path) -> Iterator[tuple[TestClient, Components]]:
    """The API on an index of two documents in a data dir on the tmpfs."""
    settings = Settings(data_dir=mount / "data", store={"min_free_mb": RESERVE_MB})
    components = Components(settings, embedder=HashEmbedder())
    assert components.ingestor().run([corpus]).added == 2
    app = create_app(keyed(settings), components=components)
    with TestClient(app, client=("127.0.0.1", 40000), raise_server_exceptions=False) as client:
        yield client, components
    components.close()


def assert_unchanged_and_readable(client: TestClient, components: Components) -> None:
    assert client.get("/v1/documents", headers=READ).json()["total"] == 2
    hits = client.get("/v1/search", params={"q": "finding acne scars microneedling"}, headers=READ).json()["hits"]
    assert hits and hits[0]["doc_id"] == "a"
    assert components.index.verify()["consistent"] is True
    assert not list((components.settings.data_dir / "uploads").glob("*")), "a partial upload was left behind"


def assert_uploads_again(client: TestClient, components: Components) -> None:
    created = client.post("/v1/documents", json=NEW_DOC, headers=ADMIN)
    assert created.status_code == 201 and created.json()["document_ids"] == ["c"], created.text
    hits = client.get("/v1/search", params={"q": "rosacea microneedling"}, headers=READ).json()["hits"]
    assert hits[0]["doc_id"] == "c"
    assert components.index.verify()["consistent"] is True


def test_api_upload_into_a_full_data_dir_is_507(served: tuple[TestClient, Components], mount: Path) -> None:
    client, components = served
    filler = fill(mount, leave_bytes=1_000_000)
    refused = client.post("/v1/documents", json=NEW_DOC, headers=ADMIN)
    assert refused.status_code == 507
    message = refused.json()["error"]["message"]
    assert message.startswith("the data dir <data dir> is full") and "nothing was changed" in message, message
    assert str(mount) not in refused.text
    assert_unchanged_and_readable(client, components)
    fill(mount, leave_bytes=0)  # not even room for the conversation turn an answer records: a clear 507, not a 500
    answer = client.post("/v1/answers", json={"question": "What did microneedling do to acne scars?"}, headers=READ)
    assert answer.status_code == 507, answer.text
    assert answer.json()["error"]["message"].startswith("the file system of the data dir <data dir> is full")

    filler.unlink()
    assert_uploads_again(client, components)


def test_api_writes_to_a_read_only_data_dir_are_507(served: tuple[TestClient, Components]) -> None:
    """A read-only bind mount: the files the server opened before stay writable, so it is the space check and the
    new files (the upload, the lock) that meet the read-only file system. Searches are not asserted while it is
    read-only: embedded Chroma purges its log during queries, and may fail them (503) or keep a read-only
    connection afterwards."""
    client, components = served
    with read_only_bind(components.settings.data_dir):
        for refused in (client.post("/v1/documents", json=NEW_DOC, headers=ADMIN),
                        client.delete("/v1/documents/a", headers=ADMIN)):
            assert refused.status_code == 507
            assert "the data dir <data dir> is on a read-only file system" in refused.json()["error"]["message"]
        assert client.get("/v1/documents", headers=READ).json()["total"] == 2
    assert_unchanged_and_readable(client, components)
    assert_uploads_again(client, components)
