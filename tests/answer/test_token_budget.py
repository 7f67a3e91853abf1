"""Every limit that protects cost is checked on what the model receives: the question after Unicode normalisation,
the history fitted to its own token budget, the sources to what is left of the context (issue 26: a character NFKC
turns into 18 made a 2,000-character question a 39,000-character prompt; 63 history messages reached ~78k tokens
per call against an 8,192-token context)."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from rag.answer.budget import count_tokens
from rag.config import GenerationSettings
from rag.errors import UserError
from rag.factory import Components
from rag.generate.openai_chat import OpenAIChatGenerator
from rag.testing import StubChatServer

ANSWER = "## From the Guidelines\nNo exosome product is approved by the FDA for any use [1].\n## From the Research\n"
QUESTION = "Is any exosome product approved by the FDA?"


def received_tokens(request: dict[str, object]) -> int:
    messages = request["messages"]
    assert isinstance(messages, list)
    return sum(count_tokens(str(m["content"])) + 4 for m in messages)


def ask(components: Components, question: str, history: list[str]) -> tuple[list[int], list[str]]:
    with StubChatServer([{"content": "Is any exosome product approved by the FDA?"}, {"content": ANSWER}]) as server:
        llm = OpenAIChatGenerator(GenerationSettings.model_validate({
            **components.settings.generation.model_dump(), "backend": "openai", "base_url": server.base_url,
            "model": "stub", "api_key": SecretStr("k"), "max_retries": 0, "output": "text"}))
        answer = components.answers(llm=llm).answer(question, history=history, backend="openai", store=False)
        return [received_tokens(r) for r in server.requests], answer.notices


def test_a_question_is_measured_as_the_model_reads_it(answer_corpus: Components) -> None:
    with pytest.raises(UserError, match=r"after Unicode normalisation\); the limit is 2000 "
                                        r"\(RAG_GENERATION__MAX_QUESTION_CHARS\)"):
        answer_corpus.answers().answer("\ufdfa" * 1000)  # 1,000 characters; 18,000 once normalised


@pytest.mark.parametrize(("history", "fitted"), [
    (["What did the trial find? " + "\ufdfa" * 1000] * 63, True),  # under every character cap, huge once normalised
    (["a" * 19_000] * 5, True),  # plain ASCII, long
    ([f"Earlier question {i} about exosome approval and PRP safety?" for i in range(63)], False),  # the last 10 fit
])
def test_every_call_stays_within_the_context(answer_corpus: Components, history: list[str], fitted: bool) -> None:
    settings = answer_corpus.settings.generation
    calls, notices = ask(answer_corpus, "And what about their safety?", history)
    assert len(calls) == 2, "the condensation of the follow-up, then the answer"
    for tokens in calls:
        assert tokens <= settings.context_tokens - settings.max_answer_tokens, calls
    assert any("RAG_GENERATION__HISTORY_TOKENS" in notice for notice in notices) == fitted, notices
