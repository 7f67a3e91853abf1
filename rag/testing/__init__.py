"""Deterministic fakes and guards for tests of this library and of applications built on it."""

from rag.testing.fakes import HashEmbedder, InMemoryVectorStore, KeywordReranker, LexicalJudge, ScriptedGenerator
from rag.testing.netguard import install_network_guard
from rag.testing.openai_stub import StubChatServer

__all__ = [
    "HashEmbedder", "InMemoryVectorStore", "KeywordReranker", "LexicalJudge", "ScriptedGenerator", "StubChatServer",
    "install_network_guard",
]
