"""The Generator contract: a whole answer, or the same answer streamed as readable pieces then one Generation; and,
for a generator backed by a language model, plain completions and failures raised as GenerationError."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.contract import Source
from rag.errors import GenerationError
from rag.generate.json_answer import read_answer
from rag.generate.prompting import ChatPrompt
from rag.generate.protocol import Generation, GenerationRequest, Generator, ModelGenerator
from rag.models import Hit, Kind

QUESTION = "Does platelet-rich plasma with microneedling improve acne scars?"
PASSAGES: tuple[tuple[Kind, str], ...] = (
    ("guideline", "Microneedling devices for aesthetic use exclude the delivery of drugs or biologics."),
    ("study", "In a split-face trial of 50 patients, platelet-rich plasma with microneedling improved acne scars by "
              "62% against 45% with microneedling alone."),
)


def contract_sources() -> list[Source]:
    """Two numbered sources, a guideline and a study."""
    sources = []
    for n, (kind, text) in enumerate(PASSAGES, start=1):
        hit = Hit(doc_id=f"doc{n}", chunk_id=f"doc{n}#0", kind=kind, title=f"Title {n}",
                  score=1.0, text=text, section="Results", span=(0, len(text)), year=2020)
        sources.append(Source(n=n, hit=hit, text=text))
    return sources


class GeneratorContract:
    """Implement :meth:`make_generator`; override :meth:`make_request` for a generator that needs another request."""

    def make_generator(self, tmp_path: Path) -> Generator:
        """A generator that answers the request of :meth:`make_request` (at least four times)."""
        raise NotImplementedError

    def make_request(self) -> GenerationRequest:
        """The request every test asks: the contract's question and sources, a plain prompt."""
        return GenerationRequest(QUESTION, "clinician", contract_sources(),
                                 ChatPrompt(system="Answer from the sources.", user=QUESTION))

    @pytest.fixture
    def generator(self, tmp_path: Path) -> Generator:
        return self.make_generator(tmp_path)

    def test_it_is_a_generator_with_a_stable_name(self, generator: Generator) -> None:
        assert isinstance(generator, Generator)
        assert isinstance(generator.name, str) and generator.name.strip()

    def test_is_model_says_whether_it_is_a_model_generator(self, generator: Generator) -> None:
        assert isinstance(generator.is_model, bool)
        assert generator.is_model == isinstance(generator, ModelGenerator), \
            "a generator backed by a model also completes prompts (ModelGenerator); one that is not, does not"

    def test_generate_returns_a_generation(self, generator: Generator) -> None:
        check_generation(generator.generate(self.make_request()))

    def test_stream_yields_text_then_one_generation_last(self, generator: Generator) -> None:
        items = list(generator.stream(self.make_request()))
        *pieces, last = items
        assert isinstance(last, Generation) and pieces, "readable text first, the Generation last"
        assert all(isinstance(piece, str) and piece for piece in pieces), "every piece before the last is text"
        check_generation(last)
        if last.format == "markdown":
            assert "".join(pieces) == last.text  # type: ignore[arg-type]

    def test_stream_and_generate_give_the_same_answer(self, generator: Generator) -> None:
        whole = generator.generate(self.make_request())
        streamed = list(generator.stream(self.make_request()))[-1]
        assert isinstance(streamed, Generation)
        assert (streamed.text, streamed.format) == (whole.text, whole.format)


class ModelGeneratorContract(GeneratorContract):
    """For generators backed by a language model: also implement :meth:`make_failing_generator`."""

    def make_failing_generator(self, tmp_path: Path) -> ModelGenerator:
        """A generator whose model fails (its endpoint errs, or it is scripted to raise)."""
        raise NotImplementedError

    def test_it_is_a_model_generator(self, generator: Generator) -> None:
        assert generator.is_model and isinstance(generator, ModelGenerator)

    def test_complete_returns_the_models_text(self, generator: Generator) -> None:
        assert isinstance(generator, ModelGenerator)
        text = generator.complete(ChatPrompt(system="Rewrite the follow-up as a standalone question.",
                                             user="And exosomes?"))
        assert isinstance(text, str) and text.strip()

    def test_a_failing_model_raises_generation_error(self, tmp_path: Path) -> None:
        request = self.make_request()
        with pytest.raises(GenerationError):
            self.make_failing_generator(tmp_path).generate(request)
        with pytest.raises(GenerationError):
            list(self.make_failing_generator(tmp_path).stream(request))
        with pytest.raises(GenerationError):
            self.make_failing_generator(tmp_path).complete(ChatPrompt(system="s", user="u"))


def check_generation(generation: Generation) -> None:
    """What every Generation holds: text, its format (a JSON one holds the answer object), and well-formed extras."""
    assert isinstance(generation, Generation) and generation.text.strip()
    assert generation.format in ("markdown", "json")
    if generation.format == "json":
        assert read_answer(generation.text) is not None, "a JSON generation holds the answer object"
    assert isinstance(generation.truncated, bool)
    assert isinstance(generation.notices, tuple) and all(isinstance(n, str) and n for n in generation.notices)
    assert generation.tokens is None or (len(generation.tokens) == 2 and min(generation.tokens) >= 0)
