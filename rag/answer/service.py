"""The answer path shared by the CLI, the API and the eval harness: condense a follow-up, retrieve per section, fit
the sources to the budget, generate, parse, verify, fall back to the extractive answer when the model fails, and
remember the turn."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from rag.answer.budget import count_tokens, encoding_for, fit_sources
from rag.answer.models import Answer
from rag.answer.parse import ParsedAnswer, parse_answer
from rag.answer.verify import verify
from rag.config import Settings
from rag.contract import AUDIENCES, DISCLAIMER, EMPTY_INDEX_NOTICE, PATIENT_DISCLAIMER, Audience, Source
from rag.conversation import Conversation, Conversations, condense_by_rule
from rag.errors import GenerationError, UserError
from rag.filters import Filters
from rag.generate.prompting import Prompts, Turn
from rag.generate.protocol import GenerationRequest, Generator
from rag.models import Hit
from rag.retrieve import Retriever

logger = logging.getLogger(__name__)

Backend = str  # "extractive" or "openai"
Event = tuple[str, Any]
"""Streamed events: ("sources", [Reference-like dicts]), ("delta", text), ("notice", text), ("answer", Answer)."""


@dataclass
class _Prepared:
    question: str
    standalone: str
    audience: Audience
    conversation_id: str
    history: list[Turn]
    sources: list[Source]
    request: GenerationRequest
    notices: list[str]
    timings: dict[str, float]
    started: float


class AnswerService:
    """Answers questions from the index; ``llm`` is None when no OpenAI-compatible endpoint is configured."""

    def __init__(self, settings: Settings, retriever: Retriever, extractive: Generator, llm: Generator | None,
                 prompts: Prompts, conversations: Conversations) -> None:
        self._settings = settings
        self._retriever = retriever
        self._extractive = extractive
        self._llm = llm
        self._prompts = prompts
        self._conversations = conversations

    def answer(self, question: str, *, audience: str = "clinician", conversation_id: str | None = None,
               filters: Filters | None = None, backend: Backend | None = None,
               history: Sequence[str] = ()) -> Answer:
        """A verified two-section answer. A model failure falls back to the extractive answer (said in notices).
        ``history``: earlier questions of a conversation held by the caller (as the OpenAI API does) instead of a
        stored ``conversation_id``."""
        prepared = self._prepare(question, audience, conversation_id, filters, backend, history)
        generator = self._generator(backend)
        started = time.perf_counter()
        parsed, used = self._generate(generator, prepared)
        prepared.timings["generate"] = _ms(started)
        return self._finish(prepared, parsed, used)

    def stream(self, question: str, *, audience: str = "clinician", conversation_id: str | None = None,
               filters: Filters | None = None, backend: Backend | None = None,
               history: Sequence[str] = ()) -> Iterator[Event]:
        """The sources first, then text deltas as they are generated, then the verified answer."""
        prepared = self._prepare(question, audience, conversation_id, filters, backend, history)
        yield "sources", [_source_view(s) for s in prepared.sources]
        generator = self._generator(backend)
        started = time.perf_counter()
        pieces: list[str] = []
        try:
            for delta in generator.stream(prepared.request):
                pieces.append(delta)
                yield "delta", delta
            parsed = parse_answer("".join(pieces), prepared.sources)
            used = generator.name
            if generator is not self._extractive and parsed.citation_count() == 0 and prepared.sources:
                raise GenerationError("the model's answer cited no source")
        except GenerationError as error:
            notice = self._fallback_notice(error.reason)
            prepared.notices.append(notice)
            yield "notice", notice
            text = self._extractive.generate(prepared.request)
            yield "delta", text
            parsed, used = parse_answer(text, prepared.sources), f"extractive (fallback from {generator.name})"
        prepared.timings["generate"] = _ms(started)
        yield "answer", self._finish(prepared, parsed, used)

    def conversation(self, conversation_id: str) -> Conversation:
        """A stored conversation; an unknown id is a NotFoundError."""
        return self._conversations.get(conversation_id)

    # -- steps -------------------------------------------------------------------------------------------------
    def _prepare(self, question: str, audience: str, conversation_id: str | None, filters: Filters | None,
                 backend: Backend | None, earlier: Sequence[str] = ()) -> _Prepared:
        started = time.perf_counter()
        question = self._validate(question, audience, backend)
        checked_audience: Audience = audience  # type: ignore[assignment]
        history: list[Turn] = [Turn(q) for q in earlier if q.strip()]
        if conversation_id is not None:
            conversation = self._conversations.get(conversation_id)
            history = [Turn(t.standalone_question) for t in conversation.turns]
        else:
            conversation_id = self._conversations.create(checked_audience)
        standalone = self._condense(question, history, backend) if history else question
        timings = {"condense": _ms(started)}
        retrieve_started = time.perf_counter()
        found = self._retriever.search_sections(standalone, filters=filters)
        timings["retrieve"] = _ms(retrieve_started)
        sources, dropped = fit_sources([*found.guidelines, *found.studies], self._budget(standalone, history),
                                       self._encoding())
        notices = [f"{len(dropped)} retrieved passage(s) did not fit the model's context and were left out: "
                   + ", ".join(h.title for h in dropped)] if dropped else []
        if not sources and self._retriever.is_empty():  # not the same as a corpus without evidence: say so
            notices.append(EMPTY_INDEX_NOTICE)
        prompt = self._prompts.answer(standalone, sources, checked_audience, history)
        request = GenerationRequest(standalone, checked_audience, sources, prompt, history)
        return _Prepared(question, standalone, checked_audience, conversation_id, history, sources, request, notices,
                         timings, started)

    def _validate(self, question: str, audience: str, backend: Backend | None) -> str:
        if not isinstance(question, str) or not question.strip():
            raise UserError("the question is empty")
        limit = self._settings.generation.max_question_chars
        if len(question.strip()) > limit:
            raise UserError(f"the question is {len(question.strip())} characters long; the limit is {limit}")
        if audience not in AUDIENCES:
            raise UserError(f"audience must be one of {', '.join(AUDIENCES)}, got {audience!r}")
        if backend not in (None, "extractive", "openai"):
            raise UserError(f"llm must be 'extractive' or 'openai', got {backend!r}")
        if backend == "openai" and self._llm is None:
            raise UserError("no OpenAI-compatible endpoint is configured (set RAG_GENERATION__BASE_URL and "
                            "RAG_GENERATION__MODEL)")
        return question.strip()

    def _generator(self, backend: Backend | None) -> Generator:
        wanted = backend or self._settings.generation.backend
        return self._llm if wanted == "openai" and self._llm is not None else self._extractive

    def _condense(self, question: str, history: list[Turn], backend: Backend | None) -> str:
        limit = self._settings.retrieval.max_query_chars
        generator = self._generator(backend)
        complete = getattr(generator, "complete", None)
        if generator is not self._extractive and complete is not None:
            try:
                rewritten = str(complete(self._prompts.condense(question, history))).strip().split("\n")[0]
                if rewritten:
                    return rewritten[:limit]
            except GenerationError as error:
                logger.warning("condensing the follow-up failed (%s); using the rule", error.reason)
        room = max(0, limit - len(question) - 20)
        return condense_by_rule(question, history[-1].question[:room])[:limit]

    def _generate(self, generator: Generator, prepared: _Prepared) -> tuple[ParsedAnswer, str]:
        if generator is self._extractive:
            return parse_answer(generator.generate(prepared.request), prepared.sources), generator.name
        reason = ""
        for attempt in range(2):  # the SDK already retried transport errors; this retries unusable output once
            try:
                parsed = parse_answer(generator.generate(prepared.request), prepared.sources)
            except GenerationError as error:
                reason = error.reason
                break
            if parsed.citation_count() > 0 or not prepared.sources:
                return parsed, generator.name
            reason = "the model's answer cited no source"
            logger.warning("unusable model output, attempt %d: %s", attempt + 1, reason)
        prepared.notices.append(self._fallback_notice(reason))
        text = self._extractive.generate(prepared.request)
        return parse_answer(text, prepared.sources), f"extractive (fallback from {generator.name})"

    @staticmethod
    def _fallback_notice(reason: str) -> str:
        return f"The language model could not be used ({reason}); this is the extractive answer instead."

    def _finish(self, prepared: _Prepared, parsed: ParsedAnswer, backend: str) -> Answer:
        verify_started = time.perf_counter()
        sections, references, grounding = verify(parsed, prepared.sources,
                                                 self._settings.generation.support_threshold)
        prepared.timings["verify"] = _ms(verify_started)
        prepared.timings["total"] = _ms(prepared.started)
        answer = Answer(
            question=prepared.question, audience=prepared.audience, conversation_id=prepared.conversation_id,
            standalone_question=prepared.standalone if prepared.standalone != prepared.question else None,
            sections=sections, limitations=parsed.limitations or "No limitations were stated.",
            references=references, grounding=grounding, backend=backend, notices=prepared.notices,
            disclaimer=PATIENT_DISCLAIMER if prepared.audience == "patient" else DISCLAIMER,
            timings_ms={k: round(v, 1) for k, v in prepared.timings.items()},
        )
        self._conversations.add_turn(prepared.conversation_id, prepared.question, prepared.standalone,
                                     answer.model_dump_json())
        return answer

    def _encoding(self) -> str:
        return encoding_for(self._settings.generation.model or "")

    def _budget(self, question: str, history: list[Turn]) -> int:
        generation = self._settings.generation
        empty = self._prompts.answer(question, [], "clinician", history)
        overhead = count_tokens(empty.system + empty.user, self._encoding()) + 64
        return max(0, generation.context_tokens - generation.max_answer_tokens - overhead)


def _source_view(source: Source) -> dict[str, Any]:
    hit: Hit = source.hit
    return {"n": source.n, "kind": hit.kind, "doc_id": hit.doc_id, "chunk_id": hit.chunk_id, "title": hit.title,
            "year": hit.year, "source": hit.source, "pmid": hit.pmid, "doi": hit.doi, "url": hit.url,
            "text": source.text}


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
