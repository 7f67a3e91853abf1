"""The official openai SDK, unchanged, against rag served by a live uvicorn on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest

from api.app import create_app
from rag.factory import Components
from tests.helpers.keys import READ_KEY, keyed
from tests.helpers.live_server import live_server

QUESTION = "Is any exosome product approved by the FDA, and does PRP with microneedling improve acne scars?"


@pytest.fixture
def server(answer_corpus: Components) -> Iterator[str]:
    with live_server(create_app(keyed(answer_corpus.settings), components=answer_corpus)) as base:
        yield f"{base}/v1"


def test_chat_completion_non_stream_and_stream(server: str) -> None:
    client = openai.OpenAI(base_url=server, api_key=READ_KEY, max_retries=0)
    response = client.chat.completions.create(model="rag", messages=[{"role": "user", "content": QUESTION}])
    content = response.choices[0].message.content or ""
    assert "## From the Guidelines" in content and "## From the Research" in content and "[1]" in content
    extra = response.model_extra or {}
    assert extra["rag"]["references"] and extra["rag"]["grounding"]["verified"]
    chunks = list(client.chat.completions.create(model="rag", stream=True,
                                                 messages=[{"role": "user", "content": QUESTION}]))
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "## From the Guidelines" in streamed and chunks[-1].choices[0].finish_reason == "stop"
    finals = [c.model_extra["rag"] for c in chunks if c.model_extra and "rag" in c.model_extra]
    assert finals and finals[0]["references"]


def test_chat_history_condenses_follow_ups_and_bad_keys_fail(server: str) -> None:
    client = openai.OpenAI(base_url=server, api_key=READ_KEY, max_retries=0)
    response = client.chat.completions.create(model="rag", messages=[
        {"role": "user", "content": QUESTION}, {"role": "assistant", "content": "..."},
        {"role": "user", "content": "What about their side effects?"}])
    assert response.model_extra["rag"]["answer"]["standalone_question"].startswith('What about their side effects? (following the question "')  # type: ignore[index]
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=server, api_key="wrong", max_retries=0).chat.completions.create(
            model="rag", messages=[{"role": "user", "content": QUESTION}])
    with pytest.raises(openai.UnprocessableEntityError):
        client.chat.completions.create(model="rag", messages=[{"role": "system", "content": "only a system"}])
