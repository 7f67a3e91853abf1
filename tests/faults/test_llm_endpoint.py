"""The LLM endpoint down (connection refused), failing (HTTP 503) or slower than its timeout, seen through the HTTP
API on a live server configured for it: the answer still comes back, from the extractive composer, the response says
so (``backend``, ``notices``, the chat completion's text), and the timeout and retries bound the wait.

How the service and the generator fall back is tested in tests/answer and tests/generate; this is the API's view.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import openai
import pytest
from pydantic import SecretStr

from api.app import create_app
from rag.config import GenerationSettings
from rag.factory import Components
from rag.testing import StubChatServer
from tests.api.test_routes import parse_sse
from tests.helpers import local_http
from tests.helpers.keys import READ, READ_KEY, keyed
from tests.helpers.live_server import live_server
from tests.helpers.servers import free_port

pytestmark = pytest.mark.timeout(60)

QUESTION = "Is any exosome product approved by the FDA, and does PRP with microneedling improve acne scars?"
TIMEOUT_S, RETRIES = 0.5, 1
MAX_BACKOFF_S = 0.5  # the openai SDK waits at most 0.5 s before its first retry
SLACK_S = 3.0  # retrieval, the extractive answer, HTTP on a loaded CI machine; the bound stays below the 5 s delay
FALLBACK = "extractive (fallback from openai:stub-model)"
FAULTS = {  # fault: (stub responses or None for a closed port, the reason the notice gives)
    "down": (None, "the model endpoint could not be reached"),
    "5xx": ([{"status": 503}], "the model endpoint returned HTTP 503"),
    "slow": ([{"content": "Too late [1].", "delay": 5}], f"the model did not answer within {TIMEOUT_S:g} s"),
}


@contextmanager
def llm_endpoint(fault: str) -> Iterator[tuple[str, StubChatServer | None]]:
    responses = FAULTS[fault][0]
    if responses is None:
        yield f"http://127.0.0.1:{free_port()}/v1", None  # nothing listens there: connection refused
        return
    with StubChatServer(responses) as stub:
        yield stub.base_url, stub


@contextmanager
def api_with_llm(answer_corpus: Components, base_url: str) -> Iterator[str]:
    """A live API whose settings select the OpenAI-compatible generator at ``base_url``; yields the API address."""
    generation = GenerationSettings(backend="openai", base_url=base_url, model="stub-model", api_key=SecretStr("k"),
                                    timeout_s=TIMEOUT_S, max_retries=RETRIES)
    settings = answer_corpus.settings.model_copy(update={"generation": generation})
    components = Components(settings, embedder=answer_corpus.embedder)
    try:
        with live_server(create_app(keyed(settings), components=components)) as address:
            yield address
    finally:
        components.close()


def assert_fallback_said(answer: dict[str, Any], reason: str) -> None:
    assert answer["backend"] == FALLBACK
    assert any(reason in notice and "extractive answer instead" in notice for notice in answer["notices"]), answer
    assert answer["references"] and answer["grounding"]["verified"]
    assert "[1]" in answer["sections"][0]["text"]


@pytest.mark.parametrize("fault", list(FAULTS))
def test_answer_falls_back_to_extractive_within_the_timeout_and_retries(answer_corpus: Components,
                                                                        fault: str) -> None:
    with llm_endpoint(fault) as (url, stub), api_with_llm(answer_corpus, url) as api:
        started = time.monotonic()
        response = local_http.post(f"{api}/v1/answers", json={"question": QUESTION}, headers=READ, timeout=30)
        elapsed = time.monotonic() - started
        attempts = len(stub.requests) if stub is not None else None
    assert response.status_code == 200, response.text
    assert_fallback_said(response.json(), FAULTS[fault][1])
    assert elapsed < (RETRIES + 1) * TIMEOUT_S + MAX_BACKOFF_S + SLACK_S, elapsed
    if stub is not None:
        assert attempts == RETRIES + 1  # retried, then given up
    if fault == "slow":
        assert elapsed >= (RETRIES + 1) * TIMEOUT_S  # each attempt waited its full timeout, not the 5 s delay


def test_streamed_answer_and_chat_completion_say_so_when_the_llm_is_down(answer_corpus: Components) -> None:
    reason = FAULTS["down"][1]
    with llm_endpoint("down") as (url, _), api_with_llm(answer_corpus, url) as api:
        streamed = local_http.post(f"{api}/v1/answers", json={"question": QUESTION, "stream": True}, headers=READ,
                              timeout=30)
        client = openai.OpenAI(base_url=f"{api}/v1", api_key=READ_KEY, max_retries=0)
        completion = client.chat.completions.create(model="rag", messages=[{"role": "user", "content": QUESTION}])
    events = parse_sse(streamed.text)
    kinds = [kind for kind, _ in events]
    assert kinds[0] == "sources" and "notice" in kinds and kinds[-1] == "answer", kinds
    assert reason in str(events[kinds.index("notice")][1])
    assert_fallback_said(events[-1][1], reason)  # type: ignore[arg-type]
    content = completion.choices[0].message.content or ""
    assert f"> **Note:** The language model could not be used ({reason})" in content and "[1]" in content
    assert (completion.model_extra or {})["rag"]["answer"]["backend"] == FALLBACK
