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
        assert chat.generate(REQUEST) == ANSWER
        assert "".join(chat.stream(REQUEST)) == ANSWER
        sent = server.requests[0]
        assert sent["model"] == "stub-model" and sent["temperature"] == 0.2 and sent["stream"] is False
        assert [m["role"] for m in sent["messages"]] == ["system", "user"] and server.requests[1]["stream"] is True
        assert chat.name == "openai:stub-model"


def test_server_errors_are_retried_then_reported() -> None:
    with StubChatServer([{"status": 500}, {"status": 503}, {"content": ANSWER}]) as server:
        assert generator(server.base_url, max_retries=2).generate(REQUEST) == ANSWER
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
