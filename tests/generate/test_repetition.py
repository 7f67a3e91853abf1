"""A model that starts repeating itself is stopped, and its answer is what it wrote before the repeats."""

from __future__ import annotations

import json
import time

from rag.factory import Components
from rag.generate.repetition import REPEATED, RepetitionGuard, without_repeats
from rag.testing import StubChatServer
from tests.generate.test_openai_chat import JSON_REQUEST, REQUEST, generator

HEAD = ("## From the Guidelines\nNo exosome product is approved by the FDA for cosmetic use [1]. The FDA warned of "
        "serious adverse events after unapproved exosome products [1].\n\n## From the Research\n")
LOOP = ("The exosome side and the PRP side improved equally in wrinkles [2]. Collagen increases did not differ "
        "between the two sides [2]. ")


def fed(text: str, size: int = 7) -> RepetitionGuard:
    guard = RepetitionGuard()
    for i in range(0, len(text), size):
        if guard.feed(text[i : i + size]):
            break
    else:
        guard.finish()
    return guard


def test_a_loop_is_stopped_at_its_second_repeated_sentence_and_cut_where_it_began() -> None:
    guard = fed(HEAD + LOOP * 6)
    assert guard.stopped and guard.kept == (HEAD + LOOP).rstrip()
    assert len(guard.text) < len(HEAD + LOOP * 3)  # stopped within the first repeat of the loop, not at the end


def test_one_sentence_written_three_times_is_a_loop() -> None:
    sentence = "No serious adverse events occurred in either group [2]. "
    guard = fed(HEAD + sentence * 3 + "Later text.")
    assert guard.stopped and guard.kept == (HEAD + sentence).rstrip()


def test_a_repeat_with_other_citations_is_still_a_repeat() -> None:
    text = HEAD + LOOP + LOOP.replace("[2]", "[3]") + LOOP.replace("[2]", "[2, 4]")
    assert without_repeats(text) == (HEAD + LOOP).rstrip()


def test_one_repeated_sentence_between_new_ones_and_short_repeats_are_not_a_loop() -> None:
    text = (HEAD + "PRP improved acne scars in every trial that tested it [3]. "
            "No exosome product is approved by the FDA for cosmetic use [1]. "
            "The IACM side did better than the PRP side in one trial [4].\n\n## Limitations\nFew trials. Few trials. "
            "Few trials.")
    guard = fed(text)
    assert not guard.stopped and guard.kept == text
    assert without_repeats(text) is None


def test_a_looping_stream_is_closed_and_no_more_tokens_are_asked_for() -> None:
    content = HEAD + LOOP * 40
    chunk = 16
    with StubChatServer([{"content": content, "chunk_chars": chunk, "chunk_delay": 0.002}]) as server:
        pieces = list(generator(server.base_url).stream(REQUEST))
        deadline = time.monotonic() + 5
        while server.disconnects == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server.disconnects == 1
        written = len(server.chunks_written)
    final = pieces[-1]
    assert not isinstance(final, str) and final.text == (HEAD + LOOP).rstrip() and final.notices == (REPEATED,)
    assert written < len(content) / chunk / 4  # the stub stopped writing a few chunks after the loop was seen


def test_a_json_answer_that_loops_is_read_from_its_items_before_the_loop() -> None:
    items = [{"sentence": "No exosome product is approved by the FDA for cosmetic use.", "sources": [1]}]
    loop = [{"sentence": "The exosome side and the PRP side improved equally in wrinkles.", "sources": [2]},
            {"sentence": "Collagen increases did not differ between the two sides.", "sources": [2]}]
    content = json.dumps({"guidelines": items, "research": loop * 10, "limitations": "Few trials."})
    with StubChatServer([{"content": content, "chunk_chars": 12}]) as server:
        streamed = list(generator(server.base_url, output="json").stream(JSON_REQUEST))
        whole = generator(server.base_url, output="json").generate(JSON_REQUEST)
    for final in (streamed[-1], whole):
        assert not isinstance(final, str) and final.format == "markdown" and REPEATED in final.notices
        assert final.text.count("improved equally") == 1 and final.text.count("Collagen") == 1
        assert final.text.startswith("## From the Guidelines\nNo exosome product is approved by the FDA")


def test_the_answer_says_the_model_was_stopped(answer_corpus: Components) -> None:
    content = ("## From the Guidelines\nNo exosome product is approved by the FDA [1].\n## From the Research\n"
               + "PRP helped patients with acne scars in the trial [2]. " * 5)
    with StubChatServer([{"content": content}]) as server:
        answer = answer_corpus.answers(llm=generator(server.base_url)).answer(
            "Is any exosome product approved by the FDA?", backend="openai")
    assert REPEATED in answer.notices and answer.backend == "openai:stub-model"
    assert answer.sections[0].text.startswith("No exosome product is approved by the FDA [1]")



def test_an_answer_asked_without_deltas_stops_the_looping_model_too(answer_corpus: Components) -> None:
    """``answer()`` (rag ask, POST /v1/answers, the evals) reads the model's stream as the streamed API does, so a
    loop is stopped while the model writes it: it had asked for the whole response and cut the repeats afterwards,
    after the model had spent its whole token budget on them."""
    content = HEAD + LOOP * 40
    chunk = 16
    with StubChatServer([{"content": content, "chunk_chars": chunk, "chunk_delay": 0.002}]) as server:
        answer = answer_corpus.answers(llm=generator(server.base_url)).answer(
            "Is any exosome product approved by the FDA?", backend="openai")
        deadline = time.monotonic() + 5
        while server.disconnects == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server.disconnects == 1 and all(request.get("stream") for request in server.requests)
        written = len(server.chunks_written)
    assert REPEATED in answer.notices
    assert written < len(content) / chunk / 4
