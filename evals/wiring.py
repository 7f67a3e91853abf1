"""Where answers come from in an eval (our service, live; or a file of another system's Answer JSON), how their
references resolve to passages, which documents count as retrieved, and the judge factory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from evals.cases import EvalCase
from evals.judges.protocol import Judge
from rag.answer.models import Answer
from rag.answer.service import AnswerService
from rag.errors import InputError, UserError, describe_validation_error
from rag.factory import Components
from rag.retrieve import Retriever


class LiveAnswers:
    """Answers each case with our service; earlier questions of a follow-up chain are asked first."""

    def __init__(self, service: AnswerService, backend: str | None) -> None:
        self._service = service
        self._backend = backend

    def __call__(self, case: EvalCase) -> Answer:
        conversation_id = None
        for earlier in case.conversation:
            previous = self._service.answer(earlier, audience=case.audience, conversation_id=conversation_id,
                                            backend=self._backend)
            conversation_id = previous.conversation_id
        return self._service.answer(case.question, audience=case.audience, conversation_id=conversation_id,
                                    backend=self._backend)


class PrecomputedAnswers:
    """Answer JSON lines from a file, matched to cases by an ``id`` (or ``case_id``) field, else by line order."""

    def __init__(self, path: Path, cases: list[EvalCase]) -> None:
        self._by_id: dict[str, dict[str, Any]] = {}
        try:
            lines = [line for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"{path}: cannot read the answers ({exc})") from None
        for number, line in enumerate(lines, start=1):
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise UserError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
            if not isinstance(record, dict):
                raise UserError(f"{path}:{number}: each line must be an Answer JSON object")
            key = record.pop("id", None) or record.pop("case_id", None)
            if key is None and number <= len(cases):
                key = cases[number - 1].id
            self._by_id[str(key)] = {**record, "_where": f"{path}:{number}"}

    def __call__(self, case: EvalCase) -> Answer:
        record = dict(self._by_id.get(case.id) or {})
        if not record:
            raise InputError(case.id, "no answer was given for this case")
        where = record.pop("_where")
        if "references" not in record:
            raise InputError(where, "the answer has no 'references' list, so its citations cannot be checked")
        record.setdefault("question", case.question)
        record.setdefault("limitations", "")
        record.setdefault("grounding", {})
        record.setdefault("backend", "external")
        record.setdefault("disclaimer", "")
        try:
            return Answer.model_validate(record)
        except ValidationError as exc:
            raise InputError(where, describe_validation_error(exc)) from None


def passage_resolver(components: Components) -> Any:
    """Reference -> the full passage in our index (by chunk id), else the quote the answer carries."""

    def resolve(answer: Answer) -> dict[int, str]:
        stored = components.index.catalog.chunks([r.chunk_id for r in answer.references])
        return {r.n: stored[r.chunk_id].text if r.chunk_id in stored else r.quote for r in answer.references}

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


def make_judge(spec: str, components: Components) -> Judge:
    """``offline`` (default), ``llm`` (the configured OpenAI-compatible endpoint) or a local NLI model folder."""
    if spec == "offline":
        from evals.judges.offline import OfflineJudge

        return OfflineJudge(components.embedder)
    if spec == "llm":
        from evals.judges.llm import LlmJudge

        generation = components.settings.generation
        if not generation.base_url or not generation.model:
            raise UserError("--judge llm needs RAG_GENERATION__BASE_URL and RAG_GENERATION__MODEL")
        return LlmJudge(generation, components.settings.data_dir / "judge-cache.sqlite3")
    path = Path(spec)
    if path.is_dir():
        from evals.judges.nli import NliJudge

        return NliJudge(path)
    raise UserError(f"--judge must be 'offline', 'llm' or a local model folder, got {spec!r}")
