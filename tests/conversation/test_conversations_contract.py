"""The Conversations contract against every store: SQLite in the data dir, Chroma (embedded and a server), and the
in-memory fake."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

from rag.conversation import ChromaConversationStore, Conversations, ConversationStore
from rag.testing import InMemoryConversations
from rag.testing.contracts import ConversationsContract
from tests.helpers.chroma import ChromaClientPerClass


class TestSqlite(ConversationsContract):
    def make_conversations(self, tmp_path: Path, retention_days: float,
                           clock: Callable[[], float]) -> Conversations:
        return ConversationStore(tmp_path / "conversations.sqlite3", retention_days, clock)


class TestInMemory(ConversationsContract):
    def make_conversations(self, tmp_path: Path, retention_days: float,
                           clock: Callable[[], float]) -> Conversations:
        return InMemoryConversations(retention_days, clock)


class ChromaStores(ChromaClientPerClass, ConversationsContract):
    """Stores on one Chroma client per class, each in its own collection."""

    def make_conversations(self, tmp_path: Path, retention_days: float,
                           clock: Callable[[], float]) -> Conversations:
        collection = f"contract-{uuid.uuid4().hex}"  # every store starts empty
        return ChromaConversationStore(self.client, collection, retention_days, clock)


class TestChromaEmbedded(ChromaStores):
    server = False


class TestChromaServer(ChromaStores):
    server = True
