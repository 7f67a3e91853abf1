"""Typed domain objects passed between modules: documents, their sections, chunks and search hits."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from rag.text.spacing import collapse_whitespace

Kind = Literal["guideline", "study"]
KINDS: tuple[Kind, ...] = ("guideline", "study")

StudyDesign = Literal[
    "guideline",
    "consensus",
    "position-statement",
    "regulatory",
    "classification",
    "systematic-review",
    "meta-analysis",
    "rct",
    "non-randomized-trial",
    "cohort",
    "case-control",
    "cross-sectional",
    "case-series",
    "case-report",
    "narrative-review",
    "other",
]

DOC_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")


class DocumentMeta(BaseModel):
    """What is known about a publication, as written in front matter or a JSONL record."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    id: str = Field(description="Stable identifier, unique in the index.")
    kind: Kind
    title: str = Field(min_length=1)
    organization: str | None = None
    journal: str | None = None
    year: int | None = Field(None, ge=1800, le=2100)
    authors: tuple[str, ...] = ()
    pmid: str | None = Field(None, pattern=r"^\d{1,9}$")
    pmcid: str | None = Field(None, pattern=r"^PMC\d+$")
    doi: str | None = Field(None, pattern=r"^10\.\S+/\S+$")
    url: str | None = Field(None, pattern=r"^https?://\S+$")
    registration: str | None = None
    study_design: StudyDesign | None = None
    evidence_level: int | None = Field(None, ge=1, le=5)
    sample_size: int | None = Field(None, ge=0)
    publication_types: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    provenance: str | None = None
    notes: str | None = Field(
        None, description="Remarks about our record of the publication (what was not recorded, caveats): shown with "
        "the reference, never indexed, chunked or quoted.")
    retracted: bool = Field(False, description="The publication was retracted: it is never cited in an answer.")

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        if not DOC_ID_PATTERN.match(value):
            raise ValueError(
                "must be 1-128 characters of letters, digits, '.', '_', ':' or '-', starting with a letter or digit"
            )
        return value

    @field_validator("pmid", mode="before")
    @classmethod
    def _pmid_as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @property
    def source_name(self) -> str | None:
        """The issuing organisation or the journal, whichever is known."""
        return self.organization or self.journal


class Section(BaseModel):
    """A named part of a document's text: ``text[start:end]`` of the document."""

    model_config = ConfigDict(frozen=True)

    title: str
    start: int = Field(ge=0)
    end: int = Field(ge=0)


class Document(BaseModel):
    """A loaded publication: metadata, the full text and the spans of its sections."""

    model_config = ConfigDict(frozen=True)

    meta: DocumentMeta
    text: str
    sections: tuple[Section, ...]
    source: str = Field(description="The file it came from, with '#record' for multi-record files.")

    @model_validator(mode="after")
    def _sections_inside_text(self) -> Document:
        for section in self.sections:
            if not 0 <= section.start <= section.end <= len(self.text):
                raise ValueError(f"section {section.title!r} span lies outside the text")
        return self

    @property
    def id(self) -> str:
        return self.meta.id

    @property
    def kind(self) -> Kind:
        return self.meta.kind

    def content_hash(self) -> str:
        """SHA-256 of everything that reaches the index (metadata, text, sections), not of the source path."""
        payload = {
            "meta": self.meta.model_dump(mode="json"),
            "text": self.text,
            "sections": [s.model_dump() for s in self.sections],
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()

    @classmethod
    def from_sections(cls, meta: DocumentMeta, parts: list[tuple[str, str]], source: str) -> Document:
        """Build a document from ``(section title, section text)`` pairs; empty parts are dropped and whitespace is
        collapsed (:func:`rag.text.spacing.collapse_whitespace`)."""
        pieces: list[str] = []
        sections: list[Section] = []
        offset = 0
        for title, body in parts:
            body = collapse_whitespace(body).strip()
            if not body:
                continue
            if pieces:
                pieces.append("\n\n")
                offset += 2
            sections.append(Section(title=" ".join(title.split()) or "Text", start=offset, end=offset + len(body)))
            pieces.append(body)
            offset += len(body)
        return cls(meta=meta, text="".join(pieces), sections=tuple(sections), source=source)


class Chunk(BaseModel):
    """A piece of one section of a document, sized for the embedder; ``text == document.text[start:end]``."""

    model_config = ConfigDict(frozen=True)

    id: str
    doc_id: str
    ordinal: int = Field(ge=0)
    section: str
    text: str
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    embed_text: str = Field(description="What the embedder reads: title and section prefix, then the text.")
    token_count: int = Field(ge=0, description="Word pieces of embed_text, special tokens included.")


class Hit(BaseModel):
    """A retrieved chunk with what a caller needs to show and cite it."""

    model_config = ConfigDict(frozen=True)

    doc_id: str
    chunk_id: str
    kind: Kind
    title: str
    score: float
    text: str
    section: str
    span: tuple[int, int]
    year: int | None = None
    source: str | None = None
    study_design: str | None = None
    evidence_level: int | None = None
    pmid: str | None = None
    doi: str | None = None
    url: str | None = None
    authors: tuple[str, ...] = ()
    sample_size: int | None = None
    publication_types: tuple[str, ...] = ()
    notes: str | None = Field(None, description="Remarks about our record of the publication (never quoted).")
    retracted: bool = False
    dense_rank: int | None = Field(None, description="1-based rank in the dense candidates (None: not among them).")
    dense_score: float | None = Field(None, description="Cosine similarity to the query.")
    lexical_rank: int | None = Field(None, description="1-based rank in the BM25 candidates.")
    lexical_score: float | None = Field(None, description="BM25 score.")
    fused_score: float | None = Field(None, description="Reciprocal-rank-fusion score.")
    rerank_score: float | None = Field(None, description="Cross-encoder score, when a reranker is configured.")
