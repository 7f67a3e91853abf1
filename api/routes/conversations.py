"""GET /v1/conversations/{id}: the turns of a conversation with their answers."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import AnswersDep, ReadAccess
from api.schemas import ERRORS, ConversationOut, Turn
from rag.answer.models import Answer

router = APIRouter(prefix="/v1", tags=["conversations"], responses=ERRORS)


@router.get("/conversations/{conversation_id}", response_model=ConversationOut,
            description="A conversation's turns with their answers. A conversation with no new turn for "
                        "`RAG_STORE__CONVERSATION_RETENTION_DAYS` (30) days is deleted: 404 afterwards.")
def get_conversation(conversation_id: str, service: AnswersDep, _: ReadAccess) -> ConversationOut:
    """A conversation's turns with their answers; an unknown or expired id is 404."""
    conversation = service.conversation(conversation_id)
    return ConversationOut(
        id=conversation.id, audience=conversation.audience, created_at=conversation.created_at,
        turns=[Turn(n=t.n, question=t.question, standalone_question=t.standalone_question,
                    answer=Answer.model_validate_json(t.answer_json)) for t in conversation.turns],
    )
