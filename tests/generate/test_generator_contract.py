"""The Generator contract against every generator: the extractive composer, the OpenAI-compatible one (Markdown and
JSON answers, against the stub server on 127.0.0.1), and the scripted fake."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from rag.config import GenerationSettings, MeaningSettings
from rag.errors import GenerationError
from rag.generate.extractive import ExtractiveGenerator
from rag.generate.openai_chat import OpenAIChatGenerator
from rag.generate.prompting import ChatPrompt
from rag.generate.protocol import GenerationRequest, Generator, ModelGenerator
from rag.meaning.relevance import Relevance
from rag.meaning.vectors import SentenceVectors
from rag.testing import HashEmbedder, ScriptedGenerator, StubChatServer
from rag.testing.contracts import GeneratorContract, ModelGeneratorContract
from rag.testing.contracts.generator import QUESTION
from tests.helpers.meaning import HASH_MEANING

ANSWER = ("## From the Guidelines\nMicroneedling devices exclude the delivery of drugs or biologics [1].\n\n"
          "## From the Research\nPlatelet-rich plasma with microneedling improved acne scars by 62% [2].\n\n"
          "## Limitations\nOne small trial.\n")
JSON_ANSWER = {"guidelines": [{"sentence": "Microneedling devices exclude the delivery of drugs.", "sources": [1]}],
               "research": [{"sentence": "Platelet-rich plasma improved acne scars by 62%.", "sources": [2]}],
               "limitations": "One small trial."}
STANDALONE = "Are exosomes approved for microneedling?"


class TestExtractive(GeneratorContract):
    def make_generator(self, tmp_path: Path) -> Generator:
        embedder = HashEmbedder()
        relevance = Relevance(SentenceVectors(embedder, None), embedder.embed_query,
                              MeaningSettings(**HASH_MEANING))  # type: ignore[arg-type]
        return ExtractiveGenerator(relevance, GenerationSettings())

    def test_it_quotes_the_sources(self, generator: Generator) -> None:
        text = generator.generate(self.make_request()).text
        assert "improved acne scars by 62% against 45% with microneedling alone [2]" in text


class TestScripted(ModelGeneratorContract):
    def make_generator(self, tmp_path: Path) -> Generator:
        return ScriptedGenerator([ANSWER] * 4, completions=[STANDALONE] * 4)

    def make_failing_generator(self, tmp_path: Path) -> ModelGenerator:
        return ScriptedGenerator([GenerationError("scripted failure")],
                                 completions=[GenerationError("scripted failure")])


class TestScriptedJson(TestScripted):
    def make_generator(self, tmp_path: Path) -> Generator:
        return ScriptedGenerator([JSON_ANSWER] * 4, completions=[STANDALONE] * 4)


def chat(url: str, output: str = "auto") -> OpenAIChatGenerator:
    return OpenAIChatGenerator(GenerationSettings(backend="openai", base_url=url, model="stub-model", output=output,
                                                  api_key=SecretStr("k"), timeout_s=5, max_retries=0))  # type: ignore[arg-type]


def stand_in_model(content: str) -> StubChatServer:
    """A stub endpoint that answers the question with ``content`` and completes any other prompt with a question."""
    def respond(body: dict[str, object]) -> dict[str, object]:
        messages = body["messages"]
        asked = isinstance(messages, list) and messages[-1]["content"] == QUESTION
        return {"content": content if asked else STANDALONE, "usage": (120, 40)}

    return StubChatServer(respond)


class TestOpenAIChat(ModelGeneratorContract):
    content = ANSWER

    @pytest.fixture(autouse=True)
    def endpoint(self) -> Iterator[None]:
        with stand_in_model(self.content) as self.server, StubChatServer([{"status": 500}]) as self.failing:
            yield

    def make_generator(self, tmp_path: Path) -> Generator:
        return chat(self.server.base_url, output="text")

    def make_failing_generator(self, tmp_path: Path) -> ModelGenerator:
        return chat(self.failing.base_url, output="text")

    def test_tokens_are_reported(self, generator: Generator) -> None:
        assert generator.generate(self.make_request()).tokens == (120, 40)


class TestOpenAIChatJson(TestOpenAIChat):
    content = json.dumps(JSON_ANSWER)

    def make_generator(self, tmp_path: Path) -> Generator:
        return chat(self.server.base_url, output="json")

    def make_request(self) -> GenerationRequest:
        request = super().make_request()
        return dataclasses.replace(request, json_prompt=ChatPrompt(system="Answer in JSON.", user=QUESTION))

    def test_the_answer_is_json(self, generator: Generator) -> None:
        assert generator.generate(self.make_request()).format == "json"
