"""The OpenAI-compatible generator with the real openai SDK against a stub server on 127.0.0.1."""

from __future__ import annotations

import socket

import pytest
from pydantic import SecretStr

from rag.config import GenerationSettings
from rag.errors import ConfigError, GenerationError
from rag.factory import Components
from rag.generate.openai_chat import OpenAIChatGenerator
from rag.generate.prompting import ChatPrompt
from rag.generate.protocol import GenerationRequest
from rag.testing import StubChatServer

PROMPT = ChatPrompt(system="sys", user="user")
REQUEST = GenerationRequest("q", "clinician", [], PROMPT)
ANSWER = "## From the Guidelines\nNo exosome product is approved by the FDA [1].\n## From the Research\nPRP helped [2]."


def generator(url: str, **overrides: object) -> OpenAIChatGenerator:
    values: dict[str, object] = {"backend": "openai", "base_url": url, "model": "stub-model",
                                 "api_key": SecretStr("k"), "timeout_s": 5, "max_retries": 0, **overrides}
    settings = GenerationSettings.model_validate(values)
    return OpenAIChatGenerator(settings)


def test_completion_and_stream() -> None:
    with StubChatServer([{"content": ANSWER}]) as server:
        chat = generator(server.base_url, temperature=0.2)
        assert chat.generate(REQUEST).text == ANSWER
        streamed = list(chat.stream(REQUEST))
        assert "".join(p for p in streamed if isinstance(p, str)) == ANSWER and streamed[-1].text == ANSWER  # type: ignore[union-attr]
        sent = server.requests[0]
        assert sent["model"] == "stub-model" and sent["temperature"] == 0.2 and sent["stream"] is False
        assert [m["role"] for m in sent["messages"]] == ["system", "user"] and server.requests[1]["stream"] is True
        assert chat.name == "openai:stub-model"


def test_server_errors_are_retried_then_reported() -> None:
    with StubChatServer([{"status": 500}, {"status": 503}, {"content": ANSWER}]) as server:
        assert generator(server.base_url, max_retries=2).generate(REQUEST).text == ANSWER
        assert len(server.requests) == 3
    with StubChatServer([{"status": 500}]) as server, pytest.raises(GenerationError, match="HTTP 500"):
        generator(server.base_url, max_retries=1).generate(REQUEST)


def test_timeouts_refused_connections_and_empty_messages() -> None:
    with StubChatServer([{"content": ANSWER, "delay": 2}]) as server, pytest.raises(GenerationError,
                                                                                     match="within 0.3 s"):
        generator(server.base_url, timeout_s=0.3).generate(REQUEST)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(GenerationError, match="could not be reached"):
        generator(f"http://127.0.0.1:{port}/v1").generate(REQUEST)
    with StubChatServer([{"content": "  "}]) as server, pytest.raises(GenerationError, match="empty"):
        generator(server.base_url).generate(REQUEST)


def test_model_is_required() -> None:
    with pytest.raises(ConfigError, match="generation.model"):
        OpenAIChatGenerator(GenerationSettings(backend="openai", base_url="http://127.0.0.1:1/v1"))


def test_service_against_the_stub_falls_back_on_500(answer_corpus: Components) -> None:
    with StubChatServer([{"status": 500}]) as server:
        service = answer_corpus.answers(llm=generator(server.base_url))
        answer = service.answer("Is any exosome product approved by the FDA?", backend="openai")
    assert answer.backend == "extractive (fallback from openai:stub-model)"
    assert any("HTTP 500" in notice for notice in answer.notices)


def test_service_against_the_stub_answers(answer_corpus: Components) -> None:
    with StubChatServer([{"content": ANSWER + " Invented [9]."}]) as server:
        answer = answer_corpus.answers(llm=generator(server.base_url)).answer(
            "Is any exosome product approved by the FDA?", backend="openai")
    assert answer.backend == "openai:stub-model" and answer.grounding.dangling == [9]
    assert answer.sections[0].text.startswith("No exosome product is approved by the FDA [1]")


JSON_ANSWER = ('{"guidelines": [{"sentence": "No exosome product is approved by the FDA.", "sources": [1]}], '
               '"research": [{"sentence": "PRP helped.", "sources": [2]}], "limitations": "Few trials."}')
JSON_REQUEST = GenerationRequest("q", "clinician", [], PROMPT, ChatPrompt(system="sys", user="answer as JSON"))


def test_json_mode_asks_for_the_schema_and_returns_json() -> None:
    with StubChatServer([{"content": JSON_ANSWER, "usage": (120, 40)}]) as server:
        generation = generator(server.base_url, output="json").generate(JSON_REQUEST)
        sent = server.requests[0]
    assert generation.format == "json" and generation.text == JSON_ANSWER and generation.tokens == (120, 40)
    schema = sent["response_format"]["json_schema"]["schema"]
    assert sent["messages"][1]["content"] == "answer as JSON"
    assert schema["properties"]["research"]["minItems"] == 1 and schema["properties"]["research"]["maxItems"] >= 4
    assert set(schema["required"]) == {"guidelines", "research", "limitations"}


def styles(server: StubChatServer) -> list[str | None]:
    return [r.get("response_format", {}).get("type") for r in server.requests]


def test_auto_mode_asks_again_as_text_when_the_server_rejects_the_schema_and_remembers() -> None:
    with StubChatServer([{"content": ANSWER, "reject_response_format": True}]) as server:
        chat = generator(server.base_url)  # output: auto
        first = chat.generate(JSON_REQUEST)
        assert styles(server) == ["json_schema", "json_object", None]
        assert first.format == "markdown" and first.text == ANSWER and "does not accept" in first.notices[0]
        second = chat.generate(JSON_REQUEST)
        assert styles(server) == ["json_schema", "json_object", None, None]
        assert second.notices == ()
        assert server.requests[2]["messages"][1]["content"] == "user", "the Markdown prompt once JSON is known off"


def test_a_server_that_takes_the_schema_as_json_object_gets_it_that_way_from_then_on() -> None:
    """llama-cpp-python's server answers a json_schema response_format with HTTP 500 and takes a json_object one
    with a schema."""
    with StubChatServer([{"content": JSON_ANSWER, "reject_response_format": "json_schema"}]) as server:
        chat = generator(server.base_url, max_retries=0)
        first = chat.generate(JSON_REQUEST)
        assert first.format == "json" and first.notices == ()
        assert styles(server) == ["json_schema", "json_object"]
        assert server.requests[1]["response_format"]["schema"]["properties"]["research"]["minItems"] == 1
        chat.generate(JSON_REQUEST)
        assert styles(server) == ["json_schema", "json_object", "json_object"]


def test_auto_mode_reads_an_ignored_schema_as_markdown_and_remembers() -> None:
    with StubChatServer([{"content": ANSWER}]) as server:
        chat = generator(server.base_url)
        first = chat.generate(JSON_REQUEST)
        assert first.format == "markdown" and "did not return the JSON" in first.notices[0]
        chat.generate(JSON_REQUEST)
        assert [("response_format" in r) for r in server.requests] == [True, False]


def test_json_mode_asks_as_text_when_the_server_rejects_the_schema() -> None:
    with StubChatServer([{"content": ANSWER, "reject_response_format": True}]) as server:
        generation = generator(server.base_url, output="json").generate(JSON_REQUEST)
    assert generation.format == "markdown" and "does not accept" in generation.notices[0]


def test_a_completion_cut_at_the_token_limit_is_marked() -> None:
    with StubChatServer([{"content": JSON_ANSWER[:150], "finish_reason": "length"}]) as server:
        generation = generator(server.base_url, output="json").generate(JSON_REQUEST)
    assert generation.truncated and generation.format == "json"


def test_json_stream_shows_readable_items_as_they_complete() -> None:
    with StubChatServer([{"content": JSON_ANSWER}]) as server:
        pieces = list(generator(server.base_url, output="json").stream(JSON_REQUEST))
    text = "".join(p for p in pieces if isinstance(p, str))
    assert "{" not in text and "## From the Guidelines\nNo exosome product is approved by the FDA [1]." in text
    assert "PRP helped [2]." in text
    final = pieces[-1]
    assert not isinstance(final, str) and final.format == "json" and final.text == JSON_ANSWER


def test_stream_of_a_server_that_rejects_the_schema_is_text() -> None:
    with StubChatServer([{"content": ANSWER, "reject_response_format": True}]) as server:
        pieces = list(generator(server.base_url).stream(JSON_REQUEST))
    assert "".join(p for p in pieces if isinstance(p, str)) == ANSWER
    final = pieces[-1]
    assert not isinstance(final, str) and final.format == "markdown" and final.notices
