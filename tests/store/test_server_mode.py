"""Several processes (machines) on one Chroma server: shared truth, local replicas, equal results, failures."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from rag.config import Settings
from rag.factory import Components
from rag.store import replica
from rag.testing import HashEmbedder
from tests.helpers import local_http
from tests.helpers.documents import WriteDoc
from tests.helpers.keys import READ, keyed
from tests.helpers.meaning import HASH_MEANING
from tests.helpers.paths import ROOT
from tests.helpers.servers import free_port, start_chroma, stop

QUESTION = "What is the comparative efficacy of PRP micro-needling versus exosome micro-needling?"
GUIDELINES = ["guidelines/fda-2019-exosome-safety-notification.md", "guidelines/thery-2018-misev2018-extracellular-vesicles.md",
              "guidelines/uspstf-2016-skin-cancer-screening.md"]
STUDIES = ["studies/estupinan-2025-exosomes-vs-prp-photoaged-skin.md", "studies/hacs-exosome-microneedling-facial-aging-split-face.md",
           "studies/asif-2016-prp-microneedling-acne-scars.md", "studies/olumesi-2023-exosomes-aesthetic-dermatology-review.md"]


def shared_settings(tmp_path: Path, chroma_url: str, collection: str, machine: str) -> Settings:
    """Two ``machines`` = two data dirs (two catalog replicas) on the same server collection."""
    return Settings(data_dir=tmp_path / machine, chroma_url=chroma_url,
                    store={"collection": collection, "sync_seconds": 0})  # type: ignore[arg-type]


@pytest.fixture
def machines(chroma_url: str, tmp_path: Path) -> Iterator[tuple[Components, Components]]:
    """Two processes on two machines (data dirs ``a`` and ``b``) sharing one server collection."""
    collection = f"t{uuid.uuid4().hex}"
    first = Components(shared_settings(tmp_path, chroma_url, collection, "a"), embedder=HashEmbedder())
    second = Components(shared_settings(tmp_path, chroma_url, collection, "b"), embedder=HashEmbedder())
    try:
        yield first, second
    finally:
        first.close()
        second.close()


def test_a_second_machine_sees_every_add_edit_and_removal(machines: tuple[Components, Components], tmp_path: Path,
                                                          write_doc: WriteDoc) -> None:
    writer, reader = machines
    write_doc("keep.md", body="## Results\nMicroneedling with platelet-rich plasma improved acne scars.")
    edited = write_doc("edit.md", body="## Results\nExosome gel reduced erythema after laser resurfacing.")
    assert writer.ingestor().run([tmp_path / "src"]).added == 2
    retriever = reader.retriever()
    assert {h.doc_id for h in retriever.search("exosome erythema laser", k=5)} == {"edit", "keep"}

    edited.write_text(edited.read_text().replace("erythema", "melasma pigmentation"))
    assert writer.ingestor().run([tmp_path / "src"]).updated == 1
    top = retriever.search("melasma pigmentation", k=1, mode="lexical")
    assert top and top[0].doc_id == "edit" and "melasma" in top[0].text
    assert not retriever.search("erythema", k=5, mode="lexical"), "the reader's BM25 table kept the old text"

    (tmp_path / "src" / "keep.md").unlink()
    assert writer.ingestor().run([tmp_path / "src"], prune=True).removed == 1
    assert {h.doc_id for h in retriever.search("platelet-rich plasma acne scars", k=5)} == {"edit"}
    for machine in (writer, reader):
        verify = machine.index.verify()
        assert verify["consistent"] and verify["catalog_chunks"] == verify["vectors"]
    assert reader.index.catalog.document("keep") is None


def test_a_writer_with_a_lagging_clock_is_still_picked_up(machines: tuple[Components, Components], tmp_path: Path,
                                                          write_doc: WriteDoc, monkeypatch: pytest.MonkeyPatch) -> None:
    writer, reader = machines
    write_doc("first.md", body="## Results\nMicroneedling with platelet-rich plasma improved acne scars.")
    writer.ingestor().run([tmp_path / "src"])
    reader.index.refresh(force=True)  # the reader's watermark is now the first commit's revision
    now = time.time_ns()
    monkeypatch.setattr(replica.time, "time_ns", lambda: now - 10 * 1_000_000_000)  # 10 s behind
    monkeypatch.setattr(replica, "WINDOW_SECONDS", 0.0)  # the periodic re-read, at once
    write_doc("late.md", body="## Results\nExosome gel reduced melasma after laser resurfacing.")
    assert writer.ingestor().run([tmp_path / "src"]).added == 1
    hits = reader.retriever().search("exosome melasma", k=2, mode="lexical")
    assert hits and hits[0].doc_id == "late"


def test_a_follow_up_may_reach_another_machine(machines: tuple[Components, Components], tmp_path: Path,
                                               write_doc: WriteDoc) -> None:
    first, second = machines
    write_doc("prp.md", body="## Results\nPRP with microneedling improved acne scars in a split-face trial.")
    first.ingestor().run([tmp_path / "src"])
    opening = first.answers().answer("Does PRP with microneedling improve acne scars?")
    assert opening.conversation_id
    follow_up = second.answers().answer("What about its side effects?", conversation_id=opening.conversation_id)
    assert follow_up.conversation_id == opening.conversation_id
    assert follow_up.standalone_question and "acne" in follow_up.standalone_question.lower()
    turns = second.answers().conversation(opening.conversation_id).turns
    assert [t.question for t in turns] == ["Does PRP with microneedling improve acne scars?",
                                           "What about its side effects?"]
    assert not (tmp_path / "a" / "conversations.sqlite3").exists()


def test_embedded_and_server_mode_give_the_same_hits_and_answers(chroma_url: str, tmp_path: Path) -> None:
    corpus = ROOT / "corpus"
    modes = {
        "embedded": Settings(data_dir=tmp_path / "embedded"),
        "server": shared_settings(tmp_path, chroma_url, f"t{uuid.uuid4().hex}", "server"),
    }
    results: dict[str, object] = {}
    for name, settings in modes.items():
        components = Components(settings, embedder=HashEmbedder())
        try:
            assert components.ingestor().run([corpus]).failed == []
            retriever = components.retriever()
            hits = [[(h.chunk_id, round(h.score, 6), h.dense_rank, h.lexical_rank)
                     for h in retriever.search(query, k=8)]
                    for query in (QUESTION, "colorectal cancer screening age", "exosome safety FDA")]
            answer = components.answers().answer(QUESTION)
            results[name] = (hits, answer.model_dump(mode="json", exclude={"conversation_id", "timings_ms"}))
        finally:
            components.close()
    assert results["embedded"] == results["server"]


@pytest.mark.timeout(120)
def test_the_api_answers_503_while_chroma_is_down_and_recovers_by_itself(tmp_path: Path,
                                                                       write_doc: WriteDoc) -> None:
    port = free_port()
    server = start_chroma(tmp_path / "server", port)
    settings = Settings(data_dir=tmp_path / "data", chroma_url=f"http://127.0.0.1:{port}",
                        store={"collection": "faults", "sync_seconds": 0})  # type: ignore[arg-type]
    components = Components(settings, embedder=HashEmbedder())
    try:
        write_doc("prp.md", body="## Results\nPRP with microneedling improved acne scars in a split-face trial.")
        assert components.ingestor().run([tmp_path / "src"]).added == 1
        app = create_app(keyed(settings), components=components)
        with TestClient(app, client=("127.0.0.1", 40000), raise_server_exceptions=False) as client:
            assert client.get("/v1/search", params={"q": "acne scars"}, headers=READ).status_code == 200
            server.send_signal(signal.SIGKILL)
            server.wait()
            for request in (lambda: client.get("/v1/search", params={"q": "acne scars"}, headers=READ),
                            lambda: client.post("/v1/answers", json={"question": "Does PRP help acne scars?"},
                                                headers=READ)):
                down = request()
                assert down.status_code == 503 and down.headers["Retry-After"]
                assert "Chroma" in down.json()["error"]["message"]
            assert client.get("/readyz").status_code == 503

            server = start_chroma(tmp_path / "server", port)  # same data, same port: no restart of the API
            deadline = time.monotonic() + 30
            while (back := client.get("/v1/search", params={"q": "acne scars"}, headers=READ)).status_code != 200:
                assert time.monotonic() < deadline, back.json()
                time.sleep(0.5)
            assert back.json()["hits"][0]["doc_id"] == "prp"
            assert client.get("/readyz").status_code == 200
    finally:
        components.close()
        stop(server)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_ingestion_job_runs_while_two_api_workers_serve_answers(chroma_url: str, tmp_path: Path) -> None:
    """`rag serve --workers 2` on one data dir and `rag ingest` from another (another machine), one server. The
    command line runs with the fake embedder (tests/helpers/fake_cli.py): the job and the replicas are tested, not the
    model (its load and ONNX export in each of the four processes took most of this test's time)."""
    collection = f"t{uuid.uuid4().hex}"
    env = {**os.environ, "RAG_CHROMA_URL": chroma_url, "RAG_STORE__COLLECTION": collection,
           "RAG_STORE__SYNC_SECONDS": "0.5", "RAG_API__RATE_LIMIT_PER_MINUTE": "100000",
           "RAG_API__ANSWER_RATE_LIMIT_PER_MINUTE": "100000", "RAG_API__ANSWER_RATE_LIMIT_BURST": "1000",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
           **{f"RAG_MEANING__{name.upper()}": str(value) for name, value in HASH_MEANING.items()}}
    rag = [sys.executable, "-m", "tests.helpers.fake_cli"]
    first, second = tmp_path / "first", tmp_path / "second"
    for folder, names in ((first, GUIDELINES), (second, STUDIES)):  # a few documents: the job is tested, not its size
        folder.mkdir()
        for name in names:
            shutil.copy(ROOT / "corpus" / name, folder)
    ingest = [*rag, "ingest", "--data-dir", str(tmp_path / "ingest-machine"), "--json"]
    subprocess.run([*ingest, str(first)], env=env, check=True, capture_output=True, timeout=180)
    port = free_port()
    api = subprocess.Popen([*rag, "serve", "--port", str(port), "--workers", "2",
                            "--data-dir", str(tmp_path / "api-machine")],
                           env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    statuses: list[int] = []
    stop_load = threading.Event()

    def load() -> None:
        with local_http.client(base_url=url, timeout=30) as client:
            while not stop_load.is_set():
                statuses.append(client.post("/v1/answers", json={"question": QUESTION}).status_code)

    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if local_http.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert api.poll() is None and time.monotonic() < deadline, "rag serve did not become ready"
            time.sleep(0.5)
        clients = [threading.Thread(target=load) for _ in range(2)]
        for thread in clients:
            thread.start()
        report = subprocess.run([*ingest, str(second)], env=env, check=True, capture_output=True, timeout=240)
        assert json.loads(report.stdout)["added"] > 0
        time.sleep(1.5)  # longer than the refresh interval
        stop_load.set()
        for thread in clients:
            thread.join(timeout=60)
        assert statuses and set(statuses) == {200}, statuses
        for _ in range(4):  # both workers see the studies ingested while they were serving, beside the guidelines
            found = local_http.get(f"{url}/v1/search", params={"q": QUESTION, "sections": "true"}, timeout=30).json()
            assert found["sections"]["guidelines"] and found["sections"]["studies"], found
            answer = local_http.post(f"{url}/v1/answers", json={"question": QUESTION}, timeout=30).json()
            assert "study" in {r["kind"] for r in answer["references"]}, answer["references"]
    finally:
        stop_load.set()
        api.send_signal(signal.SIGTERM)
        try:
            api.wait(timeout=30)
        except subprocess.TimeoutExpired:
            api.kill()
