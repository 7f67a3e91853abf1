"""POST /v1/chat/completions, OpenAI-compatible, so the official ``openai`` SDK works unchanged against rag.

The last user message is the question and earlier user messages are the conversation (condensed for retrieval).
Nothing is stored unless the request says ``store: true`` (the client holds the conversation, as with OpenAI).
The answer page is the assistant message's Markdown content, made inert (no image, raw HTML or link can come from a
document or the model, streamed deltas included); the references, grounding and the full Answer are in an extra
``rag`` field (the SDK keeps unknown fields: ``response.model_extra["rag"]``). Streaming sends
``chat.completion.chunk`` events and a final chunk carrying ``rag``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request
from sse_starlette import ServerSentEvent

from api.deps import AnswerAccess, AnswersDep, answer_slot, app_state, within_answer_timeout
from api.errors import scrub
from api.schemas import ANSWER_ERRORS, ERRORS, ChatCompletionRequest, ChatMessage
from api.slots import HeldStream
from api.streaming import done, event, event_stream
from rag.answer.events import AnswerEvent, DeltaEvent
from rag.answer.models import Answer
from rag.answer.render import render_markdown, render_references
from rag.config import ApiSettings
from rag.contract import Backend
from rag.errors import RagError, UserError
from rag.text.inert import InertStream, inert_markdown

router = APIRouter(prefix="/v1", tags=["openai-compatible"], responses={**ERRORS, **ANSWER_ERRORS})


def _text(message: ChatMessage) -> str:
    if isinstance(message.content, str):
        return message.content
    parts = message.content or []
    return " ".join(str(p.get("text", "")) for p in parts if isinstance(p, dict) and p.get("type") == "text")


def _extra(answer: Answer) -> dict[str, Any]:
    return {"references": [r.model_dump(mode="json") for r in answer.references],
            "grounding": answer.grounding.model_dump(mode="json"), "answer": answer.model_dump(mode="json")}


def _repairs(answer: Answer) -> str:
    """What grounding changed in the streamed draft, for a reader who saw the draft."""
    grounding = answer.grounding
    lines = [f"- Removed: “{r.sentence}” ({r.reason})" for r in grounding.removed]
    lines += [f"- Citation added: {a.sentence}" for a in grounding.attributed]
    if answer.backend.startswith("extractive (fallback"):
        lines.insert(0, "- The draft above could not be used; the answer is the extractive one that follows it.")
    return ("**Checked against the sources:**\n" + "\n".join(lines) + "\n\n") if lines else ""


def check_limits(messages: list[ChatMessage], api: ApiSettings) -> None:
    """422 naming the cap when there are too many messages, one is too long, or all are too long together."""
    if len(messages) > api.max_chat_messages:
        raise UserError(f"messages: {len(messages)} messages; the limit is {api.max_chat_messages} "
                        "(RAG_API__MAX_CHAT_MESSAGES)")
    total = 0
    for index, message in enumerate(messages):
        length = len(_text(message))
        if length > api.max_chat_message_chars:
            raise UserError(f"messages[{index}]: the message is {length} characters long; the limit is "
                            f"{api.max_chat_message_chars} (RAG_API__MAX_CHAT_MESSAGE_CHARS)")
        total += length
    if total > api.max_chat_total_chars:
        raise UserError(f"messages: {total} characters in all; the limit is {api.max_chat_total_chars} "
                        "(RAG_API__MAX_CHAT_TOTAL_CHARS)")


@router.post("/chat/completions", summary="OpenAI-compatible chat completion answered by rag")
async def chat_completions(body: ChatCompletionRequest, request: Request, service: AnswersDep,
                           principal: AnswerAccess) -> Any:
    """A ``chat.completion`` (or, with ``stream``, ``chat.completion.chunk`` events) whose content is the
    answer page; the references, grounding and full Answer are in its ``rag`` field. Stored as a conversation of
    this key only with ``store: true``."""
    check_limits(body.messages, app_state(request.app).settings.api)
    questions = [_text(m) for m in body.messages if m.role == "user" and _text(m).strip()]
    if not questions:
        raise UserError("messages must contain at least one user message with text")
    backend: Backend | None = "openai" if body.model.startswith("rag-openai") else None
    completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    created = int(time.time())
    free = answer_slot(request, principal)
    if not body.stream:
        answer = await within_answer_timeout(request, lambda: service.answer(
            questions[-1], history=questions[:-1], backend=backend, owner=principal.name, store=body.store), free)
        return {
            "id": completion_id, "object": "chat.completion", "created": created, "model": body.model,
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": render_markdown(answer)}}],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
            "rag": _extra(answer),
        }
    events = HeldStream(free, service.stream(questions[-1], history=questions[:-1], backend=backend,
                                                 owner=principal.name, store=body.store))
    # the sources: errors in validation or retrieval surface here as a normal error response
    await within_answer_timeout(request, lambda: next(events))

    def chunk(delta: dict[str, Any], finish: str | None = None, extra: dict[str, Any] | None = None) -> ServerSentEvent:
        payload: dict[str, Any] = {"id": completion_id, "object": "chat.completion.chunk", "created": created,
                                   "model": body.model,
                                   "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        if extra is not None:
            payload["rag"] = extra
        return event(None, payload)

    def stream() -> Iterator[ServerSentEvent]:
        draft = InertStream()  # the model's draft is text from the sources too: inert, even split across deltas
        try:
            yield chunk({"role": "assistant", "content": ""})
            yield from chunks(draft)
        except RagError as exc:
            yield chunk({"content": draft.flush() + inert_markdown(f"\n\n[error: {scrub(request, str(exc))}]")})
        finally:
            events.close()  # at the end, or at once when the client went away: the answer stops, its slot is freed
        yield chunk({}, finish="stop")
        yield done()

    def chunks(draft: InertStream) -> Iterator[ServerSentEvent]:
        for streamed in events:
            if isinstance(streamed, AnswerEvent):
                # The deltas were the model's draft; what checking it changed, the references and the
                # disclaimer follow (the verified text is in the final chunk's ``rag`` field).
                answer = streamed.answer
                yield chunk({"content": draft.flush() + "\n\n---\n\n" + inert_markdown(_repairs(answer))
                             + render_references(answer)}, extra=_extra(answer))
            elif isinstance(streamed, DeltaEvent) and (text := draft.feed(streamed.text)):
                yield chunk({"content": text})

    return event_stream(stream(), app_state(request.app).settings.api.sse_ping_s)
