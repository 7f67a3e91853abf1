"""Server-Sent Events on a live server in front of a slow OpenAI-compatible stub: keep-alive comments while the model
is slow (the page's parser, our test parser and the openai SDK all skip them), and a client that goes away stops the
generation: the connection to the model is closed and the stub writes (almost) no chunk after the disconnect."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager

import openai
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from api.app import create_app
from api.deps import app_state
from api.security import hash_key
from rag.config import GenerationSettings
from rag.factory import Components
from rag.testing import StubChatServer
from tests.api.test_routes import parse_sse
from tests.helpers import local_http
from tests.helpers.keys import READ, READ_KEY, keyed
from tests.helpers.live_server import live_server

pytestmark = pytest.mark.timeout(120)

QUESTION = "Is any exosome product approved by the FDA, and does PRP with microneedling improve acne scars?"
ANSWER = ("## From the Guidelines\nNo exosome product is approved by the FDA for any use [1].\n"
          "## From the Research\nIn a split-face trial of 50 patients, PRP with microneedling improved acne scars "
          "by 62.20% against 45.84% with distilled water and microneedling [2].\n## Limitations\nFew trials.")
LONG = "Exosome products need premarket review as drugs or biologics [1]. " * 60  # ~250 chunks of 16 characters
GRACE_CHUNKS = 3  # chunks the stub may still write after the disconnect: the one in flight, one into a dead socket


@contextmanager
def api_with_slow_llm(answer_corpus: Components, stub: StubChatServer, **api: object) -> Iterator[tuple[str, FastAPI]]:
    generation = GenerationSettings(backend="openai", base_url=stub.base_url, model="stub-model",
                                    api_key=SecretStr("k"), output="text", timeout_s=30, max_retries=0)
    settings = answer_corpus.settings.model_copy(update={"generation": generation})
    components = Components(settings, embedder=answer_corpus.embedder)
    app = create_app(keyed(settings, **api), components=components)
    try:
        with live_server(app) as address:
            yield address, app
    finally:
        components.close()


def test_keep_alive_comments_while_the_model_is_slow(answer_corpus: Components) -> None:
    slow = {"content": ANSWER, "chunk_chars": 16, "chunk_delay": 0.1, "usage": (120, 45)}  # ~2.5 s of tokens
    with StubChatServer([slow]) as stub, api_with_slow_llm(answer_corpus, stub, sse_ping_s=0.3) as (api, _):
        raw = local_http.post(f"{api}/v1/answers", json={"question": QUESTION, "stream": True}, headers=READ,
                         timeout=60).text
        client = openai.OpenAI(base_url=f"{api}/v1", api_key=READ_KEY, max_retries=0)
        chunks = list(client.chat.completions.create(model="rag", stream=True,
                                                     messages=[{"role": "user", "content": QUESTION}]))
        metrics = local_http.get(f"{api}/metrics", headers=READ).text
    pings = [line for line in raw.split("\n") if line.startswith(": ping")]
    assert len(pings) >= 2, raw[:500]
    events = parse_sse("\n\n".join(block for block in raw.split("\n\n") if not block.startswith(":")))
    kinds = [kind for kind, _ in events]
    assert kinds[0] == "sources" and kinds[-1] == "answer" and "delta" in kinds
    assert events[-1][1]["backend"] == "openai:stub-model"  # type: ignore[index]
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "From the Guidelines" in streamed and chunks[-1].choices[0].finish_reason == "stop"
    assert 'rag_llm_tokens_total{type="input"} 240.0' in metrics  # both answers reported their usage
    assert 'rag_llm_tokens_total{type="output"} 90.0' in metrics


def read_until_deltas(lines: Iterator[str], wanted: int) -> None:
    """Read a /v1/answers stream until ``wanted`` delta events have arrived."""
    seen = 0
    for line in lines:
        if line.startswith("event: delta"):
            seen += 1
            if seen == wanted:
                return
    raise AssertionError("the stream ended before enough deltas")


def written_after(stub: StubChatServer, moment: float) -> int:
    return sum(1 for written in stub.chunks_written if written > moment)


def wait_for(condition: object, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_client_that_goes_away_stops_the_generation(answer_corpus: Components) -> None:
    slow = {"content": LONG, "chunk_chars": 16, "chunk_delay": 0.1}  # ~25 s if nobody stopped it
    with StubChatServer([slow]) as stub, api_with_slow_llm(answer_corpus, stub) as (api, app):
        with local_http.client(timeout=30) as client, client.stream(
                "POST", f"{api}/v1/answers", json={"question": QUESTION, "stream": True, "llm": "openai"},
                headers=READ) as response:
            assert response.status_code == 200
            read_until_deltas(response.iter_lines(), 3)
        gone = time.monotonic()  # the connection is closed here
        wait_for(lambda: stub.disconnects == 1)
        time.sleep(1.0)  # long enough for ten more chunks, had the generation gone on
        after = written_after(stub, gone)
        slots_left = app_state(app).answer_slots.running(f"key:{hash_key(READ_KEY)[:12]}")
    assert len(stub.chunks_written) < 40, "the model was stopped long before the end of its answer"
    assert after <= GRACE_CHUNKS, f"{after} chunks were generated for a client that had gone"
    assert slots_left == 0, "the answer's slot is freed"


def test_an_openai_sdk_client_that_closes_its_stream_stops_the_generation(answer_corpus: Components) -> None:
    slow = {"content": LONG, "chunk_chars": 16, "chunk_delay": 0.1}
    with StubChatServer([slow]) as stub, api_with_slow_llm(answer_corpus, stub) as (api, _):
        client = openai.OpenAI(base_url=f"{api}/v1", api_key=READ_KEY, max_retries=0)
        stream = client.chat.completions.create(model="rag-openai", stream=True,
                                                messages=[{"role": "user", "content": QUESTION}])
        received = 0
        for chunk in stream:
            received += bool(chunk.choices and chunk.choices[0].delta.content)
            if received == 3:
                break
        stream.close()
        gone = time.monotonic()
        wait_for(lambda: stub.disconnects == 1)
        time.sleep(1.0)
        after = written_after(stub, gone)
    assert len(stub.chunks_written) < 40 and after <= GRACE_CHUNKS, after


def test_streamed_events_keep_their_names_and_json_payloads(answer_corpus: Components) -> None:
    with StubChatServer([{"content": ANSWER}]) as stub, api_with_slow_llm(answer_corpus, stub) as (api, _):
        raw = local_http.post(f"{api}/v1/answers", json={"question": QUESTION, "stream": True}, headers=READ,
                         timeout=60).text
    blocks = raw.split("\n\n")
    assert "\r" not in raw and blocks[-1] == ""
    for block in blocks[:-1]:
        name, data = block.split("\n")
        assert name.split(": ", 1)[1] in {"sources", "delta", "notice", "answer"}
        json.loads(data.split(": ", 1)[1])
