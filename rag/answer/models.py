"""The Answer returned by the CLI, the API and the eval harness (DESIGN.md), and the sources it is built from."""

from __future__ import annotations

from pydantic import BaseModel, Field

from rag.contract import Audience, SectionKind
from rag.models import Kind


class AnswerSection(BaseModel):
    kind: SectionKind
    title: str
    text: str
    evidence_found: bool


class Reference(BaseModel):
    """A cited source: where it comes from and the exact sentence(s) of the passage that support the citation."""

    n: int
    kind: Kind
    doc_id: str
    chunk_id: str
    title: str
    source: str | None = None
    year: int | None = None
    pmid: str | None = None
    doi: str | None = None
    url: str | None = None
    quote: str = Field(description="The passage sentence(s) best supporting the answer sentences that cite it.")
    span: tuple[int, int] = Field(description="Character span of the quote in the document's text.")


class Grounding(BaseModel):
    """What verification found: citations removed or misplaced, and sentences the cited passages do not support."""

    dangling: list[int] = Field(default_factory=list, description="Cited numbers that match no given source.")
    misrouted: list[int] = Field(default_factory=list, description="Citations in the wrong section for their kind.")
    unsupported_sentences: list[str] = Field(default_factory=list)
    uncited_sentences: list[str] = Field(default_factory=list)
    verified: bool = False


class Answer(BaseModel):
    question: str
    audience: Audience = "clinician"
    conversation_id: str | None = None
    standalone_question: str | None = Field(None, description="The follow-up rewritten for retrieval, if any.")
    sections: list[AnswerSection]
    limitations: str
    references: list[Reference]
    grounding: Grounding
    backend: str
    notices: list[str] = Field(default_factory=list, description="Fallbacks and dropped sources, in plain words.")
    disclaimer: str
    timings_ms: dict[str, float] = Field(default_factory=dict)
