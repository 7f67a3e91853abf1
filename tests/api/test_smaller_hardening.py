"""The smaller items of the hardening: /readyz is cheap for anyone, streamed errors are scrubbed like JSON errors,
and answers, conversations and chat completions are never cached."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from rag.errors import StoreError
from rag.factory import Components
from tests.api.test_routes import parse_sse
from tests.helpers.keys import READ, keyed

QUESTION = "Is any exosome product approved by the FDA?"


def test_readyz_checks_the_store_at_most_once_per_interval(answer_corpus: Components,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    checks: list[int] = []
    counts = answer_corpus.index.catalog.counts
    monkeypatch.setattr(answer_corpus.index.catalog, "counts", lambda *a, **k: checks.append(1) or counts(*a, **k))
    for cache_s, expected in ((60.0, 1), (0.0, 5)):
        checks.clear()
        app = create_app(keyed(answer_corpus.settings, readyz_cache_s=cache_s), components=answer_corpus)
        with TestClient(app, client=("127.0.0.1", 40000)) as client:
            bodies = [client.get("/readyz").json() for _ in range(5)]
        assert len(checks) == expected and all(b["status"] == "ready" and b["documents"] == 4 for b in bodies)


def test_streamed_errors_are_scrubbed_like_json_errors(answer_corpus: Components,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    data_dir = str(answer_corpus.settings.data_dir.resolve())

    def failing(*args: object) -> int:
        raise StoreError(f"the conversation store {data_dir}/conversations.sqlite3 failed: disk I/O error")

    monkeypatch.setattr(answer_corpus.conversations, "add_turn", failing)
    with TestClient(create_app(keyed(answer_corpus.settings), components=answer_corpus),
                    client=("127.0.0.1", 40000), raise_server_exceptions=False) as client:
        events = parse_sse(client.post("/v1/answers", json={"question": QUESTION, "stream": True},
                                       headers=READ).text)
        chat = client.post("/v1/chat/completions", headers=READ, json={
            "model": "rag", "stream": True, "store": True, "messages": [{"role": "user", "content": QUESTION}]}).text
    error = [payload for kind, payload in events if kind == "error"]
    assert error and "<data dir>" in str(error[0]) and data_dir not in str(error[0])
    content = "".join(json.loads(line[6:])["choices"][0]["delta"].get("content") or ""
                      for line in chat.splitlines() if line.startswith("data: {"))
    assert "[error: the conversation store \\<data dir>" in content and data_dir not in chat  # inert Markdown


def test_answers_conversations_and_chat_completions_are_not_cached(client: TestClient) -> None:
    answer = client.post("/v1/answers", json={"question": QUESTION}, headers=READ)
    streamed = client.post("/v1/answers", json={"question": QUESTION, "stream": True}, headers=READ)
    conversation = client.get(f"/v1/conversations/{answer.json()['conversation_id']}", headers=READ)
    chat = client.post("/v1/chat/completions", headers=READ,
                       json={"model": "rag", "messages": [{"role": "user", "content": QUESTION}]})
    chat_stream = client.post("/v1/chat/completions", headers=READ, json={
        "model": "rag", "stream": True, "messages": [{"role": "user", "content": QUESTION}]})
    refused = client.post("/v1/answers", json={"question": QUESTION})
    for response in (answer, streamed, conversation, chat, chat_stream, refused):
        assert response.headers["cache-control"] == "no-store", response.request.url
