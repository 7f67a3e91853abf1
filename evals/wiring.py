"""How an eval is wired: where its answers come from (our service, live; or a file of another system's Answer JSON),
how their references resolve to passages, which documents count as retrieved, and which judge scores them.
:func:`eval_runner` is the one entry point that ``rag eval``, bench/eval.py and the tests use."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from evals.cases import EvalCase
from evals.runner import Answered, EvalRunner
from rag.answer.models import Answer, Outcome
from rag.answer.service import AnswerService
from rag.contract import Backend
from rag.errors import InputError, UserError, describe_validation_error
from rag.factory import Components
from rag.judge.protocol import Judge
from rag.loaders.jsonl import iter_json_lines
from rag.retrieve import Retriever


class TokenTally:
    """An answer-service observer that adds up, per thread, the tokens the endpoint reported for each answer (the
    eval runner answers cases on several threads; a case's turns all run on one)."""

    def __init__(self) -> None:
        self._local = threading.local()

    def __call__(self, answer: Answer, outcome: Outcome) -> None:
        """Count this answer's tokens for the current thread's case."""
        if outcome.tokens is not None:
            prompt, completion = getattr(self._local, "tokens", None) or (0, 0)
            self._local.tokens = (prompt + outcome.tokens[0], completion + outcome.tokens[1])

    def take(self) -> tuple[int, int] | None:
        """The tokens counted on this thread since the last call (None when none were reported)."""
        tokens = getattr(self._local, "tokens", None)
        self._local.tokens = None
        return tokens


class LiveAnswers:
    """Answers each case with our service; earlier questions of a follow-up chain are asked first. With ``tally``
    (an observer of ``service``), each answer carries the tokens its turns cost."""

    def __init__(self, service: AnswerService, backend: Backend | None, tally: TokenTally | None = None) -> None:
        self._service = service
        self._backend = backend
        self._tally = tally

    def __call__(self, case: EvalCase) -> Answered:
        """The answer to the case's question, after asking its earlier questions in the same conversation."""
        if self._tally is not None:
            self._tally.take()
        conversation_id = None
        for earlier in case.conversation:
            previous = self._service.answer(earlier, audience=case.audience, conversation_id=conversation_id,
                                            backend=self._backend)
            conversation_id = previous.conversation_id
        answer = self._service.answer(case.question, audience=case.audience, conversation_id=conversation_id,
                                      backend=self._backend)
        return Answered(answer, self._tally.take() if self._tally is not None else None)


class PrecomputedAnswers:
    """Answer JSON lines from a file, matched to cases by an ``id`` (or ``case_id``) field, else by the order of the
    non-blank lines. A bad line is kept in ``errors`` (named by file and line) and the others are still read."""

    def __init__(self, path: Path, cases: list[EvalCase]) -> None:
        self._by_id: dict[str, dict[str, Any]] = {}
        self.errors: list[InputError] = []
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise UserError(f"{path}: cannot read the answers ({exc.strerror})") from None
        for ordinal, (number, record) in enumerate(iter_json_lines(path, raw)):
            if isinstance(record, InputError):
                self.errors.append(record)
                continue
            key = record.pop("id", None) or record.pop("case_id", None)
            if key is None and ordinal < len(cases):
                key = cases[ordinal].id
            self._by_id[str(key)] = {**record, "_where": f"{path}:{number}"}

    def __call__(self, case: EvalCase) -> Answered:
        """The case's answer from the file, with missing optional fields filled in, and the tokens of its ``usage``
        field (``prompt_tokens``, ``completion_tokens``) when it has one; no answer, no ``references`` or an invalid
        one is an :class:`InputError`."""
        record = dict(self._by_id.get(case.id) or {})
        if not record:
            raise InputError(case.id, "no answer was given for this case")
        where = record.pop("_where")
        tokens = _usage(record.pop("usage", None))
        if "references" not in record:
            raise InputError(where, "the answer has no 'references' list, so its citations cannot be checked")
        record.setdefault("question", case.question)
        record.setdefault("limitations", "")
        record.setdefault("grounding", {})
        record.setdefault("backend", "external")
        record.setdefault("disclaimer", "")
        try:
            return Answered(Answer.model_validate(record), tokens)
        except ValidationError as exc:
            raise InputError(where, describe_validation_error(exc)) from None


def _usage(usage: object) -> tuple[int, int] | None:
    if not isinstance(usage, dict):
        return None
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    if isinstance(prompt, int) and isinstance(completion, int):
        return prompt, completion
    return None


def passage_resolver(components: Components) -> Any:
    """Reference -> the full passages its quotes come from in our index (by chunk id, joined in order), else the
    quotes the answer carries (a chunk deleted since, or another system's answer)."""

    def resolve(answer: Answer) -> dict[int, str]:
        stored = components.index.chunks([q.chunk_id for r in answer.references for q in r.quotes])
        resolved: dict[int, str] = {}
        for reference in answer.references:
            chunk_ids = list(dict.fromkeys(q.chunk_id for q in reference.quotes))
            texts = [stored[c].text if c in stored else " ".join(q.text for q in reference.quotes if q.chunk_id == c)
                     for c in chunk_ids]
            resolved[reference.n] = "\n\n".join(t for t in texts if t)
        return resolved

    return resolve


def retrieval_ranking(retriever: Retriever | None) -> Any:
    """Documents as our retriever ranks them for the (standalone) question; for precomputed answers without a live
    index, the order of the answer's references."""

    def ranking(case: EvalCase, answer: Answer) -> list[str]:
        if retriever is None or not case.gold.all_doc_ids():
            return [r.doc_id for r in answer.references]
        query = answer.standalone_question or case.question
        return [hit.doc_id for hit in retriever.search(query, k=20)]

    return ranking


def eval_runner(components: Components, cases: list[EvalCase], *, answers_file: Path | None = None,
                backend: Backend | None = None, judge: str | Judge = "offline", workers: int = 2,
                progress: Callable[[int, int], None] | None = None) -> EvalRunner:
    """A runner that answers ``cases`` live with our service (or reads ``answers_file``), resolves references to our
    passages, ranks documents with our retriever (live answers only) and scores with ``judge`` (a spec for
    :meth:`Components.judge`, or a judge). Bad lines of ``answers_file`` are in the runner's ``input_errors``."""
    answers: LiveAnswers | PrecomputedAnswers
    if answers_file is not None:
        answers = PrecomputedAnswers(answers_file, cases)
    else:
        tally = TokenTally()
        answers = LiveAnswers(components.answers(observers=[tally]), backend, tally)
    retriever = None if answers_file is not None else components.retriever()
    chosen = components.judge(judge) if isinstance(judge, str) else judge
    runner = EvalRunner(answers, passage_resolver(components), retrieval_ranking(retriever), chosen,
                        workers=workers, progress=progress)
    if isinstance(answers, PrecomputedAnswers):
        runner.input_errors.extend(answers.errors)
        runner.retrieval_ranking = "reference order"
    return runner
