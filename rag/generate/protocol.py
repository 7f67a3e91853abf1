"""The Generator seam: turns a question and numbered sources into the raw answer (Markdown in the output contract, or
the JSON of the answer schema), whole or streamed."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

from rag.contract import Audience, SectionKind, Source
from rag.generate.prompting import ChatPrompt, Turn
from rag.meaning.relevance import FollowUp

OutputFormat = Literal["markdown", "json"]


@dataclass(frozen=True)
class GenerationRequest:
    """What a generator answers: the question, the numbered sources, and the prompt rendered for each output
    format (``json_prompt`` asks for the answer schema of rag.generate.json_answer); ``follow_up`` when the question
    leans on the previous turn (its own ask, and the publications cited before)."""

    question: str
    audience: Audience
    sources: Sequence[Source]
    prompt: ChatPrompt
    json_prompt: ChatPrompt | None = None
    history: Sequence[Turn] = field(default_factory=tuple)
    follow_up: FollowUp | None = None


@dataclass(frozen=True)
class DraftSentence:
    """One sentence of an answer as its writer gave it: the text (no citation markers) and the numbers of the
    sources it cites (none: uncited)."""

    text: str
    sources: tuple[int, ...] = ()


@dataclass(frozen=True)
class Draft:
    """An answer as sentences per section, before grounding: what a generator that knows its sentences returns
    (the extractive composer, a model's JSON answer) and what a model's Markdown is parsed into, once.
    ``dangling``: citation numbers that matched no given source and were dropped."""

    sections: Mapping[SectionKind, Sequence[DraftSentence]]
    limitations: str = ""
    dangling: tuple[int, ...] = ()
    correction: DraftSentence | None = None
    """A guideline's sentence that contradicts what the question takes for granted, when the extractive composer
    leads with one: a model's answer that does not state it gets it first."""


@dataclass(frozen=True)
class Generation:
    """One generation: the model's raw text and how to read it.

    ``truncated``: the endpoint stopped at the token limit. ``notices``: what the reader of the answer should know
    about how it was produced (e.g. the endpoint ignored the JSON schema). ``tokens``: (prompt, completion) tokens
    when the endpoint reports them. ``draft``: the answer's sentences with their sources, from a generator that
    chose them itself (the extractive composer): then ``text`` is only for display and is not parsed."""

    text: str
    format: OutputFormat = "markdown"
    truncated: bool = False
    notices: tuple[str, ...] = ()
    tokens: tuple[int, int] | None = None
    draft: Draft | None = None


@runtime_checkable
class Generator(Protocol):
    """Produces the answer: '## From the Guidelines', '## From the Research', '## Limitations' sections whose
    sentences cite sources as [n], or the same as JSON items ``{"sentence", "sources"}``."""

    @property
    def name(self) -> str:
        """A label for the answer's ``backend`` field, e.g. ``openai:qwen2.5-1.5b``."""
        ...

    @property
    def is_model(self) -> bool:
        """Whether a language model writes the answer: its sentences are then held to the question's topic and its
        limitations verified, and the extractive answer is the fallback. False for the extractive composer, which
        quotes the passages it chose."""
        ...

    def generate(self, request: GenerationRequest) -> Generation:
        """The whole answer; a failure of the model or its endpoint raises GenerationError."""
        ...

    def stream(self, request: GenerationRequest) -> Iterator[str | Generation]:
        """Readable text (Markdown with [n] markers) in pieces as it is produced, then the :class:`Generation`."""
        ...


@runtime_checkable
class ModelGenerator(Generator, Protocol):
    """A generator backed by a language model, which can also complete a plain prompt (rewriting a follow-up as a
    standalone question)."""

    def complete(self, prompt: ChatPrompt) -> str:
        """The model's plain-text completion of ``prompt``; a failure raises GenerationError."""
        ...
