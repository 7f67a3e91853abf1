"""Every route through the real app (fake embedder, real Chroma and SQLite), with API keys."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from rag.factory import Components
from tests.helpers.keys import ADMIN, READ
from tests.helpers.metrics import sample

QUESTION = "Is any exosome product approved by the FDA, and does PRP with microneedling improve acne scars?"


def test_health_ready_metrics_and_request_ids(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["documents"] == 4 and ready["vectors"] == ready["chunks"]
    response = client.get("/v1/search", params={"q": "exosome"}, headers={**READ, "X-Request-ID": "abc123"})
    assert response.headers["X-Request-ID"] == "abc123"
    metrics = client.get("/metrics", headers=READ).text
    assert sample(metrics, "rag_requests_total", route="/v1/search", method="GET", status="200") == 1
    assert sample(metrics, "rag_request_duration_seconds_count", route="/v1/search") == 1
    assert sample(metrics, "rag_index_documents", kind="guideline") == 1
    assert sample(metrics, "rag_index_documents", kind="study") == 3
    refused = client.get("/v1/search", params={"q": "exosome"}, headers={"X-API-Key": "not a key"})
    generated = refused.headers["X-Request-ID"]
    assert refused.status_code == 401 and len(generated) == 32 and refused.json()["error"]["request_id"] == generated
    metrics = client.get("/metrics", headers=READ).text
    assert sample(metrics, "rag_requests_total", route="/v1/search", method="GET", status="401") == 1


def test_answer_json(client: TestClient) -> None:
    response = client.post("/v1/answers", json={"question": QUESTION}, headers=READ)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert [s["title"] for s in answer["sections"]] == ["From the Guidelines", "From the Research"]
    assert answer["grounding"]["verified"] and answer["references"] and answer["conversation_id"]
    follow = client.post("/v1/answers", json={"question": "What about their side effects?",
                                              "conversation_id": answer["conversation_id"]}, headers=READ)
    assert follow.status_code == 200 and follow.json()["standalone_question"]
    conversation = client.get(f"/v1/conversations/{answer['conversation_id']}", headers=READ).json()
    assert [t["question"] for t in conversation["turns"]] == [QUESTION, "What about their side effects?"]
    assert conversation["turns"][0]["answer"]["references"] == answer["references"]


def test_answer_filters(client: TestClient) -> None:
    response = client.post("/v1/answers", json={"question": QUESTION, "filters": {"kinds": ["study"]}}, headers=READ)
    sections = response.json()["sections"]
    assert response.status_code == 200 and not sections[0]["evidence_found"] and sections[1]["evidence_found"]
    bad = client.post("/v1/answers", json={"question": QUESTION, "filters": {"colour": "red"}}, headers=READ)
    assert bad.status_code == 422 and "colour" in bad.json()["error"]["message"]


def parse_sse(text: str) -> list[tuple[str, object]]:
    events = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.split("\n"))
        events.append((lines["event"], json.loads(lines["data"])))
    return events


def test_answer_streams_sources_then_deltas_then_the_answer(client: TestClient) -> None:
    for request in ({"json": {"question": QUESTION, "stream": True}},
                    {"json": {"question": QUESTION}, "headers": {"Accept": "text/event-stream"}}):
        headers = {**READ, **request.get("headers", {})}  # type: ignore[dict-item]
        response = client.post("/v1/answers", json=request["json"], headers=headers)
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
        events = parse_sse(response.text)
        kinds = [kind for kind, _ in events]
        assert kinds[0] == "sources" and kinds[-1] == "answer" and set(kinds[1:-1]) == {"delta"}
        text = "".join(payload["text"] for kind, payload in events if kind == "delta")  # type: ignore[index]
        assert "## From the Guidelines" in text
        final = events[-1][1]
        source_ids = {s["chunk_id"] for s in events[0][1]}  # type: ignore[union-attr]
        assert {r["chunk_id"] for r in final["references"]} <= source_ids  # type: ignore[index]


def test_answer_bad_input(client: TestClient) -> None:
    cases = [
        ({"question": ""}, 422, "question"),
        ({"question": "x" * 2500}, 422, "limit is 2000"),
        ({"question": "ok?", "audience": "doctor"}, 422, "audience"),
        ({"question": "ok?", "conversation_id": "missing"}, 404, "unknown conversation"),
        ({"question": "ok?", "llm": "openai"}, 422, "no OpenAI-compatible endpoint"),
        ({"question": "ok?", "surprise": 1}, 422, "surprise"),
    ]
    for body, status, fragment in cases:
        response = client.post("/v1/answers", json=body, headers=READ)
        assert response.status_code == status, (body, response.text)
        error = response.json()["error"]
        assert fragment in json.dumps(error) and error["request_id"] and "Traceback" not in response.text
    assert client.get("/v1/conversations/nope", headers=READ).status_code == 404


def test_search(client: TestClient) -> None:
    hits = client.get("/v1/search", params={"q": "FDA exosome product approved premarket review", "k": 2},
                      headers=READ).json()["hits"]
    assert len(hits) == 2 and hits[0]["doc_id"] == "fda" and {"dense_rank", "lexical_rank"} <= set(hits[0])
    sections = client.get("/v1/search", params={"q": "acne scars", "sections": "true", "k": 1}, headers=READ).json()
    assert set(sections["sections"]) == {"guidelines", "studies"}
    filtered = client.get("/v1/search", params={"q": "acne", "kind": "study", "year_from": 2020}, headers=READ)
    assert all(h["year"] >= 2020 for h in filtered.json()["hits"])
    for params in ({"q": "x", "k": 0}, {"q": ""}, {"q": "x", "mode": "magic"}, {"q": "x", "design": "anecdote"}):
        assert client.get("/v1/search", params=params, headers=READ).status_code == 422, params


def test_documents_lifecycle(client: TestClient, answer_corpus: Components) -> None:
    before = answer_corpus.index.catalog.counts()
    markdown = b"---\nid: new-trial\nkind: study\ntitle: New trial\nyear: 2024\n---\n## Results\nZygomorphic result.\n"
    created = client.post("/v1/documents", files={"file": ("new.md", markdown, "text/markdown")}, headers=ADMIN)
    assert created.status_code == 201, created.text
    assert created.json()["added"] == 1 and created.json()["document_ids"] == ["new-trial"]
    listing = client.get("/v1/documents", params={"kind": "study", "limit": 2}, headers=READ).json()
    assert listing["total"] == 4 and len(listing["documents"]) == 2
    one = client.get("/v1/documents/new-trial", headers=READ).json()
    assert one["meta"]["year"] == 2024 and "Zygomorphic" in one["text"]
    assert client.get("/v1/search", params={"q": "zygomorphic", "mode": "lexical"},
                      headers=READ).json()["hits"][0]["doc_id"] == "new-trial"
    json_doc = {"id": "json-guideline", "kind": "guideline", "title": "Clinic protocol", "year": 2026,
                "sections": [{"title": "Recommendations", "text": "Offer three sessions a month apart."}]}
    assert client.post("/v1/documents", json=json_doc, headers=ADMIN).status_code == 201
    assert client.delete("/v1/documents/new-trial", headers=ADMIN).status_code == 204
    assert client.delete("/v1/documents/json-guideline", headers=ADMIN).status_code == 204
    assert client.get("/v1/documents/new-trial", headers=READ).status_code == 404
    assert client.delete("/v1/documents/new-trial", headers=ADMIN).status_code == 404
    assert answer_corpus.index.catalog.counts() == before and answer_corpus.index.verify()["consistent"]
    assert not list((answer_corpus.settings.data_dir / "uploads").iterdir()), "deleted uploads leave no file"


def test_malformed_upload_is_a_clear_4xx_and_loses_nothing(client: TestClient, answer_corpus: Components) -> None:
    before = answer_corpus.index.catalog.counts()
    vectors = answer_corpus.index.vectors.count()
    bad = [("junk.md", b"\x00\x01binary"), ("missing.md", b"---\nid: fda\nkind: study\n---\nNo title.\n"),
           ("broken.xml", b"<PubmedArticleSet><PubmedArticle>")]
    for name, content in bad:
        response = client.post("/v1/documents", files={"file": (name, content)}, headers=ADMIN)
        assert response.status_code == 422, response.text
        assert response.json()["error"]["detail"][0]["error"]
    dup = b"---\nid: fda\nkind: study\ntitle: Impostor\n---\nText that would replace the FDA notice.\n"
    clash = client.post("/v1/documents", files={"file": ("dup.md", dup)}, headers=ADMIN)
    assert clash.status_code == 422 and "already indexed" in clash.text
    assert client.post("/v1/documents", json={"id": "x"}, headers=ADMIN).status_code == 422
    assert client.post("/v1/documents", content=b"plain", headers={**ADMIN, "Content-Type": "text/plain"}
                       ).status_code == 415
    assert answer_corpus.index.catalog.counts() == before and answer_corpus.index.vectors.count() == vectors
    assert answer_corpus.index.catalog.document("fda").meta.title == "FDA exosome notice"  # type: ignore[union-attr]


def test_an_answer_past_the_timeout_is_a_504(answer_corpus: Components, monkeypatch: pytest.MonkeyPatch) -> None:
    from api.app import create_app
    from rag.answer.service import AnswerService
    from tests.helpers.keys import keyed

    prepare = AnswerService._prepare

    def slow_prepare(*args: Any, **kwargs: Any) -> Any:  # every answer takes longer than the timeout, even on an
        time.sleep(0.5)  # idle machine (a loaded one once let a 9 ms answer beat a 1 ms timeout)
        return prepare(*args, **kwargs)

    monkeypatch.setattr(AnswerService, "_prepare", slow_prepare)
    app = create_app(keyed(answer_corpus.settings, answer_timeout_s=0.05), components=answer_corpus)
    with TestClient(app, client=("127.0.0.1", 40000), raise_server_exceptions=False) as slow:
        for path, body in (("/v1/answers", {"question": "Does PRP improve acne scars?"}),
                           ("/v1/answers", {"question": "Does PRP improve acne scars?", "stream": True}),
                           ("/v1/chat/completions", {"model": "rag", "messages": [
                               {"role": "user", "content": "Does PRP improve acne scars?"}]})):
            response = slow.post(path, json=body, headers=READ)
            assert response.status_code == 504, (path, response.text)
            assert "RAG_API__ANSWER_TIMEOUT_S" in response.json()["error"]["message"]
