"""The answer path shared by the CLI, the API and the eval harness: condense a follow-up, retrieve per section, fit
the sources to the budget, generate once, parse, ground (verify, attribute, move, remove), fall back to the
extractive answer only when the model fails or nothing it wrote is supported, and remember the turn."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence, Set
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from functools import partial

from rag.answer.appraise import Appraised, appraise_answer
from rag.answer.assemble import assemble
from rag.answer.budget import count_tokens, encoding_for, fit_history, fit_sources, left_out_notice, truncate_tokens
from rag.answer.events import AnswerEvent, AnswerStreamEvent, DeltaEvent, NoticeEvent, SourcesEvent
from rag.answer.ground import RESTATES_FALSE_PREMISE, Grounded, Grounder
from rag.answer.models import Answer, AnswerSection, FallbackReason, Outcome, Reference
from rag.answer.parse import json_draft, parse_answer
from rag.appraisal.applicability import advises, gives_advice, mismatches, patient_of
from rag.appraisal.recommendation import claimed_stance, contradicted, position_on, premise_of
from rag.config import Settings
from rag.contract import (
    AUDIENCES,
    DISCLAIMER,
    EMPTY_INDEX_NOTICE,
    NO_DOSE_NOTICE,
    PATIENT_DISCLAIMER,
    PREMISE_CONFIRMED_NOTICE,
    PREMISE_CONTRADICTED_NOTICE,
    PREMISE_CORRECTION_ADDED_NOTICE,
    PREMISE_CORRECTION_MOVED_NOTICE,
    PREMISE_NOTICE,
    PREMISE_QUOTE_NOTICE,
    SECTION_TITLES,
    UNNAMED_AND_NO_DOSE_NOTICE,
    UNNAMED_TERMS_NOTICE,
    Audience,
    Backend,
    SectionKind,
    Source,
    check_backend,
)
from rag.conversation import FOLLOWING, Conversation, Conversations, condense_by_rule, own_ask
from rag.errors import GenerationError, QuotaExceeded, UserError
from rag.filters import Filters
from rag.generate.extractive import asks_for_dose
from rag.generate.json_answer import read_answer
from rag.generate.prompting import Prompts, Turn, normalise_untrusted
from rag.generate.protocol import Draft, Generation, GenerationRequest, Generator, ModelGenerator
from rag.judge import Judge
from rag.meaning.relevance import FollowUp, Relevance
from rag.retrieve import Retriever
from rag.text.sentences import plain, sentence_spans, tidy
from rag.text.terms import content_terms
from rag.tracing import Stages

logger = logging.getLogger(__name__)
_SAME_SENTENCE = 0.6
"""A model's sentence holding this share of a source sentence's content words, cited to it, states it."""


@dataclass
class _Prepared:
    question: str
    standalone: str
    audience: Audience
    conversation_id: str | None
    history: list[Turn]
    sources: list[Source]
    request: GenerationRequest
    notices: list[str]
    timings: dict[str, float]
    started: float
    stages: Stages
    composed: Generation | None = None
    """The extractive composer's answer to the request, once asked for (the fallback, a section a model left
    empty, a premise's correction): composed at most once per answer."""


class AnswerService:
    """Answers questions from the index; ``llm`` is None when no OpenAI-compatible endpoint is configured.

    One path for whole and streamed answers: one generation, then grounding (verify, attribute, move, remove); the
    extractive answer replaces the model's only when the endpoint fails or nothing the model wrote is supported,
    and ``notices`` says so. ``observers`` see every finished answer with its :class:`Outcome` (metrics).
    ``relevance`` judges which publications address the question (rag.meaning): a model's sentence resting only on
    one that does not is removed, as the extractive composer would not quote one."""

    def __init__(self, settings: Settings, retriever: Retriever, extractive: Generator, llm: ModelGenerator | None,
                 prompts: Prompts, conversations: Conversations, judge: Judge,
                 observers: Sequence[Callable[[Answer, Outcome], None]] = (),
                 relevance: Relevance | None = None) -> None:
        self._settings = settings
        self._retriever = retriever
        self._extractive = extractive
        self._llm = llm
        self._prompts = prompts
        self._conversations = conversations
        self._grounder = Grounder(judge, settings.verification)
        self._observers = tuple(observers)
        self._relevance = relevance

    def answer(self, question: str, *, audience: str = "clinician", conversation_id: str | None = None,
               filters: Filters | None = None, backend: Backend | None = None,
               history: Sequence[str] = (), owner: str | None = None, store: bool = True) -> Answer:
        """A verified two-section answer. ``history``: earlier questions of a conversation held by the caller (as
        the OpenAI API does) instead of a stored ``conversation_id``. ``owner``: the principal asking (a stored
        conversation must be its own; one it starts is); None is the trusted local caller. ``store``: whether a
        new conversation is started and the turn remembered (False: ``conversation_id`` stays None)."""
        answer: Answer | None = None
        for event in self.stream(question, audience=audience, conversation_id=conversation_id, filters=filters,
                                 backend=backend, history=history, deltas=False, owner=owner, store=store):
            if isinstance(event, AnswerEvent):
                answer = event.answer
        assert answer is not None
        return answer

    def stream(self, question: str, *, audience: str = "clinician", conversation_id: str | None = None,
               filters: Filters | None = None, backend: Backend | None = None,
               history: Sequence[str] = (), deltas: bool = True, owner: str | None = None,
               store: bool = True) -> Iterator[AnswerStreamEvent]:
        """The sources first, then text deltas as they are generated (when ``deltas``), notices, and the verified
        answer last (``owner`` and ``store`` as for :meth:`answer`)."""
        stages = Stages("answer", audience=audience, streamed=deltas)
        try:
            yield from self._stream(stages, question, audience, conversation_id, filters, backend, history, deltas,
                                    owner, store)
        finally:
            stages.end()

    def _stream(self, stages: Stages, question: str, audience: str, conversation_id: str | None,
                filters: Filters | None, backend: Backend | None, history: Sequence[str],
                deltas: bool, owner: str | None, store: bool) -> Iterator[AnswerStreamEvent]:
        prepared = self._prepare(question, audience, conversation_id, filters, backend, history, stages, owner,
                                 store)
        yield SourcesEvent(prepared.sources)
        generator = self._generator(backend)
        started = time.perf_counter()
        generation: Generation | None = None
        why: FallbackReason | None = None
        generating = stages.open("generate")
        generating.set_attribute("generator", generator.name)
        try:
            # streamed even when no deltas are wanted: a model that starts repeating itself is stopped as it
            # loops (no more tokens asked for), which a whole-response call cannot do; closed at once when the
            # reader stops early (a client gone)
            with _closed_after(generator.stream(prepared.request)) as pieces:
                for piece in pieces:
                    if isinstance(piece, Generation):
                        generation = piece
                    elif piece and deltas:
                        yield DeltaEvent(piece)
            if generation is None:
                raise GenerationError("the model's stream ended without an answer", "empty")
        except GenerationError as error:
            generation, why = None, error.kind
            generating.set_attribute("error", error.reason)
            yield from self._notice(prepared, self._fallback_notice(error.reason))
        finally:
            generating.end()
        prepared.timings["generate"] = _ms(started)
        grounded, used = None, generator.name
        tokens = generation.tokens if generation is not None else None
        discarded: list[tuple[str, str]] = []  # what the model wrote that the fallback replaced, and why
        if generation is not None:
            for notice in generation.notices:
                yield from self._notice(prepared, notice)
            grounded, draft = self._ground(generation, prepared, model=generator.is_model)
            if generator.is_model and (grounded.contradicted or (grounded.unanswered and grounded.sourced())):
                yield from self._answer_contradicted(grounded, prepared)
            if generator.is_model and grounded.sourced():
                yield from self._premise_corrected(grounded, prepared)
            if generator.is_model and not grounded.sourced() and prepared.sources:
                removed = len(grounded.removed)
                yield from self._notice(prepared, self._fallback_notice(
                    f"none of the {removed} sentence(s) it wrote could be kept: each is listed with the reason"
                    if removed else "its answer held no sentence"))
                discarded = grounded.removed
                grounded, why = None, "unsupported"
        if grounded is None:
            used = f"extractive (fallback from {generator.name})" if generator.is_model else generator.name
            fallback = self._composed(prepared)
            if deltas and generator.is_model:
                yield DeltaEvent(fallback.text)
            grounded, draft = self._ground(fallback, prepared, model=False)
            grounded.removed[:0] = discarded
        outcome = Outcome(generator="openai" if generator.is_model else "extractive", fallback=why,
                          tokens=tokens)
        yield AnswerEvent(self._finish(prepared, draft, grounded, used, outcome))

    def conversation(self, conversation_id: str, owner: str | None = None) -> Conversation:
        """A stored conversation of ``owner``; an unknown id or another owner's is a NotFoundError."""
        return self._conversations.get(conversation_id, owner)

    def delete_conversation(self, conversation_id: str, owner: str | None = None) -> None:
        """Delete a stored conversation of ``owner``; an unknown id or another owner's is a NotFoundError."""
        self._conversations.delete(conversation_id, owner)

    # -- steps -------------------------------------------------------------------------------------------------
    def _prepare(self, question: str, audience: str, conversation_id: str | None, filters: Filters | None,
                 backend: Backend | None, earlier: Sequence[str], stages: Stages, owner: str | None = None,
                 store: bool = True) -> _Prepared:
        started = time.perf_counter()
        question = self._validate(question, audience, backend)
        checked_audience: Audience = audience  # type: ignore[assignment]
        history: list[Turn] = [Turn(q) for q in earlier if q.strip()]
        if owner is not None and (conversation_id is not None or store):
            self._check_quota(owner)
        if conversation_id is not None:
            conversation = self._conversations.get(conversation_id, owner)
            limit = self._settings.store.max_conversation_turns
            if len(conversation.turns) >= limit:
                raise UserError(f"the conversation has reached its limit of {limit} turns "
                                "(RAG_STORE__MAX_CONVERSATION_TURNS); start a new one")
            history = [Turn(t.standalone_question, *_cited_and_quoted(t.answer_json)) for t in conversation.turns]
        elif store:
            conversation_id = self._conversations.create(checked_audience, owner)
        history = history[-self._settings.generation.max_history_turns:] if history else history
        notices: list[str] = []
        history = self._fitted_history(history, notices)
        with stages.stage("condense", follow_up=bool(history)):
            standalone = self._condense(question, history, backend) if history else question
        timings = {"condense": _ms(started)}
        follow_up = FollowUp(question, frozenset(history[-1].cited)) \
            if history and history[-1].cited and standalone != question else None
        retrieve_started = time.perf_counter()
        with stages.stage("retrieve") as retrieving:
            found = self._retriever.search_sections(standalone, filters=filters)
            if follow_up is not None:
                found = found.merged(self._retriever.search_sections(
                    question, filters=(filters or Filters()).within(follow_up.earlier)))
            hits = [*self._retriever.with_findings(found.guidelines), *self._retriever.with_findings(found.studies)]
            retrieving.set_attribute("passages", len(hits))
        retracted = list(dict.fromkeys(h.title for h in hits if h.retracted))
        hits = [h for h in hits if not h.retracted]
        timings["retrieve"] = _ms(retrieve_started)
        sources, dropped = fit_sources(hits, self._budget(standalone, history), self._encoding())
        if retracted:
            notices.append(f"{len(retracted)} retracted publication(s) matched the question and were left out: "
                           + "; ".join(retracted))
        if dropped:
            notices.append(left_out_notice(dropped))
        if not sources and self._retriever.is_empty():  # not the same as a corpus without evidence: say so
            notices.append(EMPTY_INDEX_NOTICE)
        shown = self._shown(standalone, sources, backend, follow_up)
        request = GenerationRequest(
            standalone, checked_audience, sources, self._prompts.answer(standalone, shown, checked_audience, history),
            self._prompts.answer(standalone, shown, checked_audience, history, output="json"), history, follow_up)
        return _Prepared(question, standalone, checked_audience, conversation_id, history, sources, request, notices,
                         timings, started, stages)

    def _shown(self, question: str, sources: list[Source], backend: Backend | None,
               follow_up: FollowUp | None) -> list[Source]:
        """What a model is shown of the sources: the sentences that address the question (rag.meaning), or every
        source whole when the setting says so or no judgment is available. The extractive composer reads them all."""
        if not self._generator(backend).is_model or self._relevance is None \
                or not self._settings.generation.excerpts:
            return sources
        return _for_the_patient(question, self._relevance.excerpts(question, sources, follow_up))

    def _validate(self, question: str, audience: str, backend: Backend | None) -> str:
        if not isinstance(question, str) or not question.strip():
            raise UserError("the question is empty")
        limit = self._settings.generation.max_question_chars
        if len(question.strip()) > limit:
            raise UserError(f"the question is {len(question.strip())} characters long; the limit is {limit} "
                            "(RAG_GENERATION__MAX_QUESTION_CHARS)")
        if len(normalised := normalise_untrusted(question.strip())) > limit:
            raise UserError(f"the question is {len(normalised)} characters long as the model would read it (after "
                            f"Unicode normalisation); the limit is {limit} (RAG_GENERATION__MAX_QUESTION_CHARS)")
        if audience not in AUDIENCES:
            raise UserError(f"audience must be one of {', '.join(AUDIENCES)}, got {audience!r}")
        if check_backend(backend) == "openai" and self._llm is None:
            raise UserError("no OpenAI-compatible endpoint is configured (set RAG_GENERATION__BASE_URL and "
                            "RAG_GENERATION__MODEL)")
        return question.strip()

    def _generator(self, backend: Backend | None) -> Generator:
        return self._model(backend) or self._extractive

    def _model(self, backend: Backend | None) -> ModelGenerator | None:
        """The language model asked for (``backend``, else the setting), None when the extractive composer is."""
        wanted = backend or self._settings.generation.backend
        return self._llm if wanted == "openai" else None

    def _condense(self, question: str, history: list[Turn], backend: Backend | None) -> str:
        limit = self._settings.retrieval.max_query_chars
        model = self._model(backend)
        if model is not None:
            try:
                rewritten = model.complete(self._prompts.condense(question, history)).strip().split("\n")[0]
                if rewritten:
                    return rewritten[:limit]
            except GenerationError as error:
                logger.warning("condensing the follow-up failed (%s); using the rule", error.reason)
        room = max(0, limit - len(question) - len(FOLLOWING) - 2)
        return condense_by_rule(question, history[-1].question[:room])[:limit]

    def _ground(self, generation: Generation, prepared: _Prepared, model: bool) -> tuple[Grounded, Draft]:
        """The generation's sentences grounded; a model's (not the extractive composer's, which chose its sentences
        by the same topic and states our own limitations) is held to the question's topic and its limitations
        are verified."""
        started = time.perf_counter()
        addressing = None
        if model and self._relevance is not None:
            judged = self._relevance.judge_sources(prepared.standalone, prepared.sources,
                                                   prepared.request.follow_up).addressing()
            addressing = frozenset(s.n for s in prepared.sources if s.hit.doc_id in judged)
        with prepared.stages.stage("ground", format=generation.format) as grounding:
            draft = generation.draft or _draft(generation, prepared.sources)
            findings = partial(self._relevance.findings, prepared.standalone) if model and self._relevance else None
            grounded = self._grounder.ground(draft, prepared.sources, addressing, verify_limitations=model,
                                             findings=findings)
            grounding.set_attribute("kept", len(grounded.sourced()))
            grounding.set_attribute("removed", len(grounded.removed))
        prepared.timings["verify"] = prepared.timings.get("verify", 0.0) + _ms(started)
        if generation.truncated:
            prepared.notices.append("The model's answer was cut off at its token limit "
                                    "(RAG_GENERATION__MAX_ANSWER_TOKENS); what it wrote before that was kept.")
        return grounded, draft

    def _answer_contradicted(self, grounded: Grounded, prepared: _Prepared) -> Iterator[NoticeEvent]:
        """A section where the model said evidence is missing while its sources address the question, or where
        grounding kept none of its sentences although they do, is answered from those sources (the extractive
        composer's sentences, when the model left it empty), with a notice: left empty, it would say that no source
        addresses the question."""
        composed: Grounded | None = None
        for section in sorted(grounded.contradicted | grounded.unanswered):
            kept = grounded.sourced(section)
            if not kept:
                if composed is None:
                    composed, _ = self._ground(self._composed(prepared), prepared, model=False)
                if section in grounded.unanswered and not composed.sourced(section):
                    continue
                grounded.claims[section] = composed.claims[section]
            title = SECTION_TITLES[section]
            # the section quotes the sources only when the model left it empty; else its own kept sentences stand
            then = "that statement was removed." if kept else "the section quotes them."
            yield from self._notice(prepared, f"The model said no source in '{title}' addresses the question, but "
                                              f"retrieved sources do; {then}"
                                    if section in grounded.contradicted else
                                    f"None of the model's sentences in '{title}' could be kept, but retrieved "
                                    "sources address the question; the section quotes them.")

    def _premise_corrected(self, grounded: Grounded, prepared: _Prepared) -> Iterator[NoticeEvent]:
        """A model's answer to a question whose premise a guideline contradicts leads with that guideline's sentence
        (the extractive composer's correction): added when the model did not write it (left out, the answer would
        leave the false premise standing: the local model answered "USPSTF endorses carotid ultrasound screening ...,
        how often?" with blood pressure rescreening intervals), moved first when it wrote it further down."""
        premise = premise_of(prepared.standalone)
        if premise is None:
            return
        composed = self._composed(prepared).draft
        correction = composed.correction if composed is not None else None
        if correction is None:
            return
        for kept in grounded.claims.values():
            for claim in [c for c in kept if c.sources and _restates(premise, c.text)]:
                kept.remove(claim)
                grounded.removed.append((claim.text, RESTATES_FALSE_PREMISE))
        claims = grounded.claims["guidelines"]
        wanted = content_terms(correction.text)
        stating = [c for c in claims if set(correction.sources) & set(c.sources) and _holds_most_of(wanted, c.text)]
        if stating:  # the model wrote it: it leads (it had come fifth, after the B grade for women)
            if claims[0] is not stating[0]:
                claims.remove(stating[0])
                claims.insert(0, stating[0])
                yield from self._notice(prepared, PREMISE_CORRECTION_MOVED_NOTICE)
            return
        checked, _ = self._ground(Generation("", draft=Draft({"guidelines": [correction], "research": []})),
                                  prepared, model=False)
        lead = checked.sourced("guidelines")[:1]
        if lead:
            grounded.claims["guidelines"] = [*lead, *(c for c in claims if not c.absence)]
            yield from self._notice(prepared, PREMISE_CORRECTION_ADDED_NOTICE)

    def _composed(self, prepared: _Prepared) -> Generation:
        """The extractive composer's answer to the prepared request, composed on first use."""
        if prepared.composed is None:
            prepared.composed = self._extractive.generate(prepared.request)
        return prepared.composed

    @staticmethod
    def _notice(prepared: _Prepared, notice: str) -> Iterator[NoticeEvent]:
        prepared.notices.append(notice)
        yield NoticeEvent(notice)

    @staticmethod
    def _fallback_notice(reason: str) -> str:
        return f"The language model could not be used ({reason}); this is the extractive answer instead."

    def _finish(self, prepared: _Prepared, draft: Draft, grounded: Grounded, backend: str,
                outcome: Outcome) -> Answer:
        assembled = assemble(grounded, prepared.sources, draft.dangling)
        sections, references, grounding = assembled.sections, assembled.references, assembled.grounding
        started = time.perf_counter()
        with prepared.stages.stage("appraise", references=len(references)):
            appraised = self._appraise(prepared, sections, references, assembled.cited)
        prepared.timings["appraise"] = _ms(started)
        limitations = " ".join([grounded.limitations or "No limitations were stated.", *appraised.limitations])
        premise = premise_of(prepared.question)
        if premise and any(section.evidence_found for section in sections):
            prepared.notices.append(self._premise_notice(premise, appraised.references))
        if not any(section.evidence_found for section in sections) and (why := self._why_nothing(prepared)):
            prepared.notices.append(why)
        prepared.timings["total"] = _ms(prepared.started)
        answer = Answer(
            question=prepared.question, audience=prepared.audience, conversation_id=prepared.conversation_id,
            standalone_question=prepared.standalone if prepared.standalone != prepared.question else None,
            sections=appraised.sections, limitations=limitations, references=appraised.references,
            disagreements=appraised.disagreements, label=appraised.label,
            grounding=grounding, backend=backend, notices=prepared.notices,
            disclaimer=PATIENT_DISCLAIMER if prepared.audience == "patient" else DISCLAIMER,
            timings_ms={k: round(v, 1) for k, v in prepared.timings.items()},
        )
        if prepared.conversation_id is not None:
            self._conversations.add_turn(prepared.conversation_id, prepared.question, prepared.standalone,
                                         answer.model_dump_json())
        for observe in self._observers:
            observe(answer, outcome)
        prepared.stages.end(backend=backend, references=len(answer.references),
                            attributed=len(grounding.attributed), removed=len(grounding.removed))
        return answer

    def _appraise(self, prepared: _Prepared, sections: list[AnswerSection], references: list[Reference],
                  cited: Mapping[SectionKind, Sequence[int]]) -> Appraised:
        """Each reference appraised from its document, each section's certainty and consensus (rag.appraisal)."""
        texts = {s.hit.chunk_id: s.text for s in prepared.sources}
        passages = {r.n: [texts[c] for c in dict.fromkeys(q.chunk_id for q in r.quotes) if c in texts]
                    for r in references}
        documents = self._retriever.documents([r.doc_id for r in references])
        direct = None
        if self._relevance is not None:
            follow_up = prepared.request.follow_up
            judged = self._relevance.judge_sources(prepared.standalone, prepared.sources, follow_up).publications
            # in a follow-up, a publication cited before that addresses the new ask is direct: the earlier turn set
            # its population and intervention, and a short ask ("And weight gain?") scores lower than a question
            direct = {doc_id: p.best >= self._settings.meaning.clearly
                      or (follow_up is not None and doc_id in follow_up.earlier and p.addresses)
                      for doc_id, p in judged.items()}
        return appraise_answer(prepared.standalone, sections, references, cited, documents, passages, date.today(),
                               self._settings.appraisal, [s.hit for s in prepared.sources],
                               patient=prepared.audience == "patient", direct=direct)

    def _premise_notice(self, premise: str, references: Sequence[Reference]) -> str:
        """The notice naming what the question takes for granted. When the cited guideline sentences addressing it
        by meaning (at least ``addresses``) state a position contrary to the one it claims, and none the one it claims
        ("the USPSTF endorses carotid ultrasound screening" against "recommends against screening"), the notice says
        the sources state otherwise and quotes the closest; else it names the cited sentence closest to it, a
        guideline's before a study's (an assumption states what a guideline or regulator said), or none."""
        if self._relevance is None:
            return PREMISE_NOTICE.format(premise=f'"{premise}"')
        vector = self._relevance.question_vector(premise)
        floor = self._settings.meaning.addresses
        claimed = claimed_stance(premise)
        years = {r.n: r.year for r in references}

        def dated(n: int) -> str:
            return f" ({years[n]}):" if years.get(n) else ""

        for kind in ("guideline", "study"):
            quoted = [(r.n, q.text) for r in references if r.kind == kind for q in r.quotes]
            scores = self._relevance.sentences(vector, [text for _, text in quoted])
            addressing = sorted((i for i in range(len(quoted)) if scores[i] >= floor), key=lambda i: -scores[i])
            stances = [position_on(premise, quoted[i][1]) for i in addressing]
            if kind == "guideline" and contradicted(claimed, stances, [scores[i] for i in addressing]):
                n, text = quoted[next(i for i, s in zip(addressing, stances, strict=True) if s is not None)]
                return PREMISE_CONTRADICTED_NOTICE.format(premise=f'"{premise}"', n=n, dated=dated(n),
                                                          quote=tidy(plain(text)))
            stated = {s for s in stances if s is not None}
            if kind == "guideline" and claimed is not None and stated == {claimed}:
                n, text = quoted[next(i for i, s in zip(addressing, stances, strict=True) if s is not None)]
                return PREMISE_CONFIRMED_NOTICE.format(premise=f'"{premise}"', n=n, dated=dated(n),
                                                       quote=tidy(plain(text)))
            if addressing:
                n, text = quoted[addressing[0]]
                return PREMISE_QUOTE_NOTICE.format(premise=f'"{premise}"', n=n, quote=tidy(plain(text)))
        return PREMISE_NOTICE.format(premise=f'"{premise}"')

    def _why_nothing(self, prepared: _Prepared) -> str | None:
        """Why nothing was quoted, when sources on the question's topic were retrieved: its specialist terms that no
        retrieved passage names (rag.meaning), and a dose asked for that no quotable sentence states (the offline
        answer quotes only sentences stating one). The isotretinoin dose question was told only "No retrieved source
        names nodular" beside the acne guideline that addresses it and gives no dose."""
        if self._relevance is None or not prepared.sources:
            return None
        judged = self._relevance.judge_sources(prepared.standalone, prepared.sources, prepared.request.follow_up)
        dose = asks_for_dose(own_ask(prepared.standalone) or prepared.standalone)
        if judged.unnamed:
            notice = UNNAMED_AND_NO_DOSE_NOTICE if dose else UNNAMED_TERMS_NOTICE
            return notice.format(terms=_either(sorted(judged.unnamed)))
        return NO_DOSE_NOTICE if dose and any(p.addresses for p in judged.publications.values()) else None

    def _encoding(self) -> str:
        return encoding_for(self._settings.generation.model or "")

    def _check_quota(self, owner: str) -> None:
        """Refuse a question that would store a turn once ``owner`` keeps its quota of stored turns or bytes."""
        store = self._settings.store
        turns, size = self._conversations.usage(owner)
        if turns >= store.max_stored_turns_per_owner:
            raise QuotaExceeded(f"this key keeps {turns} stored conversation turns, its limit "
                                "(RAG_STORE__MAX_STORED_TURNS_PER_OWNER); delete conversations, or ask without "
                                "storing (chat completions without \"store\": true)")
        if size >= store.max_stored_mb_per_owner * 1_000_000:
            raise QuotaExceeded(f"this key keeps {size / 1_000_000:.1f} MB of stored conversations, its limit "
                                "(RAG_STORE__MAX_STORED_MB_PER_OWNER); delete conversations, or ask without storing "
                                "(chat completions without \"store\": true)")

    def _fitted_history(self, history: list[Turn], notices: list[str]) -> list[Turn]:
        """The most recent earlier questions whose normalised text fits RAG_GENERATION__HISTORY_TOKENS (the answer
        and the condensation of a follow-up see the same ones); a notice counts those left out."""
        budget = self._settings.generation.history_tokens
        normalised = [normalise_untrusted(t.question) for t in history]
        kept, left_out = fit_history(normalised, budget, self._encoding())
        if not left_out:
            return history
        if kept == 0 and budget > 0:  # the last question alone is too long: its start, so a follow-up keeps a topic
            notices.append(f"The last question of the conversation was cut to the history budget ({budget} tokens, "
                           "RAG_GENERATION__HISTORY_TOKENS).")
            left_out -= 1
            last = history[-1]
            fitted = [Turn(truncate_tokens(normalised[-1], budget - 8, self._encoding()), last.cited, last.quoted)]
        else:
            fitted = history[len(history) - kept:] if kept else []
        if left_out:
            notices.append(f"{left_out} earlier question(s) of the conversation did not fit the history budget "
                           f"({budget} tokens, RAG_GENERATION__HISTORY_TOKENS) and were left out.")
        return fitted

    def _budget(self, question: str, history: list[Turn]) -> int:
        generation = self._settings.generation
        empty = self._prompts.answer(question, [], "clinician", history)
        overhead = count_tokens(empty.system + empty.user, self._encoding()) + 64
        return max(0, generation.context_tokens - generation.max_answer_tokens - overhead)


def _cited_and_quoted(answer_json: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The publications an earlier turn's stored answer cited, and the passages it quoted (none when it cannot be
    read)."""
    try:
        references = [r for r in json.loads(answer_json).get("references") or [] if isinstance(r, dict)]
        cited = tuple(dict.fromkeys(str(r["doc_id"]) for r in references if "doc_id" in r))
        quoted = tuple(dict.fromkeys(str(q["text"]) for r in references for q in r.get("quotes") or []
                                     if isinstance(q, dict) and "text" in q))
        return cited, quoted
    except (ValueError, AttributeError, TypeError):
        return (), ()


def _either(terms: Sequence[str]) -> str:
    """'a', 'a or b', 'a, b or c'."""
    return terms[0] if len(terms) == 1 else ", ".join(terms[:-1]) + " or " + terms[-1]


def _draft(generation: Generation, sources: Sequence[Source]) -> Draft:
    """A model's answer as sentences with their sources: its JSON read item by item, or its Markdown parsed."""
    if generation.format == "json" and (data := read_answer(generation.text)) is not None:
        return json_draft(data, sources)
    return parse_answer(generation.text, sources).draft()


@contextmanager
def _closed_after(pieces: Iterator[str | Generation]) -> Iterator[Iterator[str | Generation]]:
    """The pieces, closed when the block ends however it ends (a generator's cleanup runs at once, not when it is
    garbage-collected: the OpenAI-compatible stream closes its connection)."""
    try:
        yield pieces
    finally:
        close = getattr(pieces, "close", None)
        if close is not None:
            close()


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _restates(premise: str, sentence: str) -> bool:
    """Whether a model's sentence states the question's premise as its own: it holds ``_SAME_SENTENCE`` of the
    premise's content words and takes the position the premise claims ("The USPSTF recommends one-time AAA
    ultrasound screening for women who have ever smoked", echoed from the question)."""
    return (_holds_most_of(content_terms(premise), sentence)
            and position_on(premise, sentence) == claimed_stance(premise) is not None)


def _holds_most_of(wanted: Set[str], sentence: str) -> bool:
    """Whether ``sentence`` holds ``_SAME_SENTENCE`` of the content words ``wanted``."""
    return len(wanted & content_terms(sentence)) >= _SAME_SENTENCE * len(wanted)


def _for_the_patient(question: str, excerpts: list[Source]) -> list[Source]:
    """Excerpts without the advice for populations the question's patient is outside of, where an excerpt of the same
    publication holds advice whose population holds the patient (rag.appraisal.applicability): shown the HbA1c targets
    for a life expectancy over 10 years, 5 to 10 years and under 5 (three passages of one guideline), the local model
    led with the first for a patient with "about 3 years to live". Advice is never dropped when none of the
    publication's holds the patient: the reader is then told which bound the patient misses."""
    patient = patient_of(question)
    if not patient:
        return excerpts
    sentences = {source.n: [source.text[start:end] for start, end in sentence_spans(source.text)]
                 for source in excerpts}
    holding = {source.hit.doc_id for source in excerpts
               if any(advises(patient, s) for s in sentences[source.n])}
    shown = []
    for source in excerpts:
        if source.hit.doc_id in holding:
            kept = [s for s in sentences[source.n] if not (gives_advice(s) and mismatches(patient, s))]
            source = source.model_copy(update={"text": " ".join(kept)})
        shown.append(source)
    return shown
