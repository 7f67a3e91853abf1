"""One question length limit: the API refuses what the settings refuse (RAG_GENERATION__MAX_QUESTION_CHARS,
RAG_RETRIEVAL__MAX_QUERY_CHARS), with the limit and the setting named, and has no static bound of its own."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from rag.factory import Components
from tests.helpers.chroma import embedded_only
from tests.helpers.keys import READ, keyed

TOO_LONG = "Does PRP help acne scars? " + "x" * 1975  # 2,001 characters; the default limit is 2,000


@embedded_only
@pytest.mark.parametrize("path, body", [
    ("/v1/answers", {"question": TOO_LONG}),
    ("/v1/answers", {"question": TOO_LONG, "stream": True}),
    ("/v1/chat/completions", {"messages": [{"role": "user", "content": TOO_LONG}]}),
    ("/v1/chat/completions", {"messages": [{"role": "user", "content": TOO_LONG}], "stream": True}),
])
def test_a_question_over_the_limit_is_refused_naming_it(client: TestClient, path: str, body: dict[str, object]) -> None:
    assert len(TOO_LONG) == 2001
    response = client.post(path, json=body, headers=READ)
    assert response.status_code == 422, response.text
    message = response.json()["error"]["message"]
    assert "2001 characters long; the limit is 2000 (RAG_GENERATION__MAX_QUESTION_CHARS)" in message


def test_the_configured_limit_is_the_only_one(answer_corpus: Components) -> None:
    settings = answer_corpus.settings
    lower = keyed(settings.model_copy(update={"generation": settings.generation.model_copy(
        update={"max_question_chars": 40})}))
    served = Components(lower, embedder=answer_corpus.embedder, judge=answer_corpus.judge())
    try:
        with TestClient(create_app(lower, components=served), client=("127.0.0.1", 40000)) as client:
            refused = client.post("/v1/answers", json={"question": "Does PRP with microneedling improve acne scars?"},
                                  headers=READ)
            assert refused.status_code == 422
            assert "the limit is 40 (RAG_GENERATION__MAX_QUESTION_CHARS)" in refused.json()["error"]["message"]
            schema = client.get("/openapi.json").json()["components"]["schemas"]["AnswerRequest"]
            assert "maxLength" not in schema["properties"]["question"]  # no second, static limit
    finally:
        served.close()


@embedded_only
def test_a_search_query_over_the_limit_is_refused_naming_it(client: TestClient) -> None:
    response = client.get("/v1/search", params={"q": "x" * 2001}, headers=READ)
    assert response.status_code == 422
    assert "the limit is 2000 (RAG_RETRIEVAL__MAX_QUERY_CHARS)" in response.json()["error"]["message"]
    too_many = client.get("/v1/search", params={"q": "exosome", "k": 101}, headers=READ)
    assert too_many.status_code == 422 and "between 1 and 100" in too_many.json()["error"]["message"]
