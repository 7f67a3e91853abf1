"""The Generator seam: turns a question and numbered sources into raw answer text in the output contract."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from rag.contract import Audience, Source
from rag.generate.prompting import ChatPrompt, Turn


@dataclass(frozen=True)
class GenerationRequest:
    question: str
    audience: Audience
    sources: Sequence[Source]
    prompt: ChatPrompt
    history: Sequence[Turn] = field(default_factory=tuple)


@runtime_checkable
class Generator(Protocol):
    """Produces the answer text: '## From the Guidelines', '## From the Research', '## Limitations' sections whose
    sentences cite sources as [n]."""

    @property
    def name(self) -> str: ...

    def generate(self, request: GenerationRequest) -> str: ...

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        """The same text in pieces, as it is produced."""
        ...
