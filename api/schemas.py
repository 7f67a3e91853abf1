"""Request and response bodies of the API (the Answer itself is rag.answer.models.Answer)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from rag.answer.models import Answer
from rag.models import Hit

QUESTION_EXAMPLE = ("What is the comparative efficacy of PRP micro-needling versus exosome micro-needling for facial "
                    "skin improvement?")


class ErrorDetail(BaseModel):
    """The ``error`` object of an error response; ``detail`` lists the invalid fields or failed sources."""

    status: int
    message: str
    request_id: str | None = None
    detail: Any = None


class ErrorBody(BaseModel):
    """Every error response: a message a person understands, and the request id (never a stack trace)."""

    error: ErrorDetail
    report: dict[str, Any] | None = None


_ERROR = {"model": ErrorBody}
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {**_ERROR, "description": "No or an invalid API key."},
    403: {**_ERROR, "description": "The key's scope does not allow this."},
    404: {**_ERROR, "description": "Not found."},
    409: {**_ERROR, "description": "Another ingest is writing; retry after Retry-After seconds."},
    413: {**_ERROR, "description": "The body is larger than the limit."},
    415: {**_ERROR, "description": "Unsupported content type."},
    422: {**_ERROR, "description": "Invalid input (the message names the field)."},
    429: {**_ERROR, "description": "Rate limited; retry after Retry-After seconds."},
    502: {**_ERROR, "description": "The language model endpoint failed."},
    503: {**_ERROR, "description": "The store is unavailable or the service is starting."},
}
#: Answers are bounded in time (RAG_API__ANSWER_TIMEOUT_S).
ANSWER_ERRORS: dict[int | str, dict[str, Any]] = {
    504: {**_ERROR, "description": "The answer took longer than the configured limit."},
}
#: Only writes can meet a full or read-only data dir.
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    507: {**_ERROR, "description": "The data dir is full or read-only; the message says which. Nothing was changed, "
                                   "or an interrupted write is finished or undone by the next one."},
}


class AnswerRequest(BaseModel):
    """Body of POST /v1/answers: the question, its audience, a conversation to continue, filters (see
    :class:`rag.filters.Filters`) and the generator."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"question": QUESTION_EXAMPLE, "audience": "clinician"},
        {"question": "What about their safety?", "conversation_id": "3f2b9c0e8d7a4b1c9e6f5a4b3c2d1e0f",
         "stream": True},
    ]})

    question: str = Field(min_length=1, description="The clinician's or patient's question, at most "
                          "RAG_GENERATION__MAX_QUESTION_CHARS characters (2000 by default; longer is a 422 naming "
                          "the limit).")
    audience: Literal["clinician", "patient"] = "clinician"
    conversation_id: str | None = Field(None, max_length=64, description="Continue this conversation.")
    filters: dict[str, Any] | None = Field(None, description="kinds, year_from, year_to, study_designs, doc_ids.")
    llm: Literal["extractive", "openai"] | None = Field(None, description="Generator; default from settings.")
    stream: bool = Field(False, description="Stream Server-Sent Events: sources, deltas, then the answer.")


class SearchResponse(BaseModel):
    """Body of GET /v1/search: ``hits``, or with ``sections=true`` the ``guidelines`` and ``studies`` lists."""

    hits: list[Hit] | None = None
    sections: dict[str, list[Hit]] | None = None


class Turn(BaseModel):
    """One turn of a conversation: the question as asked, as condensed for retrieval, and its answer."""

    n: int
    question: str
    standalone_question: str
    answer: Answer


class ConversationOut(BaseModel):
    """Body of GET /v1/conversations/{id}: the conversation and its turns in order."""

    id: str
    audience: str
    created_at: float
    turns: list[Turn]


class DocumentSummary(BaseModel):
    """One row of the document list; ``chunks`` is how many chunks the document was split into."""

    id: str
    kind: str
    title: str
    year: int | None = None
    source: str | None = None
    chunks: int


class DocumentList(BaseModel):
    """Body of GET /v1/documents: one page of documents and how many there are in all."""

    documents: list[DocumentSummary]
    total: int
    limit: int
    offset: int


class DocumentOut(BaseModel):
    """Body of GET /v1/documents/{id}: metadata, sections (spans of ``text``), the full text, chunk count."""

    id: str
    meta: dict[str, Any]
    sections: list[dict[str, Any]]
    text: str
    chunks: int
    instructions: list[list[int]] = Field(
        default_factory=list, description="Spans of ``text`` addressed to a model ('Ignore previous instructions "
        "...'): kept, never quoted and never counted as support for a claim.")
    notices: list[str] = Field(default_factory=list)


class DocumentJson(BaseModel):
    """A document as JSON: the front-matter fields (corpus/README.md) plus ``text`` or ``sections``."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [
        {"id": "local-protocol-2026", "kind": "guideline", "title": "Clinic protocol for PRP sessions",
         "organization": "Example Clinic", "year": 2026,
         "sections": [{"title": "Recommendations", "text": "Offer three sessions a month apart."}]},
    ]})

    id: str
    kind: Literal["guideline", "study"]
    title: str


class IngestOut(BaseModel):
    """Body of POST /v1/documents: the ingest report and the ids of the documents the uploaded file holds."""

    added: int
    updated: int
    unchanged: int
    removed: int
    chunks: int
    failed: list[dict[str, str]]
    instructions: list[dict[str, Any]] = Field(
        default_factory=list, description="Documents holding sentences addressed to a model ('Ignore previous "
        "instructions ...'): each {doc_id, sentences}. They are stored, never quoted and never count as support.")
    seconds: float
    document_ids: list[str] = Field(default_factory=list)


class ChatMessage(BaseModel):
    """One OpenAI chat message; ``content`` is text or a list of parts, of which only text parts are read."""

    role: str
    content: str | list[dict[str, Any]] | None = None


class ChatCompletionRequest(BaseModel):
    """Body of POST /v1/chat/completions. Other OpenAI fields are accepted and ignored; a ``model`` starting
    with ``rag-openai`` answers with the OpenAI generator. The messages are capped in number, each message's length
    and their total length (``RAG_API__MAX_CHAT_*``; 422 naming the cap)."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [
        {"model": "rag", "messages": [{"role": "user", "content": QUESTION_EXAMPLE}]},
    ]})

    model: str = "rag"
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    user: str | None = None
    store: bool = Field(False, description="As in the OpenAI API: false (the default) stores nothing, the client "
                                           "holds the conversation; true stores it as a conversation of this key, "
                                           "its id in rag.answer.conversation_id.")
