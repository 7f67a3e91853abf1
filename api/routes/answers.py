"""POST /v1/answers: the Answer as JSON, or streamed as Server-Sent Events (sources, deltas, the final answer)."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter, Request
from sse_starlette import EventSourceResponse, ServerSentEvent

from api.deps import AnswerAccess, AnswersDep, answer_slot, app_state, within_answer_timeout
from api.errors import scrub
from api.schemas import ANSWER_ERRORS, ERRORS, AnswerRequest
from api.slots import HeldStream
from api.streaming import event, event_stream
from rag.answer.models import Answer
from rag.errors import RagError
from rag.filters import Filters

router = APIRouter(prefix="/v1", tags=["answers"], responses={**ERRORS, **ANSWER_ERRORS})


@router.post("/answers", response_model=Answer, summary="Answer a question in two cited sections",
             responses={200: {"content": {"text/event-stream": {}},
                              "description": "The Answer, or with stream=true / Accept: text/event-stream, events: "
                                             "sources, delta (repeated), notice, answer"}})
async def post_answer(body: AnswerRequest, request: Request, service: AnswersDep,
                      principal: AnswerAccess) -> Answer | EventSourceResponse:
    """The Answer as JSON, or as Server-Sent Events when asked (``stream`` or Accept: text/event-stream); an
    error before the first event is a JSON error response, a later one an ``error`` event. While the model is slow
    the stream sends a keep-alive comment every ``RAG_API__SSE_PING_S`` seconds; a client that goes away stops the
    answer. A conversation belongs to the key that started it; another key's id is 404."""
    filters = Filters.parse(body.filters)
    wants_stream = body.stream or "text/event-stream" in request.headers.get("accept", "")
    free = answer_slot(request, principal)
    if not wants_stream:
        return await within_answer_timeout(request, lambda: service.answer(
            body.question, audience=body.audience, conversation_id=body.conversation_id, filters=filters,
            backend=body.llm, owner=principal.name), free)
    events = HeldStream(free, service.stream(
        body.question, audience=body.audience, conversation_id=body.conversation_id, filters=filters,
        backend=body.llm, owner=principal.name))
    # validation and retrieval errors surface here, as a normal JSON error response
    first = await within_answer_timeout(request, lambda: next(events))

    def body_events() -> Iterator[ServerSentEvent]:
        try:
            yield event(first.kind, first.data())
            for streamed in events:
                yield event(streamed.kind, streamed.data())
        except RagError as exc:
            yield event("error", {"message": scrub(request, str(exc))})
        finally:
            events.close()  # at the end, or at once when the client went away: the answer stops, its slot is freed

    return event_stream(body_events(), app_state(request.app).settings.api.sse_ping_s)
