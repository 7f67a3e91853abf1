"""What :meth:`rag.answer.service.AnswerService.stream` yields, in order: the sources, text deltas while the answer is
written, notices, and the verified answer last. Each event names its ``kind`` (the discriminator, and the SSE event
name) and gives its ``data()`` as JSON on demand, so a consumer that only wants the answer renders nothing else."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from rag.answer.models import Answer
from rag.contract import Source


@dataclass(frozen=True)
class SourcesEvent:
    """The numbered sources the answer is written from (first)."""

    sources: Sequence[Source]
    kind: ClassVar[Literal["sources"]] = "sources"

    def data(self) -> list[dict[str, Any]]:
        """Each source as JSON: its number, publication metadata and passage text."""
        return [_source_view(source) for source in self.sources]


@dataclass(frozen=True)
class DeltaEvent:
    """A piece of the answer's text as it is written (a model's draft, or the extractive answer)."""

    text: str
    kind: ClassVar[Literal["delta"]] = "delta"

    def data(self) -> dict[str, str]:
        """``{"text": ...}``."""
        return {"text": self.text}


@dataclass(frozen=True)
class NoticeEvent:
    """Something the reader should know about how the answer was produced (a fallback, a removed section)."""

    text: str
    kind: ClassVar[Literal["notice"]] = "notice"

    def data(self) -> str:
        """The notice's text."""
        return self.text


@dataclass(frozen=True)
class AnswerEvent:
    """The verified answer (last)."""

    answer: Answer
    kind: ClassVar[Literal["answer"]] = "answer"

    def data(self) -> dict[str, Any]:
        """The Answer as JSON."""
        return self.answer.model_dump(mode="json")


AnswerStreamEvent = SourcesEvent | DeltaEvent | NoticeEvent | AnswerEvent


def _source_view(source: Source) -> dict[str, Any]:
    hit = source.hit
    return {"n": source.n, "kind": hit.kind, "doc_id": hit.doc_id, "chunk_id": hit.chunk_id, "title": hit.title,
            "year": hit.year, "source": hit.source, "pmid": hit.pmid, "doi": hit.doi, "url": hit.url,
            "text": source.text}
