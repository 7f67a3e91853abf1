"""The Answer returned by the CLI, the API and the eval harness (DESIGN.md), and the sources it is built from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from pydantic import BaseModel, Field, model_validator

from rag.appraisal import Certainty, Consensus, Disagreement, SourceAppraisal
from rag.contract import Audience, SectionKind
from rag.errors import FailureKind
from rag.models import Kind


class AnswerSection(BaseModel):
    """One section of the answer; ``evidence_found`` is False when its text is a "no evidence" statement."""

    kind: SectionKind
    title: str
    text: str
    evidence_found: bool
    certainty: Certainty | None = Field(None, description="GRADE-inspired certainty of the section's evidence "
                                                           "(not a formal GRADE rating); research sections.")
    consensus: Consensus | None = Field(None, description="For yes/no questions: the cited publications counted by "
                                                           "the direction of their findings.")


class Quote(BaseModel):
    """A passage sentence (or sentences) that supports what the answer cites, exactly as the document has it."""

    text: str
    span: tuple[int, int] = Field(description="Character span of the text in the document's text.")
    chunk_id: str = Field(description="The passage it was quoted from.")


class Reference(BaseModel):
    """A cited publication: where it comes from and, in reading order, every passage sentence the answer rests on.
    ``quote``, ``span`` and ``chunk_id`` repeat the first quote, for clients written for one quote a reference."""

    n: int
    kind: Kind
    doc_id: str
    title: str
    source: str | None = None
    year: int | None = None
    pmid: str | None = None
    doi: str | None = None
    url: str | None = None
    notes: str | None = Field(None, description="Remarks about our record of the publication (not quoted text).")
    quotes: list[Quote] = Field(default_factory=list, description="The supporting sentences, in reading order.")
    quote: str = Field("", description="= quotes[0].text")
    span: tuple[int, int] = Field((0, 0), description="= quotes[0].span")
    chunk_id: str = Field("", description="= quotes[0].chunk_id")
    appraisal: SourceAppraisal | None = Field(
        None, description="Design, size, age, direction of the cited finding, recommendation strength, flags; each "
        "with its source.")

    @model_validator(mode="after")
    def _first_quote(self) -> Reference:
        """Old one-quote answers (``quote``/``span``/``chunk_id`` only) read as one quote; otherwise the three
        fields are the first quote's."""
        if not self.quotes and self.quote:
            self.quotes = [Quote(text=self.quote, span=self.span, chunk_id=self.chunk_id)]
        elif self.quotes:
            first = self.quotes[0]
            self.quote, self.span, self.chunk_id = first.text, first.span, first.chunk_id
        return self


class Attribution(BaseModel):
    """A sentence the model left without a valid citation, and the references the system found supporting it."""

    sentence: str
    refs: list[int]


class Removal(BaseModel):
    """A sentence taken out of the answer, and why."""

    sentence: str
    reason: str


class Grounding(BaseModel):
    """What verification found and repaired: invented or misplaced citations, sentences the system attributed to a
    source, sentences it removed. ``unsupported_sentences`` and ``uncited_sentences`` list what is still unverified
    in the text (empty when every kept sentence is supported by the passages it cites)."""

    dangling: list[int] = Field(default_factory=list, description="Cited numbers that match no given source.")
    misrouted: list[int] = Field(default_factory=list, description="Citations in the wrong section for their kind.")
    unsupported_sentences: list[str] = Field(default_factory=list)
    uncited_sentences: list[str] = Field(default_factory=list)
    attributed: list[Attribution] = Field(default_factory=list, description="Citations added by the system.")
    removed: list[Removal] = Field(default_factory=list, description="Sentences taken out, with the reason.")
    verified: bool = False


class Answer(BaseModel):
    """The answer returned by the CLI, the API and the eval harness (DESIGN.md)."""

    question: str
    audience: Audience = "clinician"
    conversation_id: str | None = None
    standalone_question: str | None = Field(None, description="The follow-up rewritten for retrieval, if any.")
    sections: list[AnswerSection]
    limitations: str
    references: list[Reference]
    disagreements: list[Disagreement] = Field(default_factory=list, description="Cited publications whose "
                                                                                "findings point different ways.")
    label: Literal["yes", "no", "maybe"] | None = Field(None, description="For yes/no questions: what the research "
                                                                            "section's consensus adds up to.")
    grounding: Grounding
    backend: str
    notices: list[str] = Field(default_factory=list, description="Fallbacks and dropped sources, in plain words.")
    disclaimer: str
    timings_ms: dict[str, float] = Field(default_factory=dict)


FallbackReason = FailureKind | Literal["unsupported"]
"""Why the extractive answer replaced the model's: the endpoint's failure (rag.errors.FailureKind), or
``unsupported`` (nothing the model wrote could be kept: unsupported, misstated, off the question)."""
FALLBACK_REASONS: tuple[str, ...] = (*get_args(FailureKind), "unsupported")


@dataclass(frozen=True)
class Outcome:
    """How an answer was produced, for the answer service's observers (metrics); not part of the Answer JSON.

    ``generator``: the generator asked (``extractive`` or ``openai``). ``fallback``: why the extractive answer
    replaced the model's, None when it did not. ``tokens``: (prompt, completion) tokens the endpoint reported for
    the answer's generation, None when it reported none (the extractive composer uses none)."""

    generator: Literal["extractive", "openai"]
    fallback: FallbackReason | None = None
    tokens: tuple[int, int] | None = None
