"""GET and DELETE /v1/conversations/{id}: a conversation's turns with their answers, for the key that started it."""

from __future__ import annotations

from fastapi import APIRouter, Response
from starlette.concurrency import run_in_threadpool

from api.deps import AnswersDep, ReadAccess
from api.schemas import ERRORS, ConversationOut, Turn
from rag.answer.models import Answer

router = APIRouter(prefix="/v1", tags=["conversations"], responses=ERRORS)


@router.get("/conversations/{conversation_id}", response_model=ConversationOut,
            description="A conversation's turns with their answers. Only the key that started a conversation (or, "
                        "on a server without keys, the anonymous caller) may read it; for any other key it is 404, "
                        "as an unknown id is. A conversation with no new turn for "
                        "`RAG_STORE__CONVERSATION_RETENTION_DAYS` (30) days is deleted: 404 afterwards.")
def get_conversation(conversation_id: str, service: AnswersDep, principal: ReadAccess) -> ConversationOut:
    """A conversation's turns with their answers; an unknown or expired id, or another key's, is 404."""
    conversation = service.conversation(conversation_id, owner=principal.name)
    return ConversationOut(
        id=conversation.id, audience=conversation.audience, created_at=conversation.created_at,
        turns=[Turn(n=t.n, question=t.question, standalone_question=t.standalone_question,
                    answer=Answer.model_validate_json(t.answer_json)) for t in conversation.turns],
    )


@router.delete("/conversations/{conversation_id}", status_code=204, response_class=Response,
               description="Delete a conversation and its turns now (its questions may hold patient details). "
                           "Only the key that started it may; for any other key, and once deleted, it is 404.")
async def delete_conversation(conversation_id: str, service: AnswersDep, principal: ReadAccess) -> Response:
    """Delete a conversation of the caller's: 204, then 404."""
    await run_in_threadpool(service.delete_conversation, conversation_id, principal.name)
    return Response(status_code=204)
