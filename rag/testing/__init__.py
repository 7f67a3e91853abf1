"""Deterministic fakes and guards for tests of this library and of applications built on it. The contract tests
every implementation of a seam passes are in rag.testing.contracts (they need pytest; nothing here imports them)."""

from rag.testing.fakes import (
    HashEmbedder,
    IndexedPassage,
    InMemoryConversations,
    InMemoryLexicalIndex,
    InMemoryVectorStore,
    KeywordReranker,
    LexicalJudge,
    ScriptedGenerator,
)
from rag.testing.netguard import install_network_guard
from rag.testing.openai_stub import StubChatServer

__all__ = [
    "HashEmbedder", "InMemoryConversations", "InMemoryLexicalIndex", "InMemoryVectorStore", "IndexedPassage",
    "KeywordReranker", "LexicalJudge", "ScriptedGenerator", "StubChatServer", "install_network_guard",
]
